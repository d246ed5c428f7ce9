/* The training loop: batches, steps, evaluation, stopping rules, checkpoints.
 * Stopping: `converged` when the training loss reaches --target-loss (GD: the full-batch loss of
 * each step; SGD: the full training loss at each evaluation), `diverged` when a loss is NaN/Inf or
 * above 1e4 x max(1, initial loss), `finished` at the step budget. */
#define _POSIX_C_SOURCE 200809L
#include "taunet/train.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run/run_dir.h"
#include "taunet/backend.h"
#include "taunet/data.h"
#include "taunet/model.h"
#include "run/step.h"
#include "run/trainer.h"

static volatile sig_atomic_t g_interrupted = 0;
static void on_sigint(int sig) { g_interrupted = 1; }

double tn_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Full-dataset evaluation in eval mode, in chunks of the batch capacity. */
int tn_trainer_eval(tn_trainer *t, int split, double *loss, double *acc) {
    const float *x = split ? t->test_x : t->train_x;
    const int32_t *y = split ? t->test_y : t->train_y;
    int n = split ? t->test.n : t->train.n;
    double sl = 0.0, sc = 0.0, out[2];
    if (n == 0) {
        *loss = NAN, *acc = NAN;
        return 0;
    }
    int nb = tn_model_capacity(t->mdl);
    for (int r = 0; r < n; r += nb) {
        int rows = n - r < nb ? n - r : nb;
        if (tn_model_forward(t->mdl, x + (size_t)r * t->train.p, rows, 0) ||
            tn_model_loss(t->mdl, y + r, rows, 0, out))
            return t->be->err->code;
        sl += out[0], sc += out[1];
    }
    *loss = sl / n, *acc = sc / n;
    return 0;
}

static int diverged(const tn_trainer *t, double loss) {
    return !isfinite(loss) || loss > 1e4 * fmax(1.0, t->st.first_loss);
}

/* Whether an eager step ends the run at its weights (so it must not update them): a diverged
 * loss, or (GD) the target reached. */
static int stops_here(void *ctx, double loss) {
    const tn_trainer *t = ctx;
    return diverged(t, loss) || (t->rc.opt == TN_OPT_GD && t->rc.target_loss > 0 && loss <= t->rc.target_loss);
}

/* One optimisation step t (0-based). Writes the batch loss and accuracy. */
static int train_step(tn_trainer *t, long step, double *loss, double *acc) {
    tn_backend *be = t->be;
    const tn_config *c = &t->rc;
    const float *x = t->train_x;
    const int32_t *y = t->train_y;
    int n = t->train.n;
    if (c->opt == TN_OPT_SGD) {
        long epoch = step / t->spe, pos = step % t->spe;
        if (epoch != t->perm_epoch) { /* one upload per epoch (it synchronises), none per step */
            tn_epoch_order(c->seed, epoch, t->train.n, t->perm);
            if (be->upload(be, t->perm_dev, t->perm, (size_t)t->train.n * sizeof(int32_t))) return be->err->code;
            t->perm_epoch = epoch;
        }
        long lo = pos * c->batch;
        n = (int)(t->train.n - lo < c->batch ? t->train.n - lo : c->batch);
        x = tn_model_input(t->mdl), y = tn_model_labels(t->mdl);
        if (be->gather_rows(be, t->train_x, t->train.p, t->perm_dev + lo, n, (float *)x, t->train_y, (int32_t *)y))
            return be->err->code;
    }
    double out[2];
    float lr = (float)tn_lr_at(c, step, t->total, t->spe);
    t->lr = lr;
    /* CUDA graphs need a step without host synchronisation, so the update cannot wait for the
     * loss: not with a GD target (whose converged step must keep its weights). */
    int may_stop = c->opt == TN_OPT_GD && c->target_loss > 0;
    if (tn_step(&t->step, x, y, n, lr, (float)c->momentum, (float)c->wd, may_stop, stops_here, t, out))
        return be->err->code;
    *loss = out[0] / n, *acc = out[1] / n;
    return 0;
}

