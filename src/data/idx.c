/* IDX reader for MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/ format):
 * big-endian header (magic, dims), then unsigned bytes. Files are read through zlib's gzread,
 * which also reads uncompressed files transparently, so `x` and `x.gz` take the same path.
 * Every way a download can go wrong (HTML error page, cut-off transfer, swapped paths, files
 * from different splits) gets its own one-line message that names the file and the fix. */
#define _POSIX_C_SOURCE 200809L
#include "taunet/data.h"
#include "data/files.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_IMAGES_MAGIC 0x00000803u /* unsigned byte, 3 dims */
#define IDX_LABELS_MAGIC 0x00000801u /* unsigned byte, 1 dim */
#define FETCH_HINT "re-download it (data/fetch.sh)"

static uint32_t be32(const unsigned char *b) {
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

/* Magic mismatch: say what the file actually looks like, the usual causes being swapped paths
 * and an HTML error page saved by a failed download. */
static int bad_magic(const char *path, uint32_t magic, uint32_t want, tn_err *e) {
    const char *kind = want == IDX_IMAGES_MAGIC ? "images" : "labels";
    if (magic == IDX_IMAGES_MAGIC || magic == IDX_LABELS_MAGIC)
        return tn_fail(e, TN_EINPUT,
                       "data: %s: magic 0x%08x is an IDX %s file, expected %s (0x%08x); are the images "
                       "and labels paths swapped?",
                       path, magic, magic == IDX_IMAGES_MAGIC ? "images" : "labels", kind, want);
    return tn_fail(e, TN_EINPUT, "data: %s: not an IDX %s file (magic 0x%08x, expected 0x%08x); " FETCH_HINT,
                   path, kind, magic, want);
}

/* Validates the images buffer (magic, header, exact pixel size); on success sets *n, *rows, *cols. */
static int check_images(const char *images_path, const unsigned char *ib, size_t il, uint32_t *n_out,
                        uint32_t *rows_out, uint32_t *cols_out, tn_err *e) {
    /* images header: magic, count, rows, cols */
    if (il < 4)
        return tn_fail(e, TN_EINPUT, "data: %s: %zu bytes, too short to be an IDX file; " FETCH_HINT,
                       images_path, il);
    if (be32(ib) != IDX_IMAGES_MAGIC) return bad_magic(images_path, be32(ib), IDX_IMAGES_MAGIC, e);
    if (il < 16)
        return tn_fail(e, TN_EINPUT, "data: %s: truncated: %zu bytes, the IDX images header needs 16; " FETCH_HINT,
                       images_path, il);
    const uint32_t n = be32(ib + 4), rows = be32(ib + 8), cols = be32(ib + 12);
    if (n == 0 || rows == 0 || cols == 0 || n > 0x7fffffffu || (uint64_t)rows * cols > 0x7fffffffu)
        return tn_fail(e, TN_EINPUT, "data: %s: implausible header (%u images of %ux%u); " FETCH_HINT,
                       images_path, n, rows, cols);
    const size_t p = (size_t)rows * cols, npix = (size_t)n * p, have = il - 16;
    if (have < npix)
        return tn_fail(e, TN_EINPUT,
                       "data: %s: truncated: header says %u images of %ux%u but the file holds %zu bytes of "
                       "pixels (needs %zu); " FETCH_HINT,
                       images_path, n, rows, cols, have, npix);
    if (have > npix)
        return tn_fail(e, TN_EINPUT,
                       "data: %s: %zu trailing bytes after the %u images of %ux%u the header declares; the "
                       "file is corrupt or not IDX; " FETCH_HINT,
                       images_path, have - npix, n, rows, cols);
    *n_out = n;
    *rows_out = rows;
    *cols_out = cols;
    return 0;
}

/* Validates the labels buffer against the n images: magic, header, count, exact size, range 0..9. */
static int check_labels(const char *labels_path, const unsigned char *lb, size_t ll, const char *images_path,
                        uint32_t n, tn_err *e) {
    /* labels header: magic, count */
    if (ll < 4)
        return tn_fail(e, TN_EINPUT, "data: %s: %zu bytes, too short to be an IDX file; " FETCH_HINT,
                       labels_path, ll);
    if (be32(lb) != IDX_LABELS_MAGIC) return bad_magic(labels_path, be32(lb), IDX_LABELS_MAGIC, e);
    if (ll < 8)
        return tn_fail(e, TN_EINPUT, "data: %s: truncated: %zu bytes, the IDX labels header needs 8; " FETCH_HINT,
                       labels_path, ll);
    const uint32_t nl = be32(lb + 4);
    if (nl != n)
        return tn_fail(e, TN_EINPUT,
                       "data: count mismatch: %s has %u images but %s has %u labels; use the images and "
                       "labels of the same split (train-* with train-*, t10k-* with t10k-*)",
                       images_path, n, labels_path, nl);
    if (ll - 8 < (size_t)n)
        return tn_fail(e, TN_EINPUT,
                       "data: %s: truncated: header says %u labels but the file holds %zu; " FETCH_HINT,
                       labels_path, n, ll - 8);
    if (ll - 8 > (size_t)n)
        return tn_fail(e, TN_EINPUT,
                       "data: %s: %zu trailing bytes after the %u labels the header declares; " FETCH_HINT,
                       labels_path, ll - 8 - n, n);
    for (uint32_t i = 0; i < n; i++)
        if (lb[8 + i] >= 10)
            return tn_fail(e, TN_EINPUT,
                           "data: %s: label %u at index %u is out of range (MNIST/Fashion-MNIST labels are "
                           "0..9); " FETCH_HINT,
                           labels_path, lb[8 + i], i);
    return 0;
}

int tn_idx_load_pair(const char *images_path, const char *labels_path, tn_dataset *out, tn_err *e) {
    memset(out, 0, sizeof *out);
    unsigned char *ib = NULL, *lb = NULL;
    size_t il = 0, ll = 0;
    uint32_t n = 0, rows = 0, cols = 0;
    int rc = tn_data_read_all(images_path, FETCH_HINT, &ib, &il, e);
    if (rc) return rc;
    rc = tn_data_read_all(labels_path, FETCH_HINT, &lb, &ll, e);
    if (rc) goto done;
    rc = check_images(images_path, ib, il, &n, &rows, &cols, e);
    if (rc) goto done;
    rc = check_labels(labels_path, lb, ll, images_path, n, e);
    if (rc) goto done;

    const size_t p = (size_t)rows * cols, npix = (size_t)n * p;
    out->x = malloc(npix * sizeof(float));
    out->y = malloc((size_t)n * sizeof(int32_t));
    if (!out->x || !out->y) {
        rc = tn_fail(e, TN_ERUNTIME, "data: %s: out of memory for %u images of %ux%u as floats",
                     images_path, n, rows, cols);
        goto done;
    }
    for (size_t i = 0; i < npix; i++) out->x[i] = (float)ib[16 + i];
    for (uint32_t i = 0; i < n; i++) out->y[i] = lb[8 + i];
    out->n = (int)n;
    out->p = (int)p;
    out->c = 1, out->h = (int)rows, out->w = (int)cols;
    out->d = 10;
done:
    free(ib);
    free(lb);
    if (rc) tn_dataset_free(out);
    return rc;
}


int tn_mnist_load(const char *dir, tn_dataset *train, tn_dataset *test, tn_err *e) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    static const char *names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char paths[4][4096];
    struct stat st;
    if (!dir || !dir[0])
        return tn_fail(e, TN_EINPUT,
                       "data: no data directory given for MNIST/Fashion-MNIST; point it at a directory "
                       "holding the four IDX files (data/fetch.sh fashion|mnist DIR)");
    if (strlen(dir) > 4000)
        return tn_fail(e, TN_EINPUT, "data: data directory path is too long (%zu characters)", strlen(dir));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return tn_fail(e, TN_EINPUT,
                       "data: %s: no such directory; fetch the dataset into it with data/fetch.sh "
                       "fashion|mnist %s",
                       dir, dir);
    for (int i = 0; i < 4; i++)
        if (!tn_data_find_file(dir, names[i], paths[i], sizeof paths[i]))
            return tn_fail(e, TN_EINPUT,
                           "data: %s: missing %s (expected train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                           "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each raw or .gz); fetch them "
                           "with data/fetch.sh fashion|mnist %s",
                           dir, names[i], dir);
    int rc = tn_idx_load_pair(paths[0], paths[1], train, e);
    if (rc) return rc;
    rc = tn_idx_load_pair(paths[2], paths[3], test, e);
    if (rc) {
        tn_dataset_free(train);
        return rc;
    }
    if (test->p != train->p) {
        rc = tn_fail(e, TN_EINPUT, "data: %s: test images have %d pixels but training images have %d; "
                     "the files come from different datasets; " FETCH_HINT, paths[2], test->p, train->p);
        tn_dataset_free(train);
        tn_dataset_free(test);
    }
    return rc;
}
