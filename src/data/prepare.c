/* tn_data_load: pick the loader, then the training-set edits (subset, label noise) and the
 * preprocessing. Order matters and is fixed: subset first (so --subset N always means "the first
 * N examples in file order", independent of the other flags), then label noise on that subset,
 * then preprocessing with statistics from the (subset) training split only, so nothing about the
 * test split leaks into training. */
#include "taunet/data.h"
#include "io/rng_host.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SALT_NOISE 0x6e6f697365ull /* "noise": label noise draws differ from every other use */

static const char *kind_name(tn_data_kind k) {
    switch (k) {
    case TN_DATA_SYNTHETIC: return "synthetic";
    case TN_DATA_MNIST: return "mnist";
    case TN_DATA_FASHION: return "fashion";
    case TN_DATA_CIFAR10: return "cifar10";
    case TN_DATA_CIFAR100: return "cifar100";
    case TN_DATA_CIFAR100_COARSE: return "cifar100-coarse";
    }
    return "?";
}

/* Keep the first k training examples; shrink the buffers (failure to shrink is harmless). */
static void keep_first(tn_dataset *ds, int k) {
    ds->n = k;
    float *x = realloc(ds->x, (size_t)k * ds->p * sizeof(float));
    if (x) ds->x = x;
    int32_t *y = realloc(ds->y, (size_t)k * sizeof(int32_t));
    if (y) ds->y = y;
}

/* round(f*n) distinct training examples (a partial Fisher-Yates draw) get their label replaced by
 * a uniformly random label in [0, d). The random label may coincide with the true one, so the
 * fraction of labels that actually change is about f*(1 - 1/d); this matches the usual
 * "corrupted labels" protocol (Zhang et al. 2017) and keeps the replaced labels unbiased. */
static int apply_label_noise(tn_dataset *ds, double f, uint64_t seed, tn_err *e) {
    const int n = ds->n;
    const int k = (int)floor(f * n + 0.5);
    if (k == 0) return 0;
    int32_t *idx = malloc((size_t)n * sizeof(int32_t));
    if (!idx) return tn_fail(e, TN_ERUNTIME, "data: out of memory choosing noisy labels");
    for (int i = 0; i < n; i++) idx[i] = i;
    tn_rng r;
    tn_rng_seed(&r, tn_rng_mix(seed, SALT_NOISE));
    for (int i = 0; i < k; i++) {
        const int j = i + (int)tn_rng_below(&r, (uint64_t)(n - i));
        const int32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    for (int i = 0; i < k; i++) ds->y[idx[i]] = (int32_t)tn_rng_below(&r, (uint64_t)ds->d);
    free(idx);
    return 0;
}

static void scale(tn_dataset *ds, float s) {
    const size_t m = (size_t)ds->n * ds->p;
    for (size_t i = 0; i < m; i++) ds->x[i] *= s;
}

static void unitnorm_rows(tn_dataset *ds) {
    for (int i = 0; i < ds->n; i++) {
        float *row = ds->x + (size_t)i * ds->p;
        double ss = 0.0;
        for (int j = 0; j < ds->p; j++) ss += (double)row[j] * row[j];
        if (ss <= 0.0) continue; /* an all-zero row has no direction: leave it zero */
        const double inv = 1.0 / sqrt(ss);
        for (int j = 0; j < ds->p; j++) row[j] = (float)(row[j] * inv);
    }
}

/* Per-feature (population) mean and std from train, applied to train, test and val. Constant
 * features (std < 1e-6, e.g. MNIST's always-black border pixels) are only centred: dividing by
 * ~0 would blow up any test value that differs. */
static int standardize(tn_dataset *train, tn_dataset *test, tn_dataset *val, tn_err *e) {
    const int p = train->p, n = train->n;
    double *mean = calloc((size_t)p, sizeof(double)), *var = calloc((size_t)p, sizeof(double));
    if (!mean || !var) {
        free(mean);
        free(var);
        return tn_fail(e, TN_ERUNTIME, "data: out of memory for feature statistics");
    }
    for (int i = 0; i < n; i++) {
        const float *row = train->x + (size_t)i * p;
        for (int j = 0; j < p; j++) mean[j] += row[j];
    }
    for (int j = 0; j < p; j++) mean[j] /= n;
    for (int i = 0; i < n; i++) { /* two passes: no cancellation on 0..255 pixel data */
        const float *row = train->x + (size_t)i * p;
        for (int j = 0; j < p; j++) {
            const double c = row[j] - mean[j];
            var[j] += c * c;
        }
    }
    for (int j = 0; j < p; j++) {
        const double sd = sqrt(var[j] / n);
        var[j] = sd < 1e-6 ? 1.0 : 1.0 / sd; /* reuse var[] as the inverse std */
    }
    tn_dataset *sets[3] = {train, test, val};
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < sets[s]->n; i++) {
            float *row = sets[s]->x + (size_t)i * p;
            for (int j = 0; j < p; j++) row[j] = (float)((row[j] - mean[j]) * var[j]);
        }
    free(mean);
    free(var);
    return 0;
}

/* Per-channel (population) mean and std over every pixel of the training set (examples CHW),
 * applied to train, test and val; a constant channel is only centred, as in standardize. */
