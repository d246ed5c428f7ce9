/* A plan on a backend: its buffers, initialization from the tensor table, the loss, the optimizer
 * scalars and the accessors the rest of taunet uses. Everything here is a call through the
 * backend table; no arithmetic on device memory. The walk itself is exec.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_impl.h"

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

static float *alloc_floats(tn_backend *be, size_t n) { return be->alloc(be, n * sizeof(float)); }

/* The arenas: values; gradients unless fused (always for BN, whose update is never fused);
 * velocity with momentum (always for BN). Velocities start at 0, and so does BN's gradient (with
 * --train last it is never written, yet the arena is whole in the update's range). */
static int alloc_arenas(tn_model *m, unsigned keep) {
    tn_backend *be = m->be;
    const tn_plan *p = m->plan;
    size_t nw = p->arena_len[TN_ARENA_W], nbn = p->arena_len[TN_ARENA_BN];
    float *(*a)[TN_COPIES] = m->arena;
    if (!(a[TN_ARENA_W][TN_COPY_VALUE] = alloc_floats(be, nw))) return -1;
    if (!m->fused_sgd && !(a[TN_ARENA_W][TN_COPY_GRAD] = alloc_floats(be, nw))) return -1;
    if (keep & TN_KEEP_VELOCITY) {
        if (!(a[TN_ARENA_W][TN_COPY_VELOCITY] = alloc_floats(be, nw))) return -1;
        if (be->fill(be, a[TN_ARENA_W][TN_COPY_VELOCITY], nw, 0.0f)) return -1;
    }
    if (!nbn) return 0;
    for (int c = 0; c < TN_COPIES; c++)
        if (!(a[TN_ARENA_BN][c] = alloc_floats(be, nbn))) return -1;
    if (!(a[TN_ARENA_BN_MEAN][TN_COPY_VALUE] = alloc_floats(be, p->bn_half)) ||
        !(a[TN_ARENA_BN_VAR][TN_COPY_VALUE] = alloc_floats(be, p->bn_half)) ||
        !(m->bn_mean = alloc_floats(be, p->bn_half)) || !(m->bn_invstd = alloc_floats(be, p->bn_half)))
        return -1;
    if (be->fill(be, a[TN_ARENA_BN][TN_COPY_VELOCITY], nbn, 0.0f) || be->fill(be, a[TN_ARENA_BN][TN_COPY_GRAD], nbn, 0.0f))
        return -1;
    return 0;
}

/* The scalars (no-BN conv blocks): every copy, gradient and velocity from 0, like BN's. */
static int alloc_scalars(tn_model *m) {
    tn_backend *be = m->be;
    size_t ns = m->plan->arena_len[TN_ARENA_SCALARS];
    float **a = m->arena[TN_ARENA_SCALARS];
    if (!ns) return 0;
    for (int c = 0; c < TN_COPIES; c++)
        if (!(a[c] = alloc_floats(be, ns)) || (c != TN_COPY_VALUE && be->fill(be, a[c], ns, 0.0f))) return -1;
    return 0;
}

/* The conv executor's scratch: im2col, the residual stash, the BN shortcut's temporaries, tau's
 * per-block shares. */
static int alloc_conv_scratch(tn_model *m) {
    tn_backend *be = m->be;
    const tn_plan *p = m->plan;
    size_t n = (size_t)m->nb;
    if (p->cols_per_ex && !(m->cols = alloc_floats(be, n * p->cols_per_ex))) return -1;
    if (p->stash_width && !(m->stash = alloc_floats(be, n * (size_t)p->stash_width))) return -1;
    for (int k = 0; k < 2 && p->sc_width; k++)
        if (!(m->sct[k] = alloc_floats(be, n * (size_t)p->sc_width))) return -1;
    if (p->tau_units && !(m->tau_parts = alloc_floats(be, (size_t)p->tau_units))) return -1;
    return 0;
}

