/* Flag parsing and validation for `taunet train` (and the per-run part of `taunet sweep`).
 * Every rejection is one line naming the flag, the value and what is accepted. */
#include "taunet/config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taunet/backend.h"
#include "taunet/diag.h"

void tn_config_defaults(tn_config *c) {
    memset(c, 0, sizeof *c);
    c->arch = TN_ARCH_RESNET;
    c->width = 128;
    c->depth = 10;
    c->tau_rule = TN_TAU_INV_SQRT_L;
    c->tau_value = 0.0;
    c->data.kind = TN_DATA_SYNTHETIC;
    c->data.n_train = 512;
    c->data.n_test = 512;
    c->data.p = 64;
    c->data.d = 10;
    c->data.labels = TN_LABELS_TEACHER;
    c->loss = TN_LOSS_XENT;
    c->opt = TN_OPT_SGD;
    c->batch = 128;
    c->lr = 0.05;
    c->step_gamma = 0.1;
    c->steps = 200;
    c->epochs = 0.0;
    c->eval_every = 0; /* 0: steps/10, resolved by the trainer */
    c->threads = 0;
    c->graph = 1;
    c->sharp_sigma = 0.01;
    c->sharp_draws = 5;
}

static int parse_long(const char *flag, const char *v, long lo, long hi, long *out, tn_err *e) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return tn_fail(e, TN_EINPUT, "%s: '%s' is not an integer in [%ld, %ld]", flag, v, lo, hi);
    *out = x;
    return 0;
}
static int parse_int(const char *flag, const char *v, long lo, long hi, int *out, tn_err *e) {
    long x = 0;
    int rc = parse_long(flag, v, lo, hi, &x, e);
    if (rc) return rc;
    *out = (int)x;
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
/* Picks value v among the '|'-separated choices; returns its index. */
static int parse_choice(const char *flag, const char *v, const char *choices, int *out, tn_err *e) {
    int i = 0;
    const char *s = choices;
    size_t n = strlen(v);
    while (*s) {
        const char *bar = strchr(s, '|');
        size_t len = bar ? (size_t)(bar - s) : strlen(s);
        if (len == n && strncmp(s, v, n) == 0) {
            *out = i;
            return 0;
        }
        i++;
        if (!bar) break;
        s = bar + 1;
    }
    return tn_fail(e, TN_EINPUT, "%s: '%s' is not one of %s", flag, v, choices);
}

static int parse_tau(tn_config *c, const char *v, tn_err *e) {
    if (!strcmp(v, "1/sqrt(L)") || !strcmp(v, "1/sqrtL")) c->tau_rule = TN_TAU_INV_SQRT_L;
    else if (!strcmp(v, "1/L")) c->tau_rule = TN_TAU_INV_L;
    else if (!strcmp(v, "L^-1/4") || !strcmp(v, "L^-0.25")) c->tau_rule = TN_TAU_L_M14;
    else {
        c->tau_rule = TN_TAU_NUMBER;
        return parse_double("--tau", v, 0.0, 1e6, &c->tau_value, &(tn_err){0}) ? tn_fail(e, TN_EINPUT,
               "--tau: '%s' is neither a number nor one of 1/sqrt(L), 1/L, L^-1/4", v) : 0;
    }
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

static int parse_data(tn_config *c, const char *v, tn_err *e) {
    static const struct { const char *prefix; tn_data_kind kind; } k[] = {
        {"mnist:", TN_DATA_MNIST}, {"fashion:", TN_DATA_FASHION}, {"cifar10:", TN_DATA_CIFAR10}};
    if (!strcmp(v, "synthetic")) {
        c->data.kind = TN_DATA_SYNTHETIC;
        return 0;
    }
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        size_t n = strlen(k[i].prefix);
        if (!strncmp(v, k[i].prefix, n)) {
            if (!v[n] || strlen(v + n) >= sizeof c->data.dir)
                return tn_fail(e, TN_EINPUT, "--data: '%s' needs a directory after the colon, e.g. fashion:data/fashion-sample", v);
            if (check_text("--data", v, e)) return e->code;
            c->data.kind = k[i].kind;
            strcpy(c->data.dir, v + n);
            return 0;
        }
    }
    return tn_fail(e, TN_EINPUT, "--data: '%s' is not one of synthetic, mnist:DIR, fashion:DIR, cifar10:DIR", v);
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
        if (!c->n_milestones)
            return tn_fail(e, TN_EINPUT, "--schedule: '%s' names no milestone; use e.g. step:30,60", v);
    } else
        return tn_fail(e, TN_EINPUT, "--schedule: '%s' is not one of constant, step:E1,E2,..., cosine", v);
    return 0;
}

static int copy_str(const char *flag, const char *v, char *dst, size_t cap, tn_err *e) {
    if (strlen(v) >= cap) return tn_fail(e, TN_EINPUT, "%s: value too long (max %zu characters)", flag, cap - 1);
    if (check_text(flag, v, e)) return e->code;
    strcpy(dst, v);
    return 0;
}

