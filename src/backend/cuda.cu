/* The CUDA backend: the table of include/taunet/backend.h on one GPU and one stream.
 * GEMMs are cuBLAS sgemm (row-major handled once by swapping the operands: C^T = B^T A^T in
 * column-major), with TF32 tensor cores only when asked (--math tf32) and a fixed workspace so
 * results are deterministic; initialization is cuRAND's device Philox4_32_10 generator with the
 * seed and offset the cpu backend gives its host generator, so both start from the same weights;
 * everything else is kernels/ through the launchers of kernels/tn_kernels.cuh.
 * Every CUDA, cuBLAS and cuRAND call goes through TN_CUDA_CHECK (names the call, file and line;
 * the library never exits). Ops are asynchronous on the stream except upload/download/sync.
 * A training step can be captured into a CUDA graph and replayed (capture_* and graph_* below;
 * src/run/train.c decides when; docs/CUDA.md). */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <curand.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "taunet/backend.h"
#include "tn_kernels.cuh"

/* cuBLAS and cuRAND statuses for the generic TN_CUDA_CHECK of kernels/tn_launch.cuh */
static inline bool tn_cuda_ok(cublasStatus_t s) { return s == CUBLAS_STATUS_SUCCESS; }
static inline const char *tn_cuda_status_str(cublasStatus_t s) { return cublasGetStatusString(s); }
static inline bool tn_cuda_ok(curandStatus_t s) { return s == CURAND_STATUS_SUCCESS; }
static const char *tn_cuda_status_str(curandStatus_t s) {
    switch (s) {
    case CURAND_STATUS_SUCCESS: return "CURAND_STATUS_SUCCESS";
    case CURAND_STATUS_VERSION_MISMATCH: return "CURAND_STATUS_VERSION_MISMATCH (header and library differ)";
    case CURAND_STATUS_NOT_INITIALIZED: return "CURAND_STATUS_NOT_INITIALIZED";
    case CURAND_STATUS_ALLOCATION_FAILED: return "CURAND_STATUS_ALLOCATION_FAILED (out of memory)";
    case CURAND_STATUS_TYPE_ERROR: return "CURAND_STATUS_TYPE_ERROR";
    case CURAND_STATUS_OUT_OF_RANGE: return "CURAND_STATUS_OUT_OF_RANGE";
    case CURAND_STATUS_LENGTH_NOT_MULTIPLE: return "CURAND_STATUS_LENGTH_NOT_MULTIPLE (normal needs an even count)";
    case CURAND_STATUS_DOUBLE_PRECISION_REQUIRED: return "CURAND_STATUS_DOUBLE_PRECISION_REQUIRED";
    case CURAND_STATUS_LAUNCH_FAILURE: return "CURAND_STATUS_LAUNCH_FAILURE";
    case CURAND_STATUS_PREEXISTING_FAILURE: return "CURAND_STATUS_PREEXISTING_FAILURE";
    case CURAND_STATUS_INITIALIZATION_FAILED: return "CURAND_STATUS_INITIALIZATION_FAILED";
    case CURAND_STATUS_ARCH_MISMATCH: return "CURAND_STATUS_ARCH_MISMATCH";
    case CURAND_STATUS_INTERNAL_ERROR: return "CURAND_STATUS_INTERNAL_ERROR";
    }
    return "unknown cuRAND status";
}

namespace K = TN_KERNEL_NS;

/* This file also compiles with the host C++ compiler against the CUDA runtime emulation of tests/
 * (tests/emu_include: cuda_runtime.h, cublas_v2.h and curand.h on the CPU), where its two entries
 * get other names so both builds link into one test program. */
#ifdef TN_CUDA_EMULATION
#define TN_CUDA_ENTRY(name) name##_emu
#else
#define TN_CUDA_ENTRY(name) name
#endif

#define BLAS_WORKSPACE (32u << 20) /* cuBLAS's recommendation for Hopper; enough for Ampere */

