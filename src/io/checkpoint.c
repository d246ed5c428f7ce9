/* Checkpoint files: the training state (meta text + named float32 tensors) in one file.
 *
 * Byte layout, all integers little-endian (also documented in docs/FORMATS.md, "Checkpoint"):
 *
 *   fixed header, 32 bytes
 *     0   8  magic "TAUNETCK"
 *     8   4  u32 format version (TN_CKPT_VERSION = 1)
 *     12  4  u32 reserved, 0
 *     16  8  u64 body_length: bytes after the fixed header
 *     24  4  u32 CRC-32 (zlib crc32) of the body
 *     28  4  u32 reserved, 0
 *   body, body_length bytes
 *     u32 meta_len, meta_len bytes of meta text (no NUL)
 *     u32 ntensors
 *     per tensor: u16 name_len, name_len bytes of name (no NUL), u64 count,
 *                 count float32 values (little-endian IEEE 754)
 *
 * The file is built in memory and written with tn_write_atomic, so a crash during save leaves
 * the previous checkpoint intact. The CRC still catches files damaged afterwards (bad copies,
 * truncated transfers), and the length field tells "truncated" apart from "corrupt".
 * Load checks everything before copying any tensor, so a failed load never leaves the model
 * half-overwritten. */
#include "taunet/io.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io/le.h"

#define CK_MAGIC "TAUNETCK"
#define CK_HEADER 32

