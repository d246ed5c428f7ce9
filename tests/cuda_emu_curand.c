/* The emulated cuRAND device generator of tests/cuda_emu_runtime.h draws here, with cuRAND's host
 * Philox generator: its own translation unit because it needs the real <curand.h>, which the
 * emulated backend's translation unit replaces. */
#include <curand.h>
#include <stddef.h>

int tn_emu_curand_host_normal(float *out, size_t n, float mean, float std, unsigned long long seed,
                              unsigned long long offset) {
    curandGenerator_t g;
    if (curandCreateGeneratorHost(&g, CURAND_RNG_PSEUDO_PHILOX4_32_10) != CURAND_STATUS_SUCCESS) return 1;
    int bad = curandSetPseudoRandomGeneratorSeed(g, seed) != CURAND_STATUS_SUCCESS ||
              curandSetGeneratorOffset(g, offset) != CURAND_STATUS_SUCCESS ||
              curandGenerateNormal(g, out, n, mean, std) != CURAND_STATUS_SUCCESS;
    curandDestroyGenerator(g);
    return bad;
}
