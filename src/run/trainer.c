/* Setting up a run (backend, data, memory check, model, run directory, resume) and the outputs it
 * produces while it trains (metrics lines, progress lines, checkpoints). */
#define _POSIX_C_SOURCE 200809L
#include "run/trainer.h"

#include "run/planner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int open_backend(tn_trainer *t, tn_err *e) {
    const tn_config *c = &t->rc;
    tn_err_clear(&t->be_err);
    if (c->backend == TN_BACKEND_CUDA || (c->backend == TN_BACKEND_AUTO && tn_cuda_device_count() > 0)) {
        t->be = tn_backend_cuda_create(c->gpu, c->tf32, &t->be_err);
        if (!t->be) {
            if (c->backend == TN_BACKEND_CUDA)
                return tn_fail(e, TN_ERUNTIME, "--backend cuda: %s; use --backend cpu", t->be_err.msg);
            tn_err_clear(&t->be_err);
        }
    }
    if (!t->be) t->be = tn_backend_cpu_create(c->threads, &t->be_err);
    if (!t->be) return tn_fail(e, TN_ERUNTIME, "%s", t->be_err.msg);
    return 0;
}

static int upload_data(tn_trainer *t, tn_err *e) {
    tn_backend *be = t->be;
    size_t ntr = (size_t)t->train.n, nte = (size_t)t->test.n, p = (size_t)t->train.p;
    t->train_x = be->alloc(be, ntr * p * sizeof(float) + 4);
    t->train_y = be->alloc(be, ntr * sizeof(int32_t) + 4);
    t->test_x = be->alloc(be, nte * p * sizeof(float) + 4);
    t->test_y = be->alloc(be, nte * sizeof(int32_t) + 4);
    t->perm_dev = be->alloc(be, ntr * sizeof(int32_t) + 4);
    size_t nva = (size_t)t->val.n;
    if (nva && (!(t->val_x = be->alloc(be, nva * p * sizeof(float) + 4)) ||
                !(t->val_y = be->alloc(be, nva * sizeof(int32_t) + 4)) ||
                be->upload(be, t->val_x, t->val.x, nva * p * sizeof(float)) ||
                be->upload(be, t->val_y, t->val.y, nva * sizeof(int32_t))))
        return tn_fail(e, TN_ERUNTIME, "%s", t->be_err.msg);
    if (t->rc.augment && (!(t->aug_dev = be->alloc(be, ntr * sizeof(int32_t) + 4)) ||
                          !(t->aug = malloc(ntr * sizeof(int32_t) + 4))))
        return tn_fail(e, TN_ERUNTIME, "%s", t->aug_dev ? "out of memory" : t->be_err.msg);
    if (!t->train_x || !t->train_y || !t->test_x || !t->test_y || !t->perm_dev ||
        be->upload(be, t->train_x, t->train.x, ntr * p * sizeof(float)) ||
        be->upload(be, t->train_y, t->train.y, ntr * sizeof(int32_t)) ||
        be->upload(be, t->test_x, t->test.x, nte * p * sizeof(float)) ||
        be->upload(be, t->test_y, t->test.y, nte * sizeof(int32_t)))
        return tn_fail(e, TN_ERUNTIME, "%s", t->be_err.msg);
    return 0;
}

/* Steps per epoch, total steps and the evaluation interval, from the data size. */
static int resolve(tn_trainer *t, tn_err *e) {
    tn_config *c = &t->rc;
    int n = t->train.n;
    if (c->opt == TN_OPT_GD) c->batch = n;
    if (c->batch > n) c->batch = n;
    t->spe = c->opt == TN_OPT_GD ? 1 : (n + c->batch - 1) / c->batch;
    if (c->bn && c->opt == TN_OPT_SGD && n > 1 && n % c->batch == 1)
        return tn_fail(e, TN_EINPUT, "--bn on with %d training examples and --batch %d leaves a last minibatch of one example, whose batch variance is 0; choose another --batch or --subset", n, c->batch);
    if (c->steps < 0) c->steps = (long)ceil(c->epochs * (double)t->spe - 1e-9);
    t->total = c->steps;
    if (c->eval_every <= 0) c->eval_every = t->total >= 10 ? t->total / 10 : 1;
    return 0;
}

