/* Export of a run's checkpoint to .npy files: A.weight [m, p], W.<i>.weight [m, m] for the hidden
 * layers i = 0..L-2 (W_1 .. W_{L-1} of DESIGN.md), B.weight [d, m], and with BN
 * bn.<i>.weight (gamma), bn.<i>.bias (beta), bn.<i>.running_mean, bn.<i>.running_var [m]. */
#include "taunet/export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/run_dir.h"
#include "taunet/io.h"
#include "taunet/model.h"

static int put(const char *dir, const char *name, const float *x, int ndim, int64_t a, int64_t b,
               int *count, tn_err *e) {
    char path[1400];
    int64_t shape[2] = {a, b};
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    if (tn_npy_write(path, x, ndim, shape, e)) return e->code;
    (*count)++;
    return 0;
}

int tn_export(const char *run_dir, const char *out_dir, int *nfiles, tn_err *e) {
    char path[1200], dir[1200], *meta = NULL;
    const char *flags;
    tn_ckpt_state st;
    tn_config c;
    *nfiles = 0;
    snprintf(path, sizeof path, "%s/checkpoint.bin", run_dir);
    if (tn_ckpt_read_meta(path, &meta, e) || tn_ckpt_meta_parse(meta, path, &st, &flags, e) ||
        tn_resume_config(run_dir, 0, NULL, &c, e)) {
        free(meta);
        return e->code;
    }
    free(meta);
    size_t m = (size_t)c.width, L = (size_t)c.depth, p = (size_t)st.p, d = (size_t)st.d;
    size_t nw = m * p + (L - 1) * m * m + d * m, nbn = (c.bn && L > 1) ? (L - 1) * m : 0;
    float *w = malloc(nw * sizeof(float)), *bn = malloc((2 * nbn + 1) * sizeof(float));
    float *rm = malloc((nbn + 1) * sizeof(float)), *rv = malloc((nbn + 1) * sizeof(float));
    tn_tensor_ref refs[4] = {{"w", w, nw}, {"bn", bn, 2 * nbn}, {"bn.running_mean", rm, nbn},
                             {"bn.running_var", rv, nbn}};
    int rc = (!w || !bn || !rm || !rv) ? tn_fail(e, TN_ERUNTIME, "export: out of memory") : 0;
    if (!rc) rc = tn_ckpt_load(path, NULL, refs, nbn ? 4 : 1, e);
    snprintf(dir, sizeof dir, "%s", out_dir ? out_dir : "");
    if (!out_dir) snprintf(dir, sizeof dir, "%s/export", run_dir);
    if (!rc) rc = tn_mkdir_p(dir, e);
    if (!rc) rc = put(dir, "A.weight", w, 2, (int64_t)m, (int64_t)p, nfiles, e);
    for (size_t l = 1; l < L && !rc; l++) {
        char name[64];
        snprintf(name, sizeof name, "W.%zu.weight", l - 1);
        rc = put(dir, name, w + m * p + (l - 1) * m * m, 2, (int64_t)m, (int64_t)m, nfiles, e);
    }
    if (!rc) rc = put(dir, "B.weight", w + m * p + (L - 1) * m * m, 2, (int64_t)d, (int64_t)m, nfiles, e);
    for (size_t l = 1; nbn && l < L && !rc; l++) {
        char name[64];
        const float *src[4] = {bn + (l - 1) * m, bn + nbn + (l - 1) * m, rm + (l - 1) * m, rv + (l - 1) * m};
        const char *suffix[4] = {"weight", "bias", "running_mean", "running_var"};
        for (int k = 0; k < 4 && !rc; k++) {
            snprintf(name, sizeof name, "bn.%zu.%s", l - 1, suffix[k]);
            rc = put(dir, name, src[k], 1, (int64_t)m, 0, nfiles, e);
        }
    }
    free(w), free(bn), free(rm), free(rv);
    return rc;
}
