/* CIFAR-10 binary version (https://www.cs.toronto.edu/~kriz/cifar.html): each file is a run of
 * 3073-byte records, 1 label byte then 32x32x3 pixels in CHW order (all red, green, blue).
 * Files may be raw or gzip'd (zlib's gzread reads both). The official files hold 10000 records
 * each; any count is accepted so tests can use tiny files. */
#define _POSIX_C_SOURCE 200809L
#include "taunet/data.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define CIFAR_P 3072
#define CIFAR_REC (1 + CIFAR_P)
#define FETCH_HINT "re-download it (data/fetch.sh cifar10)"

/* Whole decompressed file into a malloc'd buffer (same approach as the IDX reader: read first,
 * then validate the size, so messages can state what the file really holds). */
static int read_all(const char *path, unsigned char **out, size_t *out_len, tn_err *e) {
    *out = NULL;
    *out_len = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return tn_fail(e, TN_ERUNTIME, "data: %s: cannot open (%s); check permissions", path,
                       errno ? strerror(errno) : "out of memory");
    gzbuffer(f, 1u << 18);
    size_t cap = (size_t)CIFAR_REC * 1024, len = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        gzclose(f);
        return tn_fail(e, TN_ERUNTIME, "data: %s: out of memory", path);
    }
    for (;;) {
        if (len == cap) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                gzclose(f);
                return tn_fail(e, TN_ERUNTIME, "data: %s: out of memory after %zu bytes", path, len);
            }
            buf = nb;
            cap *= 2;
        }
        size_t want = cap - len;
        if (want > (1u << 30)) want = 1u << 30; /* gzread takes an unsigned int */
        int got = gzread(f, buf + len, (unsigned)want);
        const int sys_errno = errno; /* before anything else can overwrite it */
        if (got > 0) {
            len += (size_t)got;
            continue;
        }
        int zerr = Z_OK;
        char zmsg[128]; /* gzerror's text lives in the gzFile: copy it before gzclose */
        const char *zm = gzerror(f, &zerr);
        const size_t pl = strlen(path); /* zlib prefixes "path: "; we print the path already */
        if (strncmp(zm, path, pl) == 0 && zm[pl] == ':' && zm[pl + 1] == ' ') zm += pl + 2;
        snprintf(zmsg, sizeof zmsg, "%s", zm);
        if (got == 0 && zerr == Z_OK) break;
        free(buf);
        gzclose(f);
        if (zerr == Z_BUF_ERROR)
            return tn_fail(e, TN_EINPUT, "data: %s: truncated gzip stream after %zu bytes; " FETCH_HINT,
                           path, len);
        if (zerr == Z_ERRNO || zerr == Z_MEM_ERROR)
            return tn_fail(e, TN_ERUNTIME, "data: %s: read error (%s); check the disk and retry", path,
                           zerr == Z_ERRNO ? strerror(sys_errno) : zmsg);
        return tn_fail(e, TN_EINPUT, "data: %s: corrupt gzip data (%s); " FETCH_HINT, path, zmsg);
    }
    gzclose(f);
    *out = buf;
    *out_len = len;
    return 0;
}

/* dir/name or dir/name.gz (raw preferred when both exist). */
static int find_file(const char *dir, const char *name, char *path, size_t cap) {
    struct stat st;
    snprintf(path, cap, "%s/%s", dir, name);
    if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) return 1;
    snprintf(path, cap, "%s/%s.gz", dir, name);
    if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) return 1;
    return 0;
}

