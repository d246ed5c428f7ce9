/* Learning-rate schedules and the per-epoch order of training examples. */
#include <math.h>

#include "io/rng_host.h"
#include "tn_conv.cuh"
#include "taunet/train.h"

double tn_lr_at(const tn_config *c, long t, long total, long steps_per_epoch) {
    double lr = c->lr;
    if (c->warmup > 0 && t < c->warmup) return c->warmup_lr > 0 ? c->warmup_lr : lr * (double)(t + 1) / (double)c->warmup;
    if (c->sched == TN_SCHED_STEP) {
        long epoch = t / (steps_per_epoch > 0 ? steps_per_epoch : 1);
        for (int i = 0; i < c->n_milestones; i++)
            if (epoch >= c->milestones[i]) lr *= c->step_gamma;
    } else if (c->sched == TN_SCHED_COSINE) {
        long span = total - c->warmup;
        double frac = span > 0 ? (double)(t - c->warmup) / (double)span : 1.0;
        lr *= 0.5 * (1.0 + cos(3.14159265358979323846 * frac));
    }
    return lr;
}

void tn_epoch_order(uint64_t seed, long epoch, int n, int32_t *perm) {
    tn_rng r;
    tn_rng_seed(&r, tn_rng_mix(tn_rng_mix(seed, 0x5348554646ULL /* "SHUFF" */), (uint64_t)epoch));
    for (int i = 0; i < n; i++) perm[i] = i;
    tn_rng_shuffle_i32(&r, perm, n);
}

void tn_augment_codes(uint64_t seed, long epoch, int n, int32_t *code) {
    uint64_t base = tn_rng_mix(tn_rng_mix(seed, 0x4155474dULL /* "AUGM" */), (uint64_t)epoch);
    for (int i = 0; i < n; i++) {
        tn_rng r;
        tn_rng_seed(&r, tn_rng_mix(base, (uint64_t)i));
        int dy = (int)tn_rng_below(&r, 2 * TN_AUG_PAD + 1) - TN_AUG_PAD;
        int dx = (int)tn_rng_below(&r, 2 * TN_AUG_PAD + 1) - TN_AUG_PAD;
        code[i] = tn_augment_code(dy, dx, (int)tn_rng_below(&r, 2));
    }
}

const char *tn_status_name(tn_status s) {
    static const char *names[] = {"finished", "converged", "diverged", "halted", "interrupted", "failed"};
    return names[s];
}
