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
    const float *x = split == 2 ? t->val_x : split ? t->test_x : t->train_x;
    const int32_t *y = split == 2 ? t->val_y : split ? t->test_y : t->train_y;
    int n = split == 2 ? t->val.n : split ? t->test.n : t->train.n;
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
            if (c->augment) {
                tn_augment_codes(c->seed, epoch, t->train.n, t->aug);
                if (be->upload(be, t->aug_dev, t->aug, (size_t)t->train.n * sizeof(int32_t))) return be->err->code;
            }
            t->perm_epoch = epoch;
        }
        long lo = pos * c->batch;
        n = (int)(t->train.n - lo < c->batch ? t->train.n - lo : c->batch);
        x = tn_model_input(t->mdl), y = tn_model_labels(t->mdl);
        int st = c->augment ? be->gather_augment(be, t->train_x, t->train.c, t->train.h, t->train.w, t->perm_dev + lo,
                                                  t->aug_dev, n, (float *)x, t->train_y, (int32_t *)y)
                            : be->gather_rows(be, t->train_x, t->train.p, t->perm_dev + lo, n, (float *)x, t->train_y,
                                              (int32_t *)y);
        if (st) return be->err->code;
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

/* The loop's state: where it is, the last numbers, the throughput window. */
typedef struct {
    tn_trainer *t;
    tn_train_summary *sum;
    tn_status status;
    long step, last_eval, win_steps;
    double tl, ta, vl, va, bl, ba; /* train/test loss and accuracy; the last batch's */
    double t0, win_t, last_print;
} loop;

static void stop(loop *L, tn_status status, long step) {
    L->status = status;
    if (status == TN_STATUS_DIVERGED) L->sum->diverged_step = step;
    if (status == TN_STATUS_CONVERGED) L->t->st.steps_to_target = step;
}

/* Full train, test (and --val) evaluation at the current step; logged when log; the bests
 * updated, except by the unlogged evaluation of a halt or an interruption: that one is for the
 * summary only, since the uninterrupted run has no evaluation there and the resumed run must end
 * with the same bests. */
static int evaluate(loop *L, int log, double sps, double seconds) {
    tn_trainer *t = L->t;
    int rc = tn_trainer_eval(t, 0, &L->tl, &L->ta);
    if (!rc) rc = tn_trainer_eval(t, 1, &L->vl, &L->va);
    if (!rc && t->val.n) rc = tn_trainer_eval(t, 2, &t->val_loss, &t->val_acc);
    if (!rc && log) rc = tn_trainer_log(t, L->step, L->tl, L->ta, L->vl, L->va, L->bl, L->ba, sps, seconds);
    if (rc) return rc;
    if (!log && (L->status == TN_STATUS_HALTED || L->status == TN_STATUS_INTERRUPTED)) return 0;
    if (L->tl < t->st.best_train_loss || isnan(t->st.best_train_loss)) t->st.best_train_loss = L->tl;
    if (L->va > t->st.best_test_acc || isnan(t->st.best_test_acc)) t->st.best_test_acc = L->va;
    return 0;
}

/* The starting point (the initialization; nothing new on resume), evaluated and logged. */
static int first_eval(loop *L) {
    tn_trainer *t = L->t;
    const tn_config *c = &t->rc;
    t->st.first_loss = t->st.best_train_loss = t->st.best_test_acc = NAN;
    int rc = evaluate(L, 1, 0.0, tn_now() - L->t0);
    if (rc) return rc;
    t->st.first_loss = L->tl;
    L->last_eval = 0;
    if (diverged(t, L->tl)) stop(L, TN_STATUS_DIVERGED, 0);
    else if (c->target_loss > 0 && L->tl <= c->target_loss) stop(L, TN_STATUS_CONVERGED, 0);
    return 0;
}

static void progress(loop *L) {
    tn_trainer *t = L->t;
    if (!t->tty || t->quiet || tn_now() - L->last_print <= 0.5) return; /* live line on a terminal */
    double now = tn_now(), sps = (double)L->win_steps * t->rc.batch / fmax(now - L->win_t, 1e-9);
    printf("\rstep %7ld/%-7ld | batch loss %.5g acc %.4f | %8.0f samples/s | ETA %.0fs   ", L->step, t->total, L->bl,
           L->ba, sps, sps > 0 ? (double)(t->total - L->step) * t->rc.batch / sps : 0.0);
    fflush(stdout);
    L->last_print = now;
}

