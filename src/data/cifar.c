/* CIFAR-10 and CIFAR-100 binary versions (https://www.cs.toronto.edu/~kriz/cifar.html): each
 * file is a run of records, the label byte(s) then 32x32x3 pixels in CHW order (all red, green,
 * blue). CIFAR-10: 1 label byte (3073-byte records); CIFAR-100: the coarse (superclass) label,
 * then the fine one (3074-byte records).
 * Files may be raw or gzip'd (zlib's gzread reads both). The official files hold 10000 records
 * each; any count is accepted so tests can use tiny files. */
#define _POSIX_C_SOURCE 200809L
#include "taunet/data.h"
#include "data/files.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define CIFAR_P 3072
#define FETCH_HINT "re-download it (data/fetch.sh cifar10)"

/* One binary format: its label bytes, which of them is the label, the classes, names for errors. */
typedef struct {
    int label_bytes, label_at, classes;
    const char *name, *other, *hint;
} cifar_format;
static const cifar_format CIFAR10 = {1, 0, 10, "CIFAR-10", "is this the CIFAR-100 binary?", FETCH_HINT};

/* Validate one file and append its records to ds (x/y grown with realloc). */
static int append_file(const char *path, const cifar_format *f, tn_dataset *ds, tn_err *e) {
    const size_t CIFAR_REC = (size_t)f->label_bytes + CIFAR_P;
    unsigned char *b;
    size_t len;
    int rc = tn_data_read_all(path, f->hint, &b, &len, e);
    if (rc) return rc;
    if (len == 0) {
        free(b);
        return tn_fail(e, TN_EINPUT, "data: %s: file is empty; %s", path, f->hint);
    }
    if (len % CIFAR_REC != 0) {
        free(b);
        return tn_fail(e, TN_EINPUT,
                       "data: %s: size %zu is not a multiple of the %zu-byte record (%d label byte%s + 3072 "
                       "pixels); the file is truncated or not the %s binary version; %s",
                       path, len, CIFAR_REC, f->label_bytes, f->label_bytes > 1 ? "s" : "", f->name, f->hint);
    }
    const size_t m = len / CIFAR_REC;
    if ((size_t)ds->n + m > 0x7fffffffu / CIFAR_P) {
        free(b);
        return tn_fail(e, TN_EINPUT, "data: %s: too many records (%zu) for one split", path, m);
    }
    for (size_t r = 0; r < m; r++)
        if (b[r * CIFAR_REC + f->label_at] >= f->classes) {
            rc = tn_fail(e, TN_EINPUT, "data: %s: record %zu has label %u, %s labels are 0..%d (%s); %s", path, r,
                         b[r * CIFAR_REC + f->label_at], f->name, f->classes - 1, f->other, f->hint);
            free(b);
            return rc;
        }
    const size_t n0 = (size_t)ds->n, n1 = n0 + m;
    float *x = realloc(ds->x, n1 * CIFAR_P * sizeof(float));
    if (!x) {
        free(b);
        return tn_fail(e, TN_ERUNTIME, "data: %s: out of memory for %zu %s images", path, n1, f->name);
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
        y[n0 + r] = rec[f->label_at];
        for (int j = 0; j < CIFAR_P; j++) row[j] = (float)rec[f->label_bytes + j];
    }
    ds->n = (int)n1;
    free(b);
    return 0;
}

/* A set on disk: its files (the last is the test split), how the errors name them, the fetch
 * command's name, and the folder the official tarball unpacks into. */
typedef struct {
    const cifar_format *f;
    const char *const *files;
    int nfiles;
    const char *expected, *fetch, *nested;
} cifar_set;

/* Find every file of the set in dir (the error names the first missing one and the fix), then
 * read the training files into train and the last into test. */
static int load_set(const char *dir, const cifar_set *set, tn_dataset *train, tn_dataset *test, tn_err *e) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    char paths[6][4096];
    struct stat st;
    if (!dir || !dir[0])
        return tn_fail(e, TN_EINPUT, "data: no data directory given for %s; point it at a directory holding %s (data/fetch.sh %s DIR)",
                       set->f->name, set->expected, set->fetch);
    if (strlen(dir) > 4000)
        return tn_fail(e, TN_EINPUT, "data: data directory path is too long (%zu characters)", strlen(dir));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return tn_fail(e, TN_EINPUT, "data: %s: no such directory; fetch %s into it with data/fetch.sh %s %s", dir,
                       set->f->name, set->fetch, dir);
    for (int i = 0; i < set->nfiles; i++)
        if (!tn_data_find_file(dir, set->files[i], paths[i], sizeof paths[i])) {
            /* the official tarball unpacks into a folder of its own: point at it if present */
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", dir, set->nested);
            const int nested = stat(sub, &st) == 0 && S_ISDIR(st.st_mode);
            if (nested)
                return tn_fail(e, TN_EINPUT, "data: %s: missing %s (expected %s, each raw or .gz); use the directory %s",
                               dir, set->files[i], set->expected, sub);
            return tn_fail(e, TN_EINPUT, "data: %s: missing %s (expected %s, each raw or .gz); fetch them with data/fetch.sh %s %s",
                           dir, set->files[i], set->expected, set->fetch, dir);
        }
    int rc = 0;
    for (int i = 0; i < set->nfiles - 1 && !rc; i++) rc = append_file(paths[i], set->f, train, e);
    if (!rc) rc = append_file(paths[set->nfiles - 1], set->f, test, e);
    if (rc) {
        tn_dataset_free(train);
        tn_dataset_free(test);
        return rc;
    }
    train->p = test->p = CIFAR_P;
    train->c = test->c = 3, train->h = test->h = 32, train->w = test->w = 32;
    train->d = test->d = set->f->classes;
    return 0;
}

int tn_cifar10_load(const char *dir, tn_dataset *train, tn_dataset *test, tn_err *e) {
    static const char *const files[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                         "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    const cifar_set set = {&CIFAR10, files, 6, "data_batch_1.bin..data_batch_5.bin and test_batch.bin", "cifar10",
                           "cifar-10-batches-bin"};
    return load_set(dir, &set, train, test, e);
}

int tn_cifar100_load(const char *dir, int coarse, tn_dataset *train, tn_dataset *test, tn_err *e) {
    static const char *const files[2] = {"train.bin", "test.bin"};
    const cifar_format f = {2, coarse ? 0 : 1, coarse ? 20 : 100, coarse ? "CIFAR-100 (coarse)" : "CIFAR-100",
                            "is this the CIFAR-10 binary, or a file of another layout?",
                            "re-download it (data/fetch.sh cifar100)"};
    const cifar_set set = {&f, files, 2, "train.bin and test.bin", "cifar100", "cifar-100-binary"};
    return load_set(dir, &set, train, test, e);
}