typedef struct {
    int dev, tf32;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *blas_ws;          /* the fixed cuBLAS workspace */
    void *ws;               /* scratch of the kernels (partial sums), grown on demand */
    size_t ws_cap;
    int capturing;          /* a graph capture is open on the stream */
    int graphs;             /* graphs alive: they may hold pointers to earlier scratch buffers */
    void **retired;         /* scratch buffers replaced while graphs were alive, freed with the last */
    int nretired;
} cuda_ctx;

/* Frees the scratch buffers kept for graphs (when no graph is left). */
static void free_retired(cuda_ctx *c) {
    for (int i = 0; i < c->nretired; i++) (void)cudaFree(c->retired[i]);
    free(c->retired);
    c->retired = NULL, c->nretired = 0;
}

static cuda_ctx *ctx_of(tn_backend *be) { return (cuda_ctx *)be->ctx; }

static K::tn_kcfg kcfg(tn_backend *be) {
    K::tn_kcfg c;
    memset(&c, 0, sizeof c);
    c.stream = ctx_of(be)->stream;
    c.err = be->err;
#ifdef TN_CUDA_EMULATION
    c.block = tn_emu_dev::launch_block(), c.grid_cap = tn_emu_dev::grid_cap();
#endif
    return c;
}

/* Scratch of at least `bytes`; NULL with err set on failure. Growing waits for the stream, since
 * earlier kernels may still use the old buffer; while a captured graph is alive the old buffer is
 * kept (the graph's kernels point into it) and freed with the last graph. It cannot grow during a
 * capture (allocation and synchronisation are illegal there): the eager step before each capture
 * sizes it, and a capture that still needs more fails and the run continues eagerly. */
static void *scratch(tn_backend *be, size_t bytes) {
    cuda_ctx *c = ctx_of(be);
    if (bytes <= c->ws_cap) return c->ws;
    if (c->capturing) {
        tn_fail(be->err, TN_ERUNTIME, "cuda backend: scratch must grow to %zu bytes during a graph capture (%s:%d)",
                bytes, __FILE__, __LINE__);
        return NULL;
    }
    size_t cap = ((bytes + (bytes >> 1)) | ((1u << 20) - 1)) + 1; /* 1.5x, whole MiB */
    cudaError_t st = cudaStreamSynchronize(c->stream);
    if (c->ws && c->graphs) {
        void **r = (void **)realloc(c->retired, (size_t)(c->nretired + 1) * sizeof *r);
        if (!r) {
            tn_fail(be->err, TN_ERUNTIME, "cuda backend: out of host memory");
            return NULL;
        }
        c->retired = r;
        c->retired[c->nretired++] = c->ws;
    } else if (c->ws) {
        cudaError_t fr = cudaFree(c->ws); /* freed whatever the sync said: no leak on errors */
        if (st == cudaSuccess) st = fr;
    }
    c->ws = NULL, c->ws_cap = 0;
    if (st == cudaSuccess) st = cudaMalloc(&c->ws, cap);
    if (st != cudaSuccess) {
        (void)cudaGetLastError();
        c->ws = NULL;
        tn_fail(be->err, TN_ERUNTIME, "cuda backend: scratch of %zu bytes: %s (%s:%d)", cap, cudaGetErrorString(st),
                __FILE__, __LINE__);
        return NULL;
    }
    c->ws_cap = cap;
    return c->ws;
}

