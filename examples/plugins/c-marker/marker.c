/* The marker scanner in C, built with wasi-libc as a reactor: finds MALICIOUS_MARKER with
 * memmem and reports where, with a detail made by snprintf into malloc'd memory.
 * Rebuild with examples/build.sh. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../abi/plugbox_env.h"

#define EXPORT(name) __attribute__((export_name(name)))

static const char MARKER[] = "MALICIOUS_MARKER";
static const char NAME[] = "C Marker Scanner";

EXPORT("on_load") int32_t on_load(void) {
    static const char msg[] = "C Marker Scanner loaded";
    log_message(PLUGBOX_INFO, msg, sizeof msg - 1);
    return 0;
}

EXPORT("alloc") int32_t plugin_alloc(int32_t size) {
    return (int32_t)(uintptr_t)malloc(size > 0 ? (size_t)size : 1);
}

EXPORT("scan") int32_t scan(const uint8_t *data, int32_t len) {
    const uint8_t *hit = memmem(data, (size_t)len, MARKER, sizeof MARKER - 1);
    if (!hit) {
        return 0;
    }
    int needed = snprintf(NULL, 0, "Found %s at offset %ld", MARKER, (long)(hit - data));
    char *detail = malloc((size_t)needed + 1);
    if (!detail) {
        return 85;
    }
    snprintf(detail, (size_t)needed + 1, "Found %s at offset %ld", MARKER, (long)(hit - data));
    static const char threat[] = "Custom.MaliciousMarker";
    report_finding(threat, sizeof threat - 1, 85, detail, needed);
    free(detail);
    return 85;
}

static int32_t copy_out(const char *value, char *buf, int32_t len) {
    int32_t full = (int32_t)strlen(value);
    memcpy(buf, value, (size_t)(full < len ? full : len));
    return full;
}

EXPORT("plugin_name") int32_t plugin_name(char *buf, int32_t len) {
    return copy_out(NAME, buf, len);
}

EXPORT("plugin_version") int32_t plugin_version(char *buf, int32_t len) {
    return copy_out("0.1.0", buf, len);
}
