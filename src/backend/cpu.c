#define _POSIX_C_SOURCE 200809L
/* The CPU backend: OpenBLAS sgemm for GEMMs, OpenMP loops over the shared per-element math of
 * kernels/tn_math.cuh for everything else, cuRAND's host generator for initialization.
 * It is the reference the CUDA backend is tested against, and a real engine for small runs.
 * Reductions use fixed chunks summed in order in double, so results do not depend on the
 * number of threads. */
#include <cblas.h>
#include <curand.h>
#include <math.h>
#include <stdio.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu_ops.h"
#include "taunet/backend.h"
#include "tn_math.cuh"

typedef struct {
    int threads;
    double *scratch; /* BN partial sums, grown on demand: no allocation inside a step */
    size_t scratch_n;
    float *kpart;    /* the K-split GEMM's partial products, grown on demand */
    size_t kpart_n;
    /* One cuRAND host generator for the backend's life. Positioning it (seed, offset) costs about
     * 6 ms whatever the count, continuing where the last draw ended under 1 ms, so a draw that
     * starts where the previous one of the same seed stopped (the tensors of a model, drawn in
     * order) continues without repositioning. Philox is counter-based: the values are the same. */
    curandGenerator_t gen;
    int gen_ok, gen_placed;
    uint64_t gen_seed, gen_pos;
} cpu_ctx;

static double *cpu_scratch(tn_backend *be, size_t n) {
    cpu_ctx *c = be->ctx;
    if (n > c->scratch_n) {
        double *p = realloc(c->scratch, n * sizeof(double));
        if (!p) return NULL;
        c->scratch = p, c->scratch_n = n;
    }
    return c->scratch;
}

/* OpenBLAS exports this; declared here because cblas.h of other BLAS builds lacks it. */
void openblas_set_num_threads(int num_threads);

#define PAR_MIN TN_CPU_PAR_MIN
#define CHUNK 4096    /* reduction chunk: partial sums per chunk, combined in order */

static void *cpu_alloc(tn_backend *be, size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) {
        tn_fail(be->err, TN_ERUNTIME, "cpu backend: out of host memory allocating %.3f GiB",
                bytes / 1073741824.0);
        return NULL;
    }
    return p;
}
static void cpu_free(tn_backend *be, void *p) { free(p); }
static int cpu_memcpy(tn_backend *be, void *dst, const void *src, size_t bytes) {
    if (bytes) memmove(dst, src, bytes);
    return 0;
}
static int cpu_sync(tn_backend *be) { return 0; }

static int cpu_fill(tn_backend *be, float *x, size_t n, float v) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) x[i] = v;
    return 0;
}
static int cpu_scale(tn_backend *be, float *x, size_t n, float s) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) x[i] *= s;
    return 0;
}

/* GEMMs are cut into a fixed grid of tiles of C, each computed by one single-threaded OpenBLAS
 * call; the OpenMP team takes the tiles. The grid depends on (M, N, K) only, never on the thread
 * count, so every element of C comes from the same kernel call whatever --threads is: results
 * are bit-identical for any thread count. (OpenBLAS's own threading splits C by the thread
 * count, and the split then changes which micro-kernel, main or tail, computes an element.)
 * OpenBLAS's OpenMP build runs single-threaded inside an active parallel region, which is why
 * even a one-tile GEMM is issued from inside one when threads > 1.
 * The grid, chosen by measurement on 2 cores (bench/README.md): each tile repacks its rows of
 * op(A) and columns of op(B), so fewer, larger tiles are faster, down to about 2 MFLOP a tile (a
 * 128x128x128 layer of a deep net becomes 2 tiles of 64x128, faster than OpenBLAS's fork-join
 * per call). The longer side is halved (in multiples of 16, never below 64) while a tile keeps
 * >= 2 MFLOP, up to 8 tiles: one GEMM spreads over at most 8 threads (16 tiles cost 10% on
 * 2 cores at width 4096). */
#define TILE_MIN_FLOPS (2.0 * (1 << 20))
#define TILE_MIN_SIDE 64
#define TILE_ALIGN 16
#define TILES_MAX 8

typedef struct { int mb, nb, mt, nt; } gemm_grid; /* tile rows/cols, tile counts along M and N */

