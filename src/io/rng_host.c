/* xoshiro256** (Blackman & Vigna, public domain reference algorithm) seeded by splitmix64. */
#include "io/rng_host.h"
#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void tn_rng_seed(tn_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    /* splitmix64 is a bijection on distinct counters, so four outputs are never all zero */
    r->has_spare = 0;
    r->spare = 0.0;
}

uint64_t tn_rng_mix(uint64_t seed, uint64_t salt) {
    uint64_t x = seed ^ rotl(salt, 17);
    return splitmix64(&x) ^ salt;
}

uint64_t tn_rng_u64(tn_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double tn_rng_uniform(tn_rng *r) {
    return (double)(tn_rng_u64(r) >> 11) * 0x1.0p-53; /* top 53 bits: exact in a double */
}

double tn_rng_normal(tn_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1, u2;
    do u1 = tn_rng_uniform(r); while (u1 <= 0.0); /* log(0) would be -inf */
    u2 = tn_rng_uniform(r);
    const double rad = sqrt(-2.0 * log(u1));
    const double th = 6.283185307179586476925 * u2;
    r->spare = rad * sin(th);
    r->has_spare = 1;
    return rad * cos(th);
}

uint64_t tn_rng_below(tn_rng *r, uint64_t n) {
    if (n == 0) return 0;
    /* reject the lowest (2^64 mod n) values so every residue is equally likely */
    const uint64_t threshold = (0 - n) % n;
    uint64_t x;
    do x = tn_rng_u64(r); while (x < threshold);
    return x % n;
}

void tn_rng_shuffle_i32(tn_rng *r, int32_t *idx, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        const int64_t j = (int64_t)tn_rng_below(r, (uint64_t)i + 1);
        const int32_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
