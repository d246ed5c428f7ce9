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

/* The TN_DIAG_* bits and tn_diag_mask are in taunet/config.h, with the names. */

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
