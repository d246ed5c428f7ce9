/* The plan's insides, private to src/model/: the units the executor walks and the activation
 * slots they read and write. A family builder (fc.c) fills a tn_plan with the helpers below. */
#ifndef TAUNET_MODEL_PLAN_H
#define TAUNET_MODEL_PLAN_H
#include "taunet/model.h"

#define TN_BN_EPS 1e-5f      /* PyTorch BatchNorm defaults */
#define TN_BN_MOMENTUM 0.1f

typedef enum { TN_UNIT_FC = 0 } tn_unit_kind;

/* One unit: a linear map z = W in (in: the previous unit's output, or the input for unit 0),
 * then, for a unit with relu, optional BN and out = relu([out(res) +] tau * BN(z)); a unit
 * without relu outputs z itself (the logits of the last unit). */
typedef struct tn_unit {
    tn_unit_kind kind;
    int in, out;   /* features per example */
    int w;         /* weight tensor */
    int bn;        /* BN: offset of its channels in the BN arenas (gamma at bn, beta at bn_half + bn,
                      running and batch statistics at bn); -1 without */
    int relu;
    int res;       /* residual: the unit whose output is added; -1 none */
    float tau;     /* 1 without a residual */
    int zslot;     /* activation slot of z (the output slot itself when !relu) */
    int hslot;     /* activation slot of the output */
    int tap;       /* index of the output among the taps; -1 */
} tn_unit;

struct tn_plan {
    int p, d, loss;     /* input features, classes, tn_loss_kind */
    int nunits, ntensors, nmaps, nslots, ntaps;
    tn_unit *units;
    tn_tensor *tensors;
    tn_map *maps;
    int *slot_width;    /* floats per example of each activation slot */
    int *tap_unit;      /* the unit of each tap */
    size_t arena_len[TN_ARENAS];
    size_t bn_half;     /* channels of all BN units: the gamma half of the BN arena */
    int grad_slots;     /* rotating gradient buffers backward needs */
    int grad_width;     /* floats per example of the widest gradient */
};

/* Builder helpers (plan.c). Each returns the new index, or -1 when out of memory. */
tn_plan *tn_plan_new(int p, int d, int loss);
tn_plan *tn_plan_copy(const tn_plan *p);
int tn_plan_add_tensor(tn_plan *p, const char *name, int ndim, const int64_t *shape, int arena, int init,
                       float init_val, int trains, int weight);
int tn_plan_add_slot(tn_plan *p, int width);
int tn_plan_add_unit(tn_plan *p, const tn_unit *u);
int tn_plan_add_map(tn_plan *p, const tn_map *m);
/* Places every tensor in its arena in table order and sizes the arenas; call once, at the end. */
void tn_plan_layout(tn_plan *p);

/* Family builders. */
int tn_plan_fc(tn_plan *p, const tn_config *c, tn_err *e);
#endif