/* One flag with its value. */
static int apply_flag(tn_config *c, const char *f, const char *v, tn_err *e) {
    int k = 0;
    long l = 0;
    if (!strcmp(f, "--arch")) {
        if (parse_choice(f, v, "plain|resnet|resnet-cifar", &k, e)) return e->code;
        c->arch = (tn_arch)k;
    } else if (!strcmp(f, "--width")) return parse_int(f, v, 1, 1 << 20, &c->width, e);
    else if (!strcmp(f, "--depth")) return parse_int(f, v, 1, 100000, &c->depth, e);
    else if (!strcmp(f, "--tau")) return parse_tau(c, v, e);
    else if (!strcmp(f, "--bn")) {
        if (parse_choice(f, v, "off|on", &k, e)) return e->code;
        c->bn = k;
    } else if (!strcmp(f, "--data")) return parse_data(c, v, e);
    else if (!strcmp(f, "--n")) return parse_int(f, v, 1, 100000000, &c->data.n_train, e);
    else if (!strcmp(f, "--n-test")) return parse_int(f, v, 0, 100000000, &c->data.n_test, e);
    else if (!strcmp(f, "--input-dim")) return parse_int(f, v, 1, 1 << 24, &c->data.p, e);
    else if (!strcmp(f, "--classes")) return parse_int(f, v, 2, 1 << 20, &c->data.d, e);
    else if (!strcmp(f, "--labels")) {
        if (parse_choice(f, v, "uniform|teacher", &k, e)) return e->code;
        c->data.labels = (tn_label_rule)k;
    } else if (!strcmp(f, "--subset")) return parse_int(f, v, 0, 100000000, &c->data.subset, e);
    else if (!strcmp(f, "--label-noise")) return parse_double(f, v, 0.0, 1.0, &c->data.label_noise, e);
    else if (!strcmp(f, "--preprocess")) {
        if (parse_choice(f, v, "default|none|scale|standardize|unitnorm", &k, e)) return e->code;
        c->data.prep = (tn_prep)k;
    } else if (!strcmp(f, "--loss")) {
        if (parse_choice(f, v, "mse|xent", &k, e)) return e->code;
        c->loss = k;
    } else if (!strcmp(f, "--opt")) {
        if (parse_choice(f, v, "gd|sgd", &k, e)) return e->code;
        c->opt = (tn_opt)k;
    } else if (!strcmp(f, "--batch")) return parse_int(f, v, 1, 1 << 24, &c->batch, e);
    else if (!strcmp(f, "--lr")) return parse_double(f, v, 0.0, 1e6, &c->lr, e);
    else if (!strcmp(f, "--momentum")) return parse_double(f, v, 0.0, 0.999999, &c->momentum, e);
    else if (!strcmp(f, "--wd")) return parse_double(f, v, 0.0, 1e3, &c->wd, e);
    else if (!strcmp(f, "--schedule")) return parse_schedule(c, v, e);
    else if (!strcmp(f, "--lr-gamma")) return parse_double(f, v, 0.0, 1.0, &c->step_gamma, e);
    else if (!strcmp(f, "--warmup")) return parse_long(f, v, 0, 1L << 40, &c->warmup, e);
    else if (!strcmp(f, "--steps")) {
        c->epochs = 0.0;
        return parse_long(f, v, 0, 1L << 40, &c->steps, e);
    } else if (!strcmp(f, "--epochs")) {
        c->steps = -1;
        return parse_double(f, v, 1e-9, 1e9, &c->epochs, e);
    } else if (!strcmp(f, "--eval-every")) return parse_long(f, v, 0, 1L << 40, &c->eval_every, e); /* 0: auto */
    else if (!strcmp(f, "--target-loss")) return parse_double(f, v, 0.0, 1e30, &c->target_loss, e);
    else if (!strcmp(f, "--train")) {
        if (parse_choice(f, v, "all|hidden|last", &k, e)) return e->code;
        c->train_what = (tn_train_what)k;
    } else if (!strcmp(f, "--seed")) {
        if (parse_long(f, v, 0, 0x7fffffffffffffffL, &l, e)) return e->code;
        c->seed = (uint64_t)l;
        c->data.seed = (uint64_t)l;
    } else if (!strcmp(f, "--backend")) {
        if (parse_choice(f, v, "auto|cpu|cuda", &k, e)) return e->code;
        c->backend = (tn_backend_kind)k;
    } else if (!strcmp(f, "--math")) {
        if (parse_choice(f, v, "fp32|tf32", &k, e)) return e->code;
        c->tf32 = k;
    } else if (!strcmp(f, "--graph")) {
        if (parse_choice(f, v, "off|on", &k, e)) return e->code;
        c->graph = k;
    } else if (!strcmp(f, "--gpu")) return parse_int(f, v, 0, 1024, &c->gpu, e);
    else if (!strcmp(f, "--threads")) return parse_int(f, v, 0, 4096, &c->threads, e);
    else if (!strcmp(f, "--diag")) return copy_str(f, strcmp(v, "none") ? v : "", c->diag, sizeof c->diag, e); /* "none": what tn_config_to_flags writes for no diagnostics */
    else if (!strcmp(f, "--sharp-sigma")) return parse_double(f, v, 0.0, 10.0, &c->sharp_sigma, e);
    else if (!strcmp(f, "--sharp-draws")) return parse_int(f, v, 1, 100000, &c->sharp_draws, e);
    else if (!strcmp(f, "--ckpt-every")) return parse_long(f, v, 0, 1L << 40, &c->ckpt_every, e);
    else if (!strcmp(f, "--halt-after")) return parse_long(f, v, 0, 1L << 40, &c->halt_after, e);
    else if (!strcmp(f, "--out")) return copy_str(f, v, c->out, sizeof c->out, e);
    else if (!strcmp(f, "--resume")) return copy_str(f, v, c->resume, sizeof c->resume, e);
    else return tn_fail(e, TN_EINPUT, "unknown flag '%s'; see 'taunet help train'", f);
    return 0;
}