static void print_table(tn_trainer *t, long long params, double gib) {
    const tn_config *c = &t->rc;
    char tau[64];
    printf("taunet %s | backend %s | run %s (id %s, seed %llu)\n", TAUNET_VERSION, t->be->name, t->dir, t->run_id,
           (unsigned long long)c->seed);
    printf("  model   %s width %d depth %d tau %s (=%.6g) bn %s | params %lld | memory est %.3f GiB\n",
           tn_arch_name(c->arch), c->width, c->depth, tn_tau_rule_name(c, tau, sizeof tau), tn_config_tau(c),
           c->bn ? "on" : "off", params, gib);
    printf("  data    train %d x %d, test %d, classes %d%s\n", t->train.n, t->train.p, t->test.n,
           t->train.d, c->data.label_noise > 0 ? " (label noise)" : "");
    printf("  train   %s %s batch %d lr %g momentum %g wd %g warmup %ld | steps %ld (%.2f epochs) eval every %ld | seed %llu\n",
           c->loss == 0 ? "mse" : "xent", c->opt == TN_OPT_GD ? "gd" : "sgd", c->batch, c->lr,
           c->momentum, c->wd, c->warmup, t->total, (double)t->total / (double)t->spe, c->eval_every,
           (unsigned long long)c->seed);
    fflush(stdout);
}

/* The checkpoint's tensors: every arena of the plan (in arena order) with its velocity when the
 * model keeps one; names "w", "w.velocity", "bn", "bn.velocity", ... (docs/FORMATS.md). */
#define MAX_REFS (2 * TN_ARENAS)
static int ckpt_refs(const tn_trainer *t, tn_tensor_ref *refs, char names[MAX_REFS][48]) {
    const tn_plan *p = tn_model_plan(t->mdl);
    int nr = 0;
    for (int a = 0; a < TN_ARENAS; a++) {
        size_t len = tn_plan_arena_len(p, a);
        if (!len) continue;
        for (int c = TN_COPY_VALUE; c <= TN_COPY_VELOCITY; c += TN_COPY_VELOCITY - TN_COPY_VALUE) {
            float *buf = tn_model_arena(t->mdl, a, c);
            if (!buf) continue;
            snprintf(names[nr], sizeof names[nr], c == TN_COPY_VALUE ? "%s" : "%s.velocity", tn_arena_name(a));
            refs[nr] = (tn_tensor_ref){names[nr], buf, len};
            nr++;
        }
    }
    return nr;
}

/* The CPU backend's memory is host memory; other backends go through host copies (download before
 * a save, upload after a load). */
static int host_copies(tn_trainer *t, tn_tensor_ref *refs, tn_tensor_ref *h, int nr, int download) {
    int host = strcmp(t->be->name, "cpu") == 0;
    for (int i = 0; i < nr; i++) {
        h[i] = refs[i];
        if (host) continue;
        if (!(h[i].data = malloc(refs[i].count * sizeof(float))) ||
            (download && t->be->download(t->be, h[i].data, refs[i].data, refs[i].count * sizeof(float))))
            return tn_fail(&t->be_err, TN_ERUNTIME, "checkpoint: cannot copy '%s' to the host", refs[i].name);
    }
    return 0;
}

static void free_host_copies(tn_trainer *t, tn_tensor_ref *h, int nr) {
    for (int i = 0; i < nr && strcmp(t->be->name, "cpu"); i++) free(h[i].data);
}

static int load_checkpoint(tn_trainer *t, tn_err *e) {
    char path[1200], *meta = NULL, names[MAX_REFS][48];
    const char *flags;
    tn_tensor_ref refs[MAX_REFS], hrefs[MAX_REFS];
    int nr = ckpt_refs(t, refs, names);
    snprintf(path, sizeof path, "%s/checkpoint.bin", t->dir);
    int rc = host_copies(t, refs, hrefs, nr, 0);
    if (rc) rc = tn_fail(e, TN_ERUNTIME, "out of memory loading %s", path);
    if (!rc) rc = tn_ckpt_load(path, &meta, hrefs, nr, e);
    if (!rc) rc = tn_ckpt_meta_parse(meta, path, &t->st, &flags, e);
    for (int i = 0; i < nr && !rc && strcmp(t->be->name, "cpu"); i++)
        rc = t->be->upload(t->be, refs[i].data, hrefs[i].data, refs[i].count * sizeof(float));
    free_host_copies(t, hrefs, nr);
    free(meta);
    return rc;
}

