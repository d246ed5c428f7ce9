/* Fully-connected PlainNet / tau-ResNet: buffers, initialization, forward, backward, update.
 * Everything here is a call through the backend table; no arithmetic on device memory. */
#include "taunet/model.h"

#include "taunet/diag.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

static size_t even(size_t n) { return n + (n & 1); }

/* Draws of at most 2^30 values per cuRAND call (offset advanced by the same amount), so a tensor
 * of 2^32 or more values (width 65536) never depends on how a generator counts internally; every
 * backend draws in the same pieces, so they still agree. */
#define DRAW_CHUNK ((size_t)1 << 30)
int tn_draw_normal(tn_backend *be, float *x, size_t n, float std, uint64_t seed, uint64_t offset) {
    for (size_t lo = 0; lo < n; lo += DRAW_CHUNK) {
        size_t c = n - lo < DRAW_CHUNK ? n - lo : DRAW_CHUNK;
        if (be->init_normal(be, x + lo, c, std, seed, offset + lo)) return be->err->code;
    }
    return 0;
}

long long tn_model_param_count(const tn_config *c, int p, int d) {
    long long m = c->width, L = c->depth;
    return m * p + (L - 1) * m * m + (long long)d * m + (c->bn ? 2 * (L - 1) * m : 0);
}

size_t tn_model_bytes(const tn_config *c, int p, int d, int nb) {
    size_t m = (size_t)c->width, L = (size_t)c->depth, n = (size_t)nb;
    size_t nw = m * p + (L - 1) * m * m + (size_t)d * m;
    /* the same predicates as tn_model_create: w; grads unless fused SGD; velocity with momentum */
    int fused = c->momentum == 0.0 && !(tn_diag_mask(c->diag, NULL) & TN_DIAG_GRAD);
    size_t copies = 1 + (fused ? 0 : 1) + (c->momentum > 0 ? 1 : 0);
    size_t nbn = c->bn ? (L - 1) * m : 0;
    size_t fl = nw * copies + nbn * (2 * copies + 4);
    fl += L * n * m + (c->bn ? (L - 1) : 1) * n * m + n * m * 4 + n * (size_t)p + 2 * n * (size_t)d + 16;
    return fl * sizeof(float) + n * sizeof(int32_t); /* + the batch labels */
}

#define ALLOC(ptr, count, type)                                                       \
    do {                                                                              \
        (ptr) = (type *)be->alloc(be, (size_t)(count) * sizeof(type));                \
        if (!(ptr)) goto fail;                                                        \
    } while (0)

int tn_model_create(tn_model *mdl, tn_backend *be, const tn_config *c, int p, int d, int nb, tn_err *e) {
    memset(mdl, 0, sizeof *mdl);
    size_t m = (size_t)c->width, L = (size_t)c->depth;
    mdl->be = be;
    mdl->p = p, mdl->m = (int)m, mdl->d = d, mdl->L = (int)L, mdl->nb = nb;
    mdl->resnet = c->arch == TN_ARCH_RESNET;
    mdl->bn = c->bn && L > 1;
    mdl->tau = (float)tn_config_tau(c);
    mdl->loss = c->loss;
    mdl->off_W = m * p;
    mdl->off_B = mdl->off_W + (L - 1) * m * m;
    mdl->nw = mdl->off_B + (size_t)d * m;
    switch (c->train_what) {
    case TN_TRAIN_ALL: mdl->train_lo = 0, mdl->train_hi = mdl->nw; break;
    case TN_TRAIN_HIDDEN: mdl->train_lo = mdl->off_W, mdl->train_hi = mdl->off_B; break;
    case TN_TRAIN_LAST: mdl->train_lo = mdl->off_B, mdl->train_hi = mdl->nw; break;
    }
    mdl->bn_trainable = mdl->bn && c->train_what != TN_TRAIN_LAST;
    /* Plain SGD needs no gradient buffers: each layer is updated inside backward. */
    mdl->fused_sgd = c->momentum == 0.0 && !(tn_diag_mask(c->diag, e) & TN_DIAG_GRAD);

    ALLOC(mdl->w, mdl->nw, float);
    if (!mdl->fused_sgd) ALLOC(mdl->gw, mdl->nw, float);
    if (c->momentum > 0.0) {
        ALLOC(mdl->vw, mdl->nw, float);
        if (be->fill(be, mdl->vw, mdl->nw, 0.0f)) goto fail;
    }
    if (mdl->bn) {
        mdl->nbn = 2 * (L - 1) * m;
        ALLOC(mdl->bnp, mdl->nbn, float);
        ALLOC(mdl->gbnp, mdl->nbn, float);
        ALLOC(mdl->vbnp, mdl->nbn, float);
        ALLOC(mdl->run_mean, (L - 1) * m, float);
        ALLOC(mdl->run_var, (L - 1) * m, float);
        ALLOC(mdl->mean, (L - 1) * m, float);
        ALLOC(mdl->invstd, (L - 1) * m, float);
        if (be->fill(be, mdl->vbnp, mdl->nbn, 0.0f) || be->fill(be, mdl->gbnp, mdl->nbn, 0.0f)) goto fail;
    }
    ALLOC(mdl->x, (size_t)nb * p, float);
    ALLOC(mdl->y, nb, int32_t);
    ALLOC(mdl->h, L * nb * m, float);
    ALLOC(mdl->z, (mdl->bn ? L - 1 : 1) * nb * m, float);
    ALLOC(mdl->z0, (size_t)nb * m, float);
    ALLOC(mdl->logits, (size_t)nb * d, float);
    ALLOC(mdl->dlogits, (size_t)nb * d, float);
    ALLOC(mdl->dh0, (size_t)nb * m, float);
    ALLOC(mdl->dh1, (size_t)nb * m, float);
    ALLOC(mdl->du, (size_t)nb * m, float);
    ALLOC(mdl->scal, 8, float);
    ALLOC(mdl->hyp, 8, float);
    return 0;
fail:
    tn_model_destroy(mdl);
    return e->code ? e->code : tn_fail(e, TN_ERUNTIME, "model: allocation failed");
}