int tn_config_parse(tn_config *c, int argc, char **argv, tn_err *e) {
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        char flag[64];
        const char *val;
        if (strncmp(a, "--", 2) != 0)
            return tn_fail(e, TN_EINPUT, "unexpected argument '%s'; flags look like --width 128", a);
        const char *eq = strchr(a, '=');
        if (eq) {
            if ((size_t)(eq - a) >= sizeof flag) return tn_fail(e, TN_EINPUT, "unknown flag '%s'", a);
            memcpy(flag, a, (size_t)(eq - a));
            flag[eq - a] = '\0';
            val = eq + 1;
        } else {
            if (strlen(a) >= sizeof flag) return tn_fail(e, TN_EINPUT, "unknown flag '%s'", a);
            strcpy(flag, a);
            if (i + 1 >= argc) return tn_fail(e, TN_EINPUT, "%s needs a value; see 'taunet help train'", a);
            val = argv[++i];
        }
        if (apply_flag(c, flag, val, e)) return e->code;
    }
    return tn_config_validate(c, e);
}

int tn_config_validate(const tn_config *c, tn_err *e) {
    if (c->arch == TN_ARCH_RESNET_CIFAR)
        return tn_fail(e, TN_EINPUT, "--arch resnet-cifar: convolutional ResNets are not implemented yet; use --arch plain or resnet");
    if (c->arch == TN_ARCH_PLAIN && c->tau_rule == TN_TAU_NUMBER && c->tau_value != 0.0 && c->tau_value != 1.0)
        return tn_fail(e, TN_EINPUT, "--tau applies to --arch resnet only; drop it for --arch plain");
    if (c->data.kind == TN_DATA_CIFAR10 && c->data.prep == TN_PREP_DEFAULT) { /* fine */ }
    if (c->opt == TN_OPT_GD && c->data.kind == TN_DATA_SYNTHETIC && c->data.n_train > 1000000)
        return tn_fail(e, TN_EINPUT, "--opt gd with --n %d: full-batch GD needs the whole set in one batch; use --opt sgd", c->data.n_train);
    if (tn_diag_mask(c->diag, e) == TN_DIAG_INVALID) return e->code;
    if (c->depth < 2 && c->train_what == TN_TRAIN_HIDDEN)
        return tn_fail(e, TN_EINPUT, "--train hidden with --depth 1: there is no hidden layer to train; use --depth 2 or more, or --train all");
    if (c->depth < 2 && c->bn)
        return tn_fail(e, TN_EINPUT, "--bn on with --depth 1: BN applies to hidden layers and there is none; use --depth 2 or more");
    if (c->halt_after && c->steps == 0)
        return tn_fail(e, TN_EINPUT, "--halt-after needs a step budget (--steps or --epochs)");
    return 0;
}

double tn_config_tau(const tn_config *c) {
    double L = c->depth;
    if (c->arch == TN_ARCH_PLAIN) return 1.0;
    switch (c->tau_rule) {
    case TN_TAU_INV_SQRT_L: return 1.0 / sqrt(L);
    case TN_TAU_INV_L: return 1.0 / L;
    case TN_TAU_L_M14: return pow(L, -0.25);
    default: return c->tau_value;
    }
}

const char *tn_tau_rule_name(const tn_config *c, char *buf, size_t cap) {
    switch (c->tau_rule) {
    case TN_TAU_INV_SQRT_L: snprintf(buf, cap, "1/sqrt(L)"); break;
    case TN_TAU_INV_L: snprintf(buf, cap, "1/L"); break;
    case TN_TAU_L_M14: snprintf(buf, cap, "L^-1/4"); break;
    default: snprintf(buf, cap, "%.9g", c->tau_value);
    }
    return buf;
}
