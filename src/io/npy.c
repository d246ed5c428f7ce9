/* NumPy .npy files of float32 ('<f4'), C order.
 *
 * Layout written (format version 1.0, see numpy/lib/format.py):
 *   "\x93NUMPY" 0x01 0x00 <uint16 LE header_len> <header_len bytes of ASCII dict> <data>
 * The dict is "{'descr': '<f4', 'fortran_order': False, 'shape': (a, b), }", padded with spaces
 * and ending in '\n' so that 10 + header_len is a multiple of 64 (NumPy's alignment rule, which
 * lets readers mmap the data aligned). A 1-d shape is "(n,)", a 0-d one "()".
 * Data: the values as little-endian float32, regardless of the host's byte order.
 *
 * The reader accepts versions 1.0 and 2.0 (2.0 differs only in a uint32 header_len), which is
 * what numpy.save produces for float32 arrays. */
#include "taunet/io.h"

#include "io/le.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_MAX_DIM 8 /* tn_npy_read's shape[8] */


int tn_npy_write(const char *path, const float *data, int ndim, const int64_t *shape, tn_err *e) {
    if (ndim < 0 || ndim > NPY_MAX_DIM)
        return tn_fail(e, TN_EINPUT, "npy %s: %d dimensions, at most %d are supported; reshape the array",
                       path, ndim, NPY_MAX_DIM);
    /* The dict, with room for the padding appended below. 8 dims of 20 digits fit easily. */
    char dict[512];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return tn_fail(e, TN_EINPUT, "npy %s: negative extent %lld in dimension %d; pass a valid shape",
                           path, (long long)shape[i], i);
        if (shape[i] > 0 && count > SIZE_MAX / 4 / (size_t)shape[i])
            return tn_fail(e, TN_EINPUT, "npy %s: shape too large for memory; pass a valid shape", path);
        count *= (size_t)shape[i];
        n += snprintf(dict + n, sizeof dict - (size_t)n, i ? ", %lld" : "%lld", (long long)shape[i]);
    }
    n += snprintf(dict + n, sizeof dict - (size_t)n, ndim == 1 ? ",), }" : "), }");
    /* Pad so magic(6) + version(2) + len(2) + dict + '\n' is a multiple of 64. */
    size_t hlen = (size_t)n + 1;
    size_t total_head = 10 + hlen;
    size_t pad = (64 - total_head % 64) % 64;
    hlen += pad;
    total_head += pad;

    size_t nbytes = count * 4;
    if (nbytes > SIZE_MAX - total_head)
        return tn_fail(e, TN_EINPUT, "npy %s: array too large; write it in parts", path);
    unsigned char *buf = malloc(total_head + nbytes);
    if (!buf)
        return tn_fail(e, TN_ERUNTIME, "npy %s: out of memory for %zu bytes; free memory and retry",
                       path, total_head + nbytes);
    memcpy(buf, NPY_MAGIC, NPY_MAGIC_LEN);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', pad);
    buf[total_head - 1] = '\n';
    if (count) tn_copy_f32_le(buf + total_head, data, count);
    int rc = tn_write_atomic(path, buf, total_head + nbytes, e);
    free(buf);
    return rc;
}

/* Find `'key':` (or "key":) in the header dict and return a pointer past the colon and any
 * spaces, or NULL. The header is NUL-terminated by the caller. */
static const char *dict_value(const char *h, const char *key) {
    size_t kl = strlen(key);
    for (const char *p = h; (p = strpbrk(p, "'\"")) != NULL; p++) {
        if (strncmp(p + 1, key, kl) == 0 && p[1 + kl] == p[0]) {
            const char *v = p + 2 + kl;
            while (*v == ' ') v++;
            if (*v != ':') return NULL;
            v++;
            while (*v == ' ') v++;
            return v;
        }
    }
    return NULL;
}

/* Parse "(a, b, ...)" into shape; returns ndim or -1 if malformed / too many dimensions. */
static int parse_shape(const char *v, int64_t shape[NPY_MAX_DIM]) {
    if (*v++ != '(') return -1;
    int nd = 0;
    for (;;) {
        while (*v == ' ') v++;
        if (*v == ')') return nd;
        if (*v < '0' || *v > '9') return -1;
        if (nd == NPY_MAX_DIM) return -1;
        char *end;
        long long x = strtoll(v, &end, 10);
        if (x < 0) return -1;
        shape[nd++] = x;
        v = end;
        while (*v == ' ') v++;
        if (*v == ',') v++;
        else if (*v != ')') return -1;
    }
}