/* zlib's crc32 takes a uInt length; feed large bodies in chunks. */
static uint32_t crc_of(const unsigned char *p, size_t n) {
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt chunk = n > (size_t)1 << 30 ? (uInt)1 << 30 : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

int tn_ckpt_save(const char *path, const char *meta, const tn_tensor_ref *t, int nt, tn_err *e) {
    if (!meta) meta = "";
    if (nt < 0) return tn_fail(e, TN_EINPUT, "checkpoint %s: negative tensor count %d; pass nt >= 0", path, nt);
    size_t meta_len = strlen(meta);
    if (meta_len > UINT32_MAX)
        return tn_fail(e, TN_EINPUT, "checkpoint %s: meta text of %zu bytes exceeds 4 GiB; shorten it", path, meta_len);
    /* Size the body first, checking every field fits its width. */
    size_t body = 4 + meta_len + 4;
    for (int i = 0; i < nt; i++) {
        const char *name = t[i].name ? t[i].name : "";
        size_t nl = strlen(name);
        if (nl == 0 || nl > UINT16_MAX)
            return tn_fail(e, TN_EINPUT, "checkpoint %s: tensor %d has a name of %zu bytes, need 1..65535; rename it",
                           path, i, nl);
        if (t[i].count > 0 && !t[i].data)
            return tn_fail(e, TN_EINPUT, "checkpoint %s: tensor '%s' has no data; pass its buffer", path, name);
        for (int k = 0; k < i; k++) /* duplicate names would make load ambiguous */
            if (t[k].name && strcmp(t[k].name, name) == 0)
                return tn_fail(e, TN_EINPUT, "checkpoint %s: tensor name '%s' appears twice; make the names unique",
                               path, name);
        size_t room = SIZE_MAX - CK_HEADER - body; /* body stays <= SIZE_MAX - CK_HEADER */
        if (nl + 10 > room || t[i].count > (room - nl - 10) / 4)
            return tn_fail(e, TN_EINPUT, "checkpoint %s: tensors too large to save in memory; save fewer values", path);
        body += 2 + nl + 8 + t[i].count * 4;
    }
    unsigned char *buf = malloc(CK_HEADER + body);
    if (!buf)
        return tn_fail(e, TN_ERUNTIME, "checkpoint %s: out of memory for %zu bytes; free memory and retry",
                       path, CK_HEADER + body);

    unsigned char *p = buf + CK_HEADER;
    tn_put_u32(p, (uint32_t)meta_len);
    memcpy(p + 4, meta, meta_len);
    p += 4 + meta_len;
    tn_put_u32(p, (uint32_t)nt);
    p += 4;
    for (int i = 0; i < nt; i++) {
        size_t nl = strlen(t[i].name);
        tn_put_u16(p, (uint16_t)nl);
        memcpy(p + 2, t[i].name, nl);
        p += 2 + nl;
        tn_put_u64(p, (uint64_t)t[i].count);
        p += 8;
        if (t[i].count) tn_copy_f32_le(p, t[i].data, t[i].count);
        p += t[i].count * 4;
    }

    memcpy(buf, CK_MAGIC, 8);
    tn_put_u32(buf + 8, TN_CKPT_VERSION);
    tn_put_u32(buf + 12, 0);
    tn_put_u64(buf + 16, (uint64_t)body);
    tn_put_u32(buf + 24, crc_of(buf + CK_HEADER, body));
    tn_put_u32(buf + 28, 0);
    int rc = tn_write_atomic(path, buf, CK_HEADER + body, e);
    free(buf);
    return rc;
}

/* Read path and verify the fixed header and checksum. On success *file is the malloc'd file
 * and *body and *body_len the verified body inside it; on failure nothing is left allocated. */
static int ck_open(const char *path, char **file, const unsigned char **body, size_t *body_len, tn_err *e) {
    size_t len;
    int rc = tn_read_file(path, file, &len, e);
    if (rc) return rc;
    const unsigned char *u = (const unsigned char *)*file;
    const char *again = "resume from an earlier run directory or start again";
    if (len < CK_HEADER) {
        /* A short file that does not even start like a checkpoint is the wrong file. */
        if (memcmp(u, CK_MAGIC, len < 8 ? len : 8) != 0) goto not_ckpt;
        tn_fail(e, TN_EINPUT, "checkpoint %s: truncated (%zu bytes, smaller than the %d-byte header); %s",
                path, len, CK_HEADER, again);
        goto fail;
    }
    if (memcmp(u, CK_MAGIC, 8) != 0) goto not_ckpt;
    uint32_t ver = tn_get_u32(u + 8);
    if (ver != TN_CKPT_VERSION) {
        tn_fail(e, TN_EINPUT, "checkpoint %s: format version %u, this taunet reads version %d; "
                "use the taunet release that wrote it or start again", path, (unsigned)ver, TN_CKPT_VERSION);
        goto fail;
    }
    uint64_t blen = tn_get_u64(u + 16);
    if (blen != (uint64_t)(len - CK_HEADER)) {
        tn_fail(e, TN_EINPUT, "checkpoint %s: %s (%zu bytes, the header says %llu); %s", path,
                blen > (uint64_t)(len - CK_HEADER) ? "truncated" : "trailing bytes after the data (file is corrupt)",
                len, (unsigned long long)blen + CK_HEADER, again);
        goto fail;
    }
    if (crc_of(u + CK_HEADER, (size_t)blen) != tn_get_u32(u + 24)) {
        tn_fail(e, TN_EINPUT, "checkpoint %s: checksum mismatch (file is corrupt); %s", path, again);
        goto fail;
    }
    *body = u + CK_HEADER;
    *body_len = (size_t)blen;
    return 0;
not_ckpt:
    tn_fail(e, TN_EINPUT, "checkpoint %s: not a taunet checkpoint (wrong magic); pass the checkpoint.bin of a taunet run",
            path);
fail:
    free(*file);
    *file = NULL;
    return TN_EINPUT;
}

/* The meta text from a verified body: a malloc'd NUL-terminated copy, and *rest past it. */
static int ck_meta(const char *path, const unsigned char *b, size_t n, char **meta, const unsigned char **rest,
                   tn_err *e) {
    if (n < 4 || tn_get_u32(b) > n - 4)
        return tn_fail(e, TN_EINPUT, "checkpoint %s: malformed (meta text runs past the end); "
                       "it was not written by this taunet, start again", path);
    size_t ml = tn_get_u32(b);
    *rest = b + 4 + ml;
    if (!meta) return 0;
    *meta = malloc(ml + 1);
    if (!*meta) return tn_fail(e, TN_ERUNTIME, "checkpoint %s: out of memory; free memory and retry", path);
    memcpy(*meta, b + 4, ml);
    (*meta)[ml] = '\0';
    return 0;
}

int tn_ckpt_read_meta(const char *path, char **meta, tn_err *e) {
    *meta = NULL;
    char *file;
    const unsigned char *body, *rest;
    size_t blen;
    int rc = ck_open(path, &file, &body, &blen, e);
    if (rc) return rc;
    rc = ck_meta(path, body, blen, meta, &rest, e);
    free(file);
    return rc;
}

typedef struct ck_entry {
    const char *name;
    size_t name_len;
    uint64_t count;
    const unsigned char *data;
} ck_entry;

/* Parses the tensor table at p (after the meta text) into a malloc'd *ent of *ne entries, each
 * bounds-checked against end; *ent is NULL on failure. */
static int ck_table(const char *path, const unsigned char *p, const unsigned char *end, ck_entry **ent_out,
                    uint32_t *ne_out, tn_err *e) {
    const char *bad = "malformed (tensor table runs past the end); it was not written by this taunet, start again";
    *ent_out = NULL;
    if (end - p < 4) return tn_fail(e, TN_EINPUT, "checkpoint %s: %s", path, bad);
    uint32_t ne = tn_get_u32(p);
    p += 4;
    /* Each entry needs at least 10 bytes, which bounds ne before allocating for it. */
    if (ne > (size_t)(end - p) / 10) return tn_fail(e, TN_EINPUT, "checkpoint %s: %s", path, bad);
    ck_entry *ent = malloc((ne ? ne : 1) * sizeof *ent);
    if (!ent) return tn_fail(e, TN_ERUNTIME, "checkpoint %s: out of memory; free memory and retry", path);
    for (uint32_t i = 0; i < ne; i++) {
        if (end - p < 2 || (size_t)(end - p - 2) < (size_t)tn_get_u16(p) + 8) {
            free(ent);
            return tn_fail(e, TN_EINPUT, "checkpoint %s: %s", path, bad);
        }
        ent[i].name_len = tn_get_u16(p);
        ent[i].name = (const char *)p + 2;
        p += 2 + ent[i].name_len;
        ent[i].count = tn_get_u64(p);
        p += 8;
        if (ent[i].count > (uint64_t)(end - p) / 4) {
            free(ent);
            return tn_fail(e, TN_EINPUT, "checkpoint %s: %s", path, bad);
        }
        ent[i].data = p;
        p += ent[i].count * 4;
    }
    *ent_out = ent;
    *ne_out = ne;
    return 0;
}

/* Finds each of the nt requested tensors among the ne entries: a malloc'd *idx of entry indices,
 * or NULL and an error naming the first tensor that is missing or has the wrong count. */
static int ck_match(const char *path, const ck_entry *ent, uint32_t ne, const tn_tensor_ref *t, int nt,
                    size_t **idx_out, tn_err *e) {
    *idx_out = NULL;
    size_t *idx = malloc((nt > 0 ? (size_t)nt : 1) * sizeof *idx);
    if (!idx) return tn_fail(e, TN_ERUNTIME, "checkpoint %s: out of memory; free memory and retry", path);
    for (int i = 0; i < nt; i++) {
        const char *name = t[i].name ? t[i].name : "";
        size_t nl = strlen(name);
        idx[i] = SIZE_MAX;
        for (uint32_t k = 0; k < ne; k++)
            if (ent[k].name_len == nl && memcmp(ent[k].name, name, nl) == 0) {
                idx[i] = k;
                break;
            }
        if (idx[i] == SIZE_MAX) {
            free(idx);
            return tn_fail(e, TN_EINPUT, "checkpoint %s: tensor '%s' is missing (the checkpoint was written for "
                           "another model configuration); resume with the configuration of that run or start again",
                           path, name);
        }
        if (ent[idx[i]].count != (uint64_t)t[i].count) {
            int rc = tn_fail(e, TN_EINPUT, "checkpoint %s: tensor '%s' has %llu values, the configuration needs "
                             "%zu; resume with the configuration of that run or start again",
                             path, name, (unsigned long long)ent[idx[i]].count, t[i].count);
            free(idx);
            return rc;
        }
    }
    *idx_out = idx;
    return 0;
}

int tn_ckpt_load(const char *path, char **meta, const tn_tensor_ref *t, int nt, tn_err *e) {
    if (meta) *meta = NULL;
    char *file, *m = NULL;
    const unsigned char *body, *p;
    size_t blen, *idx = NULL;
    ck_entry *ent = NULL;
    uint32_t ne = 0;
    int rc = ck_open(path, &file, &body, &blen, e);
    if (rc) return rc;
    if ((rc = ck_meta(path, body, blen, meta ? &m : NULL, &p, e))) goto out;
    if ((rc = ck_table(path, p, body + blen, &ent, &ne, e))) goto out;
    /* First pass: every requested tensor must exist with the right count. */
    if ((rc = ck_match(path, ent, ne, t, nt, &idx, e))) goto out;
    /* Second pass: copy, now that nothing can fail. */
    for (int i = 0; i < nt; i++)
        if (t[i].count) tn_copy_f32_le(t[i].data, ent[idx[i]].data, t[i].count);
    free(idx);
    if (meta) {
        *meta = m;
        m = NULL;
    }
out:
    free(m);
    free(ent);
    free(file);
    return rc;
}
