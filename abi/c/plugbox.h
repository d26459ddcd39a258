/* plugbox.h: the plugbox plugin ABI for C (protocol_version 1).
 *
 * The host imports of module "env" (the PRX-SD ABI), the opt-in host helpers of module
 * "plugbox", and macros for the exports. One header, no dependencies beyond <stdint.h>:
 * it works with freestanding clang (no libc, no strlen or memcpy needed) and with wasi-libc.
 *
 *   clang --target=wasm32 -nostdlib -Wl,--no-entry -O2 -o my_plugin.wasm my_plugin.c
 *   clang --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -O2 -o my_plugin.wasm my_plugin.c
 *
 * A complete freestanding plugin (plugin.json: "input": "copy", the default):
 *
 *   #include "plugbox.h"
 *
 *   PLUGBOX_IDENTITY("My Plugin", "0.1.0")
 *
 *   PLUGBOX_EXPORT("scan") int32_t scan(const uint8_t *data, int32_t len) {
 *       static const char marker[] = "MALICIOUS_MARKER";
 *       for (int32_t i = 0; i + (int32_t)sizeof marker - 1 <= len; i++) {
 *           int32_t j = 0;
 *           while (j < (int32_t)sizeof marker - 1 && data[i + j] == (uint8_t)marker[j]) j++;
 *           if (j == (int32_t)sizeof marker - 1) {
 *               plugbox_report("Custom.MaliciousMarker", 85, "Found MALICIOUS_MARKER");
 *               return 85;
 *           }
 *       }
 *       return 0;
 *   }
 *
 * Without an "alloc" export plugbox grows memory and writes the file past everything the
 * module uses; with wasi-libc, export one that calls malloc. The ABI, with every limit, is
 * in abi/ABI.md of the plugbox repository. */
#ifndef PLUGBOX_H
#define PLUGBOX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Exports ---- */

/* Exports the function that follows under `name`: PLUGBOX_EXPORT("scan") int32_t scan(...). */
#define PLUGBOX_EXPORT(name) __attribute__((export_name(name)))

/* Defines the plugin_name and plugin_version exports from two string literals. The manifest's
 * name stays the plugin's identity in findings; plugbox reads these into a 256-byte buffer. */
#define PLUGBOX_IDENTITY(name_literal, version_literal)                                         \
    PLUGBOX_EXPORT("plugin_name") int32_t plugbox_plugin_name_(char *buf, int32_t len) {        \
        return plugbox_copy_out_("" name_literal, (int32_t)sizeof(name_literal) - 1, buf, len); \
    }                                                                                           \
    PLUGBOX_EXPORT("plugin_version") int32_t plugbox_plugin_version_(char *buf, int32_t len) {  \
        return plugbox_copy_out_("" version_literal, (int32_t)sizeof(version_literal) - 1, buf, \
                                 len);                                                          \
    }

/* ---- Host imports, module "env" ---- */

#define PLUGBOX_IMPORT(name) __attribute__((import_module("env"), import_name(name)))

/* Records a finding: threat name, score (0 clean, 1-29 informational, 30-59 suspicious,
 * 60-100 malicious; clamped to 0..=100), detail. May be called many times per scan (at most
 * 1000 findings are kept; a name is cut at 256 bytes, a detail at 4096). */
PLUGBOX_IMPORT("report_finding")
void report_finding(const char *name, int32_t name_len, int32_t score, const char *detail,
                    int32_t detail_len);

/* Log levels for log_message and plugbox_log. */
enum { PLUGBOX_TRACE = 0, PLUGBOX_DEBUG = 1, PLUGBOX_INFO = 2, PLUGBOX_WARN = 3, PLUGBOX_ERROR = 4 };

/* Writes a message to the host's log, tagged with the plugin's name (at most 4096 bytes per
 * message, 1024 messages and 64 KiB per scan). */
PLUGBOX_IMPORT("log_message")
void log_message(int32_t level, const char *msg, int32_t msg_len);

/* Copies up to buf_len bytes of the scanned file's path; returns its full length (more than
 * buf_len: the copy was cut). Empty in on_load, where there is no file. */
PLUGBOX_IMPORT("get_file_path")
int32_t get_file_path(char *buf, int32_t buf_len);

/* Copies up to buf_len bytes of the file type name (pe, elf, script, unknown, ...); returns
 * its full length. */
PLUGBOX_IMPORT("get_file_type")
int32_t get_file_type(char *buf, int32_t buf_len);

/* ---- Host helpers, module "plugbox" (opt-in; see "Host helpers" in ABI.md) ----
 * With "input": "host" in plugin.json the file is not copied into memory and scan(0, 0) is
 * called: read it through these. They work with "input": "copy" too. A negative offset or
 * length, or a buffer or needle outside memory, traps the call. */
#define PLUGBOX_HELPER(name) __attribute__((import_module("plugbox"), import_name(name)))

/* The size of the file being scanned, in bytes (0 at load, when there is no file). */
PLUGBOX_HELPER("file_size")
int64_t plugbox_file_size(void);

/* Copies up to buf_len bytes of the file from offset into buf; returns the count, 0 at or
 * past the end. */
PLUGBOX_HELPER("read")
int32_t plugbox_read(int64_t offset, void *buf, int32_t buf_len);

/* The offset of the first occurrence of the needle (at most 4096 bytes) in the file at or
 * after from, or -1. An empty needle gives from, clamped to the size. Runs at native speed. */
PLUGBOX_HELPER("find")
int64_t plugbox_find(const void *needle, int32_t needle_len, int64_t from);

/* ---- Helpers for NUL-terminated strings ---- */

/* The length of a NUL-terminated string. Not strlen: the header needs no libc, and
 * no_builtin keeps clang from turning the loop into a call to one. */
__attribute__((no_builtin)) static inline int32_t plugbox_strlen_(const char *s) {
    int32_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    return n;
}

/* Copies min(full, len) bytes of value to buf and returns full: the identity exports. */
__attribute__((no_builtin)) static inline int32_t plugbox_copy_out_(const char *value,
                                                                    int32_t full, char *buf,
                                                                    int32_t len) {
    for (int32_t i = 0; i < full && i < len; i++) {
        buf[i] = value[i];
    }
    return full;
}

/* report_finding with NUL-terminated threat and detail. */
static inline void plugbox_report(const char *threat, int32_t score, const char *detail) {
    report_finding(threat, plugbox_strlen_(threat), score, detail, plugbox_strlen_(detail));
}

/* log_message with a NUL-terminated message. */
static inline void plugbox_log(int32_t level, const char *message) {
    log_message(level, message, plugbox_strlen_(message));
}

#ifdef __cplusplus
}
#endif

#endif /* PLUGBOX_H */