void tn_model_destroy(tn_model *mdl) {
    tn_backend *be = mdl->be;
    if (!be) return;
    float *fp[] = {mdl->w, mdl->gw, mdl->vw, mdl->bnp, mdl->gbnp, mdl->vbnp, mdl->run_mean,
                   mdl->run_var, mdl->mean, mdl->invstd, mdl->x, mdl->h, mdl->z, mdl->z0,
                   mdl->logits, mdl->dlogits, mdl->dh0, mdl->dh1, mdl->du, mdl->scal, mdl->hyp};
    for (size_t i = 0; i < sizeof fp / sizeof fp[0]; i++)
        if (fp[i]) be->free(be, fp[i]);
    if (mdl->y) be->free(be, mdl->y);
    memset(mdl, 0, sizeof *mdl);
}

/* A, W ~ N(0, 2/m), B ~ N(0, 1/d); each tensor draws from the Philox stream at an offset equal to
 * the (even-rounded) number of values drawn before it, so tensors never share random numbers. */
int tn_model_init_weights(tn_model *mdl, uint64_t seed, float *dst) {
    tn_backend *be = mdl->be;
    size_t m = (size_t)mdl->m, off = 0;
    float sw = sqrtf(2.0f / (float)m), sb = sqrtf(1.0f / (float)mdl->d);
    if (tn_draw_normal(be, dst, m * mdl->p, sw, seed, off)) return be->err->code;
    off += even(m * mdl->p);
    for (int l = 1; l < mdl->L; l++) {
        if (tn_draw_normal(be, dst + mdl->off_W + (size_t)(l - 1) * m * m, m * m, sw, seed, off))
            return be->err->code;
        off += even(m * m);
    }
    return tn_draw_normal(be, dst + mdl->off_B, (size_t)mdl->d * m, sb, seed, off);
}

int tn_model_init(tn_model *mdl, uint64_t seed) {
    tn_backend *be = mdl->be;
    if (tn_model_init_weights(mdl, seed, mdl->w)) return be->err->code;
    if (mdl->bn) {
        size_t half = mdl->nbn / 2;
        if (be->fill(be, mdl->bnp, half, 1.0f) ||        /* gamma */
            be->fill(be, mdl->bnp + half, half, 0.0f) || /* beta */
            be->fill(be, mdl->run_mean, half, 0.0f) || be->fill(be, mdl->run_var, half, 1.0f))
            return be->err->code;
    }
    return 0;
}

static float *zbuf(const tn_model *mdl, int l) {
    return mdl->bn ? mdl->z + (size_t)(l - 1) * mdl->nb * mdl->m : mdl->z;
}
static float *bn_at(const tn_model *mdl, float *base, int l) { return base + (size_t)(l - 1) * mdl->m; }

