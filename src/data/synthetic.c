/* Synthetic classification data: points uniform on the unit sphere S^{p-1} in R^p (a standard
 * Gaussian vector divided by its norm), labels either uniform random (pure memorisation, the
 * Zhang et al. random-label setting) or the argmax of a random one-hidden-layer ReLU teacher
 * (a learnable rule). n_train + n_test points are drawn from one stream and split, so train and
 * test share the distribution. Independent streams (points, teacher, labels) come from
 * tn_rng_mix(seed, salt): changing the label rule does not change the points. */
#include "taunet/data.h"
#include "io/rng_host.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TEACHER_WIDTH 64
#define SALT_POINTS 0x706f696e7473ull  /* "points" */
#define SALT_TEACHER 0x746561636865ull /* "teache" */
#define SALT_LABELS 0x6c6162656c73ull  /* "labels" */

/* Argmax of W2 relu(W1 x) with Gaussian W1 (width x p, scaled 1/sqrt(p) so hidden units are
 * O(1) on the sphere) and W2 (d x width). No biases: on the sphere they would only shift
 * class frequencies. Ties (measure zero) go to the lowest class. */
static void teacher_labels(const float *x, int32_t *y, size_t n, int p, int d, const double *w1,
                           const double *w2) {
    double h[TEACHER_WIDTH];
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * (size_t)p;
        for (int k = 0; k < TEACHER_WIDTH; k++) {
            const double *wk = w1 + (size_t)k * p;
            double s = 0.0;
            for (int j = 0; j < p; j++) s += wk[j] * xi[j];
            h[k] = s > 0.0 ? s : 0.0;
        }
        int best = 0;
        double best_v = -INFINITY;
        for (int c = 0; c < d; c++) {
            const double *wc = w2 + (size_t)c * TEACHER_WIDTH;
            double s = 0.0;
            for (int k = 0; k < TEACHER_WIDTH; k++) s += wc[k] * h[k];
            if (s > best_v) {
                best_v = s;
                best = c;
            }
        }
        y[i] = best;
    }
}

/* Rejects specs that cannot be generated, in the order the CLI user would fix them. */
static int check_spec(const tn_data_spec *spec, tn_err *e) {
    const int p = spec->p, d = spec->d, ntr = spec->n_train, nte = spec->n_test;
    if (ntr < 1)
        return tn_fail(e, TN_EINPUT, "data: synthetic: --n %d: need at least 1 training point", ntr);
    if (nte < 0)
        return tn_fail(e, TN_EINPUT, "data: synthetic: test split size %d is negative; use 0 or more", nte);
    if (p < 1) return tn_fail(e, TN_EINPUT, "data: synthetic: --input-dim %d: must be at least 1", p);
    if (d < 2) return tn_fail(e, TN_EINPUT, "data: synthetic: --classes %d: must be at least 2", d);
    if (spec->labels != TN_LABELS_UNIFORM && spec->labels != TN_LABELS_TEACHER)
        return tn_fail(e, TN_EINPUT, "data: synthetic: unknown label rule %d; use uniform or teacher",
                       (int)spec->labels);
    const size_t n = (size_t)ntr + (size_t)nte;
    if (n > 0x7fffffffu || n > ((size_t)1 << 40) / (size_t)p)
        return tn_fail(e, TN_EINPUT,
                       "data: synthetic: --n %d plus %d test points of --input-dim %d is too large "
                       "(%zu x %d floats); reduce --n or --input-dim",
                       ntr, nte, p, n, p);
    return 0;
}

/* Fills x (n x p) with points uniform on the unit sphere from the "points" stream; v is p doubles of scratch. */
static void sphere_points(float *x, double *v, size_t n, int p, uint64_t seed) {
    tn_rng r;
    tn_rng_seed(&r, tn_rng_mix(seed, SALT_POINTS));
    for (size_t i = 0; i < n; i++) {
        double ss;
        do { /* a zero vector has probability 0, but redraw rather than divide by zero */
            ss = 0.0;
            for (int j = 0; j < p; j++) {
                v[j] = tn_rng_normal(&r);
                ss += v[j] * v[j];
            }
        } while (!(ss > 0.0));
        const double inv = 1.0 / sqrt(ss);
        float *xi = x + i * (size_t)p;
        for (int j = 0; j < p; j++) xi[j] = (float)(v[j] * inv);
    }
}

