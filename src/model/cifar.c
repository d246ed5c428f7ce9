/* The CIFAR ResNets of He et al. (2016) as a plan, --arch resnet-cifar --depth 6n+2 (DESIGN.md
 * §1, §9; the tau-ResNet authors' code, dayu11/tau-ResNet, is the reference for every choice):
 *   stem     h = relu([BN](conv3x3 x))                    c -> w          (w = --width, 16)
 *   3 stages of n basic blocks at w, 2w, 4w channels, stride 2 at the first block of stages 2, 3:
 *     BN     h' = relu(S(h) + tau * BN2(conv2(relu(BN1(conv1 h)))))                tau fixed
 *     no BN  h' = relu(S(h) + tau * (conv2(relu(conv1(h + b1a) + b1b) + b2a) + b2b))
 *            (four scalar biases per block; one tau shared by all blocks, learnable unless
 *            --tau-learn off, its gradient averaged over the blocks)
 *   S        identity, or at a stage entry the stride-2 subsample with zero channels appended at
 *            the end (torch.cat((x, zeros), 1)); with BN, BN of the subsample before the zeros
 *   head     f = fc(global average pool of h)             4w -> classes, no bias
 * Convs are He-initialised from fan-out, N(0, 2/(9 oc)); the head N(0, 1/(4w)); BN gamma 1, beta 0;
 * biases 0; tau from --tau with L = 3n blocks. Inputs are images as loaded (CHW, any size: MNIST
 * stays 28x28, the stages then run at 28, 14 and 7). --train hidden trains the blocks (stem and
 * head frozen), --train last the head alone; BN, biases and tau train with their block.
 *
 * Memory: a BN block keeps z1, z2 and its output; relu(BN1(z1)) shares one slot between blocks
 * and is recomputed in backward (unit.recompute). A no-BN block keeps relu(z1 + b1b) and its
 * output (and z2 + b2b for a learnable tau's gradient). */
#include <math.h>
#include <stdio.h>

#include "model/plan.h"

typedef struct builder {
    tn_plan *p;
    const tn_config *c;
    int bn, learn, n, w0, blocks;
    float tau;
    int zshare, hshare; /* the shared slots (z of no-BN units; recomputed BN outputs) */
    int bad;
} builder;

static int weight(builder *b, const char *name, int oc, int ic, int k, int trains) {
    int64_t shape[4] = {oc, ic, k, k};
    float std = k > 1 ? sqrtf(2.0f / (float)(k * k * oc)) : sqrtf(1.0f / (float)ic);
    int t = tn_plan_add_tensor(b->p, name, k > 1 ? 4 : 2, shape, TN_ARENA_W, TN_INIT_NORMAL, std, trains, 1);
    if (t < 0) b->bad = 1;
    return t;
}

/* The i-th block of the network, i = s*n + j: its channels and stride. */
static void block_shape(const builder *b, int i, int *ic, int *oc, int *stride) {
    int s = i / b->n, j = i % b->n;
    *oc = b->w0 << s;
    *ic = j ? *oc : s ? *oc / 2 : b->w0;
    *stride = s && !j ? 2 : 1;
}

/* The BN tensors, every gamma, then every beta, running mean, running var, each in one order:
 * stem, then per block bn1, bn2 and (stage entry) downsample.1. Returns the channels. */
static size_t add_bn_tensors(builder *b) {
    static const struct { const char *suffix; int arena; float init; } q[4] = {
        {"weight", TN_ARENA_BN, 1.0f}, {"bias", TN_ARENA_BN, 0.0f},
        {"running_mean", TN_ARENA_BN_MEAN, 0.0f}, {"running_var", TN_ARENA_BN_VAR, 1.0f}};
    int train_in = b->c->train_what == TN_TRAIN_ALL, train_blocks = b->c->train_what != TN_TRAIN_LAST;
    size_t channels = 0;
    char name[48];
    for (int k = 0; k < 4; k++) {
        int64_t shape[1] = {b->w0};
        snprintf(name, sizeof name, "bn1.%s", q[k].suffix);
        b->bad |= tn_plan_add_tensor(b->p, name, 1, shape, q[k].arena, TN_INIT_CONST, q[k].init, k < 2 && train_in, 0) < 0;
        channels = (size_t)b->w0;
        for (int i = 0; i < b->blocks; i++) {
            int ic, oc, s;
            block_shape(b, i, &ic, &oc, &s);
            const char *part[3] = {"bn1", "bn2", "downsample.1"};
            for (int t = 0; t < (s > 1 || ic != oc ? 3 : 2); t++) {
                shape[0] = t < 2 ? oc : ic;
                snprintf(name, sizeof name, "layer%d.%d.%s.%s", i / b->n + 1, i % b->n, part[t], q[k].suffix);
                b->bad |= tn_plan_add_tensor(b->p, name, 1, shape, q[k].arena, TN_INIT_CONST, q[k].init,
                                             k < 2 && train_blocks, 0) < 0;
                channels += (size_t)shape[0];
            }
        }
    }
    return channels;
}

