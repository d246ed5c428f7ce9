/* The flags of `taunet train`, one table: what each is called, where it lives in tn_config, how
 * it parses, how it is written back (the canonical flags that checkpoints store and resume
 * re-parses; config.json), how `taunet help train` describes it, and whether a resumed run may
 * change it. Every rejection is one line naming the flag, the value and what is accepted. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/flags_impl.h"

/* ---------------------------------------------------------------- parsing one value */

static int parse_long(const char *flag, const char *v, long lo, long hi, long *out, tn_err *e) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return tn_fail(e, TN_EINPUT, "%s: '%s' is not an integer in [%ld, %ld]", flag, v, lo, hi);
    *out = x;
    return 0;
}

static int parse_double(const char *flag, const char *v, double lo, double hi, double *out, tn_err *e) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x) || x < lo || x > hi)
        return tn_fail(e, TN_EINPUT, "%s: '%s' is not a number in [%g, %g]", flag, v, lo, hi);
    *out = x;
    return 0;
}

/* Paths and lists are stored in the canonical flags, one value per line (checkpoints keep them):
 * a control character (a newline above all) would split a value, so it is refused. */
static int check_text(const char *flag, const char *v, tn_err *e) {
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return tn_fail(e, TN_EINPUT, "%s: the value holds a control character (byte 0x%02x at offset %zu); use a path or list without one",
                           flag, *p, (size_t)(p - (const unsigned char *)v));
    return 0;
}

#define FIELD(c, f, type) (*(type *)((char *)(c) + (f)->off))

static int parse_field(const tn_flag_row *f, tn_config *c, const char *v, tn_err *e) {
    const char *flag = f->pub.name;
    long l = 0;
    double d = 0;
    switch (f->kind) {
    case K_INT:
        if (parse_long(flag, v, (long)f->lo, (long)f->hi, &l, e)) return e->code;
        FIELD(c, f, int) = (int)l;
        return 0;
    case K_LONG: return parse_long(flag, v, (long)f->lo, (long)f->hi, &FIELD(c, f, long), e);
    case K_DOUBLE:
        if (parse_double(flag, v, f->lo, f->hi, &d, e)) return e->code;
        FIELD(c, f, double) = d;
        return 0;
    case K_CHOICE: {
        int k = tn_name_index(f->names, v);
        if (k < 0) {
            char all[256];
            tn_names_join(f->names, "|", all, sizeof all);
            return tn_fail(e, TN_EINPUT, "%s: '%s' is not one of %s", flag, v, all);
        }
        FIELD(c, f, int) = k;
        return 0;
    }
    case K_TEXT:
        if (strlen(v) >= f->size) return tn_fail(e, TN_EINPUT, "%s: value too long (max %zu characters)", flag, f->size - 1);
        if (check_text(flag, v, e)) return e->code;
        strcpy(&FIELD(c, f, char), v);
        return 0;
    default: return f->parse(c, v, e);
    }
}

/* ---------------------------------------------------------------- the special flags */

static int parse_tau(tn_config *c, const char *v, tn_err *e) {
    if (!strcmp(v, "1/sqrt(L)") || !strcmp(v, "1/sqrtL")) c->tau_rule = TN_TAU_INV_SQRT_L;
    else if (!strcmp(v, "1/L")) c->tau_rule = TN_TAU_INV_L;
    else if (!strcmp(v, "L^-1/4") || !strcmp(v, "L^-0.25")) c->tau_rule = TN_TAU_L_M14;
    else {
        c->tau_rule = TN_TAU_NUMBER;
        return parse_double("--tau", v, 0.0, 1e6, &c->tau_value, &(tn_err){0})
                   ? tn_fail(e, TN_EINPUT, "--tau: '%s' is neither a number nor one of 1/sqrt(L), 1/L, L^-1/4", v)
                   : 0;
    }
    return 0;
}

static int parse_data(tn_config *c, const char *v, tn_err *e) {
    if (!strcmp(v, "synthetic")) {
        c->data.kind = TN_DATA_SYNTHETIC;
        return 0;
    }
    for (int k = TN_DATA_MNIST; tn_data_names[k]; k++) {
        size_t n = strlen(tn_data_names[k]);
        if (strncmp(v, tn_data_names[k], n) || v[n] != ':') continue;
        if (!v[n + 1] || strlen(v + n + 1) >= sizeof c->data.dir)
            return tn_fail(e, TN_EINPUT, "--data: '%s' needs a directory after the colon, e.g. fashion:data/fashion-sample", v);
        if (check_text("--data", v, e)) return e->code;
        c->data.kind = (tn_data_kind)k;
        strcpy(c->data.dir, v + n + 1);
        return 0;
    }
    return tn_fail(e, TN_EINPUT, "--data: '%s' is not one of synthetic, mnist:DIR, fashion:DIR, cifar10:DIR, cifar100:DIR, cifar100-coarse:DIR", v);
}

