/* The executor: one walk of any plan, forward and backward, and the optimizer step. Each unit is
 * a linear map (a GEMM; for a conv, im2col then the GEMM; global average pooling), optional BN
 * and the fused residual + ReLU of DESIGN.md §1; its backward is the fused activation (+ BN)
 * backward, the input gradient (a GEMM, for a conv then col2im) and the weight gradient or, with
 * plain SGD, the update itself as one GEMM with beta (DESIGN.md §2). Conv blocks add the pieces
 * of src/model/cifar.c: scalar biases, a learnable tau, the stage-entry shortcut and a residual
 * gradient deferred in the stash until its block's first conv has written its own. */
#include <string.h>

#include "model/model_impl.h"

static float *scalar(const tn_model *m, int tensor, int copy) {
    return tensor < 0 ? NULL : m->arena[TN_ARENA_SCALARS][copy] + m->plan->tensors[tensor].off;
}

/* BN statistics at channel offset o of `ch` channels over `rows` rows of z: batch (and running
 * update) in training, running otherwise. */
static int bn_stats_at(tn_model *m, size_t o, int rows, int ch, const float *z, int train) {
    tn_backend *be = m->be;
    float *rm = m->arena[TN_ARENA_BN_MEAN][TN_COPY_VALUE] + o, *rv = m->arena[TN_ARENA_BN_VAR][TN_COPY_VALUE] + o;
    if (train) return be->bn_stats(be, rows, ch, z, TN_BN_EPS, m->bn_mean + o, m->bn_invstd + o, rm, rv, TN_BN_MOMENTUM);
    return be->bn_eval_stats(be, ch, rm, rv, TN_BN_EPS, m->bn_mean + o, m->bn_invstd + o);
}
static const float *bn_gamma(const tn_model *m, size_t o) { return m->arena[TN_ARENA_BN][TN_COPY_VALUE] + o; }
static const float *bn_beta(const tn_model *m, size_t o) {
    return m->arena[TN_ARENA_BN][TN_COPY_VALUE] + m->plan->bn_half + o;
}

/* out = relu([hprev +] tau * [BN](z)) of unit U, the BN statistics already in place. */
static int activate(tn_model *m, const tn_unit *U, int n, const float *hprev) {
    int bn = U->bn >= 0;
    size_t o = bn ? (size_t)U->bn : 0;
    return m->be->act_fwd(m->be, n * U->rows, U->cols, m->slot[U->zslot], bn ? m->bn_mean + o : NULL,
                          bn ? m->bn_invstd + o : NULL, bn ? bn_gamma(m, o) : NULL, bn ? bn_beta(m, o) : NULL, hprev,
                          U->res >= 0 ? U->tau : 1.0f, scalar(m, U->tau_t, TN_COPY_VALUE), m->slot[U->hslot]);
}

/* S(x) of a stage entry into its slot: the subsample with zero channels appended, or with BN
 * subsample, BN, then the zero channels. */
static const float *shortcut_forward(tn_model *m, const tn_shortcut *s, int n, const float *x, int train) {
    tn_backend *be = m->be;
    int st = 0;
    float *out = m->slot[s->slot_out];
    if (s->bn < 0) {
        st |= be->shortcut_fwd(be, &s->g_sub, n, x, out);
        return st ? NULL : out;
    }
    size_t o = (size_t)s->bn;
    int rows = n * s->g_sub.oh * s->g_sub.ow, ch = s->g_sub.c;
    float *sub = m->slot[s->slot_sub], *bnd = m->slot[s->slot_bn];
    st |= be->shortcut_fwd(be, &s->g_sub, n, x, sub);
    st |= bn_stats_at(m, o, rows, ch, sub, train);
    st |= be->bn_apply(be, rows, ch, sub, m->bn_mean + o, m->bn_invstd + o, bn_gamma(m, o), bn_beta(m, o), bnd);
    st |= be->shortcut_fwd(be, &s->g_pad, n, bnd, out);
    return st ? NULL : out;
}

/* z of unit U from its input: the GEMM (FC), im2col then the GEMM (CONV; scalar biases before
 * and after), or the average pool. */