/* ---- memory ------------------------------------------------------------------------------- */
static void *cu_alloc(tn_backend *be, size_t bytes) {
    void *p = NULL;
    cudaError_t st = cudaMalloc(&p, bytes ? bytes : 256);
    if (st != cudaSuccess) {
        size_t fr = 0, tot = 0;
        (void)cudaGetLastError(); /* not sticky: keep it from being blamed on the next launch */
        if (cudaMemGetInfo(&fr, &tot) != cudaSuccess) (void)cudaGetLastError();
        tn_fail(be->err, TN_ERUNTIME,
                "cudaMalloc(%.3f GiB) failed: %s (%s:%d); the GPU has %.2f GiB free of %.2f GiB; reduce --width, --depth or --batch",
                bytes / 1073741824.0, cudaGetErrorString(st), __FILE__, __LINE__, fr / 1073741824.0, tot / 1073741824.0);
        return NULL;
    }
    return p;
}
static void cu_free(tn_backend *be, void *p) {
    if (p) (void)cudaFree(p);
}
static int cu_upload(tn_backend *be, void *dst, const void *src, size_t bytes) {
    if (!bytes) return 0;
    cudaStream_t s = ctx_of(be)->stream;
    TN_CUDA_CHECK(be->err, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s));
    TN_CUDA_CHECK(be->err, cudaStreamSynchronize(s)); /* the caller may reuse src at once */
    return 0;
}
static int cu_download(tn_backend *be, void *dst, const void *src, size_t bytes) {
    if (!bytes) return 0;
    cudaStream_t s = ctx_of(be)->stream;
    TN_CUDA_CHECK(be->err, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s));
    TN_CUDA_CHECK(be->err, cudaStreamSynchronize(s));
    return 0;
}
static int cu_copy(tn_backend *be, void *dst, const void *src, size_t bytes) {
    if (!bytes) return 0;
    TN_CUDA_CHECK(be->err, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx_of(be)->stream));
    return 0;
}
static int cu_sync(tn_backend *be) {
    TN_CUDA_CHECK(be->err, cudaStreamSynchronize(ctx_of(be)->stream));
    return 0;
}
static int cu_fill(tn_backend *be, float *x, size_t n, float v) {
    K::tn_kcfg c = kcfg(be);
    return K::fill(&c, x, n, v);
}
static int cu_scale(tn_backend *be, float *x, size_t n, float s) {
    K::tn_kcfg c = kcfg(be);
    return K::scale(&c, x, n, s);
}
static int cu_perturb(tn_backend *be, size_t n, float *w, const float *eps, float sigma) {
    K::tn_kcfg c = kcfg(be);
    return K::perturb(&c, n, w, eps, sigma);
}

/* ---- GEMM and initialization -------------------------------------------------------------- */
/* Row-major C[M,N] = alpha op(A) op(B) + beta C is column-major C^T[N,M] = alpha op(B)^T op(A)^T:
 * the same call with A and B (and M and N) swapped, and no copies. */
static int cu_gemm(tn_backend *be, int ta, int tb, int M, int N, int K_, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return 0;
    TN_CUDA_CHECK(be->err, cublasSgemm(ctx_of(be)->blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                       N, M, K_, &alpha, B, ldb, A, lda, &beta, C, ldc));
    return 0;
}

/* The same GEMM with alpha and beta in device memory, read when it runs (a replayed graph picks
 * up each step's learning rate): the handle's pointer mode is switched for this call only. */
static int cu_gemm_dev(tn_backend *be, int ta, int tb, int M, int N, int K_, const float *alpha, const float *A,
                       int lda, const float *B, int ldb, const float *beta, float *C, int ldc) {
    cublasHandle_t h = ctx_of(be)->blas;
    if (M <= 0 || N <= 0) return 0;
    TN_CUDA_CHECK(be->err, cublasSetPointerMode(h, CUBLAS_POINTER_MODE_DEVICE));
    cublasStatus_t st = cublasSgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K_,
                                    alpha, B, ldb, A, lda, beta, C, ldc);
    TN_CUDA_CHECK(be->err, cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));
    if (st != CUBLAS_STATUS_SUCCESS)
        return tn_fail(be->err, TN_ERUNTIME, "cublasSgemm (device alpha, beta) failed: %s (%s:%d)",
                       cublasGetStatusString(st), __FILE__, __LINE__);
    return 0;
}
static int cu_set_scalars(tn_backend *be, float *dst, const float *vals, int n) {
    K::tn_kcfg c = kcfg(be);
    return K::set_scalars(&c, dst, vals, n);
}
static int cu_sgd_dev(tn_backend *be, size_t n, float *w, const float *g, float *v, const float *hyp) {
    K::tn_kcfg c = kcfg(be);
    return K::sgd_dev(&c, n, w, g, v, hyp);
}