/* Validate one file and append its records to ds (x/y grown with realloc). */
static int append_file(const char *path, tn_dataset *ds, tn_err *e) {
    unsigned char *b;
    size_t len;
    int rc = read_all(path, &b, &len, e);
    if (rc) return rc;
    if (len == 0) {
        free(b);
        return tn_fail(e, TN_EINPUT, "data: %s: file is empty; " FETCH_HINT, path);
    }
    if (len % CIFAR_REC != 0) {
        free(b);
        return tn_fail(e, TN_EINPUT,
                       "data: %s: size %zu is not a multiple of the 3073-byte record (1 label + 3072 "
                       "pixels); the file is truncated or not the CIFAR-10 binary version; " FETCH_HINT,
                       path, len);
    }
    const size_t m = len / CIFAR_REC;
    if ((size_t)ds->n + m > 0x7fffffffu / CIFAR_P) {
        free(b);
        return tn_fail(e, TN_EINPUT, "data: %s: too many records (%zu) for one split", path, m);
    }
    for (size_t r = 0; r < m; r++)
        if (b[r * CIFAR_REC] > 9) {
            rc = tn_fail(e, TN_EINPUT,
                         "data: %s: record %zu has label %u, CIFAR-10 labels are 0..9 (is this the "
                         "CIFAR-100 binary?); " FETCH_HINT,
                         path, r, b[r * CIFAR_REC]);
            free(b);
            return rc;
        }
    const size_t n0 = (size_t)ds->n, n1 = n0 + m;
    float *x = realloc(ds->x, n1 * CIFAR_P * sizeof(float));
    if (!x) {
        free(b);
        return tn_fail(e, TN_ERUNTIME, "data: %s: out of memory for %zu CIFAR-10 images", path, n1);
    }
    ds->x = x;
    int32_t *y = realloc(ds->y, n1 * sizeof(int32_t));
    if (!y) {
        free(b);
        return tn_fail(e, TN_ERUNTIME, "data: %s: out of memory for %zu labels", path, n1);
    }
    ds->y = y;
    for (size_t r = 0; r < m; r++) {
        const unsigned char *rec = b + r * CIFAR_REC;
        float *row = x + (n0 + r) * CIFAR_P;
        y[n0 + r] = rec[0];
        for (int j = 0; j < CIFAR_P; j++) row[j] = (float)rec[1 + j];
    }
    ds->n = (int)n1;
    free(b);
    return 0;
}

int tn_cifar10_load(const char *dir, tn_dataset *train, tn_dataset *test, tn_err *e) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    static const char *names[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                   "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    char paths[6][4096];
    struct stat st;
    if (!dir || !dir[0])
        return tn_fail(e, TN_EINPUT,
                       "data: no data directory given for CIFAR-10; point it at a directory holding "
                       "data_batch_1.bin..data_batch_5.bin and test_batch.bin (data/fetch.sh cifar10 DIR)");
    if (strlen(dir) > 4000)
        return tn_fail(e, TN_EINPUT, "data: data directory path is too long (%zu characters)", strlen(dir));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return tn_fail(e, TN_EINPUT,
                       "data: %s: no such directory; fetch CIFAR-10 into it with data/fetch.sh cifar10 %s",
                       dir, dir);
    for (int i = 0; i < 6; i++)
        if (!find_file(dir, names[i], paths[i], sizeof paths[i])) {
            /* the official tarball unpacks into cifar-10-batches-bin/: point at it if present */
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/cifar-10-batches-bin", dir);
            const int nested = stat(sub, &st) == 0 && S_ISDIR(st.st_mode);
            return tn_fail(e, TN_EINPUT,
                           "data: %s: missing %s (expected data_batch_1.bin..data_batch_5.bin and "
                           "test_batch.bin, each raw or .gz); %s%s",
                           dir, names[i], nested ? "use the directory " : "fetch them with data/fetch.sh cifar10 ",
                           nested ? sub : dir);
        }
    int rc = 0;
    for (int i = 0; i < 5 && !rc; i++) rc = append_file(paths[i], train, e);
    if (!rc) rc = append_file(paths[5], test, e);
    if (rc) {
        tn_dataset_free(train);
        tn_dataset_free(test);
        return rc;
    }
    train->p = test->p = CIFAR_P;
    train->d = test->d = 10;
    return 0;
}
