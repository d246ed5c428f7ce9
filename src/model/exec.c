/* The executor: one walk of any plan, forward and backward, and the optimizer step. Each unit is
 * a GEMM, optional BN and the fused residual + ReLU of DESIGN.md §1; its backward is the fused
 * activation (+ BN) backward, the input gradient (a GEMM with beta = 1 when a residual already
 * wrote that gradient) and the weight gradient or, with plain SGD, the update itself as one GEMM
 * with beta (DESIGN.md §2). */
#include <string.h>

#include "model/model_impl.h"

/* BN of unit U: its statistics (batch in training, running otherwise) and gamma, beta. */
static int bn_forward(tn_model *m, const tn_unit *U, int n, const float *z, int train, float **mean, float **invstd,
                      const float **gamma, const float **beta) {
    tn_backend *be = m->be;
    size_t o = (size_t)U->bn;
    float *rm = m->arena[TN_ARENA_BN_MEAN][TN_COPY_VALUE] + o, *rv = m->arena[TN_ARENA_BN_VAR][TN_COPY_VALUE] + o;
    *mean = m->bn_mean + o, *invstd = m->bn_invstd + o;
    *gamma = m->arena[TN_ARENA_BN][TN_COPY_VALUE] + o;
    *beta = m->arena[TN_ARENA_BN][TN_COPY_VALUE] + m->plan->bn_half + o;
    if (train) return be->bn_stats(be, n, U->out, z, TN_BN_EPS, *mean, *invstd, rm, rv, TN_BN_MOMENTUM);
    return be->bn_eval_stats(be, U->out, rm, rv, TN_BN_EPS, *mean, *invstd);
}

