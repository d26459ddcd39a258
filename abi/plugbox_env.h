/* The plugbox / PRX-SD plugin host ABI, module "env", and the opt-in plugbox host helpers,
 * module "plugbox", for C plugins built with clang --target=wasm32-*. See ABI.md beside this
 * file. */
#ifndef PLUGBOX_ENV_H
#define PLUGBOX_ENV_H

#include <stdint.h>

#define PLUGBOX_IMPORT(name) __attribute__((import_module("env"), import_name(name)))

/* Records a finding; score is clamped to 0..=100. May be called many times per scan. */
PLUGBOX_IMPORT("report_finding")
void report_finding(const char *name, int32_t name_len, int32_t score,
                    const char *detail, int32_t detail_len);

/* Log levels for log_message. */
enum { PLUGBOX_TRACE = 0, PLUGBOX_DEBUG = 1, PLUGBOX_INFO = 2, PLUGBOX_WARN = 3, PLUGBOX_ERROR = 4 };

/* Writes a message to the host's log, tagged with the plugin's name. */
PLUGBOX_IMPORT("log_message")
void log_message(int32_t level, const char *msg, int32_t msg_len);

/* Copies up to buf_len bytes of the scanned file's path; returns its full length. */
PLUGBOX_IMPORT("get_file_path")
int32_t get_file_path(char *buf, int32_t buf_len);

/* Copies up to buf_len bytes of the file type name (pe, elf, ...); returns its full length. */
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

#endif