/* One step, then the evaluation and checkpoint that fall on it; sets status when the run stops. */
static int one_step(loop *L) {
    tn_trainer *t = L->t;
    const tn_config *c = &t->rc;
    int rc = train_step(t, L->step, &L->bl, &L->ba);
    if (rc) return rc;
    if (diverged(t, L->bl)) return stop(L, TN_STATUS_DIVERGED, L->step), 0;
    /* GD: the step's loss is the full training loss at the current weights. */
    if (c->opt == TN_OPT_GD && c->target_loss > 0 && L->bl <= c->target_loss) return stop(L, TN_STATUS_CONVERGED, L->step), 0;
    L->step++, L->win_steps++;
    progress(L);
    if (L->step % c->eval_every == 0 || L->step == t->total) {
        double now = tn_now(), sps = L->win_steps / fmax(now - L->win_t, 1e-9);
        L->win_t = now, L->win_steps = 0;
        if ((rc = evaluate(L, 1, sps, now - L->t0))) return rc;
        L->last_eval = L->step;
        if (diverged(t, L->tl)) return stop(L, TN_STATUS_DIVERGED, L->step), 0;
        if (c->opt == TN_OPT_SGD && c->target_loss > 0 && L->tl <= c->target_loss) return stop(L, TN_STATUS_CONVERGED, L->step), 0;
    }
    if (c->ckpt_every > 0 && L->step % c->ckpt_every == 0 && L->step < t->total) {
        t->st.step = L->step, t->st.seconds = tn_now() - L->t0;
        return tn_trainer_save(t);
    }
    return 0;
}

/* The stopping point: evaluated unless that step just was (logged when the run converged or
 * diverged there), checkpointed unless diverged, summarised. */
static int finish(loop *L, tn_err *e) {
    tn_trainer *t = L->t;
    tn_train_summary *sum = L->sum;
    int rc = 0;
    t->st.step = L->step;
    t->st.seconds = tn_now() - L->t0;
    if (L->last_eval != L->step &&
        (rc = evaluate(L, L->status == TN_STATUS_CONVERGED || L->status == TN_STATUS_DIVERGED, 0.0, t->st.seconds)))
        return rc;
    if (L->status != TN_STATUS_DIVERGED && (rc = tn_trainer_save(t))) return rc;
    sum->status = L->status;
    sum->steps_done = L->step;
    sum->steps_to_target = t->st.steps_to_target;
    sum->final_train_loss = L->tl, sum->final_train_acc = L->ta;
    sum->final_test_loss = L->vl, sum->final_test_acc = L->va;
    sum->final_val_loss = t->val_loss, sum->final_val_acc = t->val_acc;
    sum->best_train_loss = t->st.best_train_loss, sum->best_test_acc = t->st.best_test_acc;
    sum->seconds = t->st.seconds;
    sum->s_per_step = L->step > 0 ? t->st.seconds / (double)L->step : 0.0;
    sum->graph_steps = t->step.replayed;
    if (L->status == TN_STATUS_DIVERGED)
        snprintf(sum->reason, sizeof sum->reason, "loss became non-finite or exceeded 1e4 x max(1, initial loss) at step %ld", sum->diverged_step);
    /* A halted or interrupted run is continued with --resume; its summary says so. */
    rc = tn_run_dir_write_summary(t->dir, &t->rc, sum, &t->diag, e);
    tn_trainer_report(t, sum);
    return rc;
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
    loop L = {&t, sum, TN_STATUS_FINISHED, t.st.step, -1, 0, NAN, NAN, NAN, NAN, NAN, NAN, tn_now() - t.st.seconds, tn_now(), 0.0};
    long halt_at = t.rc.halt_after > 0 ? L.step + t.rc.halt_after : -1;
    int rc = L.step == 0 ? first_eval(&L) : 0;
    while (!rc && L.status == TN_STATUS_FINISHED && L.step < t.total) {
        if (g_interrupted) L.status = TN_STATUS_INTERRUPTED;
        else if (halt_at >= 0 && L.step >= halt_at) L.status = TN_STATUS_HALTED;
        else rc = one_step(&L);
    }
    if (!rc) rc = finish(&L, e);
    signal(SIGINT, old);
    if (rc && !e->code) tn_fail(e, rc, "%s", t.be && t.be->err->msg[0] ? t.be->err->msg : "training failed");
    if (rc) {
        /* a run that broke after it started is recorded as failed, with the reason */
        sum->status = TN_STATUS_FAILED;
        sum->steps_done = L.step;
        snprintf(sum->reason, sizeof sum->reason, "%.500s", e->msg);
        tn_err ignore = {0};
        tn_run_dir_write_summary(t.dir, &t.rc, sum, &t.diag, &ignore);
    }
    tn_trainer_close(&t);
    return rc ? e->code : 0;
}
