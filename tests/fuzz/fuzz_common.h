/* Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c, docs/FUZZING.md): a private scratch
 * directory per process (the readers take paths, so an input is written to a file first) and the
 * oracles every target applies besides the sanitizers: a refusal is TN_EINPUT with one line of
 * text that never holds raw bytes of the input. */
#ifndef TAUNET_FUZZ_COMMON_H
#define TAUNET_FUZZ_COMMON_H
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "taunet/error.h"

/* The scratch directory of this process, created on first use (in /dev/shm when it exists). */
static inline const char *fz_dir(void) {
    static char dir[256];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/taunet-fuzz-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(dir)) abort();
    }
    return dir;
}

/* dir/name with the given bytes; returns the path (static buffer per call site is the caller's). */
static inline void fz_write(const char *path, const uint8_t *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) abort();
}

static inline void fz_path(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", fz_dir(), name); }

/* The message oracle: printable ASCII or UTF-8 (the fuzz paths are ASCII, so a byte >= 0x80
 * can only come from the input, escaped or not), never a control byte, never empty. */
static inline void fz_check_message(const tn_err *e) {
    if (!e->code) return;
    if (!e->msg[0]) {
        fprintf(stderr, "fuzz: a failure without a message\n");
        abort();
    }
    for (const unsigned char *p = (const unsigned char *)e->msg; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            fprintf(stderr, "fuzz: a raw control byte 0x%02x in the message: %s\n", *p, e->msg);
            abort();
        }
}

/* A refused input is bad input (TN_EINPUT), except running out of memory. */
static inline void fz_check_refusal(const tn_err *e, int rc) {
    fz_check_message(e);
    if (rc && rc != e->code) {
        fprintf(stderr, "fuzz: returned %d but recorded %d: %s\n", rc, e->code, e->msg);
        abort();
    }
    if (rc == TN_ERUNTIME && !strstr(e->msg, "out of memory")) {
        fprintf(stderr, "fuzz: bad input reported as a runtime failure: %s\n", e->msg);
        abort();
    }
}
#endif