int tn_model_forward(tn_model *mdl, const float *x, int n, int train) {
    tn_backend *be = mdl->be;
    int m = mdl->m, st = 0;
    size_t half = mdl->nbn / 2;
    st |= be->gemm(be, 0, 1, n, m, mdl->p, 1.0f, x, mdl->p, tn_model_A(mdl), mdl->p, 0.0f, mdl->z0, m);
    st |= be->act_fwd(be, n, m, mdl->z0, NULL, NULL, NULL, NULL, NULL, 1.0f, tn_model_h(mdl, 0));
    for (int l = 1; l < mdl->L && !st; l++) {
        float *z = zbuf(mdl, l), *mean = NULL, *invstd = NULL, *gamma = NULL, *beta = NULL;
        const float *hp = tn_model_h(mdl, l - 1);
        st |= be->gemm(be, 0, 1, n, m, m, 1.0f, hp, m, tn_model_W(mdl, l), m, 0.0f, z, m);
        if (mdl->bn) {
            mean = bn_at(mdl, mdl->mean, l), invstd = bn_at(mdl, mdl->invstd, l);
            gamma = bn_at(mdl, mdl->bnp, l), beta = bn_at(mdl, mdl->bnp + half, l);
            if (train)
                st |= be->bn_stats(be, n, m, z, BN_EPS, mean, invstd, bn_at(mdl, mdl->run_mean, l),
                                   bn_at(mdl, mdl->run_var, l), BN_MOMENTUM);
            else
                st |= be->bn_eval_stats(be, m, bn_at(mdl, mdl->run_mean, l), bn_at(mdl, mdl->run_var, l),
                                        BN_EPS, mean, invstd);
        }
        st |= be->act_fwd(be, n, m, z, mean, invstd, gamma, beta, mdl->resnet ? hp : NULL,
                          mdl->resnet ? mdl->tau : 1.0f, tn_model_h(mdl, l));
    }
    st |= be->gemm(be, 0, 1, n, mdl->d, m, 1.0f, tn_model_h(mdl, mdl->L - 1), m, tn_model_B(mdl), m,
                   0.0f, mdl->logits, mdl->d);
    return st ? be->err->code : 0;
}

int tn_model_loss_issue(tn_model *mdl, const int32_t *labels, int n, int grad) {
    tn_backend *be = mdl->be;
    return be->loss(be, (tn_loss_kind)mdl->loss, n, mdl->d, mdl->logits, labels, 1.0f / (float)n,
                    grad ? mdl->dlogits : NULL, mdl->scal) ? be->err->code : 0;
}

int tn_model_loss_read(tn_model *mdl, double out[2]) {
    tn_backend *be = mdl->be;
    float host[2];
    if (be->download(be, host, mdl->scal, sizeof host)) return be->err->code;
    out[0] = host[0];
    out[1] = host[1];
    return 0;
}

int tn_model_loss(tn_model *mdl, const int32_t *labels, int n, int grad, double out[2]) {
    tn_backend *be = mdl->be;
    float host[2];
    if (be->loss(be, (tn_loss_kind)mdl->loss, n, mdl->d, mdl->logits, labels, 1.0f / (float)n,
                 grad ? mdl->dlogits : NULL, mdl->scal) ||
        be->download(be, host, mdl->scal, sizeof host))
        return be->err->code;
    out[0] = host[0];
    out[1] = host[1];
    return 0;
}

int tn_model_set_hyper(tn_model *mdl, float lr, float mu, float wd) {
    /* -lr and 1 - lr*wd are rounded here, once, as the host-scalar GEMM would round them */
    float v[5] = {lr, mu, wd, -lr, 1.0f - lr * wd};
    return mdl->be->set_scalars(mdl->be, mdl->hyp, v, 5) ? mdl->be->err->code : 0;
}

/* dW = dZ^T Hin for a [rows=out, cols=in] weight; with fused SGD the update
 * W <- (1 - lr*wd) W - lr dZ^T Hin is the same GEMM with beta (DESIGN.md §2), its alpha = -lr and
 * beta = 1 - lr*wd read from hyp when it runs. */