/* Fills y (n labels) by the spec's rule: uniform from the "labels" stream, or a random teacher. */
static int make_labels(const tn_data_spec *spec, const float *x, int32_t *y, size_t n, tn_err *e) {
    const int p = spec->p, d = spec->d;
    tn_rng r;
    if (spec->labels == TN_LABELS_UNIFORM) {
        tn_rng_seed(&r, tn_rng_mix(spec->seed, SALT_LABELS));
        for (size_t i = 0; i < n; i++) y[i] = (int32_t)tn_rng_below(&r, (uint64_t)d);
        return 0;
    }
    double *w1 = malloc((size_t)TEACHER_WIDTH * p * sizeof(double));
    double *w2 = malloc((size_t)d * TEACHER_WIDTH * sizeof(double));
    int rc = 0;
    if (!w1 || !w2) {
        rc = tn_fail(e, TN_ERUNTIME, "data: synthetic: out of memory for the teacher network");
    } else {
        tn_rng_seed(&r, tn_rng_mix(spec->seed, SALT_TEACHER));
        const double s1 = 1.0 / sqrt((double)p);
        for (size_t k = 0; k < (size_t)TEACHER_WIDTH * p; k++) w1[k] = tn_rng_normal(&r) * s1;
        for (size_t k = 0; k < (size_t)d * TEACHER_WIDTH; k++) w2[k] = tn_rng_normal(&r);
        teacher_labels(x, y, n, p, d, w1, w2);
    }
    free(w1);
    free(w2);
    return rc;
}

int tn_synthetic_make(const tn_data_spec *spec, tn_dataset *train, tn_dataset *test, tn_err *e) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    const int p = spec->p, d = spec->d, ntr = spec->n_train, nte = spec->n_test;
    int rc = check_spec(spec, e);
    if (rc) return rc;
    const size_t n = (size_t)ntr + (size_t)nte;

    float *x = malloc(n * (size_t)p * sizeof(float));
    int32_t *y = malloc(n * sizeof(int32_t));
    double *v = malloc((size_t)p * sizeof(double));
    if (!x || !y || !v) {
        rc = tn_fail(e, TN_ERUNTIME, "data: synthetic: out of memory for %zu points of dimension %d", n, p);
        goto fail;
    }
    sphere_points(x, v, n, p, spec->seed);
    rc = make_labels(spec, x, y, n, e);
    if (rc) goto fail;

    /* split: the first n_train points train, the rest test */
    train->n = ntr;
    train->p = p;
    train->c = p, train->h = train->w = 1;
    train->d = d;
    train->x = x;
    train->y = y;
    test->p = p;
    test->c = p, test->h = test->w = 1;
    test->d = d;
    if (nte > 0) {
        test->x = malloc((size_t)nte * p * sizeof(float));
        test->y = malloc((size_t)nte * sizeof(int32_t));
        if (!test->x || !test->y) {
            rc = tn_fail(e, TN_ERUNTIME, "data: synthetic: out of memory for %d test points", nte);
            tn_dataset_free(train);
            tn_dataset_free(test);
            x = NULL;
            y = NULL;
            goto fail;
        }
        memcpy(test->x, x + (size_t)ntr * p, (size_t)nte * p * sizeof(float));
        memcpy(test->y, y + ntr, (size_t)nte * sizeof(int32_t));
        test->n = nte;
        /* give back the test part of the combined buffers; failure to shrink is harmless */
        float *xs = realloc(x, (size_t)ntr * p * sizeof(float));
        if (xs) train->x = xs;
        int32_t *ys = realloc(y, (size_t)ntr * sizeof(int32_t));
        if (ys) train->y = ys;
    }
    free(v);
    return 0;
fail:
    free(x);
    free(y);
    free(v);
    return rc;
}