static int parse_schedule(tn_config *c, const char *v, tn_err *e) {
    if (!strcmp(v, "constant")) c->sched = TN_SCHED_CONSTANT;
    else if (!strcmp(v, "cosine")) c->sched = TN_SCHED_COSINE;
    else if (!strncmp(v, "step:", 5)) {
        c->sched = TN_SCHED_STEP;
        c->n_milestones = 0;
        const char *s = v + 5;
        while (*s) {
            char *end;
            errno = 0;
            long m = strtol(s, &end, 10);
            if (end == s || errno || m < 1 || m > 1000000000L || (*end && *end != ',') || c->n_milestones >= TN_MAX_MILESTONES)
                return tn_fail(e, TN_EINPUT, "--schedule: '%s' should be step:E1,E2,... with up to %d increasing positive epochs", v, TN_MAX_MILESTONES);
            if (c->n_milestones && m <= c->milestones[c->n_milestones - 1])
                return tn_fail(e, TN_EINPUT, "--schedule: milestones in '%s' must increase", v);
            c->milestones[c->n_milestones++] = (int)m;
            s = *end ? end + 1 : end;
        }
        if (!c->n_milestones) return tn_fail(e, TN_EINPUT, "--schedule: '%s' names no milestone; use e.g. step:30,60", v);
    } else
        return tn_fail(e, TN_EINPUT, "--schedule: '%s' is not one of constant, step:E1,E2,..., cosine", v);
    return 0;
}

static int parse_steps(tn_config *c, const char *v, tn_err *e) {
    c->epochs = 0.0;
    return parse_long("--steps", v, 0, 1L << 40, &c->steps, e);
}
static int parse_epochs(tn_config *c, const char *v, tn_err *e) {
    c->steps = -1;
    return parse_double("--epochs", v, 1e-9, 1e9, &c->epochs, e);
}
static int parse_seed(tn_config *c, const char *v, tn_err *e) {
    long l = 0;
    if (parse_long("--seed", v, 0, 0x7fffffffffffffffL, &l, e)) return e->code;
    c->seed = c->data.seed = (uint64_t)l; /* the data's draws and shuffles follow the run's seed */
    return 0;
}
/* "none": what the canonical writer stores for no diagnostics */
static int parse_diag(tn_config *c, const char *v, tn_err *e) {
    if (strlen(v) >= sizeof c->diag) return tn_fail(e, TN_EINPUT, "--diag: value too long (max %zu characters)", sizeof c->diag - 1);
    if (check_text("--diag", v, e)) return e->code;
    snprintf(c->diag, sizeof c->diag, "%s", strcmp(v, "none") ? v : "");
    return 0;
}

/* ---------------------------------------------------------------- canonical values */

void tn_schedule_str(const tn_config *c, char *buf, size_t cap) {
    if (c->sched == TN_SCHED_CONSTANT) snprintf(buf, cap, "constant");
    else if (c->sched == TN_SCHED_COSINE) snprintf(buf, cap, "cosine");
    else {
        size_t o = (size_t)snprintf(buf, cap, "step:");
        for (int i = 0; i < c->n_milestones && o < cap; i++) o += (size_t)snprintf(buf + o, cap - o, i ? ",%d" : "%d", c->milestones[i]);
    }
}

void tn_data_str(const tn_config *c, char *buf, size_t cap) {
    if (c->data.kind == TN_DATA_SYNTHETIC) snprintf(buf, cap, "synthetic");
    else snprintf(buf, cap, "%s:%s", tn_data_names[c->data.kind], c->data.dir);
}

/* The value as the canonical flags write it; 0 when the flag is left out (--steps or --epochs:
 * whichever sets the budget). */