int tn_trainer_save(tn_trainer *t) {
    char path[1200], *meta = NULL, names[MAX_REFS][48];
    tn_err *e = &t->be_err;
    tn_tensor_ref refs[MAX_REFS], hrefs[MAX_REFS];
    int nr = ckpt_refs(t, refs, names);
    int rc = host_copies(t, refs, hrefs, nr, 1);
    snprintf(path, sizeof path, "%s/checkpoint.bin", t->dir);
    if (!rc) rc = tn_ckpt_meta_build(&t->rc, &t->st, &meta, e);
    if (!rc) rc = tn_ckpt_save(path, meta, hrefs, nr, e);
    free(meta);
    free_host_copies(t, hrefs, nr);
    return rc;
}

int tn_trainer_open(tn_trainer *t, const tn_config *c, int quiet, tn_err *e) {
    memset(t, 0, sizeof *t);
    t->rc = *c;
    t->quiet = quiet;
    t->tty = isatty(STDOUT_FILENO);
    t->perm_epoch = -1;
    t->st.steps_to_target = -1;
    t->st.best_train_loss = t->st.best_test_acc = t->st.first_loss = NAN;
    if (tn_data_load_val(&c->data, &t->train, &t->val, &t->test, e)) return e->code;
    t->val_loss = t->val_acc = NAN;
    t->st.p = t->train.p, t->st.d = t->train.d;
    t->st.c = t->train.c, t->st.h = t->train.h, t->st.w = t->train.w;
    /* config.json reports image data as loaded (the files fix n, p and d; the flags --n,
     * --n-test, --input-dim, --classes only shape synthetic data, whose --n must stay as given:
     * it fixes where the test split starts in the random stream) */
    if (c->data.kind != TN_DATA_SYNTHETIC) {
        t->rc.data.n_train = t->train.n, t->rc.data.n_test = t->test.n;
        t->rc.data.p = t->train.p, t->rc.data.d = t->train.d;
    }
    if (resolve(t, e)) return e->code;
    tn_config *rc = &t->rc;
    tn_config_identity_hex(rc, t->run_id); /* of the resolved configuration, as config.json and the checkpoint */
    int nb = rc->batch;
    if (tn_plan_make_shape(rc, (tn_shape){t->train.c, t->train.h, t->train.w}, t->train.d, &t->plan, e)) return e->code;
    long long params = tn_plan_params(t->plan);
    size_t bytes = tn_run_bytes(rc, t->plan, nb, t->train.n + t->val.n, t->test.n);
    double gib = bytes / 1073741824.0;
    t->bytes = bytes;
    if (open_backend(t, e)) return e->code;
    size_t avail = t->be->mem_available(t->be);
    if (avail && bytes > avail) {
        int fits = rc->opt == TN_OPT_SGD ? tn_run_batch_that_fits(rc, t->plan, avail, t->train.n + t->val.n, t->test.n) : 0;
        char fix[96];
        if (fits > 0) snprintf(fix, sizeof fix, "--batch %d fits (%.2f GiB)", fits, tn_run_bytes(rc, t->plan, fits, t->train.n + t->val.n, t->test.n) / 1073741824.0);
        else snprintf(fix, sizeof fix, "no batch fits: reduce --width or --depth%s", rc->opt == TN_OPT_SGD ? "" : ", or use --opt sgd with a --batch");
        return tn_fail(e, TN_EINPUT, "memory: this run needs %.2f GiB on the %s backend (weights, optimizer state, activations of a batch of %d, data) but %.2f GiB is free; %s",
                       gib, t->be->name, nb, avail / 1073741824.0, fix);
    }
    if (tn_run_dir_create(rc, t->dir, sizeof t->dir, e)) return e->code;
    if (!(t->mdl = tn_model_create(t->be, t->plan, nb, tn_run_keep(rc), &t->be_err)))
        return tn_fail(e, t->be_err.code, "%s", t->be_err.msg);
    if (upload_data(t, e)) return e->code;
    t->perm = malloc((size_t)t->train.n * sizeof(int32_t));
    if (!t->perm) return tn_fail(e, TN_ERUNTIME, "out of memory");
    if (rc->resume[0] && !rc->restart) {
        if (load_checkpoint(t, e) || tn_run_dir_truncate_metrics(t->dir, t->st.step, &t->st.seconds, e)) return e->code;
        t->st.steps_to_target = -1; /* the target may have changed: reached again if it still is */
    } else {
        /* a restart in place drops what the killed run wrote before its first checkpoint */
        if (rc->restart && tn_run_dir_clear_outputs(t->dir, e)) return e->code;
        if (tn_model_init(t->mdl, rc->seed)) return tn_fail(e, t->be_err.code, "%s", t->be_err.msg);
    }
    if (tn_diag_open(&t->diag, t->mdl, rc, e)) return e->code;
    tn_stepper_init(&t->step, t->mdl, rc->batch, rc->graph);
    if (tn_run_dir_write_config(t->dir, rc, params, bytes, t->be->name, e)) return e->code;
    if (!quiet) {
        if (rc->restart)
            printf("taunet: %s has no checkpoint (the run stopped before its first one): restarting it from step 0\n", t->dir);
        print_table(t, params, gib);
    }
    return 0;
}