static int ceil_div(int a, int b) { return (a + b - 1) / b; }
static int half_aligned(int x) { return ceil_div(ceil_div(x, 2), TILE_ALIGN) * TILE_ALIGN; }

static gemm_grid gemm_grid_for(int M, int N, int K) {
    gemm_grid g = {M, N, 1, 1};
    while (g.mt * g.nt * 2 <= TILES_MAX) {
        int split_m = g.mb >= g.nb, *side = split_m ? &g.mb : &g.nb, half = half_aligned(*side);
        double tile = 2.0 * K * (split_m ? (double)half * g.nb : (double)g.mb * half);
        if (*side < 2 * TILE_MIN_SIDE || tile < TILE_MIN_FLOPS) break;
        *side = half;
        g.mt = ceil_div(M, g.mb), g.nt = ceil_div(N, g.nb);
    }
    return g;
}

static void gemm_tile(const gemm_grid *g, int t, int ta, int tb, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    int i0 = (t / g->nt) * g->mb, j0 = (t % g->nt) * g->nb;
    int mi = M - i0 < g->mb ? M - i0 : g->mb, nj = N - j0 < g->nb ? N - j0 : g->nb;
    /* rows i0.. of op(A): A + i0*lda, or columns i0.. of A when transposed; columns j0.. of
     * op(B): B + j0, or rows j0.. of B when transposed */
    const float *Ap = ta ? A + i0 : A + (size_t)i0 * lda;
    const float *Bp = tb ? B + (size_t)j0 * ldb : B + j0;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, mi, nj, K,
                alpha, Ap, lda, Bp, ldb, beta, C + (size_t)i0 * ldc + j0, ldc);
}

/* A GEMM whose C is one tile but whose K is long (a conv's weight gradient: C [oc, c*9], K = the
 * batch's pixels) would run on one thread: K is cut instead into a fixed number of chunks (from
 * the shape alone, like the grid), one single-threaded call each into its own partial product,
 * and C = alpha * (the partials summed in chunk order) + beta * C. */
#define KSPLIT_MIN_K 4096
#define KSPLIT_MAX 8
static int ksplit_chunks(int M, int N, int K) {
    if (K < KSPLIT_MIN_K) return 1;
    double per = 2.0 * M * N * (K / KSPLIT_MAX);
    int s = per >= TILE_MIN_FLOPS ? KSPLIT_MAX : (int)(2.0 * M * N * K / TILE_MIN_FLOPS);
    return s < 2 ? 1 : s;
}

static int gemm_ksplit(cpu_ctx *c, int S, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc) {
    size_t mn = (size_t)M * N;
    if (S * mn > c->kpart_n) {
        float *p = realloc(c->kpart, S * mn * sizeof(float));
        if (!p) return -1;
        c->kpart = p, c->kpart_n = S * mn;
    }
    int kc = ceil_div(ceil_div(K, S), TILE_ALIGN) * TILE_ALIGN, T = c->threads;
    S = ceil_div(K, kc);
    float *part = c->kpart;
#pragma omp parallel for schedule(dynamic, 1) num_threads(T) if (T > 1)
    for (int s = 0; s < S; s++) {
        int k0 = s * kc, kn = K - k0 < kc ? K - k0 : kc;
        const float *Ap = ta ? A + (size_t)k0 * lda : A + k0; /* columns k0.. of op(A) */
        const float *Bp = tb ? B + k0 : B + (size_t)k0 * ldb; /* rows k0.. of op(B) */
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, kn, 1.0f, Ap,
                    lda, Bp, ldb, 0.0f, part + (size_t)s * mn, N);
    }
#pragma omp parallel for schedule(static) num_threads(T) if (T > 1 && mn > PAR_MIN)
    for (size_t i = 0; i < mn; i++) {
        float v = part[i];
        for (int s = 1; s < S; s++) v += part[(size_t)s * mn + i];
        float *o = C + (i / N) * (size_t)ldc + i % N;
        *o = beta == 0.0f ? alpha * v : alpha * v + beta * *o;
    }
    return 0;
}