int tn_flag_value(const tn_flag_row *f, const tn_config *c, char *buf, size_t cap) {
    switch (f->kind) {
    case K_INT: snprintf(buf, cap, "%d", FIELD(c, f, int)); return 1;
    case K_LONG: snprintf(buf, cap, "%ld", FIELD(c, f, long)); return 1;
    case K_DOUBLE: snprintf(buf, cap, "%.17g", FIELD(c, f, double)); return 1;
    case K_CHOICE: snprintf(buf, cap, "%s", f->names[FIELD(c, f, int)]); return 1;
    case K_TEXT: snprintf(buf, cap, "%s", &FIELD(c, f, char)); return 1;
    default: return f->format(c, buf, cap);
    }
}

static int fmt_tau(const tn_config *c, char *b, size_t n) { return tn_tau_rule_name(c, b, n), 1; }
static int fmt_data(const tn_config *c, char *b, size_t n) { return tn_data_str(c, b, n), 1; }
static int fmt_schedule(const tn_config *c, char *b, size_t n) { return tn_schedule_str(c, b, n), 1; }
static int fmt_steps(const tn_config *c, char *b, size_t n) { return c->steps >= 0 ? (snprintf(b, n, "%ld", c->steps), 1) : 0; }
static int fmt_epochs(const tn_config *c, char *b, size_t n) { return c->steps < 0 ? (snprintf(b, n, "%.17g", c->epochs), 1) : 0; }
static int fmt_seed(const tn_config *c, char *b, size_t n) { return snprintf(b, n, "%llu", (unsigned long long)c->seed), 1; }
static int fmt_diag(const tn_config *c, char *b, size_t n) { return snprintf(b, n, "%s", c->diag[0] ? c->diag : "none"), 1; }

/* ---------------------------------------------------------------- the table */

#define C TN_FLAG_CANON
#define R TN_FLAG_RESUMABLE
#define I TN_FLAG_RANGES
#define S TN_FLAG_SEMI
#define OFF(field) offsetof(tn_config, field)
#define NUM(kind, field, lo, hi) kind, OFF(field), sizeof(((tn_config *)0)->field), lo, hi, NULL, NULL, NULL
#define CHOICE(field, names) K_CHOICE, OFF(field), sizeof(int), 0, 0, names, NULL, NULL
#define SPECIAL(parse, format) K_SPECIAL, 0, 0, 0, 0, NULL, parse, format
#define TEXT(field) K_TEXT, OFF(field), sizeof(((tn_config *)0)->field), 0, 0, NULL, NULL, NULL