static int alloc_activations(tn_model *m) {
    tn_backend *be = m->be;
    const tn_plan *p = m->plan;
    size_t n = (size_t)m->nb;
    m->slot = calloc((size_t)p->nslots, sizeof *m->slot);
    m->grad = calloc((size_t)p->grad_slots, sizeof *m->grad);
    m->live = calloc((size_t)p->nunits, sizeof *m->live);
    m->written = calloc((size_t)p->nunits, sizeof *m->written);
    m->busy = calloc((size_t)p->grad_slots, sizeof *m->busy);
    if (!m->slot || !m->grad || !m->live || !m->written || !m->busy) return -1;
    if (!(m->x = alloc_floats(be, n * p->p)) || !(m->y = be->alloc(be, n * sizeof(int32_t)))) return -1;
    for (int s = 0; s < p->nslots; s++)
        if (!(m->slot[s] = alloc_floats(be, n * p->slot_width[s]))) return -1;
    if (!(m->dlogits = alloc_floats(be, n * p->d))) return -1;
    for (int g = 0; g < p->grad_slots; g++)
        if (!(m->grad[g] = alloc_floats(be, n * p->grad_width))) return -1;
    if (!(m->du = alloc_floats(be, n * p->grad_width)) || !(m->scal = alloc_floats(be, 8)) || !(m->hyp = alloc_floats(be, 8)))
        return -1;
    return 0;
}

tn_model *tn_model_create(tn_backend *be, const tn_plan *plan, int nb, unsigned keep, tn_err *e) {
    tn_model *m = calloc(1, sizeof *m);
    if (!m || !(m->plan = tn_plan_copy(plan))) {
        free(m);
        tn_fail(e, TN_ERUNTIME, "model: out of memory");
        return NULL;
    }
    m->be = be, m->nb = nb;
    /* Plain SGD needs no gradient buffers: each layer is updated inside backward. */
    m->fused_sgd = !(keep & TN_KEEP_GRADS);
    m->first_trained = plan->nunits;
    for (int u = plan->nunits - 1; u >= 0; u--)
        if (plan->units[u].w >= 0 && plan->tensors[plan->units[u].w].trains) m->first_trained = u;
    if (alloc_arenas(m, keep) || alloc_scalars(m) || alloc_activations(m) || alloc_conv_scratch(m)) {
        tn_fail(e, be->err->code ? be->err->code : TN_ERUNTIME, "model: allocation failed: %s", be->err->msg);
        tn_model_destroy(m);
        return NULL;
    }
    return m;
}

void tn_model_destroy(tn_model *m) {
    if (!m) return;
    tn_backend *be = m->be;
    for (int a = 0; a < TN_ARENAS; a++)
        for (int c = 0; c < TN_COPIES; c++)
            if (m->arena[a][c]) be->free(be, m->arena[a][c]);
    float *fp[] = {m->bn_mean, m->bn_invstd, m->x, m->dlogits, m->du, m->scal, m->hyp, m->cols, m->stash, m->sct[0],
                   m->sct[1], m->tau_parts};
    for (size_t i = 0; i < sizeof fp / sizeof fp[0]; i++)
        if (fp[i]) be->free(be, fp[i]);
    if (m->y) be->free(be, m->y);
    for (int s = 0; m->slot && s < m->plan->nslots; s++)
        if (m->slot[s]) be->free(be, m->slot[s]);
    for (int g = 0; m->grad && g < m->plan->grad_slots; g++)
        if (m->grad[g]) be->free(be, m->grad[g]);
    free(m->slot), free(m->grad), free(m->live), free(m->written), free(m->busy);
    tn_plan_free(m->plan);
    free(m);
}

/* Every N(0, std^2) tensor draws from the Philox stream at an offset equal to the (even-rounded)
 * number of values drawn before it, so tensors never share random numbers. */
int tn_model_init_weights(tn_model *m, uint64_t seed, float *dst) {
    uint64_t off = 0;
    for (int i = 0; i < m->plan->ntensors; i++) {
        const tn_tensor *t = &m->plan->tensors[i];
        if (t->init != TN_INIT_NORMAL) continue;
        if (tn_draw_normal(m->be, dst + t->off, t->len, t->init_val, seed, off)) return m->be->err->code;
        off += even(t->len);
    }
    return 0;
}

/* The weights, then the constants: a run of tensors with the same value, contiguous in one arena
 * (every gamma, every beta, ...), is one fill. */
int tn_model_init(tn_model *m, uint64_t seed) {
    tn_backend *be = m->be;
    const tn_plan *p = m->plan;
    if (tn_model_init_weights(m, seed, m->arena[TN_ARENA_W][TN_COPY_VALUE])) return be->err->code;
    for (int i = 0; i < p->ntensors;) {
        const tn_tensor *t = &p->tensors[i];
        if (t->init != TN_INIT_CONST) {
            i++;
            continue;
        }
        size_t len = t->len;
        int j = i + 1;
        for (; j < p->ntensors; j++) {
            const tn_tensor *u = &p->tensors[j];
            if (u->init != TN_INIT_CONST || u->arena != t->arena || u->init_val != t->init_val || u->off != t->off + len) break;
            len += u->len;
        }
        if (be->fill(be, m->arena[t->arena][TN_COPY_VALUE] + t->off, len, t->init_val)) return be->err->code;
        i = j;
    }
    return 0;
}

