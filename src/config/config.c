/* A configuration: its defaults, the checks of the combination, and tau from its rule (the argv
 * parser is flags.c, over the flag table). Every rejection is one line naming the flag, the value
 * and what is accepted. */
#include "taunet/config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taunet/backend.h" /* TN_LOSS_XENT */

void tn_config_defaults(tn_config *c) {
    memset(c, 0, sizeof *c);
    c->arch = TN_ARCH_RESNET;
    c->width = 128;
    c->depth = 10;
    c->tau_rule = TN_TAU_INV_SQRT_L;
    c->tau_value = 0.0;
    c->tau_learn = 2;
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

int tn_config_validate(const tn_config *c, tn_err *e) {
    if (c->arch == TN_ARCH_RESNET_CIFAR && (c->depth < 8 || (c->depth - 2) % 6))
        return tn_fail(e, TN_EINPUT, "--depth %d: resnet-cifar needs 6n+2 layers (20, 32, 44, 56, 110, 1202, ...)", c->depth);
    if (c->augment && c->data.kind == TN_DATA_SYNTHETIC)
        return tn_fail(e, TN_EINPUT, "--augment crop-flip needs images (--data mnist:, fashion:, cifar10: or cifar100:DIR); drop it for synthetic data");
    if (c->augment && c->opt == TN_OPT_GD)
        return tn_fail(e, TN_EINPUT, "--augment crop-flip draws new images for each SGD batch; use --opt sgd, or drop it for GD");
    if (c->warmup_lr > 0 && c->warmup == 0)
        return tn_fail(e, TN_EINPUT, "--warmup-lr %g without --warmup: give the warm-up's length in steps, e.g. --warmup 400", c->warmup_lr);
    if (c->tau_learn == 1 && c->arch != TN_ARCH_RESNET_CIFAR)
        return tn_fail(e, TN_EINPUT, "--tau-learn on applies to --arch resnet-cifar only; drop it");
    if (c->tau_learn == 1 && c->bn)
        return tn_fail(e, TN_EINPUT, "--tau-learn on with --bn on: the BN variant keeps tau fixed (the tau-ResNet authors' code); use --bn off or drop --tau-learn");
    if (c->arch == TN_ARCH_PLAIN && c->tau_rule == TN_TAU_NUMBER && c->tau_value != 0.0 && c->tau_value != 1.0)
        return tn_fail(e, TN_EINPUT, "--tau applies to --arch resnet only; drop it for --arch plain");
    if (c->data.kind == TN_DATA_CIFAR10 && c->data.prep == TN_PREP_DEFAULT) { /* fine */ }
    if (c->opt == TN_OPT_GD && c->data.kind == TN_DATA_SYNTHETIC && c->data.n_train > 1000000)
        return tn_fail(e, TN_EINPUT, "--opt gd with --n %d: full-batch GD needs the whole set in one batch; use --opt sgd", c->data.n_train);
    unsigned dm = tn_diag_mask(c->diag, e);
    if (dm == TN_DIAG_INVALID) return e->code;
    if (c->arch == TN_ARCH_RESNET_CIFAR && strcmp(c->diag, "all") && (dm & TN_DIAG_NOT_CONV))
        return tn_fail(e, TN_EINPUT, "--diag %s: chain and complexity are products over FC layers, not defined for --arch resnet-cifar (docs/DIAGNOSTICS.md); use norms, dist, spectral, grad, margins, sharpness or all", dm & TN_DIAG_CHAIN ? "chain" : "complexity");
    if (c->depth < 2 && c->train_what == TN_TRAIN_HIDDEN)
        return tn_fail(e, TN_EINPUT, "--train hidden with --depth 1: there is no hidden layer to train; use --depth 2 or more, or --train all");
    if (c->depth < 2 && c->bn)
        return tn_fail(e, TN_EINPUT, "--bn on with --depth 1: BN applies to hidden layers and there is none; use --depth 2 or more");
    if (c->halt_after && c->steps == 0)
        return tn_fail(e, TN_EINPUT, "--halt-after needs a step budget (--steps or --epochs)");
    return 0;
}

double tn_config_tau(const tn_config *c) {
    double L = c->arch == TN_ARCH_RESNET_CIFAR ? (c->depth - 2) / 2 : c->depth;
    if (c->arch == TN_ARCH_PLAIN) return 1.0;
    switch (c->tau_rule) {
    case TN_TAU_INV_SQRT_L: return 1.0 / sqrt(L);
    case TN_TAU_INV_L: return 1.0 / L;
    case TN_TAU_L_M14: return pow(L, -0.25);
    default: return c->tau_value;
    }
}

int tn_config_tau_learns(const tn_config *c) {
    return c->arch == TN_ARCH_RESNET_CIFAR && !c->bn && c->tau_learn != 0;
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

unsigned tn_config_diags(const tn_config *c) {
    unsigned m = tn_diag_mask(c->diag, NULL);
    if (m == TN_DIAG_INVALID) return 0;
    return c->arch == TN_ARCH_RESNET_CIFAR ? m & ~(unsigned)TN_DIAG_NOT_CONV : m;
}