static const tn_flag_row rows[] = {
    {{"--arch", "plain|resnet|resnet-cifar", "model", "PlainNet h=relu(W h), tau-ResNet h=relu(h + tau W h), or the CIFAR conv ResNet-(6n+2) [resnet]", C, "arch"}, CHOICE(arch, tn_arch_names), J_STR},
    {{"--width", "M", "model", "width: the features of every hidden layer; resnet-cifar: the first stage's channels [128; resnet-cifar 16]", C | I, "width"}, NUM(K_INT, width, 1, 1 << 20), J_INT},
    {{"--depth", "L", "model", "depth: A, then L-1 hidden W, then B; resnet-cifar: 6n+2 layers, 3n blocks [10; resnet-cifar 20]", C | I, "depth"}, NUM(K_INT, depth, 1, 100000), J_INT},
    {{"--tau", "T|1/sqrt(L)|1/L|L^-1/4", "model", "residual branch scale, a number or a rule of L (resnet-cifar: L = blocks) [1/sqrt(L)]", C, "tau_rule"}, SPECIAL(parse_tau, fmt_tau), J_TAU},
    {{"--bn", "on|off", "model", "BatchNorm on every hidden W h or conv (PyTorch semantics) [off]", C, "bn"}, CHOICE(bn, tn_onoff_names), J_BOOL},
    {{"--tau-learn", "auto|on|off", "model", "resnet-cifar without BN: one tau shared by the blocks, trained at lr/10 [auto: on]", C | TN_FLAG_IF_SET, "tau_learn"}, CHOICE(tau_learn, tn_tau_learn_names), J_STR},
    {{"--data", "synthetic|mnist:DIR|fashion:DIR|cifar10:DIR|cifar100[-coarse]:DIR", "data", "the dataset; cifar100: fine labels (100), cifar100-coarse: the 20 superclasses [synthetic]", C | S, "data"}, SPECIAL(parse_data, fmt_data), J_STR},
    {{"--n", "N", "data", "synthetic: training points on the unit sphere [512]", C | I, "n"}, NUM(K_INT, data.n_train, 1, 100000000), J_INT},
    {{"--n-test", "N", "data", "synthetic: test points [512]", C | I, "n_test"}, NUM(K_INT, data.n_test, 0, 100000000), J_INT},
    {{"--input-dim", "P", "data", "synthetic: the input dimension [64]", C | I, "input_dim"}, NUM(K_INT, data.p, 1, 1 << 24), J_INT},
    {{"--classes", "D", "data", "synthetic: the classes [10]", C | I, "classes"}, NUM(K_INT, data.d, 2, 1 << 20), J_INT},
    {{"--labels", "uniform|teacher", "data", "synthetic: random labels or a random teacher net [teacher]", C, "labels"}, CHOICE(data.labels, tn_label_names), J_STR},
    {{"--subset", "N", "data", "keep the first N training examples (file order; 0: all)", C | I, "subset"}, NUM(K_INT, data.subset, 0, 100000000), J_INT},
    {{"--val", "N", "data", "hold out the last N training examples (after --subset) as a validation set, logged as val_loss and val_acc [0]", C | I | TN_FLAG_IF_SET, "val"}, NUM(K_INT, data.val, 0, 100000000), J_INT},
    {{"--label-noise", "F", "data", "replace a fraction F of training labels by random ones", C, "label_noise"}, NUM(K_DOUBLE, data.label_noise, 0.0, 1.0), J_NUM},
    {{"--preprocess", "scale|standardize|channel|unitnorm|none", "data", "pixels to [0,1]; then per-pixel or per-channel mean 0, std 1 from the training set, or unit rows [scale for images, unitnorm for synthetic]", C, "preprocess"}, CHOICE(data.prep, tn_prep_names), J_STR},
    {{"--augment", "none|crop-flip", "data", "SGD batches of images padded by 4, randomly cropped back and flipped left-right, per (seed, epoch, example) [none]", C | TN_FLAG_IF_SET, "augment"}, CHOICE(augment, tn_augment_names), J_STR},
    {{"--preset", "none|cifar-resnet", "training", "a recipe for the flags not given; cifar-resnet: He et al.'s CIFAR recipe (--arch resnet-cifar --batch 128 --lr 0.1 --momentum 0.9 --wd 1e-4 --epochs 200 --schedule step:100,150 --augment crop-flip --preprocess channel; depth >= 110: --warmup 400 --warmup-lr 0.01) [none]", 0, "preset"}, CHOICE(preset, tn_preset_names), J_STR},
    {{"--loss", "mse|xent", "training", "1/2||f-y||^2 with one-hot y, or softmax cross-entropy [xent]", C, "loss"}, CHOICE(loss, tn_loss_names), J_STR},
    {{"--opt", "gd|sgd", "training", "full-batch GD, or minibatch SGD shuffled per epoch [sgd]", C, "opt"}, CHOICE(opt, tn_opt_names), J_STR},
    {{"--batch", "B", "training", "the SGD minibatch [128]", C | I, "batch"}, NUM(K_INT, batch, 1, 1 << 24), J_INT},
    {{"--lr", "LR", "training", "learning rate [0.05]", C, "lr"}, NUM(K_DOUBLE, lr, 0.0, 1e6), J_NUM},
    {{"--momentum", "MU", "training", "SGD momentum (PyTorch semantics) [0]", C, "momentum"}, NUM(K_DOUBLE, momentum, 0.0, 0.999999), J_NUM},
    {{"--wd", "WD", "training", "weight decay [0]", C, "wd"}, NUM(K_DOUBLE, wd, 0.0, 1e3), J_NUM},
    {{"--schedule", "constant|step:E1,E2|cosine", "training", "learning-rate schedule, milestones in epochs [constant]", C | S, "schedule"}, SPECIAL(parse_schedule, fmt_schedule), J_STR},
    {{"--lr-gamma", "G", "training", "lr factor at each step milestone [0.1]", C, "lr_gamma"}, NUM(K_DOUBLE, step_gamma, 0.0, 1.0), J_NUM},
    {{"--warmup", "S", "training", "lr warm-up over S steps: linear, or at --warmup-lr [0]", C | I, "warmup"}, NUM(K_LONG, warmup, 0, 1L << 40), J_INT},
    {{"--warmup-lr", "LR", "training", "a constant lr for the --warmup steps, then --lr (He et al.'s ResNet-110/1202: 400 steps at 0.01) [0: linear]", C | TN_FLAG_IF_SET, "warmup_lr"}, NUM(K_DOUBLE, warmup_lr, 0.0, 1e6), J_NUM},
    {{"--steps", "S", "training", "step budget; --steps 0 evaluates the initialization [200]", C | R | I, "steps"}, SPECIAL(parse_steps, fmt_steps), J_STEPS},
    {{"--epochs", "E", "training", "the budget in epochs instead of --steps", C | R, "epochs"}, SPECIAL(parse_epochs, fmt_epochs), J_EPOCHS},
    {{"--eval-every", "K", "training", "evaluate train and test sets every K steps [steps/10]", C | R | I, "eval_every"}, NUM(K_LONG, eval_every, 0, 1L << 40), J_INT},
    {{"--target-loss", "EPS", "training", "stop as converged when the training loss <= EPS", C | R, "target_loss"}, NUM(K_DOUBLE, target_loss, 0.0, 1e30), J_NUM},
    {{"--train", "all|hidden|last", "training", "what trains (hidden: A and B frozen; last: only B) [all]", C, "train"}, CHOICE(train_what, tn_train_names), J_STR},
    {{"--seed", "S", "training", "weights, data, shuffling, label noise [0]", C | I, "seed"}, SPECIAL(parse_seed, fmt_seed), J_SEED},
    {{"--backend", "auto|cpu|cuda", "engine and output", "the engine; auto: cuda when a GPU is usable [auto]", R, "backend"}, CHOICE(backend, tn_backend_names), J_STR},
    {{"--threads", "T", "engine and output", "CPU threads; 0: all cores (results do not depend on it) [0]", R | I, "threads"}, NUM(K_INT, threads, 0, 4096), J_INT},
    {{"--gpu", "N", "engine and output", "CUDA device [0]", R | I, "gpu"}, NUM(K_INT, gpu, 0, 1024), J_INT},
    {{"--math", "fp32|tf32", "engine and output", "CUDA: TF32 tensor-core GEMMs [fp32]", C, "math"}, CHOICE(tf32, tn_math_names), J_STR},
    {{"--graph", "on|off", "engine and output", "CUDA: capture the training step in a graph and replay it [on]", C, "graph"}, CHOICE(graph, tn_onoff_names), J_BOOL},
    {{"--diag", "LIST", "engine and output", "diagnostics per evaluation, a comma list or all (docs/DIAGNOSTICS.md)", C | S, "diag"}, SPECIAL(parse_diag, fmt_diag), J_DIAG},
    {{"--sharp-sigma", "S", "engine and output", "sharpness: relative perturbation scale [0.01]", C, "sharp_sigma"}, NUM(K_DOUBLE, sharp_sigma, 0.0, 10.0), J_NUM},
    {{"--sharp-draws", "K", "engine and output", "sharpness: draws [5]", C | I, "sharp_draws"}, NUM(K_INT, sharp_draws, 1, 100000), J_INT},
    {{"--out", "DIR", "engine and output", "run directory [runs/<time>-<arch>-m<W>-L<D>-s<seed>]", 0, NULL}, TEXT(out), J_NONE},
    {{"--ckpt-every", "K", "engine and output", "checkpoint every K steps (and at the end, unless diverged) [0]", C | R | I, "ckpt_every"}, NUM(K_LONG, ckpt_every, 0, 1L << 40), J_INT},
    {{"--resume", "DIR", "engine and output", "continue DIR bit-exactly (the flags marked * may change)", 0, NULL}, TEXT(resume), J_NONE},
    {{"--halt-after", "N", "engine and output", "stop after N steps of this invocation (status halted)", R, NULL}, NUM(K_LONG, halt_after, 0, 1L << 40), J_NONE},
};
#define NROWS (int)(sizeof rows / sizeof rows[0])

