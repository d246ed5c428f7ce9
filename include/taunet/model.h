/* A model is a plan of units (DESIGN.md §8, docs/ARCHITECTURE.md) on a backend.
 *
 * The plan: built from the configuration by a family builder (src/model/fc.c: the PlainNet and
 * tau-ResNet of DESIGN.md §1), with no backend and no memory. It is a list of units (private to
 * src/model/) and, public, what the rest of taunet may know of a model:
 *   - the tensor table: every named tensor (PyTorch state_dict key, shape, arena, offset, length,
 *     initialization, whether it trains). Parameter count, checkpoint contents, export names, the
 *     dist/grad/sharpness diagnostics and the regeneration of W(0) all derive from it;
 *   - the arenas: the contiguous buffers the tensors live in, as a checkpoint stores them;
 *   - the linear maps (the spectral and chain diagnostics probe them) and the taps (the outputs
 *     `norms` measures);
 *   - the memory a model of it needs for a batch capacity (tn_plan_bytes).
 * The model: the plan with its buffers on a backend; forward, loss, backward, update are
 * sequences of backend calls walked from the plan by one executor (src/model/exec.c). */
#ifndef TAUNET_MODEL_H
#define TAUNET_MODEL_H
#include <stddef.h>
#include <stdint.h>
#include "taunet/backend.h"
#include "taunet/config.h"
#ifdef __cplusplus
extern "C" {
#endif

/* The arenas, in checkpoint order: the weights [A | W_1 .. W_{L-1} | B] (FC; the convs and the
 * head for conv ResNets), the BN parameters [gamma of every BN unit | beta of every BN unit], BN's
 * running means and running variances, and the scalars that train at lr/10 (the no-BN conv
 * blocks' biases and their shared learnable tau). */
typedef enum { TN_ARENA_W = 0, TN_ARENA_BN, TN_ARENA_BN_MEAN, TN_ARENA_BN_VAR, TN_ARENA_SCALARS, TN_ARENAS } tn_arena_id;
/* An arena's copies: values, gradients (absent with fused SGD), optimizer velocity. */
typedef enum { TN_COPY_VALUE = 0, TN_COPY_GRAD, TN_COPY_VELOCITY, TN_COPIES } tn_copy_kind;
/* Checkpoint names: "w", "bn", "bn.running_mean", "bn.running_var" (velocity: NAME.velocity). */
const char *tn_arena_name(int arena);

/* An example's input: channels x height x width (a flat vector of p features is p x 1 x 1). */
typedef struct tn_shape {
    int c, h, w;
} tn_shape;

enum { TN_INIT_NORMAL = 0, TN_INIT_CONST };

typedef struct tn_tensor {
    char name[48];      /* the PyTorch state_dict key: "A.weight", "W.3.weight", "bn.0.running_var" */
    int ndim;
    int64_t shape[4];
    int arena;          /* tn_arena_id */
    size_t off, len;    /* floats, within the arena */
    int init;           /* TN_INIT_NORMAL: N(0, init_val^2) (cuRAND Philox); TN_INIT_CONST: init_val */
    float init_val;
    int trains;         /* updated by the optimizer (--train) */
    int weight;         /* a layer's weight matrix: one entry of the per-layer diagnostics */
} tn_tensor;

/* A linear map the diagnostics may probe: y = M x with M = W [out, in] or, residual, I + tau W;
 * or, conv, the true convolution operator of one example (im2col with geometry g, then the GEMM
 * with W [oc, c*k*k]: in = c*h*w, out = oc*oh*ow floats). */
typedef struct tn_map {
    int tensor;         /* its weight in the tensor table */
    int out, in;
    int residual;
    float tau;
    int chain;          /* one factor of the residual-chain diagnostic (in plan order) */
    int conv;
    tn_conv_geom g;
} tn_map;

/* What a model keeps beyond its weights; decided by the run (src/run/planner.c), not the model. */
enum {
    TN_KEEP_GRADS = 1,    /* weight gradients (off: plain SGD fused into backward) */
    TN_KEEP_VELOCITY = 2, /* momentum buffers */
    TN_KEEP_DIAG = 4,     /* the diagnostics' vectors */
    TN_KEEP_W0 = 8,       /* a copy of W(0) (dist) */
    TN_KEEP_SHARP = 16,   /* two weight copies (sharpness) */
};

typedef struct tn_plan tn_plan;
/* Builds the plan of configuration c for inputs of shape `in` (p features: p x 1 x 1) and d
 * classes. */
int tn_plan_make_shape(const tn_config *c, tn_shape in, int d, tn_plan **plan, tn_err *e);
int tn_plan_make(const tn_config *c, int p, int d, tn_plan **plan, tn_err *e);
void tn_plan_free(tn_plan *plan);
int tn_plan_tensors(const tn_plan *plan, const tn_tensor **t); /* returns the count */
int tn_plan_maps(const tn_plan *plan, const tn_map **m);       /* returns the count */
size_t tn_plan_arena_len(const tn_plan *plan, int arena);      /* floats */
int tn_plan_taps(const tn_plan *plan);                         /* outputs `norms` measures */
int tn_plan_tap_width(const tn_plan *plan, int tap);           /* floats per example */
int tn_plan_inputs(const tn_plan *plan);                       /* input features per example */
int tn_plan_outputs(const tn_plan *plan);                      /* logits per example (classes) */
int tn_plan_max_width(const tn_plan *plan);                    /* widest map input or output */
long long tn_plan_params(const tn_plan *plan);                 /* parameters (W and BN arenas) */
double tn_plan_macs(const tn_plan *plan);                      /* multiply-adds of one example's forward GEMMs */
/* Bytes a model of this plan allocates for batch capacity nb with `keep`, the diagnostics' device
 * buffers included: exactly what tn_model_create and tn_diag_open allocate. */
size_t tn_plan_bytes(const tn_plan *plan, int nb, unsigned keep);

typedef struct tn_model tn_model;
/* A model of plan (copied) on be, for batches of up to nb rows. NULL with e set on failure. */
tn_model *tn_model_create(tn_backend *be, const tn_plan *plan, int nb, unsigned keep, tn_err *e);
void tn_model_destroy(tn_model *m);

const tn_plan *tn_model_plan(const tn_model *m);
tn_backend *tn_model_backend(const tn_model *m);
int tn_model_capacity(const tn_model *m);                 /* nb */
float *tn_model_arena(const tn_model *m, int arena, int copy); /* dev; NULL when not kept */
float *tn_model_input(const tn_model *m);                 /* dev batch rows, nb x p */
int32_t *tn_model_labels(const tn_model *m);              /* dev batch labels, nb */
const float *tn_model_logits(const tn_model *m);          /* dev, nb x classes */
const float *tn_model_tap(const tn_model *m, int tap);    /* dev, nb x tn_plan_tap_width */
float *tn_model_scratch(const tn_model *m);               /* 8 dev floats for reductions */
int tn_model_fused_sgd(const tn_model *m);                /* plain SGD applied inside backward */

/* be->init_normal in pieces of at most 2^30 values (offset advanced accordingly). */
int tn_draw_normal(tn_backend *be, float *x, size_t n, float std, uint64_t seed, uint64_t offset);
/* Initialises every tensor from the seed (cuRAND Philox; identical on every backend). */
int tn_model_init(tn_model *m, uint64_t seed);
/* The initial weights (arena W) of `seed` written to dst instead: the reference W(0) of the
 * distance-from-initialization diagnostic, also after a resume. */
int tn_model_init_weights(tn_model *m, uint64_t seed, float *dst);

/* Forward on n <= nb rows of x (dev). train: BN uses batch statistics and updates the running
 * ones; else running statistics. Leaves the logits. */
int tn_model_forward(tn_model *m, const float *x, int n, int train);
/* Loss of the logits against labels (dev): sums into host out[0] (loss), out[1] (correct); with
 * grad, the gradient of the mean loss w.r.t. the logits is kept for backward. */
int tn_model_loss(tn_model *m, const int32_t *labels, int n, int grad, double out[2]);
/* The same in two halves: issue the loss op (no host synchronisation, so it can be captured in a
 * graph), then read the sums. */
int tn_model_loss_issue(tn_model *m, const int32_t *labels, int n, int grad);
int tn_model_loss_read(tn_model *m, double out[2]);
/* The optimizer's scalars for the next backward/update, written to backend memory without host
 * synchronisation: outside a captured step, so each replay uses the current learning rate. */
int tn_model_set_hyper(tn_model *m, float lr, float mu, float wd);
/* Backward after a train-mode forward on n rows of x. With fused SGD the weight update (lr, wd of
 * tn_model_set_hyper) happens here; otherwise gradients go to the GRAD copies. */
int tn_model_backward(tn_model *m, const float *x, int n);
/* Optimizer step on the trainable tensors from their gradients (no-op for the fused part). */
int tn_model_update(tn_model *m);
/* y = M x (trans 0) or M^T x (trans 1) for linear map `map` on one example (dev vectors). */
int tn_model_map_apply(tn_model *m, int map, int trans, const float *x, float *y);

#ifdef __cplusplus
}
#endif
#endif