static int linear_forward(tn_model *m, const tn_unit *U, int n, const float *in) {
    tn_backend *be = m->be;
    float *z = m->slot[U->zslot];
    const float *w = U->w >= 0 ? tn_unit_weight(m, U, TN_COPY_VALUE) : NULL;
    if (U->kind == TN_UNIT_FC) return be->gemm(be, 0, 1, n, U->out, U->in, 1.0f, in, U->in, w, U->in, 0.0f, z, U->out);
    if (U->kind == TN_UNIT_POOL) return be->avgpool_fwd(be, n, U->g.h * U->g.w, U->g.c, in, z);
    int ckk = U->g.c * U->g.k * U->g.k, st = 0;
    st |= be->im2col(be, &U->g, n, in, scalar(m, U->bias_in, TN_COPY_VALUE), m->cols);
    st |= be->gemm(be, 0, 1, n * U->rows, U->cols, ckk, 1.0f, m->cols, ckk, w, ckk, 0.0f, z, U->cols);
    if (U->bias_out >= 0) st |= be->add_scalar(be, (size_t)n * U->out, z, scalar(m, U->bias_out, TN_COPY_VALUE));
    return st;
}

int tn_model_forward(tn_model *m, const float *x, int n, int train) {
    const tn_plan *p = m->plan;
    int st = 0;
    for (int u = 0; u < p->nunits && !st; u++) {
        const tn_unit *U = &p->units[u];
        st |= linear_forward(m, U, n, tn_unit_out(m, u - 1, x));
        if (!U->relu) continue;
        if (U->bn >= 0) st |= bn_stats_at(m, (size_t)U->bn, n * U->rows, U->cols, m->slot[U->zslot], train);
        const float *hprev = U->res >= 0 ? tn_unit_out(m, U->res, x) : NULL;
        if (U->sc >= 0 && !st && !(hprev = shortcut_forward(m, &p->shortcuts[U->sc], n, hprev, train))) st = 1;
        st |= activate(m, U, n, hprev);
    }
    return st ? m->be->err->code : 0;
}

/* Gradient buffers of unit outputs during one backward walk (m->live, m->written by unit): taken
 * from the rotating pool when a gradient is first written, returned when the unit that consumes
 * it is done. */
static float *grad_of(tn_model *m, int u) {
    if (m->live[u] < 0) {
        int k = 0;
        while (k < m->plan->grad_slots - 1 && m->busy[k]) k++;
        m->busy[k] = 1, m->live[u] = k;
    }
    return m->grad[m->live[u]];
}

static void grad_release(tn_model *m, int u) {
    if (m->live[u] >= 0) m->busy[m->live[u]] = 0, m->live[u] = -1;
}

/* dW = dZ^T In for a [cols, width] weight from `rows` rows of dZ and In (FC: In is the input;
 * CONV: its im2col); with fused SGD the update W <- (1 - lr*wd) W - lr dZ^T In is the same GEMM
 * with beta, its alpha = -lr and beta = 1 - lr*wd read from hyp when it runs. */
static int weight_grad(tn_model *m, const tn_unit *U, int rows, int width, const float *dz, const float *in) {
    tn_backend *be = m->be;
    if (U->w < 0 || !tn_unit_trains(m, U)) return 0;
    if (m->fused_sgd)
        return be->gemm_dev(be, 1, 0, U->cols, width, rows, m->hyp + 3, dz, U->cols, in, width, m->hyp + 4,
                            tn_unit_weight(m, U, TN_COPY_VALUE), width);
    return be->gemm(be, 1, 0, U->cols, width, rows, 1.0f, dz, U->cols, in, width, 0.0f,
                    tn_unit_weight(m, U, TN_COPY_GRAD), width);
}

/* The activation (+ BN) backward of a ReLU unit: from dout to dz, the residual's share of the
 * gradient set into dres. Returns dz. */
static float *act_backward(tn_model *m, const tn_unit *U, int n, float *dout, float *dres, int *st) {
    tn_backend *be = m->be;
    const float *h = m->slot[U->hslot], *z = m->slot[U->zslot], *tau_dev = scalar(m, U->tau_t, TN_COPY_VALUE);
    float tau = U->res >= 0 ? U->tau : 1.0f;
    int rows = n * U->rows;
    if (U->bn < 0) {
        *st |= be->act_bwd(be, (size_t)rows * U->cols, h, dout, tau, tau_dev, m->du, dres);
        return m->du;
    }
    size_t o = (size_t)U->bn, half = m->plan->bn_half;
    const float *gamma = bn_gamma(m, o);
    float *dgamma = m->arena[TN_ARENA_BN][TN_COPY_GRAD] + o, *dbeta = m->arena[TN_ARENA_BN][TN_COPY_GRAD] + half + o;
    /* dz goes to dout (consumed element by element, or free once du is written) */
    if (be->act_bn_bwd)
        *st |= be->act_bn_bwd(be, rows, U->cols, h, dout, tau, dres, z, m->bn_mean + o, m->bn_invstd + o, gamma, dout,
                              dgamma, dbeta);
    else {
        *st |= be->act_bwd(be, (size_t)rows * U->cols, h, dout, tau, tau_dev, m->du, dres);
        *st |= be->bn_bwd(be, rows, U->cols, z, m->bn_mean + o, m->bn_invstd + o, gamma, m->du, dout, dgamma, dbeta);
    }
    return dout;
}

