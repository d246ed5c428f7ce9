/* elementwise.cu: the per-element ops of the backend table, one read-modify-write pass each.
 *   fill         x[i] = v
 *   scale        x[i] *= s
 *   set_scalars  x[i] = vals[i], i < n <= 8 (a step's learning rate and friends, passed by value so
 *                the host never waits: see sgd_dev and the backend's gemm_dev)
 *   act_fwd      h = relu(hprev + tau * u) with u = gamma * (z - mean) * invstd + beta (BN applied
 *                with given statistics) or u = z; hprev may be absent (0). The fused residual +
 *                BN-apply + ReLU of every hidden layer, exactly the cpu backend's act_fwd
 *                (tn_bn_apply, tn_act of kernels/tn_math.cuh).
 *   act_bwd      d = dh * (h > 0); du = tau * d; dhprev = d when wanted (du may alias dh); both
 *                read tau from tau_dev when it is given (a learnable tau in device memory)
 *   bn_apply     y = gamma * (z - mean) * invstd + beta (the BN shortcut: no activation)
 *   add_scalar   x[i] += *b (a scalar bias in device memory)
 *   gather_rows  dst[r, :] = src[idx[r], :] and ydst[r] = ysrc[idx[r]] (the minibatch gather)
 *   perturb      w[i] += sigma * |w[i]| * eps[i] (the sharpness diagnostic, tn_perturb)
 * Flat ops are grid-stride loops over a 1-D grid. Row-major [rows, cols] ops use blocks of
 * (32, block/32) threads: threadIdx.x runs over 32 consecutive columns (one coalesced 128-byte
 * segment per warp and row), threadIdx.y and blockIdx.y stride over rows, so a thread loads its
 * column's BN parameters once. */
#include "tn_kernels.cuh"

namespace TN_KERNEL_NS {

static __global__ void fill_kernel(float *x, size_t n, float v) {
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) x[i] = v;
}

static __global__ void scale_kernel(float *x, size_t n, float s) {
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) x[i] *= s;
}

static __global__ void set_scalars_kernel(float *x, tn_scalars8 v, int n) {
    int i = (int)threadIdx.x;
    if (i < n) x[i] = v.v[i];
}

static __global__ void perturb_kernel(size_t n, float *w, const float *eps, float sigma) {
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        w[i] = tn_perturb(w[i], eps[i], sigma);
}

static __global__ void act_fwd_kernel(int n, int m, const float *z, const float *mean, const float *invstd,
                                      const float *gamma, const float *beta, const float *hprev,
                                      float tau, const float *tau_dev, float *h) {
    int j = (int)(blockIdx.x * 32 + threadIdx.x);
    if (j >= m) return;
    if (tau_dev) tau = *tau_dev;
    float mu = 0.0f, is = 0.0f, g = 0.0f, b = 0.0f;
    if (mean) mu = mean[j], is = invstd[j], g = gamma[j], b = beta[j];
    for (int i = (int)(blockIdx.y * blockDim.y + threadIdx.y); i < n; i += (int)(gridDim.y * blockDim.y)) {
        size_t o = (size_t)i * m + j;
        float u = mean ? tn_bn_apply(z[o], mu, is, g, b) : z[o];
        h[o] = tn_act(hprev ? hprev[o] : 0.0f, tau, u);
    }
}

static __global__ void act_bwd_kernel(size_t n, const float *h, const float *dh, float tau, const float *tau_dev,
                                      float *du, float *dhprev) {
    size_t stride = (size_t)gridDim.x * blockDim.x;
    if (tau_dev) tau = *tau_dev;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        float d = tn_relu_bwd(h[i], dh[i]);
        if (dhprev) dhprev[i] = d;
        du[i] = tau * d;
    }
}

static __global__ void gather_rows_kernel(const float *src, int cols, const int32_t *idx, int nrows, float *dst,
                                          const int32_t *ysrc, int32_t *ydst) {
    int j = (int)(blockIdx.x * 32 + threadIdx.x);
    for (int r = (int)(blockIdx.y * blockDim.y + threadIdx.y); r < nrows; r += (int)(gridDim.y * blockDim.y)) {
        size_t s = (size_t)idx[r];
        if (j < cols) dst[(size_t)r * cols + j] = src[s * cols + j];
        if (ydst && j == 0) ydst[r] = ysrc[s]; /* one thread per row: blockIdx.x == 0, x == 0 */
    }
}

static __global__ void bn_apply_kernel(int n, int m, const float *z, const float *mean, const float *invstd,
                                       const float *gamma, const float *beta, float *y) {
    int j = (int)(blockIdx.x * 32 + threadIdx.x);
    if (j >= m) return;
    float mu = mean[j], is = invstd[j], g = gamma[j], b = beta[j];
    for (int i = (int)(blockIdx.y * blockDim.y + threadIdx.y); i < n; i += (int)(gridDim.y * blockDim.y)) {
        size_t o = (size_t)i * m + j;
        y[o] = tn_bn_apply(z[o], mu, is, g, b);
    }
}

