/* batchnorm.cu: BatchNorm1d over the rows of z[n, m] (PyTorch semantics, DESIGN.md §1).
 *   bn_stats       per column j: mean_j, invstd_j = 1/sqrt(var_j + eps) with the biased batch
 *                  variance; when run_mean != NULL also the running update with momentum and the
 *                  unbiased variance (tn_ema). Two-pass: the mean first, then the sum of squared
 *                  deviations from it, both accumulated in double like the cpu backend.
 *   bn_eval_stats  mean = run_mean, invstd = 1/sqrt(run_var + eps)
 *   bn_bwd         column sums sum_dy = sum_i du, sum_dy_xhat = sum_i du * xhat (dbeta and dgamma),
 *                  then per element dz = tn_bn_bwd(du, xhat, gamma, invstd, n, sums)
 * Layout: blocks of (32, BY) threads; blockIdx.x takes 32 consecutive columns (coalesced reads),
 * blockIdx.y a chunk of `chunk` rows that the BY thread rows stride through. Partial sums of the BY
 * thread rows are combined by one thread per column in thread-row order (fixed order: results
 * depend on the launch shape only, never on timing; no atomics).
 * With one chunk (n <= chunk, the common minibatch case) everything happens in one launch. With G > 1
 * chunks each block writes its chunk's (mean, M2) or sums to the workspace and a second kernel
 * combines the chunks in chunk order: for the variance with the exact pairwise formula
 * M2 = M2_a + M2_b + delta^2 n_a n_b / (n_a + n_b) (Chan et al.), so each chunk still uses the
 * two-pass mean/variance; bn_bwd then runs a third, per-element kernel. */
#include "tn_kernels.cuh"

