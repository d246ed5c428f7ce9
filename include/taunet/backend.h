/* The seam between the orchestrator and compute: a table of function pointers plus a context.
 * The orchestrator owns the buffers (allocated through the table) and walks the layers; it never
 * touches a kernel. Pointers marked "dev" live in the backend's memory (host memory for cpu).
 * Matrices are row-major; activations are [rows = batch, cols = features]; weights are
 * [out, in] as in PyTorch, so a layer is Z = H W^T.
 * Every op returns 0 or an error code; the message goes to be->err. */
#ifndef TAUNET_BACKEND_H
#define TAUNET_BACKEND_H
#include <stddef.h>
#include <stdint.h>
#include "taunet/error.h"
#include "tn_conv.cuh" /* tn_conv_geom */
#ifdef __cplusplus
extern "C" {
#endif

typedef enum { TN_LOSS_MSE = 0, TN_LOSS_XENT = 1 } tn_loss_kind;

typedef struct tn_backend tn_backend;
struct tn_backend {
    const char *name;
    void *ctx;
    tn_err *err; /* where ops record failures (set by the creator) */

    /* memory */
    void *(*alloc)(tn_backend *be, size_t bytes); /* NULL on failure, err set */
    void (*free)(tn_backend *be, void *dev);
    int (*upload)(tn_backend *be, void *dev_dst, const void *host_src, size_t bytes);
    int (*download)(tn_backend *be, void *host_dst, const void *dev_src, size_t bytes);
    int (*copy)(tn_backend *be, void *dev_dst, const void *dev_src, size_t bytes);
    int (*fill)(tn_backend *be, float *x, size_t n, float v);
    int (*scale)(tn_backend *be, float *x, size_t n, float s); /* x *= s */
    int (*sync)(tn_backend *be);

    /* C[M,N] = alpha * op(A) op(B) + beta * C, row-major, op = transpose when t* != 0 */
    int (*gemm)(tn_backend *be, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                int lda, const float *B, int ldb, float beta, float *C, int ldc);

    /* x[i] = N(0, std^2), cuRAND Philox4_32_10 with this seed and offset on every backend */
    int (*init_normal)(tn_backend *be, float *x, size_t n, float std, uint64_t seed, uint64_t offset);

    /* dst[r, :] = src[idx[r], :] for r < nrows; ydst[r] = ysrc[idx[r]] (labels; may be NULL) */
    int (*gather_rows)(tn_backend *be, const float *src, int cols, const int32_t *idx, int nrows,
                       float *dst, const int32_t *ysrc, int32_t *ydst);
    /* gather_rows of CHW images [c, h, w] through --augment crop-flip: row r is example idx[r]
     * shifted and flipped by its code[idx[r]] (tn_augment_src, kernels/tn_conv.cuh) */
    int (*gather_augment)(tn_backend *be, const float *src, int c, int h, int w, const int32_t *idx,
                          const int32_t *code, int nrows, float *dst, const int32_t *ysrc, int32_t *ydst);

    /* BN batch statistics of z[n, m] per column: mean, invstd = 1/sqrt(var_biased + eps); when
     * run_mean != NULL also the running update with momentum (unbiased variance, PyTorch). */
    int (*bn_stats)(tn_backend *be, int n, int m, const float *z, float eps, float *mean,
                    float *invstd, float *run_mean, float *run_var, float momentum);
    /* Eval-mode statistics: mean = run_mean, invstd = 1/sqrt(run_var + eps). */
    int (*bn_eval_stats)(tn_backend *be, int m, const float *run_mean, const float *run_var,
                         float eps, float *mean, float *invstd);

    /* The fused hidden-layer activation, one pass per element, of [n, m] matrices:
     * h = relu(hprev + tau * u),  u = gamma*(z-mean)*invstd + beta when mean != NULL, else z;
     * hprev == NULL means 0 (PlainNet; pass tau = 1). tau_dev != NULL: tau is *tau_dev (dev),
     * read when the op runs (a learnable tau; a captured step replays with its current value). */
    int (*act_fwd)(tn_backend *be, int n, int m, const float *z, const float *mean,
                   const float *invstd, const float *gamma, const float *beta, const float *hprev,
                   float tau, const float *tau_dev, float *h);
    /* Its backward up to u: d = dh * (h > 0); du = tau * d; dhprev = d when dhprev != NULL
     * (the residual path; the caller then adds dz W into it with a beta=1 GEMM). du may alias dh.
     * tau_dev as in act_fwd. */
    int (*act_bwd)(tn_backend *be, size_t n, const float *h, const float *dh, float tau,
                   const float *tau_dev, float *du, float *dhprev);
    /* BN backward (batch statistics) from du to dz; dgamma/dbeta (may be NULL) are SET. */
    int (*bn_bwd)(tn_backend *be, int n, int m, const float *z, const float *mean,
                  const float *invstd, const float *gamma, const float *du, float *dz,
                  float *dgamma, float *dbeta);

    /* Loss of logits[n, d] against labels: out[0] = sum of row losses, out[1] = number correct
     * (dev, 2 floats); dlogits = scale * d(row loss)/d(logits) when not NULL. */
    int (*loss)(tn_backend *be, tn_loss_kind kind, int n, int d, const float *logits,
                const int32_t *labels, float scale, float *dlogits, float *out);

    /* SGD/momentum/weight-decay step over n parameters (see tn_sgd in kernels/tn_math.cuh);
     * v may be NULL when mu == 0. */
    int (*sgd)(tn_backend *be, size_t n, float *w, const float *g, float *v, float lr, float mu,
               float wd);

    /* The same ops with their scalars in backend memory, read when the op runs, so a captured
     * training step replays with the learning rate of each step (set_scalars before the replay):
     * set_scalars: dst[0..n) = vals (n <= 8), in stream order, without host synchronisation;
     * gemm_dev: gemm with alpha = *alpha, beta = *beta; sgd_dev: sgd with lr, mu, wd = hyp[0..2]. */
    int (*set_scalars)(tn_backend *be, float *dst, const float *vals, int n);
    int (*gemm_dev)(tn_backend *be, int ta, int tb, int M, int N, int K, const float *alpha, const float *A,
                    int lda, const float *B, int ldb, const float *beta, float *C, int ldc);
    int (*sgd_dev)(tn_backend *be, size_t n, float *w, const float *g, float *v, const float *hyp);

    /* Deterministic reductions (fixed order, no float atomics), result in dev out[0]:
     * sumsq: sum x^2;  dot: sum x*y;  diffsq: sum (x-y)^2. */
    int (*sumsq)(tn_backend *be, size_t n, const float *x, float *out);
    int (*dot)(tn_backend *be, size_t n, const float *x, const float *y, float *out);
    int (*diffsq)(tn_backend *be, size_t n, const float *x, const float *y, float *out);
    /* out[r] = ||x[r, :]||_2 for the n rows of x[n, m] */
    int (*row_norms)(tn_backend *be, int n, int m, const float *x, float *out);
    /* Sharpness perturbation: w[i] += sigma * |w[i]| * eps[i] */
    int (*perturb)(tn_backend *be, size_t n, float *w, const float *eps, float sigma);
    /* Optional (may be NULL): act_bwd followed by bn_bwd in one op, without materialising du
     * (the CPU fuses the column sums into the activation backward: two passes instead of three).
     * dz may alias dh. The orchestrator falls back to the two ops when NULL. */
    int (*act_bn_bwd)(tn_backend *be, int n, int m, const float *h, const float *dh, float tau,
                      float *dhprev, const float *z, const float *mean, const float *invstd,
                      const float *gamma, float *dz, float *dgamma, float *dbeta);
    /* The convolution ops (DESIGN.md §9; index math in kernels/tn_conv.cuh, geometry by value).
     * im2col: cols[n*oh*ow, c*k*k] from x read with g's strides; add (dev scalar, may be NULL) is
     * added to every value read (not to padding, which stays 0: a bias before a zero-padded conv).
     * col2im: dx (g's strides) = beta*dx + for each element the sum of its taps in dcols, a gather
     * in fixed (ky, kx) order (beta 0: dx is only written). Both exact copies / fixed-order sums. */
    int (*im2col)(tn_backend *be, const tn_conv_geom *g, int n, const float *x, const float *add, float *cols);
    int (*col2im)(tn_backend *be, const tn_conv_geom *g, int n, const float *dcols, float beta, float *dx);
    /* The stage-entry shortcut: y[n*oh*ow, oc] = x at stride g->stride for channels < g->c, 0 for
     * the appended ones; and its backward dx = beta*dx + dy at the sampled pixels (0 elsewhere). */
    int (*shortcut_fwd)(tn_backend *be, const tn_conv_geom *g, int n, const float *x, float *y);
    int (*shortcut_bwd)(tn_backend *be, const tn_conv_geom *g, int n, const float *dy, float beta, float *dx);
    /* Global average pooling of pixel rows: y[n, c] = the mean over the hw rows of each example
     * of x[n*hw, c] (a fixed-order double sum, rounded once); backward dx = dy / hw (set). */
    int (*avgpool_fwd)(tn_backend *be, int n, int hw, int c, const float *x, float *y);
    int (*avgpool_bwd)(tn_backend *be, int n, int hw, int c, const float *dy, float *dx);
    /* BN applied without an activation (the BN shortcut): y = gamma*(z-mean)*invstd + beta. */
    int (*bn_apply)(tn_backend *be, int n, int m, const float *z, const float *mean, const float *invstd,
                    const float *gamma, const float *beta, float *y);
    /* x[i] += *b (dev scalar): the scalar biases of the no-BN blocks. */
    int (*add_scalar)(tn_backend *be, size_t n, float *x, const float *b);
    /* out[0] = sum x, deterministic as sumsq (the gradient of a scalar bias). */
    int (*sum)(tn_backend *be, size_t n, const float *x, float *out);
    /* Optional (NULL on the CPU): capture the ops issued between capture_begin and capture_end
     * (which must not synchronise with the host) into a replayable graph, launch it, free it.
     * A failed capture returns an error and leaves no capture open; the caller then runs eagerly. */
    int (*capture_begin)(tn_backend *be);
    int (*capture_end)(tn_backend *be, void **graph);
    int (*graph_launch)(tn_backend *be, void *graph);
    void (*graph_free)(tn_backend *be, void *graph);
    /* Bytes this backend can still allocate (host MemAvailable, device free memory); 0 unknown.
     * The memory planner compares a run's estimate with it before allocating anything. */
    size_t (*mem_available)(tn_backend *be);

    void (*destroy)(tn_backend *be);
};

/* Host memory available to this process (MemAvailable of /proc/meminfo), in bytes; 0 if unknown. */
size_t tn_host_mem_available(void);

/* Creators. threads <= 0 means all cores. */
tn_backend *tn_backend_cpu_create(int threads, tn_err *e);
/* Returns NULL with a reason when no CUDA device can be used (no driver, no device). */
tn_backend *tn_backend_cuda_create(int gpu, int tf32, tn_err *e);
int tn_cuda_device_count(void);

/* What "cuda" means. The library's own implementation is the real GPU backend (src/backend/cuda.cu,
 * or a stub that finds no device in a build without nvcc). Tests replace it with the same
 * src/backend/cuda.cu compiled against the CPU emulation of the CUDA runtime (tests/cuda_emu*.h), so
 * the whole orchestrator runs through the CUDA backend's code in CI; NULL restores the real one. */
typedef struct tn_cuda_impl {
    int (*device_count)(void);
    tn_backend *(*create)(int gpu, int tf32, tn_err *e);
} tn_cuda_impl;
void tn_cuda_impl_set(const tn_cuda_impl *impl);
/* The real implementation's entries (what tn_cuda_impl_set(NULL) restores). */
int tn_cuda_hw_device_count(void);
tn_backend *tn_backend_cuda_hw_create(int gpu, int tf32, tn_err *e);

#ifdef __cplusplus
}
#endif
#endif
