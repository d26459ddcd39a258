/* A plugbox detection plugin: reports files holding the bytes MALICIOUS_MARKER.
 *
 * Freestanding C: no libc, so no malloc, strlen or memcmp; plugbox.h declares the host's
 * imports and the export macros. Each file is scanned in a fresh instance of this module:
 * nothing survives from one file to the next. */
#include "plugbox.h"

/* The plugin_name and plugin_version exports; keep the name equal to "name" in plugin.json. */
PLUGBOX_IDENTITY("@@name@@", "0.1.0")

static const char MARKER[] = "MALICIOUS_MARKER";
#define MARKER_LEN ((int32_t)(sizeof MARKER - 1))

/* Runs once, when plugbox loads the plugin; non-zero refuses the load. */
PLUGBOX_EXPORT("on_load") int32_t on_load(void) {
    plugbox_log(PLUGBOX_INFO, "loaded");
    return 0;
}

static int is_marker_at(const uint8_t *at) {
    for (int32_t i = 0; i < MARKER_LEN; i++) {
        if (at[i] != (uint8_t)MARKER[i]) {
            return 0;
        }
    }
    return 1;
}

/* Called with the whole file (there is no `alloc` export, so plugbox grows memory and puts
 * the file there); returns the highest score reported (0: clean). */
PLUGBOX_EXPORT("scan") int32_t scan(const uint8_t *data, int32_t len) {
    for (int32_t at = 0; at + MARKER_LEN <= len; at++) {
        if (is_marker_at(data + at)) {
            plugbox_report("Custom.MaliciousMarker", 85, "Found MALICIOUS_MARKER in file data");
            return 85;
        }
    }
    return 0;
}
