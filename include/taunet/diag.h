/* Theory diagnostics measured during training (--diag LIST), logged in metrics.jsonl under "diag"
 * at every evaluation; formulas in docs/DIAGNOSTICS.md. Everything runs through the backend seam. */
#ifndef TAUNET_DIAG_H
#define TAUNET_DIAG_H
#include "taunet/config.h"
#include "taunet/io.h"
#include "taunet/model.h"
#ifdef __cplusplus
extern "C" {
#endif

enum {
    TN_DIAG_NORMS = 1,       /* per-layer mean ||h_l|| over the evaluation rows */
    TN_DIAG_DIST = 2,        /* per-layer ||W_l - W_l(0)||_F / ||W_l(0)||_F */
    TN_DIAG_SPECTRAL = 4,    /* per-layer ||W_l||_2 by power iteration */
    TN_DIAG_CHAIN = 8,       /* ||prod_l (I + tau W_l)||_2 (PlainNet: ||prod_l W_l||_2) */
    TN_DIAG_GRAD = 16,       /* per-layer and total gradient norms of the last step */
    TN_DIAG_MARGINS = 32,    /* quantiles of f(x)_y - max_{j!=y} f(x)_j over the training set */
    TN_DIAG_COMPLEXITY = 64, /* Bartlett et al. 2017 spectral complexity R_A, margins / R_A */
    TN_DIAG_SHARPNESS = 128, /* E[L(W + eps)] - L(W), eps ~ N(0, (sigma |w|)^2) */
    TN_DIAG_ALL = 255,
};
#define TN_DIAG_INVALID 0x80000000u

/* Parses "norms,dist,spectral,chain,grad,margins,complexity,sharpness" or "all" or ""/"none". */
unsigned tn_diag_mask(const char *list, tn_err *e);

typedef struct tn_diag {
    unsigned mask;
    float *w0;              /* W(0), dev (dist) */
    float *va, *vb;         /* power-iteration vectors, dev */
    float *rn;              /* row norms, dev */
    float *wsave, *eps;     /* sharpness, dev */
    float *host;            /* host scratch */
    size_t host_n;
    double last_norm, chain, grad_norm, log10_ra, margin_median, nmargin_median, sharpness;
} tn_diag;

/* The model's keep flags the diagnostics of mask need (TN_KEEP_DIAG, W0, SHARP, GRADS for grad);
 * the planner counts their buffers (tn_plan_bytes). */
unsigned tn_diag_keep(unsigned mask);
int tn_diag_open(tn_diag *d, tn_model *m, const tn_config *c, tn_err *e);
void tn_diag_close(tn_diag *d, tn_model *m);
/* Computes the requested diagnostics on the n training rows (x, y dev) and writes the "diag"
 * object into j. have_grad: gw holds the last step's gradient. */
int tn_diag_eval(tn_diag *d, tn_model *m, const tn_config *c, const float *x, const int32_t *y,
                 int n, int have_grad, tn_json *j);
/* The final scalars for summary.json / results.jsonl ("diag" object). */
void tn_diag_summary(const tn_diag *d, tn_json *j);

#ifdef __cplusplus
}
#endif
#endif
