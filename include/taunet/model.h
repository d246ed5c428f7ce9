/* The fully-connected PlainNet / tau-ResNet of DESIGN.md §1 on a backend:
 *   h_0 = relu(A x),  h_l = relu([h_{l-1} +] tau * [BN](W_l h_{l-1})) for l = 1..L-1,  f = B h_{L-1}.
 * The model owns its device buffers; forward/backward/update are sequences of backend calls. */
#ifndef TAUNET_MODEL_H
#define TAUNET_MODEL_H
#include <stddef.h>
#include <stdint.h>
#include "taunet/backend.h"
#include "taunet/config.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct tn_model {
    tn_backend *be;
    int p, m, d, L; /* input dim, width, classes, depth (L-1 hidden W matrices) */
    int nb;         /* rows the activation buffers hold (batch capacity) */
    int resnet, bn;
    float tau;      /* 1 for PlainNet */
    int loss;       /* tn_loss_kind */

    /* weights, one buffer: [A (m*p) | W_1 .. W_{L-1} (m*m each) | B (d*m)] */
    float *w, *gw, *vw;
    size_t nw, off_W, off_B;
    size_t train_lo, train_hi; /* the trainable range of w (--train) */
    int fused_sgd;             /* plain SGD applied inside backward, no weight gradients kept */

    /* BN: params [gamma (L-1)*m | beta (L-1)*m], their grads/velocity, running and batch stats */
    float *bnp, *gbnp, *vbnp, *run_mean, *run_var, *mean, *invstd;
    size_t nbn;
    int bn_trainable;

    /* activations for nb rows */
    float *x;      /* nb*p input rows (gathered batch) */
    int32_t *y;    /* nb labels */
    float *h;      /* L * nb*m: h_0 .. h_{L-1} */
    float *z;      /* pre-activations: (L-1) * nb*m with BN (kept for its backward), else nb*m */
    float *z0;     /* nb*m scratch for the input layer */
    float *logits, *dlogits; /* nb*d */
    float *dh0, *dh1, *du;   /* nb*m each */
    float *scal;             /* 8 dev floats for reductions */
    float *hyp;              /* 8 dev floats: lr, mu, wd, -lr, 1 - lr*wd (tn_model_set_hyper) */
} tn_model;

/* Bytes the model needs for batch capacity nb (weights, grads, optimizer state, activations). */
size_t tn_model_bytes(const tn_config *c, int p, int d, int nb);
long long tn_model_param_count(const tn_config *c, int p, int d);

int tn_model_create(tn_model *mdl, tn_backend *be, const tn_config *c, int p, int d, int nb, tn_err *e);
void tn_model_destroy(tn_model *mdl);
/* Initialises weights from the seed (cuRAND Philox; identical on every backend). */
int tn_model_init(tn_model *mdl, uint64_t seed);
/* be->init_normal in pieces of at most 2^30 values (offset advanced accordingly). */
int tn_draw_normal(tn_backend *be, float *x, size_t n, float std, uint64_t seed, uint64_t offset);
/* The initial weights of `seed` written to dst (nw floats, dev) instead of w: the reference
 * W(0) for distance-from-initialization diagnostics, also after a resume. */
int tn_model_init_weights(tn_model *mdl, uint64_t seed, float *dst);

static inline float *tn_model_A(const tn_model *m) { return m->w; }
static inline float *tn_model_W(const tn_model *m, int l) { return m->w + m->off_W + (size_t)(l - 1) * m->m * m->m; }
static inline float *tn_model_B(const tn_model *m) { return m->w + m->off_B; }
static inline float *tn_model_h(const tn_model *m, int l) { return m->h + (size_t)l * m->nb * m->m; }

/* Forward on n <= nb rows of x (dev, n*p). train: BN uses batch statistics and updates the
 * running ones; else running statistics. Leaves logits. */
int tn_model_forward(tn_model *mdl, const float *x, int n, int train);
/* Loss of the logits against labels (dev): sums into host out[0] (loss), out[1] (correct);
 * with grad, dlogits = d(mean loss)/d(logits). */
int tn_model_loss(tn_model *mdl, const int32_t *labels, int n, int grad, double out[2]);
/* The same in two halves: issue the loss op (no host synchronisation, so it can be captured in a
 * graph), then read the sums. */
int tn_model_loss_issue(tn_model *mdl, const int32_t *labels, int n, int grad);
int tn_model_loss_read(tn_model *mdl, double out[2]);
/* The optimizer's scalars for the next backward/update, written to backend memory without host
 * synchronisation: outside a captured step, so each replay uses the current learning rate. */
int tn_model_set_hyper(tn_model *mdl, float lr, float mu, float wd);
/* Backward from dlogits after a train-mode forward on n rows of x. With fused_sgd the weight
 * update (lr, wd of tn_model_set_hyper) happens here; otherwise gradients go to gw/gbnp. */
int tn_model_backward(tn_model *mdl, const float *x, int n);
/* Optimizer step on the trainable parameters from gw/gbnp (no-op for the fused part). */
int tn_model_update(tn_model *mdl);

#ifdef __cplusplus
}
#endif
#endif