static int cpu_gemm(tn_backend *be, int ta, int tb, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    cpu_ctx *c = be->ctx;
    if (M <= 0 || N <= 0) return 0;
    gemm_grid g = gemm_grid_for(M, N, K);
    int nt = g.mt * g.nt, T = c->threads, S = nt == 1 ? ksplit_chunks(M, N, K) : 1;
    /* one thread: OpenBLAS, called outside a parallel region, threads by OpenMP's current count,
     * which another backend in this process may have changed */
    if (T == 1 && omp_get_max_threads() != 1) omp_set_num_threads(1);
    if (S > 1 && !gemm_ksplit(c, S, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)) return 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(T) if (T > 1)
    for (int t = 0; t < nt; t++) gemm_tile(&g, t, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return 0;
}

static int cpu_init_normal(tn_backend *be, float *x, size_t n, float std, uint64_t seed,
                           uint64_t offset) {
    cpu_ctx *c = be->ctx;
    /* cuRAND's normal generator wants an even count: draw into a padded scratch when odd. */
    size_t ne = n + (n & 1);
    float *buf = (ne == n) ? x : malloc(ne * sizeof(float));
    int st = 0;
    if (!buf) return tn_fail(be->err, TN_ERUNTIME, "cpu backend: out of memory in init");
    if (!c->gen_ok && curandCreateGeneratorHost(&c->gen, CURAND_RNG_PSEUDO_PHILOX4_32_10) == CURAND_STATUS_SUCCESS)
        c->gen_ok = 1;
    if (!c->gen_ok) {
        st = tn_fail(be->err, TN_ERUNTIME, "curandCreateGeneratorHost failed (%s:%d)", __FILE__, __LINE__);
    } else {
        int place = !c->gen_placed || seed != c->gen_seed || offset != c->gen_pos;
        c->gen_placed = 0; /* until this draw succeeds */
        if ((place && (curandSetPseudoRandomGeneratorSeed(c->gen, seed) != CURAND_STATUS_SUCCESS ||
                       curandSetGeneratorOffset(c->gen, offset) != CURAND_STATUS_SUCCESS)) ||
            curandGenerateNormal(c->gen, buf, ne, 0.0f, std) != CURAND_STATUS_SUCCESS)
            st = tn_fail(be->err, TN_ERUNTIME, "curandGenerateNormal failed (%s:%d)", __FILE__, __LINE__);
        else
            c->gen_placed = 1, c->gen_seed = seed, c->gen_pos = offset + ne;
    }
    if (buf != x) {
        if (!st) memcpy(x, buf, n * sizeof(float));
        free(buf);
    }
    return st;
}

static int cpu_gather_rows(tn_backend *be, const float *src, int cols, const int32_t *idx, int nrows,
                           float *dst, const int32_t *ysrc, int32_t *ydst) {
#pragma omp parallel for schedule(static) if ((size_t)nrows * cols > PAR_MIN)
    for (int r = 0; r < nrows; r++)
        memcpy(dst + (size_t)r * cols, src + (size_t)idx[r] * cols, (size_t)cols * sizeof(float));
    if (ydst)
        for (int r = 0; r < nrows; r++) ydst[r] = ysrc[idx[r]];
    return 0;
}

/* Column statistics of a row-major [n, m] matrix, read row by row (contiguous, vectorizable)
 * into double accumulators per column. Rows are taken in fixed blocks whose partial sums are
 * combined in block order, so the result does not depend on the thread count. The variance is
 * accumulated around a per-column shift (the first row), which keeps the one-pass formula
 * accurate when |mean| >> std. */
#define BN_ROWS 64

static int cpu_bn_stats(tn_backend *be, int n, int m, const float *z, float eps, float *mean,
                        float *invstd, float *run_mean, float *run_var, float momentum) {
    int nblk = (n + BN_ROWS - 1) / BN_ROWS;
    double *part = cpu_scratch(be, (size_t)nblk * 2 * m);
    if (!part) return tn_fail(be->err, TN_ERUNTIME, "cpu backend: out of memory in bn_stats");
#pragma omp parallel for schedule(static) if ((size_t)n * m > PAR_MIN)
    for (int b = 0; b < nblk; b++) {
        double *s = part + (size_t)b * 2 * m, *ss = s + m;
        for (int j = 0; j < m; j++) s[j] = 0.0, ss[j] = 0.0;
        int hi = (b + 1) * BN_ROWS < n ? (b + 1) * BN_ROWS : n;
        for (int i = b * BN_ROWS; i < hi; i++) {
            const float *zi = z + (size_t)i * m;
            for (int j = 0; j < m; j++) {
                double c = (double)zi[j] - (double)z[j];
                s[j] += c;
                ss[j] += c * c;
            }
        }
    }
    for (int j = 0; j < m; j++) {
        double s = 0.0, ss = 0.0;
        for (int b = 0; b < nblk; b++) s += part[(size_t)b * 2 * m + j], ss += part[(size_t)b * 2 * m + m + j];
        double dm = s / n, var = ss / n - dm * dm;
        if (var < 0.0) var = 0.0;
        double mu = (double)z[j] + dm;
        mean[j] = (float)mu;
        invstd[j] = (float)(1.0 / sqrt(var + eps));
        if (run_mean) {
            float unbiased = n > 1 ? (float)(var * n / (n - 1)) : (float)var;
            run_mean[j] = tn_ema(run_mean[j], (float)mu, momentum);
            run_var[j] = tn_ema(run_var[j], unbiased, momentum);
        }
    }
    return 0;
}

static int cpu_bn_eval_stats(tn_backend *be, int m, const float *run_mean, const float *run_var,
                             float eps, float *mean, float *invstd) {
    for (int j = 0; j < m; j++) {
        mean[j] = run_mean[j];
        invstd[j] = 1.0f / sqrtf(run_var[j] + eps);
    }
    return 0;
}

static int cpu_act_fwd(tn_backend *be, int n, int m, const float *z, const float *mean,
                       const float *invstd, const float *gamma, const float *beta,
                       const float *hprev, float tau, const float *tau_dev, float *h) {
    if (tau_dev) tau = *tau_dev;
#pragma omp parallel for schedule(static) if ((size_t)n * m > PAR_MIN)
    for (int i = 0; i < n; i++) {
        size_t o = (size_t)i * m;
        for (int j = 0; j < m; j++) {
            float u = mean ? tn_bn_apply(z[o + j], mean[j], invstd[j], gamma[j], beta[j]) : z[o + j];
            h[o + j] = tn_act(hprev ? hprev[o + j] : 0.0f, tau, u);
        }
    }
    return 0;
}

static int cpu_act_bwd(tn_backend *be, size_t n, const float *h, const float *dh, float tau,
                       const float *tau_dev, float *du, float *dhprev) {
    if (tau_dev) tau = *tau_dev;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float d = tn_relu_bwd(h[i], dh[i]);
        if (dhprev) dhprev[i] = d;
        du[i] = tau * d;
    }
    return 0;
}

