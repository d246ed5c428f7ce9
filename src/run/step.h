/* One training step and the policy for capturing it in a CUDA graph (src/run/step.c), shared by
 * the training loop and the benchmark, so the benchmark times exactly what train runs.
 * Internal to the library. */
#ifndef TAUNET_RUN_STEP_H
#define TAUNET_RUN_STEP_H
#include "taunet/model.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct tn_stepper {
    tn_model *m;
    int full_n;   /* the full batch size (a remainder batch is smaller) */
    int graphs;   /* capture allowed: --graph on and a backend that captures */
    /* the captured step: replayed while the batch size stays the one it was captured with (lr is
     * read from backend memory); captured on the second step of a size (the eager one before
     * sized every scratch buffer) */
    void *graph;
    int graph_n, prev_n, graph_off, eager_full;
    long replayed; /* steps run by replaying it (summary.json: graph_steps) */
} tn_stepper;

void tn_stepper_init(tn_stepper *s, tn_model *m, int full_n, int graphs);
void tn_stepper_free(tn_stepper *s);
/* One step on n rows of x, y with the optimizer scalars lr, mu, wd: forward, loss, backward,
 * update; out = the batch's (loss sum, correct count). An eager step reads the loss before the
 * update and skips the update when stop(ctx, mean loss) says the run ends at these weights
 * (divergence, a GD target); a graph step cannot (it never waits for the host), so the caller
 * passes may_stop to forbid graphs when such a stop must keep the weights. */
int tn_step(tn_stepper *s, const float *x, const int32_t *y, int n, float lr, float mu, float wd, int may_stop,
            int (*stop)(void *ctx, double loss), void *ctx, double out[2]);
#ifdef __cplusplus
}
#endif
#endif