/* x = N(0, std^2) from Philox4_32_10 at (seed, offset), as the cpu backend's host generator:
 * cuRAND wants an even count for normals, so an odd n is drawn into scratch and n values kept;
 * so is a tensor that does not start on a 16-byte boundary (the model's tensors follow each other
 * in one buffer, and cuRAND may store pairs or quads), to be safe. */
static int draw_normal(tn_backend *be, curandGenerator_t g, float *x, float *buf, size_t n, size_t ne, float std,
                       uint64_t seed, uint64_t offset) {
    cudaStream_t s = ctx_of(be)->stream;
    TN_CUDA_CHECK(be->err, curandSetStream(g, s));
    TN_CUDA_CHECK(be->err, curandSetPseudoRandomGeneratorSeed(g, seed));
    TN_CUDA_CHECK(be->err, curandSetGeneratorOffset(g, offset));
    TN_CUDA_CHECK(be->err, curandGenerateNormal(g, buf, ne, 0.0f, std));
    if (buf != x) TN_CUDA_CHECK(be->err, cudaMemcpyAsync(x, buf, n * sizeof(float), cudaMemcpyDeviceToDevice, s));
    TN_CUDA_CHECK(be->err, cudaStreamSynchronize(s)); /* before the generator is destroyed */
    return 0;
}
static int cu_init_normal(tn_backend *be, float *x, size_t n, float std, uint64_t seed, uint64_t offset) {
    size_t ne = n + (n & 1);
    float *buf = x;
    curandGenerator_t g = NULL;
    if (!n) return 0;
    if ((ne != n || (uintptr_t)x % 16 != 0) && !(buf = (float *)scratch(be, ne * sizeof(float))))
        return be->err->code;
    TN_CUDA_CHECK(be->err, curandCreateGenerator(&g, CURAND_RNG_PSEUDO_PHILOX4_32_10));
    int st = draw_normal(be, g, x, buf, n, ne, std, seed, offset);
    curandDestroyGenerator(g);
    return st;
}

/* ---- fused ops ---------------------------------------------------------------------------- */
static int cu_gather_rows(tn_backend *be, const float *src, int cols, const int32_t *idx, int nrows, float *dst,
                          const int32_t *ysrc, int32_t *ydst) {
    K::tn_kcfg c = kcfg(be);
    return K::gather_rows(&c, src, cols, idx, nrows, dst, ysrc, ydst);
}
static int cu_bn_stats(tn_backend *be, int n, int m, const float *z, float eps, float *mean, float *invstd,
                       float *run_mean, float *run_var, float momentum) {
    K::tn_kcfg c = kcfg(be);
    size_t need = K::bn_ws_bytes(&c, n, m);
    void *ws = need ? scratch(be, need) : NULL;
    if (need && !ws) return be->err->code;
    return K::bn_stats(&c, n, m, z, eps, mean, invstd, run_mean, run_var, momentum, ws);
}
static int cu_bn_eval_stats(tn_backend *be, int m, const float *run_mean, const float *run_var, float eps,
                            float *mean, float *invstd) {
    K::tn_kcfg c = kcfg(be);
    return K::bn_eval_stats(&c, m, run_mean, run_var, eps, mean, invstd);
}
static int cu_act_fwd(tn_backend *be, int n, int m, const float *z, const float *mean, const float *invstd,
                      const float *gamma, const float *beta, const float *hprev, float tau, const float *tau_dev,
                      float *h) {
    K::tn_kcfg c = kcfg(be);
    return K::act_fwd(&c, n, m, z, mean, invstd, gamma, beta, hprev, tau, tau_dev, h);
}
static int cu_act_bwd(tn_backend *be, size_t n, const float *h, const float *dh, float tau, const float *tau_dev,
                      float *du, float *dhprev) {
    K::tn_kcfg c = kcfg(be);
    return K::act_bwd(&c, n, h, dh, tau, tau_dev, du, dhprev);
}
static int cu_bn_apply(tn_backend *be, int n, int m, const float *z, const float *mean, const float *invstd,
                       const float *gamma, const float *beta, float *y) {
    K::tn_kcfg c = kcfg(be);
    return K::bn_apply(&c, n, m, z, mean, invstd, gamma, beta, y);
}
static int cu_add_scalar(tn_backend *be, size_t n, float *x, const float *b) {
    K::tn_kcfg c = kcfg(be);
    return K::add_scalar(&c, n, x, b);
}