int tn_model_forward(tn_model *m, const float *x, int n, int train) {
    tn_backend *be = m->be;
    const tn_plan *p = m->plan;
    int st = 0;
    for (int u = 0; u < p->nunits && !st; u++) {
        const tn_unit *U = &p->units[u];
        const float *in = tn_unit_out(m, u - 1, x);
        float *z = m->slot[U->zslot];
        st |= be->gemm(be, 0, 1, n, U->out, U->in, 1.0f, in, U->in, tn_unit_weight(m, U, TN_COPY_VALUE), U->in, 0.0f, z,
                       U->out);
        if (!U->relu) continue;
        float *mean = NULL, *invstd = NULL;
        const float *gamma = NULL, *beta = NULL;
        if (U->bn >= 0) st |= bn_forward(m, U, n, z, train, &mean, &invstd, &gamma, &beta);
        st |= be->act_fwd(be, n, U->out, z, mean, invstd, gamma, beta, U->res >= 0 ? tn_unit_out(m, U->res, x) : NULL,
                          U->res >= 0 ? U->tau : 1.0f, NULL, m->slot[U->hslot]);
    }
    return st ? be->err->code : 0;
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

/* dW = dZ^T In for a [out, in] weight; with fused SGD the update W <- (1 - lr*wd) W - lr dZ^T In
 * is the same GEMM with beta, its alpha = -lr and beta = 1 - lr*wd read from hyp when it runs. */
static int weight_grad(tn_model *m, const tn_unit *U, int n, const float *dz, const float *in) {
    tn_backend *be = m->be;
    if (!tn_unit_trains(m, U)) return 0;
    if (m->fused_sgd)
        return be->gemm_dev(be, 1, 0, U->out, U->in, n, m->hyp + 3, dz, U->out, in, U->in, m->hyp + 4,
                            tn_unit_weight(m, U, TN_COPY_VALUE), U->in);
    return be->gemm(be, 1, 0, U->out, U->in, n, 1.0f, dz, U->out, in, U->in, 0.0f, tn_unit_weight(m, U, TN_COPY_GRAD),
                    U->in);
}

/* The activation (+ BN) backward of a ReLU unit: from dout to dz, the residual's share of the
 * gradient set into its source's gradient (dres). Returns dz. */
static float *act_backward(tn_model *m, const tn_unit *U, int n, float *dout, float *dres, int *st) {
    tn_backend *be = m->be;
    const float *h = m->slot[U->hslot], *z = m->slot[U->zslot];
    float tau = U->res >= 0 ? U->tau : 1.0f;
    if (U->bn < 0) {
        *st |= be->act_bwd(be, (size_t)n * U->out, h, dout, tau, NULL, m->du, dres);
        return m->du;
    }
    size_t o = (size_t)U->bn, half = m->plan->bn_half;
    const float *gamma = m->arena[TN_ARENA_BN][TN_COPY_VALUE] + o;
    float *dgamma = m->arena[TN_ARENA_BN][TN_COPY_GRAD] + o, *dbeta = m->arena[TN_ARENA_BN][TN_COPY_GRAD] + half + o;
    /* dz goes to dout (consumed element by element, or free once du is written) */
    if (be->act_bn_bwd)
        *st |= be->act_bn_bwd(be, n, U->out, h, dout, tau, dres, z, m->bn_mean + o, m->bn_invstd + o, gamma, dout,
                              dgamma, dbeta);
    else {
        *st |= be->act_bwd(be, (size_t)n * U->out, h, dout, tau, NULL, m->du, dres);
        *st |= be->bn_bwd(be, n, U->out, z, m->bn_mean + o, m->bn_invstd + o, gamma, m->du, dout, dgamma, dbeta);
    }
    return dout;
}

/* Units from the last down to the first trained one: a unit computes its input's gradient when an
 * earlier unit trains, and its weight's gradient (or update) when it trains itself. */
int tn_model_backward(tn_model *m, const float *x, int n) {
    tn_backend *be = m->be;
    const tn_plan *p = m->plan;
    int st = 0;
    for (int u = 0; u < p->nunits; u++) m->live[u] = -1, m->written[u] = 0;
    for (int k = 0; k < p->grad_slots; k++) m->busy[k] = 0;
    for (int u = p->nunits - 1; u >= m->first_trained && !st; u--) {
        const tn_unit *U = &p->units[u];
        float *dz = u == p->nunits - 1 ? m->dlogits : grad_of(m, u);
        if (U->relu) {
            float *dres = NULL;
            if (U->res >= 0) dres = grad_of(m, U->res), m->written[U->res] = 1;
            dz = act_backward(m, U, n, dz, dres, &st);
        }
        if (u > m->first_trained) { /* the input's gradient, with the weight before its update */
            float *din = grad_of(m, u - 1);
            st |= be->gemm(be, 0, 0, n, U->in, U->out, 1.0f, dz, U->out, tn_unit_weight(m, U, TN_COPY_VALUE), U->in,
                           m->written[u - 1] ? 1.0f : 0.0f, din, U->in);
            m->written[u - 1] = 1;
        }
        st |= weight_grad(m, U, n, dz, tn_unit_out(m, u - 1, x));
        grad_release(m, u);
    }
    return st ? be->err->code : 0;
}

/* [lo, hi): the trainable span of an arena (its trainable tensors are contiguous by construction). */
static int trainable_span(const tn_plan *p, int arena, size_t *lo, size_t *hi) {
    *lo = p->arena_len[arena], *hi = 0;
    for (int i = 0; i < p->ntensors; i++) {
        const tn_tensor *t = &p->tensors[i];
        if (t->arena != arena || !t->trains) continue;
        if (t->off < *lo) *lo = t->off;
        if (t->off + t->len > *hi) *hi = t->off + t->len;
    }
    return *hi > *lo;
}

int tn_model_update(tn_model *m) {
    tn_backend *be = m->be;
    int st = 0;
    /* lr, mu, wd from hyp (without velocity, as with momentum 0, mu has no effect: tn_sgd) */
    for (int a = TN_ARENA_W; a <= TN_ARENA_BN; a++) {
        size_t lo, hi;
        if ((a == TN_ARENA_W && m->fused_sgd) || !trainable_span(m->plan, a, &lo, &hi)) continue;
        float *v = m->arena[a][TN_COPY_VELOCITY];
        st |= be->sgd_dev(be, hi - lo, m->arena[a][TN_COPY_VALUE] + lo, m->arena[a][TN_COPY_GRAD] + lo, v ? v + lo : NULL,
                          m->hyp);
    }
    return st ? be->err->code : 0;
}
