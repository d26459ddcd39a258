/* A signature-list scanner in C (wasi-libc reactor) with `filesystem: true`: its constructor,
 * run by _initialize, reads signatures.txt from its own directory through the read-only
 * preopen at /plugin. Lines are `ThreatName=byte pattern`; `#` starts a comment.
 * Built on abi/c/plugbox.h. Rebuild with examples/build.sh. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../abi/c/plugbox.h"

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

PLUGBOX_EXPORT("on_load") int32_t on_load(void) {
    if (count == 0) {
        plugbox_log(PLUGBOX_ERROR, "no signatures: cannot read " SIGNATURES_PATH);
        return 1;
    }
    char msg[64];
    snprintf(msg, sizeof msg, "%d signatures loaded from " SIGNATURES_PATH, count);
    plugbox_log(PLUGBOX_INFO, msg);
    return 0;
}

PLUGBOX_EXPORT("alloc") int32_t plugin_alloc(int32_t size) {
    return (int32_t)(uintptr_t)malloc(size > 0 ? (size_t)size : 1);
}

PLUGBOX_EXPORT("scan") int32_t scan(const uint8_t *data, int32_t len) {
    int32_t score = 0;
    for (int i = 0; i < count; i++) {
        const uint8_t *hit = memmem(data, (size_t)len, signatures[i].pattern, signatures[i].pattern_len);
        if (!hit) {
            continue;
        }
        char detail[256];
        snprintf(detail, sizeof detail, "matched signature \"%s\" at offset %ld",
                 signatures[i].pattern, (long)(hit - data));
        plugbox_report(signatures[i].name, 70, detail);
        score = 70;
    }
    return score;
}