static int weight_grad(tn_model *mdl, float *W, size_t off, int out, int in, int n, const float *dZ,
                       const float *Hin) {
    tn_backend *be = mdl->be;
    if (off < mdl->train_lo || off >= mdl->train_hi) return 0;
    if (mdl->fused_sgd)
        return be->gemm_dev(be, 1, 0, out, in, n, mdl->hyp + 3, dZ, out, Hin, in, mdl->hyp + 4, W, in);
    return be->gemm(be, 1, 0, out, in, n, 1.0f, dZ, out, Hin, in, 0.0f, mdl->gw + off, in);
}

int tn_model_backward(tn_model *mdl, const float *x, int n) {
    tn_backend *be = mdl->be;
    int m = mdl->m, d = mdl->d, st = 0;
    size_t half = mdl->nbn / 2;
    float *dh = mdl->dh0, *dhn = mdl->dh1;
    /* dh_{L-1} = dlogits B must use B before its fused update. */
    if (mdl->train_lo < mdl->off_B)
        st |= be->gemm(be, 0, 0, n, m, d, 1.0f, mdl->dlogits, d, tn_model_B(mdl), m, 0.0f, dh, m);
    st |= weight_grad(mdl, tn_model_B(mdl), mdl->off_B, d, m, n, mdl->dlogits,
                      tn_model_h(mdl, mdl->L - 1));
    if (mdl->train_lo >= mdl->off_B) return st ? be->err->code : 0; /* --train last */
    for (int l = mdl->L - 1; l >= 1 && !st; l--) {
        float *W = tn_model_W(mdl, l), *dz = mdl->du;
        const float *hp = tn_model_h(mdl, l - 1);
        float tau = mdl->resnet ? mdl->tau : 1.0f;
        if (mdl->bn && be->act_bn_bwd) {
            /* fused: dz goes to dh (consumed element by element) */
            dz = dh;
            st |= be->act_bn_bwd(be, n, m, tn_model_h(mdl, l), dh, tau, mdl->resnet ? dhn : NULL, zbuf(mdl, l),
                                 bn_at(mdl, mdl->mean, l), bn_at(mdl, mdl->invstd, l), bn_at(mdl, mdl->bnp, l),
                                 dz, bn_at(mdl, mdl->gbnp, l), bn_at(mdl, mdl->gbnp + half, l));
        } else {
            st |= be->act_bwd(be, (size_t)n * m, tn_model_h(mdl, l), dh, tau, mdl->du, mdl->resnet ? dhn : NULL);
        }
        if (mdl->bn && !be->act_bn_bwd) {
            /* dz goes to dh (free now: its content is consumed) to avoid another buffer */
            dz = dh;
            st |= be->bn_bwd(be, n, m, zbuf(mdl, l), bn_at(mdl, mdl->mean, l), bn_at(mdl, mdl->invstd, l),
                             bn_at(mdl, mdl->bnp, l), mdl->du, dz, bn_at(mdl, mdl->gbnp, l),
                             bn_at(mdl, mdl->gbnp + half, l));
        }
        /* dh_{l-1} (+)= dz W_l with the old W_l (not for l = 1 when A is frozen: nothing reads
         * dh_0 then), then the weight gradient/update */
        if (l > 1 || mdl->train_lo == 0)
            st |= be->gemm(be, 0, 0, n, m, m, 1.0f, dz, m, W, m, mdl->resnet ? 1.0f : 0.0f, dhn, m);
        st |= weight_grad(mdl, W, (size_t)(W - mdl->w), m, m, n, dz, hp);
        float *t = dh;
        dh = dhn, dhn = t;
    }
    if (!st && mdl->train_lo == 0) {
        st |= be->act_bwd(be, (size_t)n * m, tn_model_h(mdl, 0), dh, 1.0f, mdl->du, NULL);
        st |= weight_grad(mdl, tn_model_A(mdl), 0, m, mdl->p, n, mdl->du, x);
    }
    return st ? be->err->code : 0;
}

int tn_model_update(tn_model *mdl) {
    tn_backend *be = mdl->be;
    int st = 0;
    /* lr, mu, wd from hyp (without velocity, as with momentum 0, mu has no effect: tn_sgd) */
    if (!mdl->fused_sgd)
        st |= be->sgd_dev(be, mdl->train_hi - mdl->train_lo, mdl->w + mdl->train_lo, mdl->gw + mdl->train_lo,
                          mdl->vw ? mdl->vw + mdl->train_lo : NULL, mdl->hyp);
    if (mdl->bn_trainable) st |= be->sgd_dev(be, mdl->nbn, mdl->bnp, mdl->gbnp, mdl->vbnp, mdl->hyp);
    return st ? be->err->code : 0;
}
