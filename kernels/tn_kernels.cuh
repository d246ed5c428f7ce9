/* The host-callable launchers of the kernels/ .cu files (one per backend op) and their shared device helpers.
 * Three levels, as in ggml (DESIGN.md §7): __global__ kernels (static to their .cu file), a
 * launcher here that picks the launch shape and checks it, and the backend entry in
 * src/backend/cuda.cu that checks sizes and owns memory. Launchers take raw pointers (device
 * memory on a GPU, host memory under the emulation) and sizes, never model structs; each returns 0
 * or TN_ERUNTIME with cfg->err set (a message naming the kernel, file and line).
 * Semantics of every op: include/taunet/backend.h. Per-element math: kernels/tn_math.cuh. */
#ifndef TAUNET_TN_KERNELS_CUH
#define TAUNET_TN_KERNELS_CUH
#include <stddef.h>
#include <stdint.h>

#include "taunet/backend.h"
#include "tn_launch.cuh"
#include "tn_conv.cuh"
#include "tn_math.cuh"

namespace TN_KERNEL_NS {

/* How to launch. Zero fields take the launcher's defaults; tests set them to cover other shapes. */
typedef struct tn_kcfg {
    cudaStream_t stream;
    tn_err *err;
    int block;    /* threads per block: a multiple of 32 in [32, 1024] (default 256) */
    int chunk;    /* rows per block of the batchnorm column reductions (default 256) */
    int grid_cap; /* most blocks along a grid-stride dimension (default 65535; tests use 1..3) */
} tn_kcfg;

/* elementwise.cu */
int fill(const tn_kcfg *c, float *x, size_t n, float v);
int scale(const tn_kcfg *c, float *x, size_t n, float s);
/* up to 8 floats by value (a kernel argument: no host buffer, no synchronisation) */
typedef struct tn_scalars8 {
    float v[8];
} tn_scalars8;
int set_scalars(const tn_kcfg *c, float *x, const float *vals, int n);
int perturb(const tn_kcfg *c, size_t n, float *w, const float *eps, float sigma);
int act_fwd(const tn_kcfg *c, int n, int m, const float *z, const float *mean, const float *invstd,
            const float *gamma, const float *beta, const float *hprev, float tau, const float *tau_dev, float *h);
int act_bwd(const tn_kcfg *c, size_t n, const float *h, const float *dh, float tau, const float *tau_dev, float *du,
            float *dhprev);
int bn_apply(const tn_kcfg *c, int n, int m, const float *z, const float *mean, const float *invstd,
             const float *gamma, const float *beta, float *y);
int add_scalar(const tn_kcfg *c, size_t n, float *x, const float *b);
int gather_rows(const tn_kcfg *c, const float *src, int cols, const int32_t *idx, int nrows, float *dst,
                const int32_t *ysrc, int32_t *ydst);

/* batchnorm.cu; ws: scratch of bn_ws_bytes(c, n, m) bytes (unused, may be NULL, when 0) */
size_t bn_ws_bytes(const tn_kcfg *c, int n, int m);
int bn_stats(const tn_kcfg *c, int n, int m, const float *z, float eps, float *mean, float *invstd,
             float *run_mean, float *run_var, float momentum, void *ws);
int bn_eval_stats(const tn_kcfg *c, int m, const float *run_mean, const float *run_var, float eps,
                  float *mean, float *invstd);
int bn_bwd(const tn_kcfg *c, int n, int m, const float *z, const float *mean, const float *invstd,
           const float *gamma, const float *du, float *dz, float *dgamma, float *dbeta, void *ws);

/* loss.cu; ws: loss_ws_bytes(n) bytes */
size_t loss_ws_bytes(int n);
int loss(const tn_kcfg *c, tn_loss_kind kind, int n, int d, const float *logits, const int32_t *labels,
         float scale, float *dlogits, float *out, void *ws);

/* sgd.cu */
int sgd(const tn_kcfg *c, size_t n, float *w, const float *g, float *v, float lr, float mu, float wd);
int sgd_dev(const tn_kcfg *c, size_t n, float *w, const float *g, float *v, const float *hyp);

/* reduce.cu; ws: reduce_ws_bytes(c, n) bytes (may be 0) */
size_t reduce_ws_bytes(const tn_kcfg *c, size_t n);
int sumsq(const tn_kcfg *c, size_t n, const float *x, float *out, void *ws);
int dot(const tn_kcfg *c, size_t n, const float *x, const float *y, float *out, void *ws);
int diffsq(const tn_kcfg *c, size_t n, const float *x, const float *y, float *out, void *ws);
int sum(const tn_kcfg *c, size_t n, const float *x, float *out, void *ws);
int row_norms(const tn_kcfg *c, int n, int m, const float *x, float *out);

/* conv.cu: the convolution ops (index math in tn_conv.cuh) */
int im2col(const tn_kcfg *c, const tn_conv_geom *g, int n, const float *x, const float *add, float *cols);
int col2im(const tn_kcfg *c, const tn_conv_geom *g, int n, const float *dcols, float beta, float *dx);
int shortcut_fwd(const tn_kcfg *c, const tn_conv_geom *g, int n, const float *x, float *y);
int shortcut_bwd(const tn_kcfg *c, const tn_conv_geom *g, int n, const float *dy, float beta, float *dx);
int avgpool_fwd(const tn_kcfg *c, int n, int hw, int ch, const float *x, float *y);
int avgpool_bwd(const tn_kcfg *c, int n, int hw, int ch, const float *dy, float *dx);
int gather_augment(const tn_kcfg *c, const float *src, int ch, int h, int w, const int32_t *idx, const int32_t *code,
                   int nrows, float *dst, const int32_t *ysrc, int32_t *ydst);

/* ---- helpers shared by the launchers (host) ------------------------------------------------- */
#define TN_KDEFAULT_BLOCK 256
#define TN_KDEFAULT_CHUNK 256
#define TN_KDEFAULT_GRID_CAP 65535

/* Threads per block from the config, or 0 after recording why it cannot be used. */
static inline int tn_kblock(const tn_kcfg *c, const char *who) {
    int b = c->block > 0 ? c->block : TN_KDEFAULT_BLOCK;
    if (b % 32 != 0 || b > 1024) {
        tn_fail(c->err, TN_ERUNTIME, "%s: block of %d threads is not a multiple of 32 in [32, 1024]", who, b);
        return 0;
    }
    return b;
}
/* Blocks for `work` items at `per_block` items per block, at least 1, at most the cap. */
static inline unsigned tn_kgrid(const tn_kcfg *c, size_t work, size_t per_block) {
    size_t cap = c->grid_cap > 0 ? (size_t)c->grid_cap : TN_KDEFAULT_GRID_CAP;
    size_t g = (work + per_block - 1) / per_block;
    return (unsigned)(g < 1 ? 1 : g > cap ? cap : g);
}
static inline int tn_kchunk(const tn_kcfg *c) { return c->chunk > 0 ? c->chunk : TN_KDEFAULT_CHUNK; }

/* ---- device helpers: deterministic sums (fixed order for a given launch shape) --------------- */
/* Sum over the 32 lanes of a warp; every lane gets the same bits (a + b == b + a exactly). */
__device__ static inline double tn_warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
/* Sum over a 1-D block (blockDim.x a multiple of 32); sh: __shared__ double[32] of the caller.
 * The result is valid in every thread. All threads of the block must call it. */
__device__ static inline double tn_block_sum(double v, double *sh) {
    int t = (int)threadIdx.x, lane = t & 31, w = t >> 5, nw = (int)(blockDim.x >> 5);
    v = tn_warp_sum(v);
    if (lane == 0) sh[w] = v;
    __syncthreads();
    if (w == 0) {
        double s = lane < nw ? sh[lane] : 0.0;
        s = tn_warp_sum(s);
        if (lane == 0) sh[0] = s;
    }
    __syncthreads();
    v = sh[0];
    __syncthreads(); /* sh may be reused right after */
    return v;
}

} /* namespace TN_KERNEL_NS */
#endif