/* Parses and checks the header dict (hlen bytes at hdr): '<f4', C order and a shape of at most
 * NPY_MAX_DIM dimensions, which goes to shp and *nd. */
static int npy_dict(const char *path, const char *hdr, size_t hlen, int64_t shp[NPY_MAX_DIM], int *nd_out,
                    tn_err *e) {
    /* A NUL-terminated copy of the header so the string parsing cannot run into the data. */
    char *h = malloc(hlen + 1);
    if (!h) return tn_fail(e, TN_ERUNTIME, "npy %s: out of memory; free memory and retry", path);
    memcpy(h, hdr, hlen);
    h[hlen] = '\0';
    const char *descr = dict_value(h, "descr");
    const char *fo = dict_value(h, "fortran_order");
    const char *sh = dict_value(h, "shape");
    int nd = sh ? parse_shape(sh, shp) : -1;
    int bad_descr = !descr || (strncmp(descr, "'<f4'", 5) != 0 && strncmp(descr, "\"<f4\"", 5) != 0);
    int fortran = fo && strncmp(fo, "True", 4) == 0;
    int bad_fo = !fo || (!fortran && strncmp(fo, "False", 5) != 0);
    if (bad_descr) {
        tn_fail(e, TN_EINPUT, "npy %s: dtype is not little-endian float32 ('<f4'); convert with a.astype('<f4')", path);
    } else if (bad_fo || fortran) {
        tn_fail(e, TN_EINPUT, "npy %s: array is in Fortran order, only C order is read; save np.ascontiguousarray(a)", path);
    } else if (nd < 0) {
        tn_fail(e, TN_EINPUT, "npy %s: malformed or more than %d-dimensional shape in the header; re-export the file",
                path, NPY_MAX_DIM);
    }
    free(h);
    if (bad_descr || bad_fo || fortran || nd < 0) return TN_EINPUT;
    *nd_out = nd;
    return 0;
}

int tn_npy_read(const char *path, float **data, int *ndim, int64_t shape[8], tn_err *e) {
    *data = NULL;
    *ndim = 0;
    char *buf;
    size_t len;
    int rc = tn_read_file(path, &buf, &len, e);
    if (rc) return rc;
    const unsigned char *u = (const unsigned char *)buf;
    rc = TN_EINPUT;
    if (len < 10 || memcmp(buf, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
        tn_fail(e, TN_EINPUT, "npy %s: not a .npy file (bad magic); pass a file written by numpy.save or taunet", path);
        goto out;
    }
    size_t hlen, hstart;
    if (u[6] == 1) {
        hlen = (size_t)u[8] | (size_t)u[9] << 8;
        hstart = 10;
    } else if (u[6] == 2 && len >= 12) {
        hlen = (size_t)u[8] | (size_t)u[9] << 8 | (size_t)u[10] << 16 | (size_t)u[11] << 24;
        hstart = 12;
    } else {
        tn_fail(e, TN_EINPUT, "npy %s: format version %d.%d, only 1.0 and 2.0 are read; re-save it with numpy.save",
                path, u[6], u[7]);
        goto out;
    }
    if (hlen > len - hstart) {
        tn_fail(e, TN_EINPUT, "npy %s: truncated header; re-export the file", path);
        goto out;
    }
    int64_t shp[NPY_MAX_DIM];
    int nd = 0;
    if ((rc = npy_dict(path, buf + hstart, hlen, shp, &nd, e))) goto out;
    rc = TN_EINPUT;

    size_t count = 1;
    for (int i = 0; i < nd; i++) {
        if (shp[i] > 0 && count > SIZE_MAX / 4 / (size_t)shp[i]) {
            tn_fail(e, TN_EINPUT, "npy %s: shape too large; re-export the file", path);
            goto out;
        }
        count *= (size_t)shp[i];
    }
    size_t have = len - hstart - hlen;
    if (have != count * 4) {
        tn_fail(e, TN_EINPUT, "npy %s: %s (%zu data bytes, the shape needs %zu); re-export the file", path,
                have < count * 4 ? "truncated" : "trailing bytes after the data", have, count * 4);
        goto out;
    }
    float *out = malloc(count ? count * 4 : 1);
    if (!out) {
        rc = tn_fail(e, TN_ERUNTIME, "npy %s: out of memory for %zu values; free memory and retry", path, count);
        goto out;
    }
    if (count) tn_copy_f32_le(out, buf + hstart + hlen, count);
    *data = out;
    *ndim = nd;
    for (int i = 0; i < nd; i++) shape[i] = shp[i];
    rc = 0;
out:
    free(buf);
    return rc;
}