/* ---- convolution ops ---------------------------------------------------------------------- */
static int cu_im2col(tn_backend *be, const tn_conv_geom *g, int n, const float *x, const float *add, float *cols) {
    K::tn_kcfg c = kcfg(be);
    return K::im2col(&c, g, n, x, add, cols);
}
static int cu_col2im(tn_backend *be, const tn_conv_geom *g, int n, const float *dcols, float beta, float *dx) {
    K::tn_kcfg c = kcfg(be);
    return K::col2im(&c, g, n, dcols, beta, dx);
}
static int cu_gather_augment(tn_backend *be, const float *src, int ch, int h, int w, const int32_t *idx,
                             const int32_t *code, int nrows, float *dst, const int32_t *ysrc, int32_t *ydst) {
    K::tn_kcfg c = kcfg(be);
    return K::gather_augment(&c, src, ch, h, w, idx, code, nrows, dst, ysrc, ydst);
}
static int cu_shortcut_fwd(tn_backend *be, const tn_conv_geom *g, int n, const float *x, float *y) {
    K::tn_kcfg c = kcfg(be);
    return K::shortcut_fwd(&c, g, n, x, y);
}
static int cu_shortcut_bwd(tn_backend *be, const tn_conv_geom *g, int n, const float *dy, float beta, float *dx) {
    K::tn_kcfg c = kcfg(be);
    return K::shortcut_bwd(&c, g, n, dy, beta, dx);
}
static int cu_avgpool_fwd(tn_backend *be, int n, int hw, int ch, const float *x, float *y) {
    K::tn_kcfg c = kcfg(be);
    return K::avgpool_fwd(&c, n, hw, ch, x, y);
}
static int cu_avgpool_bwd(tn_backend *be, int n, int hw, int ch, const float *dy, float *dx) {
    K::tn_kcfg c = kcfg(be);
    return K::avgpool_bwd(&c, n, hw, ch, dy, dx);
}
static int cu_bn_bwd(tn_backend *be, int n, int m, const float *z, const float *mean, const float *invstd,
                     const float *gamma, const float *du, float *dz, float *dgamma, float *dbeta) {
    K::tn_kcfg c = kcfg(be);
    size_t need = K::bn_ws_bytes(&c, n, m);
    void *ws = need ? scratch(be, need) : NULL;
    if (need && !ws) return be->err->code;
    return K::bn_bwd(&c, n, m, z, mean, invstd, gamma, du, dz, dgamma, dbeta, ws);
}
static int cu_loss(tn_backend *be, tn_loss_kind kind, int n, int d, const float *logits, const int32_t *labels,
                   float scale, float *dlogits, float *out) {
    K::tn_kcfg c = kcfg(be);
    size_t need = K::loss_ws_bytes(n);
    void *ws = need ? scratch(be, need) : NULL;
    if (need && !ws) return be->err->code;
    return K::loss(&c, kind, n, d, logits, labels, scale, dlogits, out, ws);
}
static int cu_sgd(tn_backend *be, size_t n, float *w, const float *g, float *v, float lr, float mu, float wd) {
    K::tn_kcfg c = kcfg(be);
    return K::sgd(&c, n, w, g, v, lr, mu, wd);
}

