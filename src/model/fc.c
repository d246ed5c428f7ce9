/* The fully-connected family of DESIGN.md §1 as a plan:
 *   unit 0      h_0 = relu(A x)                                 A [m, p]  ~ N(0, 2/m)
 *   unit l      h_l = relu([h_{l-1} +] tau * [BN](W_l h_{l-1}))  W_l [m, m] ~ N(0, 2/m), l = 1..L-1
 *   unit L      f = B h_{L-1}                                   B [d, m]  ~ N(0, 1/d)
 * The builder alone owns what --depth, --width and tau's L mean for this family: L counts A and
 * the L-1 hidden maps, and tau = tn_config_tau (1 for the PlainNet, whose units have no residual).
 * --train all|hidden|last marks which tensors train; BN's gamma and beta train with the hidden
 * weights. The tensor order is the arena layout: [A | W_1 .. W_{L-1} | B], then every gamma, every
 * beta, the running means, the running variances (so each BN quantity is one contiguous run). */
#include <math.h>
#include <stdio.h>

#include "model/plan.h"

static int add_weight(tn_plan *p, const char *name, int out, int in, float std, int trains) {
    int64_t shape[2] = {out, in};
    return tn_plan_add_tensor(p, name, 2, shape, TN_ARENA_W, TN_INIT_NORMAL, std, trains, 1);
}

/* gamma, beta, running mean and variance of each BN unit, each group contiguous. */
static int add_bn(tn_plan *p, int hidden, int m, int trains) {
    static const struct { const char *suffix; int arena; float init; } q[4] = {
        {"weight", TN_ARENA_BN, 1.0f}, {"bias", TN_ARENA_BN, 0.0f},
        {"running_mean", TN_ARENA_BN_MEAN, 0.0f}, {"running_var", TN_ARENA_BN_VAR, 1.0f}};
    int64_t shape[1] = {m};
    char name[48];
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < hidden; l++) {
            snprintf(name, sizeof name, "bn.%d.%s", l, q[k].suffix);
            if (tn_plan_add_tensor(p, name, 1, shape, q[k].arena, TN_INIT_CONST, q[k].init, k < 2 && trains, 0) < 0)
                return -1;
        }
    return 0;
}

int tn_plan_fc(tn_plan *p, const tn_config *c, tn_err *e) {
    int m = c->width, L = c->depth, d = p->d, resnet = c->arch == TN_ARCH_RESNET, bn = c->bn && L > 1;
    float tau = resnet ? (float)tn_config_tau(c) : 1.0f;
    int train_in = c->train_what == TN_TRAIN_ALL, train_hidden = c->train_what != TN_TRAIN_LAST;
    int train_out = c->train_what != TN_TRAIN_HIDDEN;
    float sw = sqrtf(2.0f / (float)m), sb = sqrtf(1.0f / (float)d);
    char name[48];
    int bad = add_weight(p, "A.weight", m, p->p, sw, train_in) < 0;
    for (int l = 1; l < L && !bad; l++) {
        snprintf(name, sizeof name, "W.%d.weight", l - 1);
        bad = add_weight(p, name, m, m, sw, train_hidden) < 0;
    }
    bad = bad || add_weight(p, "B.weight", d, m, sb, train_out) < 0;
    bad = bad || (bn && add_bn(p, L - 1, m, train_hidden) < 0);
    /* activation slots: h_0 .. h_{L-1}; z of unit 0; z of each BN unit (kept for BN's backward)
     * or one z shared by the hidden units; the logits */
    int h0 = p->nslots, z0, zshared = -1, logits;
    for (int l = 0; l < L && !bad; l++) bad = tn_plan_add_slot(p, m) < 0;
    bad = bad || (z0 = tn_plan_add_slot(p, m)) < 0;
    int zfirst = p->nslots;
    for (int l = 1; l < L && !bad && bn; l++) bad = tn_plan_add_slot(p, m) < 0;
    if (!bn && !bad) bad = (zshared = tn_plan_add_slot(p, m)) < 0;
    bad = bad || (logits = tn_plan_add_slot(p, d)) < 0;
    if (bad) return tn_fail(e, TN_ERUNTIME, "model plan: out of memory");
    tn_unit a = tn_unit_new(TN_UNIT_FC, p->p, m);
    a.w = 0, a.relu = 1, a.zslot = z0, a.hslot = h0, a.tap = 0;
    bad = tn_plan_add_unit(p, &a) < 0 || tn_plan_add_map(p, &(tn_map){.tensor = 0, .out = m, .in = p->p, .tau = 1.0f}) < 0;
    for (int l = 1; l < L && !bad; l++) {
        tn_unit w = tn_unit_new(TN_UNIT_FC, m, m);
        w.w = l, w.bn = bn ? (l - 1) * m : -1, w.relu = 1, w.res = resnet ? l - 1 : -1, w.tau = tau;
        w.zslot = bn ? zfirst + l - 1 : zshared, w.hslot = h0 + l, w.tap = 0;
        bad = tn_plan_add_unit(p, &w) < 0 || tn_plan_add_map(p, &(tn_map){.tensor = l, .out = m, .in = m, .residual = resnet, .tau = tau, .chain = 1}) < 0;
    }
    tn_unit b = tn_unit_new(TN_UNIT_FC, m, d);
    b.w = L, b.zslot = b.hslot = logits;
    bad = bad || tn_plan_add_unit(p, &b) < 0 || tn_plan_add_map(p, &(tn_map){.tensor = L, .out = d, .in = m, .tau = 1.0f}) < 0;
    if (bad) return tn_fail(e, TN_ERUNTIME, "model plan: out of memory");
    p->grad_slots = 2; /* a residual reaches one unit back: dh_l and dh_{l-1} */
    p->grad_width = m;
    tn_plan_layout(p);
    return 0;
}