int tn_train(const tn_config *cfg, int quiet, tn_train_summary *sum, tn_err *e) {
    tn_trainer t;
    memset(sum, 0, sizeof *sum);
    sum->diverged_step = sum->steps_to_target = -1;
    if (tn_trainer_open(&t, cfg, quiet, e)) {
        tn_trainer_close(&t);
        return e->code;
    }
    snprintf(sum->run_dir, sizeof sum->run_dir, "%s", t.dir);
    g_interrupted = 0;
    void (*old)(int) = signal(SIGINT, on_sigint);
    const tn_config *c = &t.rc;
    tn_status status = TN_STATUS_FINISHED;
    long step = t.st.step, halt_at = c->halt_after > 0 ? step + c->halt_after : -1;
    double tl = NAN, ta = NAN, vl = NAN, va = NAN, bl = NAN, ba = NAN;
    double t0 = tn_now() - t.st.seconds, win_t = tn_now();
    long win_steps = 0, last_eval = -1;
    double last_print = 0.0;
    int rc = 0;

    /* Evaluation at the starting point (the initialization, or nothing new on resume). */
    if (step == 0) {
        if ((rc = tn_trainer_eval(&t, 0, &tl, &ta)) || (rc = tn_trainer_eval(&t, 1, &vl, &va))) goto out;
        t.st.first_loss = tl;
        t.st.best_train_loss = tl;
        t.st.best_test_acc = va;
        if ((rc = tn_trainer_log(&t, 0, tl, ta, vl, va, NAN, NAN, 0.0, tn_now() - t0))) goto out;
        last_eval = 0;
        if (diverged(&t, tl)) status = TN_STATUS_DIVERGED, sum->diverged_step = 0;
        else if (c->target_loss > 0 && tl <= c->target_loss)
            status = TN_STATUS_CONVERGED, t.st.steps_to_target = 0;
    }
    while (status == TN_STATUS_FINISHED && step < t.total) {
        if (g_interrupted) { status = TN_STATUS_INTERRUPTED; break; }
        if (halt_at >= 0 && step >= halt_at) { status = TN_STATUS_HALTED; break; }
        if ((rc = train_step(&t, step, &bl, &ba))) goto out;
        if (diverged(&t, bl)) {
            status = TN_STATUS_DIVERGED, sum->diverged_step = step;
            break;
        }
        /* GD: the step's loss is the full training loss at the current weights. */
        if (c->opt == TN_OPT_GD && c->target_loss > 0 && bl <= c->target_loss) {
            status = TN_STATUS_CONVERGED, t.st.steps_to_target = step;
            break;
        }
        step++, win_steps++;
        if (t.tty && !t.quiet && tn_now() - last_print > 0.5) { /* live line on a terminal */
            double now = tn_now(), sps = (double)win_steps * c->batch / fmax(now - win_t, 1e-9);
            printf("\rstep %7ld/%-7ld | batch loss %.5g acc %.4f | %8.0f samples/s | ETA %.0fs   ", step,
                   t.total, bl, ba, sps, sps > 0 ? (double)(t.total - step) * c->batch / sps : 0.0);
            fflush(stdout);
            last_print = now;
        }
        int last = step == t.total;
        if (step % c->eval_every == 0 || last) {
            if ((rc = tn_trainer_eval(&t, 0, &tl, &ta)) || (rc = tn_trainer_eval(&t, 1, &vl, &va))) goto out;
            double now = tn_now(), sps = win_steps / fmax(now - win_t, 1e-9);
            win_t = now, win_steps = 0;
            if ((rc = tn_trainer_log(&t, step, tl, ta, vl, va, bl, ba, sps, now - t0))) goto out;
            last_eval = step;
            if (tl < t.st.best_train_loss || isnan(t.st.best_train_loss)) t.st.best_train_loss = tl;
            if (va > t.st.best_test_acc || isnan(t.st.best_test_acc)) t.st.best_test_acc = va;
            if (diverged(&t, tl)) { status = TN_STATUS_DIVERGED, sum->diverged_step = step; break; }
            if (c->opt == TN_OPT_SGD && c->target_loss > 0 && tl <= c->target_loss) {
                status = TN_STATUS_CONVERGED, t.st.steps_to_target = step;
                break;
            }
        }
        if (c->ckpt_every > 0 && step % c->ckpt_every == 0 && step < t.total) {
            t.st.step = step, t.st.seconds = tn_now() - t0;
            if ((rc = tn_trainer_save(&t))) goto out;
        }
    }
    /* Final numbers at the stopping point, evaluated unless that step was just evaluated. */
    t.st.step = step;
    t.st.seconds = tn_now() - t0;
    if (last_eval != step) {
        if ((rc = tn_trainer_eval(&t, 0, &tl, &ta)) || (rc = tn_trainer_eval(&t, 1, &vl, &va))) goto out;
        if (status == TN_STATUS_CONVERGED || status == TN_STATUS_DIVERGED)
            if ((rc = tn_trainer_log(&t, step, tl, ta, vl, va, bl, ba, 0.0, t.st.seconds))) goto out;
        if (tl < t.st.best_train_loss || isnan(t.st.best_train_loss)) t.st.best_train_loss = tl;
        if (va > t.st.best_test_acc || isnan(t.st.best_test_acc)) t.st.best_test_acc = va;
    }
    if (status != TN_STATUS_DIVERGED && (rc = tn_trainer_save(&t))) goto out;
    sum->status = status;
    sum->steps_done = step;
    sum->steps_to_target = t.st.steps_to_target;
    sum->final_train_loss = tl, sum->final_train_acc = ta;
    sum->final_test_loss = vl, sum->final_test_acc = va;
    sum->best_train_loss = t.st.best_train_loss, sum->best_test_acc = t.st.best_test_acc;
    sum->seconds = t.st.seconds;
    sum->s_per_step = step > 0 ? t.st.seconds / (double)step : 0.0;
    sum->graph_steps = t.step.replayed;
    if (status == TN_STATUS_DIVERGED)
        snprintf(sum->reason, sizeof sum->reason, "loss became non-finite or exceeded 1e4 x max(1, initial loss) at step %ld", sum->diverged_step);
    /* A halted or interrupted run is continued with --resume; its summary says so. */
    rc = tn_run_dir_write_summary(t.dir, c, sum, &t.diag, e);
    tn_trainer_report(&t, sum);
out:
    signal(SIGINT, old);
    if (rc && !e->code) tn_fail(e, rc, "%s", t.be && t.be->err->msg[0] ? t.be->err->msg : "training failed");
    if (rc && status != TN_STATUS_FAILED) {
        /* a run that broke after it started is recorded as failed, with the reason */
        sum->status = TN_STATUS_FAILED;
        sum->steps_done = step;
        snprintf(sum->reason, sizeof sum->reason, "%.500s", e->msg);
        tn_err ignore = {0};
        tn_run_dir_write_summary(t.dir, c, sum, &t.diag, &ignore);
    }
    tn_trainer_close(&t);
    return rc ? e->code : 0;
}