/* op: 0 sumsq, 1 dot, 2 diffsq, 3 sum */
static int cu_reduce(tn_backend *be, int op, size_t n, const float *x, const float *y, float *out) {
    K::tn_kcfg c = kcfg(be);
    size_t need = K::reduce_ws_bytes(&c, n);
    void *ws = need ? scratch(be, need) : NULL;
    if (need && !ws) return be->err->code;
    return op == 0 ? K::sumsq(&c, n, x, out, ws) : op == 1 ? K::dot(&c, n, x, y, out, ws)
                   : op == 2 ? K::diffsq(&c, n, x, y, out, ws) : K::sum(&c, n, x, out, ws);
}
static int cu_sumsq(tn_backend *be, size_t n, const float *x, float *out) { return cu_reduce(be, 0, n, x, NULL, out); }
static int cu_dot(tn_backend *be, size_t n, const float *x, const float *y, float *out) {
    return cu_reduce(be, 1, n, x, y, out);
}
static int cu_diffsq(tn_backend *be, size_t n, const float *x, const float *y, float *out) {
    return cu_reduce(be, 2, n, x, y, out);
}
static int cu_sum(tn_backend *be, size_t n, const float *x, float *out) { return cu_reduce(be, 3, n, x, NULL, out); }
static int cu_row_norms(tn_backend *be, int n, int m, const float *x, float *out) {
    K::tn_kcfg c = kcfg(be);
    return K::row_norms(&c, n, m, x, out);
}

/* ---- life cycle --------------------------------------------------------------------------- */
/* ---- CUDA graphs: one training step captured on the stream and replayed -------------------- */
static int cu_capture_begin(tn_backend *be) {
    TN_CUDA_CHECK(be->err, cudaStreamBeginCapture(ctx_of(be)->stream, cudaStreamCaptureModeThreadLocal));
    ctx_of(be)->capturing = 1;
    return 0;
}
static int cu_capture_end(tn_backend *be, void **graph) {
    cudaGraph_t g = NULL;
    cudaGraphExec_t exec = NULL;
    *graph = NULL;
    cudaError_t st = cudaStreamEndCapture(ctx_of(be)->stream, &g);
    ctx_of(be)->capturing = 0;
    if (st == cudaSuccess) st = cudaGraphInstantiate(&exec, g, 0);
    if (g) (void)cudaGraphDestroy(g);
    if (st != cudaSuccess) {
        (void)cudaGetLastError();
        return tn_fail(be->err, TN_ERUNTIME, "cuda graph capture: %s (%s:%d)", cudaGetErrorString(st), __FILE__,
                       __LINE__);
    }
    *graph = (void *)exec;
    ctx_of(be)->graphs++;
    return 0;
}
static int cu_graph_launch(tn_backend *be, void *graph) {
    TN_CUDA_CHECK(be->err, cudaGraphLaunch((cudaGraphExec_t)graph, ctx_of(be)->stream));
    return 0;
}
static void cu_graph_free(tn_backend *be, void *graph) {
    cuda_ctx *c = ctx_of(be);
    if (!graph) return;
    (void)cudaGraphExecDestroy((cudaGraphExec_t)graph);
    if (--c->graphs == 0 && c->nretired) {
        (void)cudaStreamSynchronize(c->stream); /* a replay may still be running */
        free_retired(c);
    }
}