static void per_channel(tn_dataset *train, tn_dataset *test, tn_dataset *val) {
    const int c = train->c, hw = train->h * train->w;
    for (int ch = 0; ch < c; ch++) {
        double s = 0.0, ss = 0.0, cnt = (double)train->n * hw;
        for (int i = 0; i < train->n; i++) {
            const float *px = train->x + (size_t)i * train->p + (size_t)ch * hw;
            for (int j = 0; j < hw; j++) s += px[j];
        }
        const double mean = s / cnt;
        for (int i = 0; i < train->n; i++) {
            const float *px = train->x + (size_t)i * train->p + (size_t)ch * hw;
            for (int j = 0; j < hw; j++) ss += (px[j] - mean) * (px[j] - mean);
        }
        const double sd = sqrt(ss / cnt), inv = sd < 1e-6 ? 1.0 : 1.0 / sd;
        tn_dataset *sets[3] = {train, test, val};
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < sets[k]->n; i++) {
                float *px = sets[k]->x + (size_t)i * sets[k]->p + (size_t)ch * hw;
                for (int j = 0; j < hw; j++) px[j] = (float)((px[j] - mean) * inv);
            }
    }
}

/* Moves the last k examples of train into val (k < train->n). */
static int hold_out(tn_dataset *train, int k, tn_dataset *val, tn_err *e) {
    size_t p = (size_t)train->p, n0 = (size_t)(train->n - k);
    *val = *train;
    val->n = k;
    val->x = malloc((size_t)k * p * sizeof(float) + 4);
    val->y = malloc((size_t)k * sizeof(int32_t) + 4);
    if (!val->x || !val->y) {
        free(val->x), free(val->y);
        memset(val, 0, sizeof *val);
        return tn_fail(e, TN_ERUNTIME, "data: out of memory for the %d validation examples", k);
    }
    memcpy(val->x, train->x + n0 * p, (size_t)k * p * sizeof(float));
    memcpy(val->y, train->y + n0, (size_t)k * sizeof(int32_t));
    keep_first(train, (int)n0);
    return 0;
}

int tn_data_load(const tn_data_spec *spec, tn_dataset *train, tn_dataset *test, tn_err *e) {
    return tn_data_load_val(spec, train, NULL, test, e);
}

int tn_data_load_val(const tn_data_spec *spec, tn_dataset *train, tn_dataset *val, tn_dataset *test, tn_err *e) {
    tn_dataset none;
    if (!val) val = &none;
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    memset(val, 0, sizeof *val);
    /* validate the cheap flags before spending time loading */
    if (spec->subset < 0)
        return tn_fail(e, TN_EINPUT, "data: --subset %d: must be 0 (all) or a positive count", spec->subset);
    if (!(spec->label_noise >= 0.0 && spec->label_noise <= 1.0))
        return tn_fail(e, TN_EINPUT, "data: --label-noise %g: must be a fraction in [0, 1]", spec->label_noise);
    if (spec->prep < TN_PREP_DEFAULT || spec->prep > TN_PREP_CHANNEL)
        return tn_fail(e, TN_EINPUT, "data: unknown preprocessing %d; use none, scale, standardize, channel or unitnorm",
                       (int)spec->prep);

    int rc;
    switch (spec->kind) {
    case TN_DATA_SYNTHETIC: rc = tn_synthetic_make(spec, train, test, e); break;
    case TN_DATA_MNIST:
    case TN_DATA_FASHION: rc = tn_mnist_load(spec->dir, train, test, e); break;
    case TN_DATA_CIFAR10: rc = tn_cifar10_load(spec->dir, train, test, e); break;
    case TN_DATA_CIFAR100:
    case TN_DATA_CIFAR100_COARSE:
        rc = tn_cifar100_load(spec->dir, spec->kind == TN_DATA_CIFAR100_COARSE, train, test, e);
        break;
    default:
        return tn_fail(e, TN_EINPUT, "data: unknown dataset kind %d; use synthetic, mnist, fashion, cifar10 or cifar100",
                       (int)spec->kind);
    }
    if (rc) return rc;

    if (spec->subset > 0) {
        if (spec->subset > train->n) {
            rc = tn_fail(e, TN_EINPUT,
                         "data: --subset %d exceeds the %d training examples available (%s%s%s); use at "
                         "most %d (or 0 for all)",
                         spec->subset, train->n, kind_name(spec->kind),
                         spec->kind == TN_DATA_SYNTHETIC ? ", set by --n" : " in ",
                         spec->kind == TN_DATA_SYNTHETIC ? "" : spec->dir, train->n);
            goto fail;
        }
        keep_first(train, spec->subset);
    }
    if (spec->val > 0 && val != &none) {
        if (spec->val >= train->n) {
            rc = tn_fail(e, TN_EINPUT, "data: --val %d leaves no training examples of the %d%s; use a smaller --val",
                         spec->val, train->n, spec->subset ? " kept by --subset" : "");
            goto fail;
        }
        if ((rc = hold_out(train, spec->val, val, e))) goto fail;
    }

    if (spec->label_noise > 0.0 && (rc = apply_label_noise(train, spec->label_noise, spec->seed, e)))
        goto fail;

    const int image = spec->kind != TN_DATA_SYNTHETIC;
    tn_prep prep = spec->prep;
    if (prep == TN_PREP_DEFAULT) prep = image ? TN_PREP_SCALE : TN_PREP_UNITNORM;
    if (prep == TN_PREP_NONE) return 0;
    /* every remaining mode starts from pixels in [0, 1]; synthetic points are already O(1); the
     * statistics come from the training rows alone and apply to the test and validation rows */
    if (image) {
        scale(train, 1.0f / 255.0f);
        scale(test, 1.0f / 255.0f);
        scale(val, 1.0f / 255.0f);
    }
    if (prep == TN_PREP_STANDARDIZE && (rc = standardize(train, test, val, e))) goto fail;
    if (prep == TN_PREP_CHANNEL) per_channel(train, test, val);
    if (prep == TN_PREP_UNITNORM) {
        unitnorm_rows(train);
        unitnorm_rows(test);
        unitnorm_rows(val);
    }
    return 0;
fail:
    tn_dataset_free(train);
    tn_dataset_free(test);
    tn_dataset_free(val);
    return rc;
}