int tn_model_loss_issue(tn_model *m, const int32_t *labels, int n, int grad) {
    tn_backend *be = m->be;
    return be->loss(be, (tn_loss_kind)m->plan->loss, n, m->plan->d, tn_model_logits(m), labels, 1.0f / (float)n,
                    grad ? m->dlogits : NULL, m->scal) ? be->err->code : 0;
}

int tn_model_loss_read(tn_model *m, double out[2]) {
    tn_backend *be = m->be;
    float host[2];
    if (be->download(be, host, m->scal, sizeof host)) return be->err->code;
    out[0] = host[0];
    out[1] = host[1];
    return 0;
}

int tn_model_loss(tn_model *m, const int32_t *labels, int n, int grad, double out[2]) {
    return tn_model_loss_issue(m, labels, n, grad) || tn_model_loss_read(m, out) ? m->be->err->code : 0;
}

int tn_model_set_hyper(tn_model *m, float lr, float mu, float wd) {
    /* -lr and 1 - lr*wd are rounded here, once, as the host-scalar GEMM would round them; the
     * scalars (biases, tau) train at lr/10 with the same momentum and weight decay */
    float v[8] = {lr, mu, wd, -lr, 1.0f - lr * wd, lr / 10.0f, mu, wd};
    int n = m->plan->arena_len[TN_ARENA_SCALARS] ? 8 : 5;
    return m->be->set_scalars(m->be, m->hyp, v, n) ? m->be->err->code : 0;
}

const tn_plan *tn_model_plan(const tn_model *m) { return m->plan; }
tn_backend *tn_model_backend(const tn_model *m) { return m->be; }
int tn_model_capacity(const tn_model *m) { return m->nb; }
float *tn_model_arena(const tn_model *m, int arena, int copy) {
    return arena >= 0 && arena < TN_ARENAS && copy >= 0 && copy < TN_COPIES ? m->arena[arena][copy] : NULL;
}
float *tn_model_input(const tn_model *m) { return m->x; }
int32_t *tn_model_labels(const tn_model *m) { return m->y; }
const float *tn_model_logits(const tn_model *m) { return m->slot[m->plan->units[m->plan->nunits - 1].hslot]; }
const float *tn_model_tap(const tn_model *m, int tap) { return tn_unit_out(m, m->plan->tap_unit[tap], NULL); }
float *tn_model_scratch(const tn_model *m) { return m->scal; }
int tn_model_fused_sgd(const tn_model *m) { return m->fused_sgd; }

/* y = M x or M^T x on one example, vectors as 1-row matrices; a residual map adds x; a conv map
 * is im2col then the GEMM, its adjoint the GEMM then col2im (through the im2col scratch). */
int tn_model_map_apply(tn_model *m, int map, int trans, const float *x, float *y) {
    tn_backend *be = m->be;
    const tn_map *M = &m->plan->maps[map];
    const float *W = m->arena[TN_ARENA_W][TN_COPY_VALUE] + m->plan->tensors[M->tensor].off;
    int st = 0;
    if (M->conv) {
        int rows = M->g.oh * M->g.ow, ckk = M->g.c * M->g.k * M->g.k;
        if (!trans) {
            st |= be->im2col(be, &M->g, 1, x, NULL, m->cols);
            st |= be->gemm(be, 0, 1, rows, M->g.oc, ckk, 1.0f, m->cols, ckk, W, ckk, 0.0f, y, M->g.oc);
        } else {
            st |= be->gemm(be, 0, 0, rows, ckk, M->g.oc, 1.0f, x, M->g.oc, W, ckk, 0.0f, m->cols, ckk);
            st |= be->col2im(be, &M->g, 1, m->cols, 0.0f, y);
        }
        return st ? be->err->code : 0;
    }
    if (M->residual) st |= be->copy(be, y, x, (size_t)M->out * sizeof(float)); /* square: out == in */
    float a = M->residual ? M->tau : 1.0f, b = M->residual ? 1.0f : 0.0f;
    if (!trans) st |= be->gemm(be, 0, 1, 1, M->out, M->in, a, x, M->in, W, M->in, b, y, M->out);
    else st |= be->gemm(be, 0, 0, 1, M->in, M->out, a, x, M->out, W, M->in, b, y, M->in);
    return st ? be->err->code : 0;
}
