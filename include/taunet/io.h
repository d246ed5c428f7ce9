/* File output that never leaves a half-written file that looks complete:
 * whole files are written to a temporary in the same directory, fsynced and renamed;
 * log lines are appended with one write() each. Plus a small JSON writer and .npy. */
#ifndef TAUNET_IO_H
#define TAUNET_IO_H
#include <stddef.h>
#include <stdint.h>
#include "taunet/error.h"
#ifdef __cplusplus
extern "C" {
#endif

int tn_write_atomic(const char *path, const void *data, size_t len, tn_err *e);
/* Removes the temporaries "<name>.tmp.<pid>" of tn_write_atomic in dir whose writer is no longer
 * running on this host (killed mid-write); *removed (may be NULL) counts them. A run directory
 * has one writer, so a dead pid's temporary is garbage (a checkpoint's is as large as the model). */
int tn_remove_stale_temps(const char *dir, int *removed, tn_err *e);
/* Append `line` plus '\n' to path with a single write (O_APPEND) and fsync, so a killed process
 * leaves either the whole line or none of it. */
int tn_append_line(const char *path, const char *line, tn_err *e);
/* Read a whole file into a malloc'd, NUL-terminated buffer. */
int tn_read_file(const char *path, char **data, size_t *len, tn_err *e);
int tn_mkdir_p(const char *path, tn_err *e);

/* JSON writer into a growing string. Keys are NULL inside arrays and at top level.
 * Non-finite numbers are written as null (JSON has no NaN). Floats with %.9g (round-trip). */
typedef struct tn_json {
    char *s;
    size_t len, cap;
    int depth;
    int first[64]; /* 1 while the container at that depth has no element yet */
} tn_json;
void tn_json_init(tn_json *j);
void tn_json_free(tn_json *j);
void tn_json_obj_open(tn_json *j, const char *key);
void tn_json_obj_close(tn_json *j);
void tn_json_arr_open(tn_json *j, const char *key);
void tn_json_arr_close(tn_json *j);
void tn_json_num(tn_json *j, const char *key, double v);
void tn_json_int(tn_json *j, const char *key, long long v);
void tn_json_str(tn_json *j, const char *key, const char *v);
void tn_json_bool(tn_json *j, const char *key, int v);
void tn_json_null(tn_json *j, const char *key);

/* Reading JSON (src/io/json_read.c). tn_json_check: 0 when text[0..len) is exactly one JSON value
 * (RFC 8259 grammar; surrounding whitespace allowed; strings may hold any byte >= 0x80; nesting at
 * most TN_JSON_MAX_DEPTH), else -1 with *where (may be NULL) the offset of the first wrong byte.
 * Check text before reading members from it. */
#define TN_JSON_MAX_DEPTH 64
int tn_json_check(const char *text, size_t len, size_t *where);
/* A top-level member of the object text obj[0..len), as the raw text of its value; 0 when found. */
int tn_json_member(const char *obj, size_t len, const char *key, const char **val, size_t *vlen);
/* The members in order: *pos starts at 0; -1 at the end (or on malformed text). key excludes
 * its quotes; val is the raw value text (strings keep their quotes). */
int tn_json_next_member(const char *obj, size_t len, size_t *pos, const char **key, size_t *klen,
                        const char **val, size_t *vlen);
/* The JSON string literal val[0..vlen) decoded (escapes, \u as UTF-8) into out, NUL-terminated;
 * -1 when it is not a string, holds \u0000, or does not fit in cap bytes. */
int tn_json_get_string(const char *val, size_t vlen, char *out, size_t cap);

/* NumPy .npy v1.0, little-endian float32 ('<f4'), C order; written atomically. */
int tn_npy_write(const char *path, const float *data, int ndim, const int64_t *shape, tn_err *e);
/* Reads a '<f4' C-order .npy (used by tests and by tools); *data malloc'd. */
int tn_npy_read(const char *path, float **data, int *ndim, int64_t shape[8], tn_err *e);

/* Checkpoints: header (magic "TAUNETCK", format version, meta text, tensor table) and tensor
 * payloads, with a CRC-32 (zlib) over everything after the fixed header; written atomically.
 * `meta` is free text owned by the caller (taunet stores the canonical flags and the step). */
typedef struct tn_tensor_ref {
    const char *name;
    float *data;   /* save: read from; load: written to (caller allocates count floats) */
    size_t count;
} tn_tensor_ref;

#define TN_CKPT_VERSION 1
int tn_ckpt_save(const char *path, const char *meta, const tn_tensor_ref *t, int nt, tn_err *e);
/* Verifies magic, version, checksum and that every requested tensor exists with the same count.
 * *meta is malloc'd. Errors are TN_EINPUT with a message naming the file and the problem. */
int tn_ckpt_load(const char *path, char **meta, const tn_tensor_ref *t, int nt, tn_err *e);
/* Reads only the meta text (to recover the configuration before the model exists). */
int tn_ckpt_read_meta(const char *path, char **meta, tn_err *e);

#ifdef __cplusplus
}
#endif
#endif
