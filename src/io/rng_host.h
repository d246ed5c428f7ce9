/* Tiny deterministic host PRNG: xoshiro256** seeded through splitmix64.
 * Self-contained (no libc rand), so a seed gives the same stream on every machine and compiler:
 * synthetic data, label noise and epoch shuffling are reproducible from --seed alone.
 * Not cryptographic. Derive independent streams by seeding with tn_rng_mix(seed, constant). */
#ifndef TAUNET_RNG_HOST_H
#define TAUNET_RNG_HOST_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct tn_rng {
    uint64_t s[4];   /* xoshiro256** state, never all zero */
    int has_spare;   /* Box-Muller makes normals in pairs; the second is kept here */
    double spare;
} tn_rng;

/* Any seed (including 0) is fine: splitmix64 expands it into a well-mixed state. */
void tn_rng_seed(tn_rng *r, uint64_t seed);
/* Combine a seed with a per-use constant so different uses of one --seed get unrelated streams. */
uint64_t tn_rng_mix(uint64_t seed, uint64_t salt);
uint64_t tn_rng_u64(tn_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double tn_rng_uniform(tn_rng *r);
/* Standard normal N(0, 1) (Box-Muller in double). */
double tn_rng_normal(tn_rng *r);
/* Uniform integer in [0, n), unbiased (rejection); n == 0 returns 0. */
uint64_t tn_rng_below(tn_rng *r, uint64_t n);
/* Fisher-Yates shuffle of idx[0..n) in place (e.g. an epoch's example order). */
void tn_rng_shuffle_i32(tn_rng *r, int32_t *idx, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