/* The no-BN scalars: four biases per block, then the shared tau (when it learns). */
static int add_scalars(builder *b) {
    static const char *bias[4] = {"bias1a", "bias1b", "bias2a", "bias2b"};
    int trains = b->c->train_what != TN_TRAIN_LAST, first = b->p->ntensors;
    int64_t shape[1] = {1};
    char name[48];
    for (int i = 0; i < b->blocks; i++)
        for (int k = 0; k < 4; k++) {
            snprintf(name, sizeof name, "layer%d.%d.%s", i / b->n + 1, i % b->n, bias[k]);
            b->bad |= tn_plan_add_tensor(b->p, name, 1, shape, TN_ARENA_SCALARS, TN_INIT_CONST, 0.0f, trains, 0) < 0;
        }
    if (b->learn)
        b->bad |= tn_plan_add_tensor(b->p, "tau", 1, shape, TN_ARENA_SCALARS, TN_INIT_CONST, b->tau, trains, 0) < 0;
    return first;
}

static int slot(builder *b, int width) {
    int s = tn_plan_add_slot(b->p, width);
    if (s < 0) b->bad = 1;
    return s;
}

static void unit(builder *b, const tn_unit *u, int map_tensor) {
    if (tn_plan_add_unit(b->p, u) < 0) b->bad = 1;
    if (map_tensor < 0) return;
    tn_map m = {.tensor = map_tensor, .out = u->out, .in = u->in, .tau = 1.0f, .conv = 1, .g = u->g};
    if (tn_plan_add_map(b->p, &m) < 0) b->bad = 1;
}

/* A conv unit of geometry g on the output of the previous unit: z in its own slot (BN, or
 * keep_z) or the shared one; its output in its own slot or (recompute) the shared one. */
static tn_unit conv_unit(builder *b, tn_conv_geom g, int w, int bn_off, int keep_z, int recompute) {
    tn_unit u = tn_unit_new(TN_UNIT_CONV, g.c * g.h * g.w, g.oc * g.oh * g.ow);
    u.g = g, u.rows = g.oh * g.ow, u.cols = g.oc, u.w = w, u.bn = bn_off, u.relu = 1;
    u.zslot = bn_off >= 0 || keep_z ? slot(b, u.out) : b->zshare;
    u.hslot = recompute ? b->hshare : slot(b, u.out);
    u.recompute = recompute;
    return u;
}

/* The shortcut of a stage entry from c x h x w to oc channels at stride 2. */
static int shortcut(builder *b, int c, int h, int w, int oc, int bn_off) {
    tn_shortcut s;
    memset(&s, 0, sizeof s);
    s.bn = bn_off;
    s.g_sub = tn_conv_geom_make(c, h, w, bn_off >= 0 ? c : oc, 1, 2, 0, 0);
    s.g_pad = tn_conv_geom_make(c, s.g_sub.oh, s.g_sub.ow, oc, 1, 1, 0, 0);
    int pix = s.g_sub.oh * s.g_sub.ow;
    s.slot_sub = bn_off >= 0 ? slot(b, pix * c) : -1;
    s.slot_bn = bn_off >= 0 ? slot(b, pix * c) : -1;
    s.slot_out = slot(b, pix * oc);
    if (bn_off >= 0 && pix * c > b->p->sc_width) b->p->sc_width = pix * c;
    int k = tn_plan_add_shortcut(b->p, &s);
    if (k < 0) b->bad = 1;
    return k;
}

/* The blocks, from the stem's output (unit 0) at h x w. */
static void add_blocks(builder *b, int h, int w, int wfirst, int sfirst) {
    size_t bn = (size_t)b->w0; /* channels of the BN units before this block */
    for (int i = 0; i < b->blocks; i++) {
        int ic, oc, s, in_unit = b->p->nunits - 1;
        block_shape(b, i, &ic, &oc, &s);
        tn_conv_geom ga = tn_conv_geom_make(ic, h, w, oc, 3, s, 1, 0);
        tn_unit a = conv_unit(b, ga, wfirst + 2 * i, b->bn ? (int)bn : -1, 0, b->bn);
        tn_conv_geom gb = tn_conv_geom_make(oc, ga.oh, ga.ow, oc, 3, 1, 1, 0);
        tn_unit z = conv_unit(b, gb, wfirst + 2 * i + 1, b->bn ? (int)(bn + oc) : -1, b->learn, 0);
        z.res = in_unit, z.defer = 1, z.tau = b->tau, z.tap = 0;
        if (!b->bn) {
            a.bias_in = sfirst + 4 * i, a.bias_out = sfirst + 4 * i + 1;
            z.bias_in = sfirst + 4 * i + 2, z.bias_out = sfirst + 4 * i + 3;
            if (b->learn) z.tau_t = sfirst + 4 * b->blocks;
        }
        bn += 2 * (size_t)oc;
        if (s > 1 || ic != oc) {
            z.sc = shortcut(b, ic, h, w, oc, b->bn ? (int)bn : -1);
            if (b->bn) bn += (size_t)ic;
        }
        unit(b, &a, a.w);
        unit(b, &z, z.w);
        h = ga.oh, w = ga.ow;
    }
}