/* An FC unit: the input's gradient (beta 1 when a residual already wrote it), then its weight's. */
static int fc_backward(tn_model *m, int u, const float *x, int n, float *dz) {
    tn_backend *be = m->be;
    const tn_unit *U = &m->plan->units[u];
    int st = 0;
    if (u > m->first_trained) { /* the input's gradient, with the weight before its update */
        float *din = grad_of(m, u - 1);
        st |= be->gemm(be, 0, 0, n, U->in, U->out, 1.0f, dz, U->out, tn_unit_weight(m, U, TN_COPY_VALUE), U->in,
                       m->written[u - 1] ? 1.0f : 0.0f, din, U->in);
        m->written[u - 1] = 1;
    }
    return st | weight_grad(m, U, n, U->in, dz, tn_unit_out(m, u - 1, x));
}

/* The stashed residual gradient of unit v (its output's shape) added into din, the gradient of
 * its source: through the identity, the subsample-and-pad, or pad, BN and subsample. */
static int residual_flush(tn_model *m, int v, int n, float *din) {
    tn_backend *be = m->be;
    const tn_unit *V = &m->plan->units[v];
    if (V->sc < 0) {
        tn_conv_geom id = tn_conv_geom_make(V->cols, V->g.oh, V->g.ow, V->cols, 1, 1, 0, 0);
        return be->shortcut_bwd(be, &id, n, m->stash, 1.0f, din);
    }
    const tn_shortcut *s = &m->plan->shortcuts[V->sc];
    if (s->bn < 0) return be->shortcut_bwd(be, &s->g_sub, n, m->stash, 1.0f, din);
    size_t o = (size_t)s->bn, half = m->plan->bn_half;
    int rows = n * s->g_sub.oh * s->g_sub.ow, ch = s->g_sub.c, st = 0;
    float *dgamma = m->arena[TN_ARENA_BN][TN_COPY_GRAD] + o, *dbeta = m->arena[TN_ARENA_BN][TN_COPY_GRAD] + half + o;
    st |= be->shortcut_bwd(be, &s->g_pad, n, m->stash, 0.0f, m->sct[0]);
    st |= be->bn_bwd(be, rows, ch, m->slot[s->slot_sub], m->bn_mean + o, m->bn_invstd + o, bn_gamma(m, o), m->sct[0],
                     m->sct[1], dgamma, dbeta);
    st |= be->shortcut_bwd(be, &s->g_sub, n, m->sct[1], 1.0f, din);
    return st;
}

/* A conv unit after its activation backward (dz): the scalar biases' and the learnable tau's
 * share, the input's gradient (dcols = dz W, then col2im; a deferred residual is added after it,
 * so a bias before this conv sees the conv's gradient alone), then the weight's from the input's
 * im2col, recomputed into the same scratch. */
static int conv_backward(tn_model *m, int u, const float *x, int n, float *dz) {
    tn_backend *be = m->be;
    const tn_unit *U = &m->plan->units[u];
    const float *in = tn_unit_out(m, u - 1, x), *w = tn_unit_weight(m, U, TN_COPY_VALUE);
    int ckk = U->g.c * U->g.k * U->g.k, rows = n * U->rows, st = 0;
    if (U->tau_t >= 0) st |= be->dot(be, (size_t)n * U->out, m->stash, m->slot[U->zslot], m->tau_parts + m->tau_k++);
    if (U->bias_out >= 0) st |= be->sum(be, (size_t)n * U->out, dz, scalar(m, U->bias_out, TN_COPY_GRAD));
    if (U->res >= 0 && U->defer) m->pending = u;
    if (u > m->first_trained) {
        float *din = grad_of(m, u - 1);
        st |= be->gemm(be, 0, 0, rows, ckk, U->cols, 1.0f, dz, U->cols, w, ckk, 0.0f, m->cols, ckk);
        st |= be->col2im(be, &U->g, n, m->cols, m->written[u - 1] ? 1.0f : 0.0f, din);
        m->written[u - 1] = 1;
        if (U->bias_in >= 0) st |= be->sum(be, (size_t)n * U->in, din, scalar(m, U->bias_in, TN_COPY_GRAD));
        if (m->pending >= 0 && m->plan->units[m->pending].res == u - 1) st |= residual_flush(m, m->pending, n, din), m->pending = -1;
    }
    if (U->w >= 0 && tn_unit_trains(m, U)) {
        st |= be->im2col(be, &U->g, n, in, scalar(m, U->bias_in, TN_COPY_VALUE), m->cols);
        st |= weight_grad(m, U, rows, ckk, dz, m->cols);
    }
    return st;
}

