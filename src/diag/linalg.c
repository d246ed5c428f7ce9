/* Spectral norms by power iteration through the backend, without forming any product matrix:
 * a layer's map is M = W (PlainNet, input and output layers) or M = I + tau W (residual layers);
 * the residual chain is prod_l M_l applied layer by layer. */
#include <math.h>

#include "diag/diag_internal.h"

#define POWER_ITERS 40

/* y = M x (trans = 0) or y = M^T x (trans = 1), vectors as 1-row matrices. W is [out, in]. */
static int apply(tn_backend *be, const float *W, int out, int in, int residual, float tau, int trans,
                 const float *x, float *y) {
    int st = 0;
    if (residual) st |= be->copy(be, y, x, (size_t)out * sizeof(float)); /* square: out == in */
    float a = residual ? tau : 1.0f, b = residual ? 1.0f : 0.0f;
    if (!trans) st |= be->gemm(be, 0, 1, 1, out, in, a, x, in, W, in, b, y, out);
    else st |= be->gemm(be, 0, 0, 1, in, out, a, x, out, W, in, b, y, in);
    return st;
}

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

/* Largest singular value of the composition of `count` layers (layers[i] applied in order). */
double tn_diag_spectral(tn_model *m, const tn_diag_layer *layers, int count, float *va, float *vb,
                        uint64_t seed) {
    tn_backend *be = m->be;
    int in0 = layers[0].in;
    if (be->init_normal(be, va, (size_t)in0 + 1, 1.0f, seed, 0)) return NAN;
    normalize(be, va, (size_t)in0, m->scal);
    double sigma = 0.0;
    for (int it = 0; it < POWER_ITERS; it++) {
        /* forward through the chain: va -> vb -> va ... keep the current vector in `cur` */
        float *cur = va, *nxt = vb;
        for (int i = 0; i < count; i++) {
            const tn_diag_layer *L = &layers[i];
            if (apply(be, L->W, L->out, L->in, L->residual, L->tau, 0, cur, nxt)) return NAN;
            float *t = cur;
            cur = nxt, nxt = t;
        }
        sigma = tn_diag_norm(be, cur, (size_t)layers[count - 1].out, m->scal);
        if (!(sigma > 0) || !isfinite(sigma)) return sigma;
        for (int i = count - 1; i >= 0; i--) {
            const tn_diag_layer *L = &layers[i];
            if (apply(be, L->W, L->out, L->in, L->residual, L->tau, 1, cur, nxt)) return NAN;
            float *t = cur;
            cur = nxt, nxt = t;
        }
        if (cur != va) be->copy(be, va, cur, (size_t)in0 * sizeof(float));
        normalize(be, va, (size_t)in0, m->scal);
    }
    return sigma;
}

/* ||(A - M)^T||_{2,1} = sum over the rows of A - M of their Euclidean norms (the columns of the
 * transpose); for a residual layer A - M = tau W. */
double tn_diag_norm21(tn_model *m, const tn_diag_layer *L, float *rn, float *host) {
    tn_backend *be = m->be;
    if (be->row_norms(be, L->out, L->in, L->W, rn) || be->download(be, host, rn, (size_t)L->out * sizeof(float)))
        return NAN;
    double s = 0.0;
    for (int i = 0; i < L->out; i++) s += host[i];
    return L->residual ? L->tau * s : s;
}