static int check(const tn_config *c, const tn_shape *in, tn_err *e) {
    if (c->depth < 8 || (c->depth - 2) % 6)
        return tn_fail(e, TN_EINPUT, "--depth %d: resnet-cifar needs 6n+2 layers (20, 32, 44, 56, 110, 1202, ...)", c->depth);
    if (c->width > 4096)
        return tn_fail(e, TN_EINPUT, "--width %d: resnet-cifar's width is the first stage's channels (16); use at most 4096", c->width);
    if (in->h < 4 || in->w < 4)
        return tn_fail(e, TN_EINPUT, "--arch resnet-cifar needs images of at least 4x4 pixels; the data has %d x %d x %d per example "
                       "(use --data mnist:DIR, fashion:DIR, cifar10:DIR or cifar100:DIR)", in->c, in->h, in->w);
    return 0;
}

int tn_plan_cifar(tn_plan *p, const tn_config *c, const tn_shape *in, tn_err *e) {
    if (check(c, in, e)) return e->code;
    builder b = {p, c, c->bn, 0, (c->depth - 2) / 6, c->width, (c->depth - 2) / 2, (float)tn_config_tau(c), -1, -1, 0};
    b.learn = !c->bn && tn_config_tau_learns(c);
    int train_in = c->train_what == TN_TRAIN_ALL, train_blocks = c->train_what != TN_TRAIN_LAST;
    int train_out = c->train_what != TN_TRAIN_HIDDEN, top = b.w0 << 2;
    char name[48];
    int wstem = weight(&b, "conv1.weight", b.w0, in->c, 3, train_in), wfirst = p->ntensors;
    for (int i = 0; i < b.blocks; i++) {
        int ic, oc, s;
        block_shape(&b, i, &ic, &oc, &s);
        snprintf(name, sizeof name, "layer%d.%d.conv1.weight", i / b.n + 1, i % b.n);
        weight(&b, name, oc, ic, 3, train_blocks);
        snprintf(name, sizeof name, "layer%d.%d.conv2.weight", i / b.n + 1, i % b.n);
        weight(&b, name, oc, oc, 3, train_blocks);
    }
    int wfc = weight(&b, "fc.weight", p->d, top, 1, train_out);
    if (b.bn) add_bn_tensors(&b);
    int sfirst = b.bn ? -1 : add_scalars(&b);
    int widest = b.w0 * in->h * in->w; /* the stem's output; later stages halve h*w, double c */
    b.zshare = slot(&b, widest), b.hshare = b.bn ? slot(&b, widest) : -1;
    tn_unit stem = conv_unit(&b, tn_conv_geom_make(in->c, in->h, in->w, b.w0, 3, 1, 1, 1), wstem, b.bn ? 0 : -1, 0, 0);
    stem.tap = 0;
    unit(&b, &stem, wstem);
    add_blocks(&b, in->h, in->w, wfirst, sfirst);
    const tn_unit *last = &p->units[p->nunits - 1];
    tn_unit pool = tn_unit_new(TN_UNIT_POOL, last->out, top);
    pool.g = tn_conv_geom_make(last->g.oc, last->g.oh, last->g.ow, last->g.oc, 1, 1, 0, 0), pool.zslot = pool.hslot = slot(&b, top);
    unit(&b, &pool, -1);
    tn_unit fc = tn_unit_new(TN_UNIT_FC, top, p->d);
    fc.w = wfc, fc.zslot = fc.hslot = slot(&b, p->d);
    unit(&b, &fc, -1);
    if (!b.bad) b.bad = tn_plan_add_map(p, &(tn_map){.tensor = wfc, .out = p->d, .in = top, .tau = 1.0f}) < 0;
    if (b.bad) return tn_fail(e, TN_ERUNTIME, "model plan: out of memory");
    p->grad_slots = 2; /* a block's residual gradient waits in the stash, not in the pool */
    p->grad_width = widest;
    p->stash_width = widest;
    p->tau_units = b.learn ? b.blocks : 0;
    for (int u = 0; u < p->nunits; u++)
        if (p->units[u].kind == TN_UNIT_CONV) {
            size_t cols = (size_t)p->units[u].rows * p->units[u].g.c * 9;
            if (cols > p->cols_per_ex) p->cols_per_ex = cols;
        }
    tn_plan_layout(p);
    return 0;
}