/* BN backward's column sums: block partials (du, du * xhat) combined in block order. */
static void merge_bn_sums(const double *part, int nblk, int m, float *sdy, float *sdyx, float *dgamma,
                          float *dbeta) {
    for (int j = 0; j < m; j++) {
        double s = 0.0, sx = 0.0;
        for (int b = 0; b < nblk; b++) s += part[(size_t)b * 2 * m + j], sx += part[(size_t)b * 2 * m + m + j];
        sdy[j] = (float)s, sdyx[j] = (float)sx;
        if (dgamma) dgamma[j] = (float)sx;
        if (dbeta) dbeta[j] = (float)s;
    }
}

/* BN backward, optionally fused with the activation backward before it. With h == NULL, dh is du
 * itself (plain bn_bwd); otherwise du = tau * dh * (h > 0) and dhprev = dh * (h > 0) are computed
 * on the fly, so du is never stored. Column sums of du and du * xhat are taken row by row in fixed
 * blocks (as bn_stats), then one elementwise pass. dz may alias dh. */
static int cpu_act_bn_bwd(tn_backend *be, int n, int m, const float *h, const float *dh, float tau,
                          float *dhprev, const float *z, const float *mean, const float *invstd,
                          const float *gamma, float *dz, float *dgamma, float *dbeta) {
    int nblk = (n + BN_ROWS - 1) / BN_ROWS;
    double *part = cpu_scratch(be, (size_t)nblk * 2 * m + (size_t)m);
    if (!part) return tn_fail(be->err, TN_ERUNTIME, "cpu backend: out of memory in act_bn_bwd");
    float *sdy = (float *)(part + (size_t)nblk * 2 * m), *sdyx = sdy + m;
#pragma omp parallel for schedule(static) if ((size_t)n * m > PAR_MIN)
    for (int b = 0; b < nblk; b++) {
        double *s = part + (size_t)b * 2 * m, *sx = s + m;
        for (int j = 0; j < m; j++) s[j] = 0.0, sx[j] = 0.0;
        int hi = (b + 1) * BN_ROWS < n ? (b + 1) * BN_ROWS : n;
        for (int i = b * BN_ROWS; i < hi; i++) {
            size_t o = (size_t)i * m;
            for (int j = 0; j < m; j++) {
                float du = dh[o + j];
                if (h) {
                    float d = tn_relu_bwd(h[o + j], dh[o + j]);
                    if (dhprev) dhprev[o + j] = d;
                    du = tau * d;
                }
                float xhat = (z[o + j] - mean[j]) * invstd[j];
                s[j] += du;
                sx[j] += (double)du * xhat;
            }
        }
    }
    merge_bn_sums(part, nblk, m, sdy, sdyx, dgamma, dbeta);
#pragma omp parallel for schedule(static) if ((size_t)n * m > PAR_MIN)
    for (int i = 0; i < n; i++) {
        size_t o = (size_t)i * m;
        for (int j = 0; j < m; j++) {
            float du = h ? tau * tn_relu_bwd(h[o + j], dh[o + j]) : dh[o + j];
            float xhat = (z[o + j] - mean[j]) * invstd[j];
            dz[o + j] = tn_bn_bwd(du, xhat, gamma[j], invstd[j], (float)n, sdy[j], sdyx[j]);
        }
    }
    return 0;
}