/* Global average pooling: its input's gradient is dout / (h*w) at every pixel. */
static int pool_backward(tn_model *m, int u, int n, const float *dout) {
    const tn_unit *U = &m->plan->units[u];
    if (u <= m->first_trained) return 0;
    m->written[u - 1] = 1;
    return m->be->avgpool_bwd(m->be, n, U->g.h * U->g.w, U->g.c, dout, grad_of(m, u - 1));
}

/* The learnable tau's gradient: the blocks' shares summed in a fixed order, averaged. */
static int tau_finish(tn_model *m) {
    tn_backend *be = m->be;
    const tn_plan *p = m->plan;
    int t = -1;
    for (int u = 0; u < p->nunits && t < 0; u++) t = p->units[u].tau_t;
    float *g = scalar(m, t, TN_COPY_GRAD);
    if (be->sum(be, (size_t)m->tau_k, m->tau_parts, g)) return 1;
    return be->scale(be, g, 1, 1.0f / (float)p->tau_units);
}

/* Units from the last down to the first trained one: a unit computes its input's gradient when an
 * earlier unit trains, and its weight's gradient (or update) when it trains itself. */
int tn_model_backward(tn_model *m, const float *x, int n) {
    const tn_plan *p = m->plan;
    int st = 0;
    for (int u = 0; u < p->nunits; u++) m->live[u] = -1, m->written[u] = 0;
    for (int k = 0; k < p->grad_slots; k++) m->busy[k] = 0;
    m->pending = -1, m->tau_k = 0;
    for (int u = p->nunits - 1; u >= m->first_trained && !st; u--) {
        const tn_unit *U = &p->units[u];
        float *dz = u == p->nunits - 1 ? m->dlogits : grad_of(m, u);
        if (u > 0 && p->units[u - 1].recompute) st |= activate(m, &p->units[u - 1], n, NULL);
        if (U->relu) {
            float *dres = NULL;
            if (U->res >= 0 && U->defer) dres = m->stash;
            else if (U->res >= 0) dres = grad_of(m, U->res), m->written[U->res] = 1;
            dz = act_backward(m, U, n, dz, dres, &st);
        }
        if (U->kind == TN_UNIT_FC) st |= fc_backward(m, u, x, n, dz);
        else if (U->kind == TN_UNIT_POOL) st |= pool_backward(m, u, n, dz);
        else st |= conv_backward(m, u, x, n, dz);
        grad_release(m, u);
    }
    if (!st && m->tau_k) st |= tau_finish(m);
    return st ? m->be->err->code : 0;
}

/* The k-th maximal run of trainable tensors adjacent in an arena (table order is arena order),
 * [lo, hi); 0 when there are fewer runs. One optimizer call per run. */
static int trainable_run(const tn_plan *p, int arena, int k, size_t *lo, size_t *hi) {
    int run = -1, open = 0;
    *lo = *hi = 0;
    for (int i = 0; i < p->ntensors; i++) {
        const tn_tensor *t = &p->tensors[i];
        if (t->arena != arena) continue;
        if (!t->trains) {
            if (open && run == k) return 1;
            open = 0;
            continue;
        }
        if (!open) {
            open = 1;
            if (++run == k) *lo = t->off;
        }
        if (run == k) *hi = t->off + t->len;
    }
    return run == k;
}

int tn_model_update(tn_model *m) {
    tn_backend *be = m->be;
    int st = 0;
    /* lr, mu, wd from hyp (without velocity, as with momentum 0, mu has no effect: tn_sgd); the
     * scalars at lr/10 from hyp + 5 */
    for (int a = TN_ARENA_W; a <= TN_ARENA_SCALARS; a++) {
        if ((a == TN_ARENA_W && m->fused_sgd) || a == TN_ARENA_BN_MEAN || a == TN_ARENA_BN_VAR) continue;
        size_t lo, hi;
        for (int k = 0; trainable_run(m->plan, a, k, &lo, &hi); k++) {
            float *v = m->arena[a][TN_COPY_VELOCITY];
            st |= be->sgd_dev(be, hi - lo, m->arena[a][TN_COPY_VALUE] + lo, m->arena[a][TN_COPY_GRAD] + lo, v ? v + lo : NULL,
                              a == TN_ARENA_SCALARS ? m->hyp + 5 : m->hyp);
        }
    }
    return st ? be->err->code : 0;
}