const tn_flag_row *tn_flag_rows(int *n) {
    *n = NROWS;
    return rows;
}

const tn_flag *tn_flags(int *n) {
    static tn_flag pub[NROWS];
    if (!pub[0].name)
        for (int i = 0; i < NROWS; i++) pub[i] = rows[i].pub;
    *n = NROWS;
    return pub;
}

const tn_flag_row *tn_flag_row_find(const char *name) {
    for (int i = 0; i < NROWS; i++)
        if (!strcmp(rows[i].pub.name, name)) return &rows[i];
    return NULL;
}

const tn_flag *tn_flag_find(const char *name) {
    const tn_flag_row *r = tn_flag_row_find(name);
    return r ? &r->pub : NULL;
}

/* What --width and --depth mean depends on --arch, and so do their defaults: a flag not given
 * beside --arch takes the default of the family chosen there. Only where --arch itself is given:
 * a parse over a stored configuration (--resume D) keeps the stored width and depth. */
static void family_defaults(tn_config *c, const char *given) {
    if (c->arch != TN_ARCH_RESNET_CIFAR || !given[tn_flag_row_find("--arch") - rows]) return;
    if (!given[tn_flag_row_find("--width") - rows]) c->width = 16;
    if (!given[tn_flag_row_find("--depth") - rows]) c->depth = 20;
}

