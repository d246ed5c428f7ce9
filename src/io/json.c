/* A minimal streaming JSON writer (no parser): compact output, so one object is one JSONL line.
 *
 * Commas: first[d] is 1 while the container at depth d has no element yet; every value written
 * at depth d emits ',' first unless first[d] is set. Depth 0 is the top level.
 *
 * Failure: the writer functions return void (logging must not need error plumbing at every
 * call). If memory runs out, or containers nest deeper than first[] can track, the writer
 * frees its buffer and enters a failed state: s == NULL and every later call is a no-op.
 * Callers check j->s != NULL before using the text. */
#include "taunet/io.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_FAILED SIZE_MAX /* cap value marking the failed state */
#define JSON_MAX_DEPTH ((int)(sizeof(((tn_json *)0)->first) / sizeof(int)) - 1)

static void json_fail(tn_json *j) {
    free(j->s);
    j->s = NULL;
    j->len = 0;
    j->cap = JSON_FAILED;
}

/* Make room for n more bytes plus the terminating NUL. Returns 0, or -1 in the failed state. */
static int reserve(tn_json *j, size_t n) {
    if (j->cap == JSON_FAILED) return -1;
    if (j->len + n + 1 <= j->cap) return 0;
    size_t ncap = j->cap ? j->cap : 256;
    while (ncap < j->len + n + 1) {
        if (ncap > SIZE_MAX / 2) {
            json_fail(j);
            return -1;
        }
        ncap *= 2;
    }
    char *ns = realloc(j->s, ncap);
    if (!ns) {
        json_fail(j);
        return -1;
    }
    j->s = ns;
    j->cap = ncap;
    return 0;
}

static void put(tn_json *j, const char *p, size_t n) {
    if (reserve(j, n)) return;
    memcpy(j->s + j->len, p, n);
    j->len += n;
    j->s[j->len] = '\0';
}

static void putc_(tn_json *j, char c) { put(j, &c, 1); }

/* A JSON string literal: quote, backslash and all control characters (< 0x20) escaped.
 * Bytes >= 0x80 pass through unchanged, so UTF-8 stays UTF-8. */
static void put_string(tn_json *j, const char *v) {
    static const char hex[] = "0123456789abcdef";
    putc_(j, '"');
    /* Copy runs of plain bytes in one go; escape the rest one by one. */
    const unsigned char *p = (const unsigned char *)v, *run = p;
    for (; *p; p++) {
        unsigned char c = *p;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        put(j, (const char *)run, (size_t)(p - run));
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        put(j, esc, n);
        run = p + 1;
    }
    put(j, (const char *)run, (size_t)(p - run));
    putc_(j, '"');
}

/* Everything that precedes a value: the comma if this is not the first element, then the key. */
static void begin_value(tn_json *j, const char *key) {
    if (j->cap == JSON_FAILED) return;
    if (!j->first[j->depth]) putc_(j, ',');
    j->first[j->depth] = 0;
    if (key) {
        put_string(j, key);
        putc_(j, ':');
    }
}

void tn_json_init(tn_json *j) {
    memset(j, 0, sizeof *j);
    j->first[0] = 1;
    /* Allocate up front so an empty writer still yields "" rather than NULL. */
    reserve(j, 0);
    if (j->s) j->s[0] = '\0';
}

void tn_json_free(tn_json *j) {
    free(j->s);
    memset(j, 0, sizeof *j);
}

static void open_container(tn_json *j, const char *key, char c) {
    begin_value(j, key);
    if (j->cap == JSON_FAILED) return;
    if (j->depth >= JSON_MAX_DEPTH) { /* deeper than first[] can track */
        json_fail(j);
        return;
    }
    putc_(j, c);
    j->depth++;
    j->first[j->depth] = 1;
}

static void close_container(tn_json *j, char c) {
    if (j->cap == JSON_FAILED) return;
    putc_(j, c);
    if (j->depth > 0) j->depth--; /* an unbalanced close must not index first[-1] */
}

void tn_json_obj_open(tn_json *j, const char *key) { open_container(j, key, '{'); }
void tn_json_obj_close(tn_json *j) { close_container(j, '}'); }
void tn_json_arr_open(tn_json *j, const char *key) { open_container(j, key, '['); }
void tn_json_arr_close(tn_json *j) { close_container(j, ']'); }

void tn_json_num(tn_json *j, const char *key, double v) {
    begin_value(j, key);
    if (!isfinite(v)) { /* JSON has no NaN/Infinity; null keeps the line parseable */
        put(j, "null", 4);
        return;
    }
    char buf[40];
    int n = snprintf(buf, sizeof buf, "%.9g", v);
    put(j, buf, (size_t)n);
}

void tn_json_int(tn_json *j, const char *key, long long v) {
    begin_value(j, key);
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", v);
    put(j, buf, (size_t)n);
}

void tn_json_str(tn_json *j, const char *key, const char *v) {
    begin_value(j, key);
    if (!v) {
        put(j, "null", 4);
        return;
    }
    put_string(j, v);
}

void tn_json_bool(tn_json *j, const char *key, int v) {
    begin_value(j, key);
    if (v)
        put(j, "true", 4);
    else
        put(j, "false", 5);
}

void tn_json_null(tn_json *j, const char *key) {
    begin_value(j, key);
    put(j, "null", 4);
}
