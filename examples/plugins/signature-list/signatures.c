/* A signature-list scanner in C (wasi-libc reactor) with `filesystem: true`: its constructor,
 * run by _initialize, reads signatures.txt from its own directory through the read-only
 * preopen at /plugin. Lines are `ThreatName=byte pattern`; `#` starts a comment.
 * Rebuild with examples/build.sh. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../abi/plugbox_env.h"

#define EXPORT(name) __attribute__((export_name(name)))
#define SIGNATURES_PATH "/plugin/signatures.txt"
#define MAX_SIGNATURES 64

struct signature {
    const char *name;
    const char *pattern;
    size_t pattern_len;
};

static char *text;
static struct signature signatures[MAX_SIGNATURES];
static int count;

static void say(int level, const char *msg) {
    log_message(level, msg, (int32_t)strlen(msg));
}

__attribute__((constructor)) static void load_signatures(void) {
    FILE *file = fopen(SIGNATURES_PATH, "r");
    if (!file) {
        return;
    }
    size_t cap = 4096, len = 0, n;
    text = malloc(cap + 1);
    while (text && (n = fread(text + len, 1, cap - len, file)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            text = realloc(text, cap + 1);
        }
    }
    fclose(file);
    if (!text) {
        return;
    }
    text[len] = '\0';
    for (char *line = strtok(text, "\n"); line && count < MAX_SIGNATURES; line = strtok(NULL, "\n")) {
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !eq || eq == line || eq[1] == '\0') {
            continue;
        }
        *eq = '\0';
        signatures[count++] = (struct signature){line, eq + 1, strlen(eq + 1)};
    }
}

EXPORT("on_load") int32_t on_load(void) {
    if (count == 0) {
        say(PLUGBOX_ERROR, "no signatures: cannot read " SIGNATURES_PATH);
        return 1;
    }
    char msg[64];
    snprintf(msg, sizeof msg, "%d signatures loaded from " SIGNATURES_PATH, count);
    say(PLUGBOX_INFO, msg);
    return 0;
}

EXPORT("alloc") int32_t plugin_alloc(int32_t size) {
    return (int32_t)(uintptr_t)malloc(size > 0 ? (size_t)size : 1);
}

EXPORT("scan") int32_t scan(const uint8_t *data, int32_t len) {
    int32_t score = 0;
    for (int i = 0; i < count; i++) {
        const uint8_t *hit = memmem(data, (size_t)len, signatures[i].pattern, signatures[i].pattern_len);
        if (!hit) {
            continue;
        }
        char detail[256];
        int n = snprintf(detail, sizeof detail, "matched signature \"%s\" at offset %ld",
                         signatures[i].pattern, (long)(hit - data));
        report_finding(signatures[i].name, (int32_t)strlen(signatures[i].name), 70, detail,
                       n < (int)sizeof detail ? n : (int)sizeof detail - 1);
        score = 70;
    }
    return score;
}
