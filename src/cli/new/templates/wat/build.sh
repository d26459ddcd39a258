#!/bin/sh
# Builds @@ident@@.wasm from plugin.wat with wat2wasm (WABT), else wasm-tools.
set -eu
cd "$(dirname "$0")"
if command -v wat2wasm >/dev/null 2>&1; then
  wat2wasm plugin.wat -o @@ident@@.wasm
elif command -v wasm-tools >/dev/null 2>&1; then
  wasm-tools parse plugin.wat -o @@ident@@.wasm
else
  echo "build.sh: error: neither wat2wasm nor wasm-tools is installed; install WABT" \
    "(Debian/Ubuntu: apt-get install wabt; macOS: brew install wabt) or run:" \
    "cargo install wasm-tools" >&2
  exit 1
fi
echo "built @@ident@@.wasm"