void tn_trainer_close(tn_trainer *t) {
    if (t->be) {
        tn_backend *be = t->be;
        if (t->mdl) tn_stepper_free(&t->step);
        if (t->mdl) tn_diag_close(&t->diag, t->mdl);
        tn_model_destroy(t->mdl);
        t->mdl = NULL;
        if (t->train_x) be->free(be, t->train_x);
        if (t->train_y) be->free(be, t->train_y);
        if (t->test_x) be->free(be, t->test_x);
        if (t->test_y) be->free(be, t->test_y);
        if (t->perm_dev) be->free(be, t->perm_dev);
        if (t->aug_dev) be->free(be, t->aug_dev);
        if (t->val_x) be->free(be, t->val_x);
        if (t->val_y) be->free(be, t->val_y);
        be->destroy(be);
    }
    tn_plan_free(t->plan);
    t->plan = NULL;
    tn_dataset_free(&t->train);
    tn_dataset_free(&t->test);
    tn_dataset_free(&t->val);
    free(t->perm);
    free(t->aug);
    t->aug = NULL, t->aug_dev = NULL;
    t->be = NULL;
    t->perm = NULL;
}

int tn_trainer_log(tn_trainer *t, long step, double tl, double ta, double vl, double va, double bl,
                   double ba, double sps, double seconds) {
    tn_json j;
    char path[1200];
    tn_json_init(&j);
    tn_json_obj_open(&j, NULL);
    tn_json_str(&j, "run_id", t->run_id);
    tn_json_int(&j, "step", step);
    tn_json_num(&j, "epoch", (double)step / (double)t->spe);
    tn_json_num(&j, "train_loss", tl);
    tn_json_num(&j, "train_acc", ta);
    tn_json_num(&j, "test_loss", vl);
    tn_json_num(&j, "test_acc", va);
    if (t->val.n) tn_json_num(&j, "val_loss", t->val_loss), tn_json_num(&j, "val_acc", t->val_acc);
    tn_json_num(&j, "batch_loss", bl);
    tn_json_num(&j, "batch_acc", ba);
    tn_json_num(&j, "lr", step ? t->lr : (float)tn_lr_at(&t->rc, 0, t->total, t->spe));
    tn_json_num(&j, "samples_per_s", sps * t->rc.batch);
    tn_json_num(&j, "time", seconds);
    int drc = tn_diag_eval(&t->diag, t->mdl, &t->rc, t->train_x, t->train_y, t->train.n, step > 0, &j);
    tn_json_obj_close(&j);
    if (drc) {
        tn_json_free(&j);
        return drc;
    }
    snprintf(path, sizeof path, "%s/metrics.jsonl", t->dir);
    int rc = j.s ? tn_append_line(path, j.s, &t->be_err) : tn_fail(&t->be_err, TN_ERUNTIME, "out of memory");
    tn_json_free(&j);
    if (!t->quiet) {
        double eta = sps > 0 ? (double)(t->total - step) / sps : 0.0;
        if (t->tty) printf("\r\033[K"); /* replace the live line */
        printf("step %7ld/%-7ld | train loss %.5g acc %.4f | test loss %.5g acc %.4f | %8.0f samples/s | ETA %.0fs\n",
               step, t->total, tl, ta, vl, va, sps * t->rc.batch, eta);
        fflush(stdout);
    }
    return rc;
}

void tn_trainer_report(tn_trainer *t, const tn_train_summary *s) {
    if (t->quiet) return;
    printf("%s after %ld steps: train loss %.5g acc %.4f | test loss %.5g acc %.4f | %.4g s/step | %s/summary.json\n",
           tn_status_name(s->status), s->steps_done, s->final_train_loss, s->final_train_acc,
           s->final_test_loss, s->final_test_acc, s->s_per_step, t->dir);
    fflush(stdout);
}