namespace TN_KERNEL_NS {

/* The column statistics from the count, the mean and the sum of squared deviations (double). */
__device__ static void bn_finish(int j, int n, double mu, double m2, float eps, float *mean, float *invstd,
                                 float *run_mean, float *run_var, float momentum) {
    double var = m2 / n;
    mean[j] = (float)mu;
    invstd[j] = (float)(1.0 / sqrt(var + (double)eps));
    if (run_mean) {
        float unbiased = n > 1 ? (float)(m2 / (n - 1)) : (float)var;
        run_mean[j] = tn_ema(run_mean[j], (float)mu, momentum);
        run_var[j] = tn_ema(run_var[j], unbiased, momentum);
    }
}

/* Sum of v over the thread rows of a (32, BY) block, in row order; every thread gets its
 * column's total. sh: __shared__ double[32][32] of the caller, col: __shared__ double[32]. */
__device__ static double col_sum(double v, double (*sh)[32], double *col) {
    int tx = (int)threadIdx.x, ty = (int)threadIdx.y;
    sh[ty][tx] = v;
    __syncthreads();
    if (ty == 0) {
        double s = 0.0;
        for (int k = 0; k < (int)blockDim.y; k++) s += sh[k][tx];
        col[tx] = s;
    }
    __syncthreads();
    return col[tx];
}

/* Statistics of each chunk; with a single chunk, the final statistics. ws: [G][m][2] doubles. */
static __global__ void bn_stats_kernel(int n, int m, int chunk, const float *z, float eps, float *mean,
                                       float *invstd, float *run_mean, float *run_var, float momentum,
                                       double *ws) {
    __shared__ double sh[32][32];
    __shared__ double col[32];
    int j = (int)(blockIdx.x * 32 + threadIdx.x), by = (int)blockDim.y;
    int r0 = (int)blockIdx.y * chunk, r1 = n - r0 < chunk ? n : r0 + chunk, cnt = r1 - r0;
    int live = j < m;
    double s = 0.0, q = 0.0;
    if (live)
        for (int i = r0 + (int)threadIdx.y; i < r1; i += by) s += z[(size_t)i * m + j];
    double mu = col_sum(s, sh, col) / cnt;
    if (live)
        for (int i = r0 + (int)threadIdx.y; i < r1; i += by) {
            double d = (double)z[(size_t)i * m + j] - mu;
            q += d * d;
        }
    double m2 = col_sum(q, sh, col);
    if (!live || threadIdx.y != 0) return;
    if (gridDim.y == 1) {
        bn_finish(j, n, mu, m2, eps, mean, invstd, run_mean, run_var, momentum);
    } else {
        size_t o = ((size_t)blockIdx.y * m + j) * 2;
        ws[o] = mu;
        ws[o + 1] = m2;
    }
}

/* Combines the G chunk statistics of each column in chunk order. */
static __global__ void bn_stats_merge_kernel(int n, int m, int chunk, int G, const double *ws, float eps,
                                             float *mean, float *invstd, float *run_mean, float *run_var,
                                             float momentum) {
    int j = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (j >= m) return;
    double cnt = 0.0, mu = 0.0, m2 = 0.0;
    for (int g = 0; g < G; g++) {
        double nb = (double)(n - g * chunk < chunk ? n - g * chunk : chunk);
        double mb = ws[((size_t)g * m + j) * 2], m2b = ws[((size_t)g * m + j) * 2 + 1];
        double tot = cnt + nb, delta = mb - mu;
        mu += delta * (nb / tot);
        m2 += m2b + delta * delta * (cnt * nb / tot);
        cnt = tot;
    }
    bn_finish(j, n, mu, m2, eps, mean, invstd, run_mean, run_var, momentum);
}

static __global__ void bn_eval_stats_kernel(int m, const float *run_mean, const float *run_var, float eps,
                                            float *mean, float *invstd) {
    int j = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (j >= m) return;
    mean[j] = run_mean[j];
    invstd[j] = 1.0f / sqrtf(run_var[j] + eps);
}

/* Column sums of du and du * xhat over a chunk; with a single chunk also dgamma, dbeta and dz.
 * ws: [G][m][2] doubles. */
static __global__ void bn_bwd_kernel(int n, int m, int chunk, const float *z, const float *mean,
                                     const float *invstd, const float *gamma, const float *du, float *dz,
                                     float *dgamma, float *dbeta, double *ws) {
    __shared__ double sh[32][32];
    __shared__ double col[32];
    int j = (int)(blockIdx.x * 32 + threadIdx.x), by = (int)blockDim.y;
    int r0 = (int)blockIdx.y * chunk, r1 = n - r0 < chunk ? n : r0 + chunk;
    int live = j < m;
    float mu = live ? mean[j] : 0.0f, is = live ? invstd[j] : 0.0f;
    double sdy = 0.0, sdyx = 0.0;
    if (live)
        for (int i = r0 + (int)threadIdx.y; i < r1; i += by) {
            size_t o = (size_t)i * m + j;
            float xhat = (z[o] - mu) * is;
            sdy += du[o];
            sdyx += (double)du[o] * xhat;
        }
    sdy = col_sum(sdy, sh, col);
    sdyx = col_sum(sdyx, sh, col);
    if (!live) return;
    if (gridDim.y > 1) {
        if (threadIdx.y == 0) {
            size_t o = ((size_t)blockIdx.y * m + j) * 2;
            ws[o] = sdy;
            ws[o + 1] = sdyx;
        }
        return;
    }
    if (threadIdx.y == 0) {
        if (dgamma) dgamma[j] = (float)sdyx;
        if (dbeta) dbeta[j] = (float)sdy;
    }
    float g = gamma[j], fs = (float)sdy, fsx = (float)sdyx;
    for (int i = r0 + (int)threadIdx.y; i < r1; i += by) {
        size_t o = (size_t)i * m + j;
        float xhat = (z[o] - mu) * is;
        dz[o] = tn_bn_bwd(du[o], xhat, g, is, (float)n, fs, fsx);
    }
}

/* Sums the G chunk sums of each column in chunk order into sums[0][m] (dy) and sums[1][m] (dy xhat). */
static __global__ void bn_bwd_merge_kernel(int m, int G, const double *ws, float *sums, float *dgamma,
                                           float *dbeta) {
    int j = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (j >= m) return;
    double sdy = 0.0, sdyx = 0.0;
    for (int g = 0; g < G; g++) {
        sdy += ws[((size_t)g * m + j) * 2];
        sdyx += ws[((size_t)g * m + j) * 2 + 1];
    }
    sums[j] = (float)sdy;
    sums[m + j] = (float)sdyx;
    if (dgamma) dgamma[j] = (float)sdyx;
    if (dbeta) dbeta[j] = (float)sdy;
}

/* dz per element from the merged column sums; the (32, BY) row-major layout of elementwise.cu. */
static __global__ void bn_bwd_elem_kernel(int n, int m, const float *z, const float *mean, const float *invstd,
                                          const float *gamma, const float *du, const float *sums, float *dz) {
    int j = (int)(blockIdx.x * 32 + threadIdx.x);
    if (j >= m) return;
    float mu = mean[j], is = invstd[j], g = gamma[j], fs = sums[j], fsx = sums[m + j];
    for (int i = (int)(blockIdx.y * blockDim.y + threadIdx.y); i < n; i += (int)(gridDim.y * blockDim.y)) {
        size_t o = (size_t)i * m + j;
        float xhat = (z[o] - mu) * is;
        dz[o] = tn_bn_bwd(du[o], xhat, g, is, (float)n, fs, fsx);
    }
}

static int chunks(int n, int chunk) { return (n + chunk - 1) / chunk; }

size_t bn_ws_bytes(const tn_kcfg *c, int n, int m) {
    int G = chunks(n, tn_kchunk(c));
    if (G <= 1) return 0;
    /* stats: [G][m][2] doubles; bwd: the same plus 2m merged floats */
    return (size_t)G * m * 2 * sizeof(double) + 2 * (size_t)m * sizeof(float);
}

int bn_stats(const tn_kcfg *c, int n, int m, const float *z, float eps, float *mean, float *invstd,
             float *run_mean, float *run_var, float momentum, void *ws) {
    int b = tn_kblock(c, "bn_stats"), chunk = tn_kchunk(c);
    if (!b) return TN_ERUNTIME;
    if (n <= 0 || m <= 0) return 0;
    int G = chunks(n, chunk);
    if (G > 65535) return tn_fail(c->err, TN_ERUNTIME, "bn_stats: %d rows need %d chunks of %d (> 65535)", n, G, chunk);
    if (G > 1 && !ws) return tn_fail(c->err, TN_ERUNTIME, "bn_stats: no workspace for %d chunks", G);
    dim3 grid((unsigned)((m + 31) / 32), (unsigned)G);
    TN_LAUNCH_CHECKED(c->err, bn_stats_kernel, grid, dim3(32, b / 32), c->stream, n, m, chunk, z, eps, mean,
                      invstd, run_mean, run_var, momentum, (double *)ws);
    if (G > 1)
        TN_LAUNCH_CHECKED(c->err, bn_stats_merge_kernel, dim3((unsigned)((m + b - 1) / b)), dim3(b), c->stream,
                          n, m, chunk, G, (const double *)ws, eps, mean, invstd, run_mean, run_var, momentum);
    return 0;
}

int bn_eval_stats(const tn_kcfg *c, int m, const float *run_mean, const float *run_var, float eps, float *mean,
                  float *invstd) {
    int b = tn_kblock(c, "bn_eval_stats");
    if (!b) return TN_ERUNTIME;
    if (m <= 0) return 0;
    TN_LAUNCH_CHECKED(c->err, bn_eval_stats_kernel, dim3((unsigned)((m + b - 1) / b)), dim3(b), c->stream, m,
                      run_mean, run_var, eps, mean, invstd);
    return 0;
}

int bn_bwd(const tn_kcfg *c, int n, int m, const float *z, const float *mean, const float *invstd,
           const float *gamma, const float *du, float *dz, float *dgamma, float *dbeta, void *ws) {
    int b = tn_kblock(c, "bn_bwd"), chunk = tn_kchunk(c);
    if (!b) return TN_ERUNTIME;
    if (n <= 0 || m <= 0) return 0;
    int G = chunks(n, chunk);
    if (G > 65535) return tn_fail(c->err, TN_ERUNTIME, "bn_bwd: %d rows need %d chunks of %d (> 65535)", n, G, chunk);
    if (G > 1 && !ws) return tn_fail(c->err, TN_ERUNTIME, "bn_bwd: no workspace for %d chunks", G);
    double *part = (double *)ws;
    float *sums = G > 1 ? (float *)(part + (size_t)G * m * 2) : NULL;
    dim3 grid((unsigned)((m + 31) / 32), (unsigned)G), block(32, b / 32);
    TN_LAUNCH_CHECKED(c->err, bn_bwd_kernel, grid, block, c->stream, n, m, chunk, z, mean, invstd, gamma, du, dz,
                      dgamma, dbeta, part);
    if (G == 1) return 0;
    TN_LAUNCH_CHECKED(c->err, bn_bwd_merge_kernel, dim3((unsigned)((m + b - 1) / b)), dim3(b), c->stream, m, G,
                      (const double *)part, sums, dgamma, dbeta);
    dim3 egrid((unsigned)((m + 31) / 32), tn_kgrid(c, (size_t)n, (size_t)(b / 32)));
    TN_LAUNCH_CHECKED(c->err, bn_bwd_elem_kernel, egrid, block, c->stream, n, m, z, mean, invstd, gamma, du,
                      (const float *)sums, dz);
    return 0;
}

} /* namespace TN_KERNEL_NS */
