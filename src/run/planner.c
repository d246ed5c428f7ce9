/* The memory planner: the one count of what a run allocates on its backend, used by train (which
 * refuses what cannot fit before allocating anything), `sweep --dry-run` and bench. */
#include "run/planner.h"

#include "taunet/diag.h"

unsigned tn_run_keep(const tn_config *c) {
    unsigned keep = tn_diag_keep(tn_config_diags(c));
    if (c->momentum > 0.0) keep |= TN_KEEP_GRADS | TN_KEEP_VELOCITY;
    return keep;
}

/* The model with its diagnostics' buffers (tn_plan_bytes), and the data the trainer uploads: the
 * training and test rows and labels and the epoch's order (run/trainer.c, upload_data). */
size_t tn_run_bytes(const tn_config *c, const tn_plan *plan, int nb, long n_train, long n_test) {
    size_t p = (size_t)tn_plan_inputs(plan), ntr = (size_t)n_train, nte = (size_t)n_test;
    size_t nva = c->data.val > 0 && (size_t)c->data.val < ntr ? (size_t)c->data.val : 0, nfit = ntr - nva;
    /* the training rows and labels (the validation rows among them), test rows and labels, the
     * epoch's order of the rows that train, 4 bytes of slack each; the validation set's slack */
    size_t data = (ntr * p + ntr + nte * p + nte + nfit) * sizeof(float) + 5 * 4 + (nva ? 2 * 4 : 0);
    if (c->augment) data += nfit * sizeof(int32_t) + 4; /* the epoch's crop-flip codes */
    return tn_plan_bytes(plan, nb, tn_run_keep(c)) + data;
}

/* The largest batch below c->batch whose run fits in avail bytes (the bytes grow with the batch:
 * activations, the im2col scratch); 0 when not even a batch of one fits. */
int tn_run_batch_that_fits(const tn_config *c, const tn_plan *plan, size_t avail, long n_train, long n_test) {
    int lo = 0, hi = c->batch - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (tn_run_bytes(c, plan, mid, n_train, n_test) <= avail) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}
