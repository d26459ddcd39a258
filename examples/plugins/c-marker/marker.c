/* The marker scanner in C, built with wasi-libc as a reactor on abi/c/plugbox.h: finds
 * MALICIOUS_MARKER with memmem and reports where, with a detail made by snprintf. The file
 * is placed in memory from malloc (the alloc export). Rebuild with examples/build.sh. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../abi/c/plugbox.h"

static const char MARKER[] = "MALICIOUS_MARKER";

PLUGBOX_IDENTITY("C Marker Scanner", "0.1.0")

PLUGBOX_EXPORT("on_load") int32_t on_load(void) {
    plugbox_log(PLUGBOX_INFO, "C Marker Scanner loaded");
    return 0;
}

PLUGBOX_EXPORT("alloc") int32_t plugin_alloc(int32_t size) {
    return (int32_t)(uintptr_t)malloc(size > 0 ? (size_t)size : 1);
}

PLUGBOX_EXPORT("scan") int32_t scan(const uint8_t *data, int32_t len) {
    const uint8_t *hit = memmem(data, (size_t)len, MARKER, sizeof MARKER - 1);
    if (!hit) {
        return 0;
    }
    char detail[64];
    snprintf(detail, sizeof detail, "Found %s at offset %ld", MARKER, (long)(hit - data));
    plugbox_report("Custom.MaliciousMarker", 85, detail);
    return 85;
}