static int cpu_bn_bwd(tn_backend *be, int n, int m, const float *z, const float *mean,
                      const float *invstd, const float *gamma, const float *du, float *dz,
                      float *dgamma, float *dbeta) {
    return cpu_act_bn_bwd(be, n, m, NULL, du, 1.0f, NULL, z, mean, invstd, gamma, dz, dgamma, dbeta);
}

static int cpu_loss(tn_backend *be, tn_loss_kind kind, int n, int d, const float *logits,
                    const int32_t *labels, float scale, float *dlogits, float *out) {
    double sl = 0.0, sc = 0.0;
    for (int i = 0; i < n; i++) {
        float c;
        const float *f = logits + (size_t)i * d;
        float *g = dlogits ? dlogits + (size_t)i * d : NULL;
        float l = kind == TN_LOSS_MSE ? tn_mse_row(f, d, labels[i], scale, g, &c)
                                      : tn_xent_row(f, d, labels[i], scale, g, &c);
        sl += l;
        sc += c;
    }
    out[0] = (float)sl;
    out[1] = (float)sc;
    return 0;
}

static int cpu_sgd(tn_backend *be, size_t n, float *w, const float *g, float *v, float lr, float mu,
                   float wd) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float dummy = 0.0f;
        w[i] = tn_sgd(w[i], g[i], v ? &v[i] : &dummy, lr, mu, wd);
    }
    return 0;
}

/* Scalars in backend memory: host memory here, so they are read at the call. */
static int cpu_set_scalars(tn_backend *be, float *dst, const float *vals, int n) {
    (void)be;
    memcpy(dst, vals, (size_t)n * sizeof(float));
    return 0;
}
static int cpu_gemm_dev(tn_backend *be, int ta, int tb, int M, int N, int K, const float *alpha, const float *A,
                        int lda, const float *B, int ldb, const float *beta, float *C, int ldc) {
    return cpu_gemm(be, ta, tb, M, N, K, *alpha, A, lda, B, ldb, *beta, C, ldc);
}
static int cpu_sgd_dev(tn_backend *be, size_t n, float *w, const float *g, float *v, const float *hyp) {
    return cpu_sgd(be, n, w, g, v, hyp[0], hyp[1], hyp[2]);
}

