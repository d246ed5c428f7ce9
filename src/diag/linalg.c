/* Spectral norms by power iteration through the backend, without forming any product matrix:
 * each factor is one of the plan's linear maps, applied by the model (tn_model_map_apply). */
#include <math.h>

#include "diag/diag_internal.h"

/* At least 40 iterations, then on until sigma moves by less than 1e-6 relative in one (at most
 * 400): a conv operator's top singular values can be close (ResNet-8's last conv at 2x2 was 3 %
 * low after 40), and a diagnostic that is 3 % off is not one to plot. */
#define POWER_ITERS_MIN 40
#define POWER_ITERS_MAX 400
#define POWER_TOL 1e-6

double tn_diag_norm(tn_backend *be, const float *x, size_t n, float *scal) {
    float h;
    if (be->sumsq(be, n, x, scal) || be->download(be, &h, scal, sizeof h)) return NAN;
    return sqrt((double)h);
}

/* Normalises x in place; returns its norm before. */
static double normalize(tn_backend *be, float *x, size_t n, float *scal) {
    double nr = tn_diag_norm(be, x, n, scal);
    if (nr > 0 && isfinite(nr)) be->scale(be, x, n, (float)(1.0 / nr));
    return nr;
}

double tn_diag_spectral(tn_model *m, const int *maps, int count, float *va, float *vb, uint64_t seed) {
    tn_backend *be = tn_model_backend(m);
    const tn_map *M;
    tn_plan_maps(tn_model_plan(m), &M);
    float *scal = tn_model_scratch(m);
    int in0 = M[maps[0]].in;
    if (be->init_normal(be, va, (size_t)in0 + 1, 1.0f, seed, 0)) return NAN;
    normalize(be, va, (size_t)in0, scal);
    double sigma = 0.0, prev = 0.0;
    for (int it = 0; it < POWER_ITERS_MAX; it++) {
        /* forward through the chain: va -> vb -> va ... keep the current vector in `cur` */
        float *cur = va, *nxt = vb;
        for (int i = 0; i < count; i++) {
            if (tn_model_map_apply(m, maps[i], 0, cur, nxt)) return NAN;
            float *t = cur;
            cur = nxt, nxt = t;
        }
        sigma = tn_diag_norm(be, cur, (size_t)M[maps[count - 1]].out, scal);
        if (!(sigma > 0) || !isfinite(sigma)) return sigma;
        if (it >= POWER_ITERS_MIN && fabs(sigma - prev) <= POWER_TOL * sigma) break;
        prev = sigma;
        for (int i = count - 1; i >= 0; i--) {
            if (tn_model_map_apply(m, maps[i], 1, cur, nxt)) return NAN;
            float *t = cur;
            cur = nxt, nxt = t;
        }
        if (cur != va) be->copy(be, va, cur, (size_t)in0 * sizeof(float));
        normalize(be, va, (size_t)in0, scal);
    }
    return sigma;
}

double tn_diag_norm21(tn_model *m, int map, float *rn, float *host) {
    tn_backend *be = tn_model_backend(m);
    const tn_map *M;
    const tn_tensor *t;
    tn_plan_maps(tn_model_plan(m), &M);
    tn_plan_tensors(tn_model_plan(m), &t);
    const float *W = tn_model_arena(m, TN_ARENA_W, TN_COPY_VALUE) + t[M[map].tensor].off;
    if (be->row_norms(be, M[map].out, M[map].in, W, rn) || be->download(be, host, rn, (size_t)M[map].out * sizeof(float)))
        return NAN;
    double s = 0.0;
    for (int i = 0; i < M[map].out; i++) s += host[i];
    return M[map].residual ? M[map].tau * s : s;
}
