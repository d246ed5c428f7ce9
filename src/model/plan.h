/* The plan's insides, private to src/model/: the units the executor walks and the activation
 * slots they read and write. A family builder (fc.c) fills a tn_plan with the helpers below. */
#ifndef TAUNET_MODEL_PLAN_H
#define TAUNET_MODEL_PLAN_H
#include <string.h>

#include "taunet/model.h"

#define TN_BN_EPS 1e-5f      /* PyTorch BatchNorm defaults */
#define TN_BN_MOMENTUM 0.1f

typedef enum { TN_UNIT_FC = 0, TN_UNIT_CONV, TN_UNIT_POOL } tn_unit_kind;

/* One unit: a linear map z = W in (in: the previous unit's output, or the input for unit 0) (FC:
 * a GEMM; CONV: im2col, then the same GEMM; POOL: global average pooling, no weight), then, for a
 * unit with relu, optional BN and out = relu([S(out(res)) +] tau * BN(z)); a unit without relu
 * outputs z itself (the logits of the last unit, a pooled vector). A unit's output is `rows`
 * pixel rows of `cols` channels per example (FC and POOL: one row of `out` features). */
typedef struct tn_unit {
    tn_unit_kind kind;
    int in, out;   /* floats per example of the input and of the output */
    int rows, cols; /* the output's rows per example and channels (rows * cols == out) */
    tn_conv_geom g; /* CONV: the geometry (POOL: g.h * g.w pixel rows of g.c channels) */
    int w;         /* weight tensor; -1 none */
    int bn;        /* BN: offset of its channels in the BN arenas (gamma at bn, beta at bn_half + bn,
                      running and batch statistics at bn); -1 without */
    int relu;
    int res;       /* residual: the unit whose output is added; -1 none */
    int sc;        /* the residual's shortcut transform (index into shortcuts); -1 identity */
    int defer;     /* the residual's gradient is added after the input gradient of unit res + 1
                      (so a scalar bias there sees its conv's gradient alone) */
    float tau;     /* 1 without a residual */
    int tau_t;     /* a learnable tau: its tensor in the SCALARS arena (shared by the units); -1 */
    int bias_in, bias_out; /* scalar biases (SCALARS tensors): added to the conv's input (before
                              padding) and to z; -1 none */
    int zslot;     /* activation slot of z (the output slot itself when !relu) */
    int hslot;     /* activation slot of the output */
    int recompute; /* the output (BN, no residual) shares its slot and is recomputed from z in
                      backward, before unit u + 1's: one activation fewer per conv block */
    int tap;       /* index of the output among the taps; -1 */
} tn_unit;

/* A unit of this kind and size with nothing attached: no weight, BN, residual, shortcut, bias,
 * learnable tau or tap; one output row; slots unset. */
static inline tn_unit tn_unit_new(tn_unit_kind kind, int in, int out) {
    tn_unit u;
    memset(&u, 0, sizeof u);
    u.kind = kind, u.in = in, u.out = out, u.rows = 1, u.cols = out;
    u.w = u.bn = u.res = u.sc = u.tau_t = u.bias_in = u.bias_out = u.zslot = u.hslot = u.tap = -1;
    u.tau = 1.0f;
    return u;
}

/* The shortcut of a stage entry: S(x) = the stride-s subsample of x with zero channels appended
 * (g_sub: c -> oc at stride s), or with BN, S(x) = pad(BN(subsample(x))) in three steps:
 * subsample (g_sub: c -> c, kept in slot_sub for BN's backward), BN apply (slot_bn), pad (g_pad:
 * c -> oc at stride 1). The result is slot_out. */
typedef struct tn_shortcut {
    tn_conv_geom g_sub, g_pad;
    int bn;        /* BN channel offset, -1 without */
    int slot_sub, slot_bn, slot_out;
} tn_shortcut;

struct tn_plan {
    int p, d, loss;     /* input features, classes, tn_loss_kind */
    int nunits, ntensors, nmaps, nslots, ntaps, nshortcuts;
    tn_unit *units;
    tn_shortcut *shortcuts;
    tn_tensor *tensors;
    tn_map *maps;
    int *slot_width;    /* floats per example of each activation slot */
    int *tap_unit;      /* the unit of each tap */
    size_t arena_len[TN_ARENAS];
    size_t bn_half;     /* channels of all BN units: the gamma half of the BN arena */
    int grad_slots;     /* rotating gradient buffers backward needs */
    int grad_width;     /* floats per example of the widest gradient */
    size_t cols_per_ex; /* floats per example of the largest im2col (0 without convs) */
    int tau_units;      /* units sharing the learnable tau (its gradient is their average) */
    int stash_width;    /* floats per example of the widest deferred residual gradient (0: none) */
    int sc_width;       /* floats per example of the widest shortcut temporary (BN shortcut bwd) */
};

/* Builder helpers (plan.c). Each returns the new index, or -1 when out of memory. */
tn_plan *tn_plan_new(int p, int d, int loss);
tn_plan *tn_plan_copy(const tn_plan *p);
int tn_plan_add_tensor(tn_plan *p, const char *name, int ndim, const int64_t *shape, int arena, int init,
                       float init_val, int trains, int weight);
int tn_plan_add_slot(tn_plan *p, int width);
int tn_plan_add_unit(tn_plan *p, const tn_unit *u);
int tn_plan_add_map(tn_plan *p, const tn_map *m);
int tn_plan_add_shortcut(tn_plan *p, const tn_shortcut *s);
/* Places every tensor in its arena in table order and sizes the arenas; call once, at the end. */
void tn_plan_layout(tn_plan *p);

/* Family builders. */
int tn_plan_fc(tn_plan *p, const tn_config *c, tn_err *e);
int tn_plan_cifar(tn_plan *p, const tn_config *c, const tn_shape *in, tn_err *e);
#endif