/* op: 0 sumsq, 1 dot, 2 diffsq, 3 sum. Fixed chunks so the sum is independent of the thread count. */
static double reduce(int op, size_t n, const float *x, const float *y) {
    size_t nch = (n + CHUNK - 1) / CHUNK;
    double stack[256], *part = nch <= 256 ? stack : malloc(nch * sizeof(double));
    if (!part) return NAN;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t c = 0; c < nch; c++) {
        size_t lo = c * CHUNK, hi = lo + CHUNK < n ? lo + CHUNK : n;
        double s = 0.0;
        for (size_t i = lo; i < hi; i++) {
            double a = x[i], b = y ? y[i] : 0.0;
            s += op == 0 ? a * a : op == 1 ? a * b : op == 2 ? (a - b) * (a - b) : a;
        }
        part[c] = s;
    }
    double s = 0.0;
    for (size_t c = 0; c < nch; c++) s += part[c];
    if (part != stack) free(part);
    return s;
}
static int cpu_sumsq(tn_backend *be, size_t n, const float *x, float *out) {
    out[0] = (float)reduce(0, n, x, NULL);
    return 0;
}
static int cpu_dot(tn_backend *be, size_t n, const float *x, const float *y, float *out) {
    out[0] = (float)reduce(1, n, x, y);
    return 0;
}
static int cpu_diffsq(tn_backend *be, size_t n, const float *x, const float *y, float *out) {
    out[0] = (float)reduce(2, n, x, y);
    return 0;
}
static int cpu_sum(tn_backend *be, size_t n, const float *x, float *out) {
    out[0] = (float)reduce(3, n, x, NULL);
    return 0;
}
static int cpu_row_norms(tn_backend *be, int n, int m, const float *x, float *out) {
#pragma omp parallel for schedule(static) if ((size_t)n * m > PAR_MIN)
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int j = 0; j < m; j++) s += (double)x[(size_t)i * m + j] * x[(size_t)i * m + j];
        out[i] = (float)sqrt(s);
    }
    return 0;
}

static int cpu_perturb(tn_backend *be, size_t n, float *w, const float *eps, float sigma) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) w[i] = tn_perturb(w[i], eps[i], sigma);
    return 0;
}

/* MemAvailable: what the kernel can give without swapping. */
size_t tn_host_mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    size_t kb = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %zu kB", &kb) == 1) break;
    fclose(f);
    return kb * 1024;
}

static size_t cpu_mem_available(tn_backend *be) { return tn_host_mem_available(); }

static void cpu_destroy(tn_backend *be) {
    if (!be) return;
    if (((cpu_ctx *)be->ctx)->gen_ok) curandDestroyGenerator(((cpu_ctx *)be->ctx)->gen);
    free(((cpu_ctx *)be->ctx)->scratch);
    free(((cpu_ctx *)be->ctx)->kpart);
    free(be->ctx);
    free(be);
}

tn_backend *tn_backend_cpu_create(int threads, tn_err *e) {
    tn_backend *be = calloc(1, sizeof *be);
    cpu_ctx *c = calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        tn_fail(e, TN_ERUNTIME, "cpu backend: out of memory");
        return NULL;
    }
    if (threads <= 0) threads = omp_get_num_procs();
    c->threads = threads;
    /* Threads are set once, for BLAS and for our loops alike. */
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    *be = (tn_backend){
        .name = "cpu", .ctx = c, .err = e,
        .alloc = cpu_alloc, .free = cpu_free, .upload = cpu_memcpy, .download = cpu_memcpy,
        .copy = cpu_memcpy, .fill = cpu_fill, .scale = cpu_scale, .sync = cpu_sync,
        .gemm = cpu_gemm, .init_normal = cpu_init_normal, .gather_rows = cpu_gather_rows,
        .bn_stats = cpu_bn_stats, .bn_eval_stats = cpu_bn_eval_stats, .act_fwd = cpu_act_fwd,
        .act_bwd = cpu_act_bwd, .bn_bwd = cpu_bn_bwd, .loss = cpu_loss, .sgd = cpu_sgd,
        .sumsq = cpu_sumsq, .dot = cpu_dot, .diffsq = cpu_diffsq, .row_norms = cpu_row_norms, .perturb = cpu_perturb, .act_bn_bwd = cpu_act_bn_bwd,
        .set_scalars = cpu_set_scalars, .gemm_dev = cpu_gemm_dev, .sgd_dev = cpu_sgd_dev,
        .mem_available = cpu_mem_available,
        .gather_augment = tn_cpu_gather_augment, .im2col = tn_cpu_im2col, .col2im = tn_cpu_col2im, .shortcut_fwd = tn_cpu_shortcut_fwd,
        .shortcut_bwd = tn_cpu_shortcut_bwd, .avgpool_fwd = tn_cpu_avgpool_fwd, .avgpool_bwd = tn_cpu_avgpool_bwd,
        .bn_apply = tn_cpu_bn_apply, .add_scalar = tn_cpu_add_scalar, .sum = cpu_sum,
        .destroy = cpu_destroy,
    };
    return be;
}
