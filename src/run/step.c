/* The training step and its graph-capture policy (step.h). */
#include "run/step.h"

#include <stdio.h>
#include <string.h>

void tn_stepper_init(tn_stepper *s, tn_model *m, int full_n, int graphs) {
    memset(s, 0, sizeof *s);
    s->m = m, s->full_n = full_n;
    s->graphs = graphs && tn_model_backend(m)->capture_begin;
}

void tn_stepper_free(tn_stepper *s) {
    if (s->graph) tn_model_backend(s->m)->graph_free(tn_model_backend(s->m), s->graph);
    s->graph = NULL;
}

/* The whole step as issued ops, with no host synchronisation. The learning rate is not among
 * them: it is read from the model's hyp (tn_model_set_hyper, done before the step), so a
 * captured step serves every lr of a schedule. */
static int step_ops(tn_model *m, const float *x, const int32_t *y, int n) {
    if (tn_model_forward(m, x, n, 1) || tn_model_loss_issue(m, y, n, 1) || tn_model_backward(m, x, n) ||
        tn_model_update(m))
        return tn_model_backend(m)->err->code;
    return 0;
}

/* Replays the captured step, capturing it first when the batch size changed. The batch's rows are
 * in place and the step's lr written before (outside the graph). A capture that fails turns
 * graphs off for the run, with one warning, and the step runs eagerly. */
static int graph_step(tn_stepper *s, const float *x, const int32_t *y, int n) {
    tn_backend *be = tn_model_backend(s->m);
    if (!s->graph || s->graph_n != n) {
        if (s->graph) be->graph_free(be, s->graph);
        s->graph = NULL;
        void *g = NULL;
        int rc = be->capture_begin(be);
        if (!rc) {
            int ops = step_ops(s->m, x, y, n);
            rc = be->capture_end(be, &g) || ops;
        }
        if (rc || !g) {
            if (g) be->graph_free(be, g);
            fprintf(stderr, "taunet: CUDA graph capture failed (%s); continuing without graphs\n", be->err->msg);
            tn_err_clear(be->err);
            s->graph_off = 1;
            return step_ops(s->m, x, y, n);
        }
        s->graph = g, s->graph_n = n;
    }
    return be->graph_launch(be, s->graph) ? be->err->code : 0;
}

int tn_step(tn_stepper *s, const float *x, const int32_t *y, int n, float lr, float mu, float wd, int may_stop,
            int (*stop)(void *ctx, double loss), void *ctx, double out[2]) {
    tn_model *m = s->m;
    tn_backend *be = tn_model_backend(m);
    if (tn_model_set_hyper(m, lr, mu, wd)) return be->err->code;
    int graphs = s->graphs && !s->graph_off && !may_stop;
    /* replay the graph of this batch size, or capture it when an eager step of this size ran before
     * (it sized the buffers): the full batch size once it ran eagerly (also between remainders, as
     * in 64, 36, 64, 36), another size when it repeats back to back; a remainder batch otherwise
     * runs eagerly and leaves the graph of the full batches in place */
    int again = s->prev_n == n || (n == s->full_n && s->eager_full);
    s->prev_n = n;
    if (graphs && ((s->graph && s->graph_n == n) || again)) {
        if (graph_step(s, x, y, n)) return be->err->code;
        if (!s->graph_off) s->replayed++;
        return tn_model_loss_read(m, out) ? be->err->code : 0;
    }
    if (n == s->full_n) s->eager_full = 1;
    if (tn_model_forward(m, x, n, 1) || tn_model_loss(m, y, n, 1, out)) return be->err->code;
    /* no update when the caller will stop here, so the stored weights are the recorded step's */
    if (stop && stop(ctx, out[0] / n)) return 0;
    return tn_model_backward(m, x, n) || tn_model_update(m) ? be->err->code : 0;
}