static size_t cu_mem_available(tn_backend *be) {
    size_t fr = 0, tot = 0;
    if (cudaMemGetInfo(&fr, &tot) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return fr;
}

static void cu_destroy(tn_backend *be) {
    if (!be) return;
    cuda_ctx *c = ctx_of(be);
    if (c) {
        if (c->stream) (void)cudaStreamSynchronize(c->stream);
        if (c->blas) cublasDestroy(c->blas);
        if (c->blas_ws) (void)cudaFree(c->blas_ws);
        if (c->ws) (void)cudaFree(c->ws);
        free_retired(c);
        if (c->stream) (void)cudaStreamDestroy(c->stream);
        (void)cudaGetLastError();
        free(c);
    }
    free(be);
}

static int setup(cuda_ctx *c, int gpu, int tf32, tn_err *e) {
    c->dev = gpu, c->tf32 = tf32;
    TN_CUDA_CHECK(e, cudaSetDevice(gpu));
    TN_CUDA_CHECK(e, cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    TN_CUDA_CHECK(e, cublasCreate(&c->blas));
    /* cublasSetStream resets the workspace to cuBLAS's pool: set the stream first */
    TN_CUDA_CHECK(e, cublasSetStream(c->blas, c->stream));
    TN_CUDA_CHECK(e, cudaMalloc(&c->blas_ws, BLAS_WORKSPACE));
    TN_CUDA_CHECK(e, cublasSetWorkspace(c->blas, c->blas_ws, BLAS_WORKSPACE));
    TN_CUDA_CHECK(e, cublasSetPointerMode(c->blas, CUBLAS_POINTER_MODE_HOST));
    TN_CUDA_CHECK(e, cublasSetMathMode(c->blas, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    return 0;
}

extern "C" int TN_CUDA_ENTRY(tn_cuda_hw_device_count)(void) {
    int n = 0;
    cudaError_t st = cudaGetDeviceCount(&n);
    if (st != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return n;
}

extern "C" tn_backend *TN_CUDA_ENTRY(tn_backend_cuda_hw_create)(int gpu, int tf32, tn_err *e) {
    int count = 0;
    cudaError_t st = cudaGetDeviceCount(&count);
    if (st != cudaSuccess) {
        (void)cudaGetLastError();
        tn_fail(e, TN_ERUNTIME, "no CUDA device: %s", cudaGetErrorString(st));
        return NULL;
    }
    if (count <= 0) {
        tn_fail(e, TN_ERUNTIME, "no CUDA device: cudaGetDeviceCount found none");
        return NULL;
    }
    if (gpu < 0 || gpu >= count) {
        tn_fail(e, TN_EINPUT, "--gpu %d: this machine has %d CUDA device(s), numbered from 0", gpu, count);
        return NULL;
    }
    tn_backend *be = (tn_backend *)calloc(1, sizeof *be);
    cuda_ctx *c = (cuda_ctx *)calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        tn_fail(e, TN_ERUNTIME, "cuda backend: out of host memory");
        return NULL;
    }
    be->name = "cuda";
    be->ctx = c;
    be->err = e;
    if (setup(c, gpu, tf32, e)) {
        cu_destroy(be);
        return NULL;
    }
    be->alloc = cu_alloc, be->free = cu_free, be->upload = cu_upload, be->download = cu_download;
    be->copy = cu_copy, be->fill = cu_fill, be->scale = cu_scale, be->sync = cu_sync;
    be->gemm = cu_gemm, be->init_normal = cu_init_normal, be->gather_rows = cu_gather_rows;
    be->bn_stats = cu_bn_stats, be->bn_eval_stats = cu_bn_eval_stats, be->act_fwd = cu_act_fwd;
    be->act_bwd = cu_act_bwd, be->bn_bwd = cu_bn_bwd, be->loss = cu_loss, be->sgd = cu_sgd;
    be->sumsq = cu_sumsq, be->dot = cu_dot, be->diffsq = cu_diffsq, be->row_norms = cu_row_norms;
    be->perturb = cu_perturb;
    be->set_scalars = cu_set_scalars, be->gemm_dev = cu_gemm_dev, be->sgd_dev = cu_sgd_dev;
    be->mem_available = cu_mem_available;
    be->im2col = cu_im2col, be->col2im = cu_col2im, be->shortcut_fwd = cu_shortcut_fwd;
    be->gather_augment = cu_gather_augment;
    be->shortcut_bwd = cu_shortcut_bwd, be->avgpool_fwd = cu_avgpool_fwd, be->avgpool_bwd = cu_avgpool_bwd;
    be->bn_apply = cu_bn_apply, be->add_scalar = cu_add_scalar, be->sum = cu_sum;
    be->capture_begin = cu_capture_begin, be->capture_end = cu_capture_end;
    be->graph_launch = cu_graph_launch, be->graph_free = cu_graph_free;
    be->destroy = cu_destroy;
    return be;
}