static __global__ void add_scalar_kernel(size_t n, float *x, const float *b) {
    size_t stride = (size_t)gridDim.x * blockDim.x;
    float v = *b;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) x[i] += v;
}

/* A 1-D grid-stride launch over n items. */
#define FLAT_LAUNCH(c, kernel, n, ...)                                                        \
    do {                                                                                      \
        int b_ = tn_kblock(c, #kernel);                                                       \
        if (!b_) return TN_ERUNTIME;                                                          \
        if ((n) == 0) return 0;                                                               \
        TN_LAUNCH_CHECKED((c)->err, kernel, dim3(tn_kgrid(c, (n), (size_t)b_)), dim3(b_),     \
                          (c)->stream, __VA_ARGS__);                                          \
        return 0;                                                                             \
    } while (0)

int fill(const tn_kcfg *c, float *x, size_t n, float v) { FLAT_LAUNCH(c, fill_kernel, n, x, n, v); }

int scale(const tn_kcfg *c, float *x, size_t n, float s) { FLAT_LAUNCH(c, scale_kernel, n, x, n, s); }

int set_scalars(const tn_kcfg *c, float *x, const float *vals, int n) {
    tn_scalars8 v;
    if (n < 0 || n > 8) return tn_fail(c->err, TN_ERUNTIME, "set_scalars: %d values (at most 8)", n);
    if (n == 0) return 0;
    for (int i = 0; i < 8; i++) v.v[i] = i < n ? vals[i] : 0.0f;
    TN_LAUNCH_CHECKED(c->err, set_scalars_kernel, dim3(1), dim3(32), c->stream, x, v, n);
    return 0;
}

int perturb(const tn_kcfg *c, size_t n, float *w, const float *eps, float sigma) {
    FLAT_LAUNCH(c, perturb_kernel, n, n, w, eps, sigma);
}

int act_bwd(const tn_kcfg *c, size_t n, const float *h, const float *dh, float tau, const float *tau_dev, float *du,
            float *dhprev) {
    FLAT_LAUNCH(c, act_bwd_kernel, n, n, h, dh, tau, tau_dev, du, dhprev);
}

int act_fwd(const tn_kcfg *c, int n, int m, const float *z, const float *mean, const float *invstd,
            const float *gamma, const float *beta, const float *hprev, float tau, const float *tau_dev, float *h) {
    int b = tn_kblock(c, "act_fwd");
    if (!b) return TN_ERUNTIME;
    if (n <= 0 || m <= 0) return 0;
    int by = b / 32;
    dim3 grid((unsigned)((m + 31) / 32), tn_kgrid(c, (size_t)n, (size_t)by));
    TN_LAUNCH_CHECKED(c->err, act_fwd_kernel, grid, dim3(32, by), c->stream, n, m, z, mean, invstd, gamma,
                      beta, hprev, tau, tau_dev, h);
    return 0;
}

int add_scalar(const tn_kcfg *c, size_t n, float *x, const float *b) { FLAT_LAUNCH(c, add_scalar_kernel, n, n, x, b); }

int bn_apply(const tn_kcfg *c, int n, int m, const float *z, const float *mean, const float *invstd,
             const float *gamma, const float *beta, float *y) {
    int b = tn_kblock(c, "bn_apply");
    if (!b) return TN_ERUNTIME;
    if (n <= 0 || m <= 0) return 0;
    int by = b / 32;
    dim3 grid((unsigned)((m + 31) / 32), tn_kgrid(c, (size_t)n, (size_t)by));
    TN_LAUNCH_CHECKED(c->err, bn_apply_kernel, grid, dim3(32, by), c->stream, n, m, z, mean, invstd, gamma, beta, y);
    return 0;
}

int gather_rows(const tn_kcfg *c, const float *src, int cols, const int32_t *idx, int nrows, float *dst,
                const int32_t *ysrc, int32_t *ydst) {
    int b = tn_kblock(c, "gather_rows");
    if (!b) return TN_ERUNTIME;
    if (nrows <= 0 || cols <= 0) return 0;
    int by = b / 32;
    dim3 grid((unsigned)((cols + 31) / 32), tn_kgrid(c, (size_t)nrows, (size_t)by));
    TN_LAUNCH_CHECKED(c->err, gather_rows_kernel, grid, dim3(32, by), c->stream, src, cols, idx, nrows, dst,
                      ysrc, ydst);
    return 0;
}

} /* namespace TN_KERNEL_NS */