/* --preset: each value for its flag unless that flag was given; the warm-up only at depth >= 110
 * (the depth as resolved, family default included), after He et al. 2016 section 4.2. */
static int apply_preset(tn_config *c, char *given, int after_depth, tn_err *e) {
    static const char *const cifar[][2] = {{"--arch", "resnet-cifar"}, {"--batch", "128"}, {"--lr", "0.1"},
                                           {"--momentum", "0.9"}, {"--wd", "1e-4"}, {"--epochs", "200"},
                                           {"--schedule", "step:100,150"}, {"--augment", "crop-flip"},
                                           {"--preprocess", "channel"}};
    static const char *const deep[][2] = {{"--warmup", "400"}, {"--warmup-lr", "0.01"}};
    if (c->preset != 1) return 0;
    const char *const(*v)[2] = after_depth ? deep : cifar;
    int n = after_depth ? (int)(sizeof deep / sizeof deep[0]) : (int)(sizeof cifar / sizeof cifar[0]);
    if (after_depth && c->depth < 110) return 0;
    for (int i = 0; i < n; i++) {
        const tn_flag_row *f = tn_flag_row_find(v[i][0]);
        if (given[f - rows] || (!strcmp(v[i][0], "--epochs") && given[tn_flag_row_find("--steps") - rows])) continue;
        if (parse_field(f, c, v[i][1], e)) return e->code;
        given[f - rows] = 1;
    }
    return 0;
}

int tn_config_parse(tn_config *c, int argc, char **argv, tn_err *e) {
    char given[NROWS] = {0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        char flag[64];
        const char *val;
        if (strncmp(a, "--", 2) != 0)
            return tn_fail(e, TN_EINPUT, "unexpected argument '%s'; flags look like --width 128", a);
        const char *eq = strchr(a, '=');
        size_t fl = eq ? (size_t)(eq - a) : strlen(a);
        if (fl >= sizeof flag) return tn_fail(e, TN_EINPUT, "unknown flag '%s'; see 'taunet help train'", a);
        memcpy(flag, a, fl);
        flag[fl] = '\0';
        const tn_flag_row *f = tn_flag_row_find(flag);
        if (!f) return tn_fail(e, TN_EINPUT, "unknown flag '%s'; see 'taunet help train'", flag);
        if (eq) val = eq + 1;
        else if (i + 1 >= argc) return tn_fail(e, TN_EINPUT, "%s needs a value; see 'taunet help train'", a);
        else val = argv[++i];
        if (parse_field(f, c, val, e)) return e->code;
        given[f - rows] = 1;
    }
    if (apply_preset(c, given, 0, e)) return e->code;
    family_defaults(c, given);
    if (apply_preset(c, given, 1, e)) return e->code;
    if (c->preset == 1 && c->data.kind == TN_DATA_SYNTHETIC)
        return tn_fail(e, TN_EINPUT, "--preset cifar-resnet trains on images: give --data cifar10:DIR (or cifar100:, mnist:, fashion:)");
    return tn_config_validate(c, e);
}



void tn_config_copy_resumable(tn_config *dst, const tn_config *src) {
    for (int i = 0; i < NROWS; i++) {
        const tn_flag_row *f = &rows[i];
        if (!(f->pub.props & TN_FLAG_RESUMABLE)) continue;
        if (f->kind == K_SPECIAL) { /* --steps and --epochs: the budget is the pair */
            dst->steps = src->steps, dst->epochs = src->epochs;
            continue;
        }
        memcpy((char *)dst + f->off, (const char *)src + f->off, f->size);
    }
}

const char *tn_resumable_names(void) {
    static char names[512];
    if (!names[0]) {
        size_t o = 0;
        for (int i = 0; i < NROWS; i++)
            if (rows[i].pub.props & TN_FLAG_RESUMABLE)
                o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", o ? ", " : "", rows[i].pub.name);
    }
    return names;
}
