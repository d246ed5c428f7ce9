/* The model's buffers, private to src/model/ (model.c allocates, exec.c walks the plan over them). */
#ifndef TAUNET_MODEL_IMPL_H
#define TAUNET_MODEL_IMPL_H
#include "model/plan.h"

struct tn_model {
    tn_backend *be;
    tn_plan *plan;          /* a copy, owned */
    int nb;                 /* batch capacity (rows) */
    int fused_sgd;          /* plain SGD applied inside backward: no weight gradients kept */
    int first_trained;      /* the first unit whose weight trains (backward stops before it) */
    float *arena[TN_ARENAS][TN_COPIES];
    float *bn_mean, *bn_invstd; /* batch statistics of every BN unit, bn_half each */
    float **slot;           /* activation slots, nb x slot_width each */
    float *x;               /* input rows (the gathered batch), nb x p */
    int32_t *y;             /* batch labels */
    float *dlogits;
    float **grad;           /* grad_slots rotating gradient buffers, nb x grad_width */
    float *du;              /* the activation backward's output, before BN's */
    int *live, *written, *busy; /* backward's bookkeeping: pool index of each unit's output gradient
                                   (-1 none), whether it was written yet, which pool buffers hold one */
    float *scal;            /* 8 floats: reductions, the loss sums */
    float *hyp;             /* 8 floats: lr, mu, wd, -lr, 1 - lr*wd, then the scalars' lr/10, mu, wd
                               (tn_model_set_hyper) */
    float *cols;            /* convs: the im2col scratch (and dcols in backward), nb x cols_per_ex */
    float *stash;           /* convs: a block's residual gradient until its first conv is done */
    float *sct[2];          /* BN shortcuts: the backward's temporaries, nb x sc_width each */
    float *tau_parts;       /* a learnable tau: each block's share of its gradient */
    int pending;            /* backward: the unit whose residual gradient is in the stash, -1 */
    int tau_k;              /* backward: tau shares written */
};

/* The output of unit u (u = -1: the input x of a step). */
static inline float *tn_unit_out(const tn_model *m, int u, const float *x) {
    return u < 0 ? (float *)x : m->slot[m->plan->units[u].hslot];
}
static inline float *tn_unit_weight(const tn_model *m, const tn_unit *u, int copy) {
    float *a = m->arena[TN_ARENA_W][copy];
    return a ? a + m->plan->tensors[u->w].off : NULL;
}
static inline int tn_unit_trains(const tn_model *m, const tn_unit *u) { return u->w >= 0 && m->plan->tensors[u->w].trains; }
#endif
