/* CUDA runtime, cuBLAS and cuRAND emulation on the CPU, so src/backend/cuda.cu itself (not a copy)
 * runs in CI: that file is compiled by the host C++ compiler with -include tests/cuda_emu.h and
 * tests/emu_include first on the include path, whose cuda_runtime.h, cublas_v2.h and curand.h are
 * this header. Test infrastructure, not a backend (DESIGN.md §3, docs/CUDA.md).
 *
 * What it models, and so what a test through it can catch in the backend and the orchestrator:
 *  - device memory is a separate space: cudaMalloc'ed blocks are mapped PROT_NONE except while
 *    emulated device work (a kernel, a copy, a GEMM, a cuRAND draw) runs, so host code that reads
 *    or writes device memory directly crashes the test; each block ends at a guard page (an
 *    overrun faults) and freed blocks stay inaccessible (a stale pointer faults); a kernel handed a pointer outside device
 *    memory, a copy whose kind does not match its pointers, a GEMM whose leading dimensions or
 *    extents overrun its buffers, or cudaFree of a foreign pointer each fail with an error;
 *  - one emulated device of TAUNET_EMU_GPU_MIB MiB (default 4096): cudaMemGetInfo reports what is
 *    left, cudaMalloc beyond it fails as out of memory;
 *  - stream capture as CUDA does it: launches, cuBLAS calls and device-to-device copies are recorded
 *    (arguments taken at capture time) and run only when the graph is launched; synchronising the
 *    capturing stream or the device, copying to or from the host, cudaMalloc/cudaFree during the
 *    capture, or work on the legacy stream invalidate it, and cudaStreamEndCapture then fails;
 *  - cuBLAS sgemm: the column-major call checked as cuBLAS checks it, computed by OpenBLAS in
 *    column-major; TF32 math mode rounds both inputs to 10 mantissa bits first;
 *  - cuRAND's device Philox generator: cuRAND's host generator with the same seed and offset
 *    (NVIDIA documents that both give the same sequence; that identity itself is checked on a GPU).
 * What it cannot show: asynchrony (all work is synchronous, so a missing synchronisation before a
 * host read goes unnoticed), real cuBLAS algorithms and their rounding, device limits beyond the
 * launch configuration, multi-GPU. */
#ifndef TAUNET_CUDA_EMU_RUNTIME_H
#define TAUNET_CUDA_EMU_RUNTIME_H
#ifndef TAUNET_CUDA_EMU_H
#error "tests/cuda_emu_runtime.h needs tests/cuda_emu.h first (-include tests/cuda_emu.h)"
#endif
#include <cblas.h>
#include <sys/mman.h>
#include <unistd.h>

#include <map>

/* ---- device memory ------------------------------------------------------------------------- */
namespace tn_emu_dev {
/* A cudaMalloc'ed block: `bytes` from its base, which is placed (256-byte aligned) so that it ends
 * within 255 bytes of a guard page that is never accessible: a kernel running past the end of its
 * buffer faults, as on a GPU, instead of landing in the next block. */
struct Block {
    size_t bytes;    /* asked for */
    const char *map; /* the data pages: [map, map + mapped), then the guard page */
    size_t mapped;
};
struct Space {
    std::map<const char *, Block> blocks; /* by base address */
    size_t used = 0;
    int open_depth = 0;
};
inline Space &space() {
    static Space s;
    return s;
}
inline size_t total_bytes() {
    const char *v = getenv("TAUNET_EMU_GPU_MIB");
    long mib = v ? atol(v) : 4096;
    return (size_t)(mib > 0 ? mib : 4096) << 20;
}
/* The block that holds [p, p+n), or blocks.end(). */
inline std::map<const char *, Block>::iterator find(const void *p, size_t n) {
    Space &s = space();
    const char *c = (const char *)p;
    auto it = s.blocks.upper_bound(c);
    if (it == s.blocks.begin()) return s.blocks.end();
    --it;
    if (c < it->first || c + n > it->first + it->second.bytes) return s.blocks.end();
    return it;
}
inline bool holds(const void *p, size_t n) { return find(p, n) != space().blocks.end(); }
/* TAUNET_EMU_PROTECT=0 leaves device memory readable by host code (to tell a crash from a slip). */
inline bool protecting() {
    static bool on = !getenv("TAUNET_EMU_PROTECT") || atoi(getenv("TAUNET_EMU_PROTECT")) != 0;
    return on;
}
inline void protect_all(int prot) {
    if (!protecting()) return;
    for (auto &b : space().blocks) mprotect((void *)b.second.map, b.second.mapped, prot);
}
inline void open_all() {
    if (space().open_depth++ == 0) protect_all(PROT_READ | PROT_WRITE);
}
inline void close_all() {
    if (--space().open_depth == 0) protect_all(PROT_NONE);
}
inline bool kernel_ptr(const void *p) { return holds(p, 1); }
/* Installs the kernel launch hooks of tests/cuda_emu.h once device memory is in use. */
inline void hook() {
    tn_emu_rt::device_ptr = kernel_ptr;
    tn_emu_rt::open_device = open_all;
    tn_emu_rt::close_device = close_all;
}
/* Launch shape of the emulated backend's kernels: the emulation pays per emulated thread, so
 * fewer, smaller blocks (the kernels are grid-stride; tests/test_kernels_emu.cpp covers other
 * shapes). TAUNET_EMU_BLOCK (default 64) threads per block, TAUNET_EMU_GRID_CAP (default 2). */
inline int launch_block() {
    const char *v = getenv("TAUNET_EMU_BLOCK");
    return v ? atoi(v) : 64;
}
inline int grid_cap() {
    const char *v = getenv("TAUNET_EMU_GRID_CAP");
    return v ? atoi(v) : 2;
}
inline size_t page() {
    static size_t p = (size_t)sysconf(_SC_PAGESIZE);
    return p;
}
} // namespace tn_emu_dev

/* A call CUDA forbids during capture (on the capturing stream `s`, or, with s NULL, an unsafe call
 * such as cudaMalloc while any capture is open): refused, and the capture is invalidated. */
inline cudaError_t tn_emu_refuse_in_capture(cudaStream_t s) {
    if ((s && s->capturing) || (!s && !tn_emu_rt::capturing.empty())) {
        if (s) s->invalidated = true;
        else tn_emu_rt::invalidate_captures();
        return cudaErrorStreamCaptureUnsupported;
    }
    return cudaSuccess;
}

inline cudaError_t cudaMalloc(void **p, size_t bytes) {
    using namespace tn_emu_dev;
    *p = nullptr;
    if (cudaError_t e = tn_emu_refuse_in_capture(nullptr)) return e;
    size_t rb = ((bytes ? bytes : 1) + 255) / 256 * 256, len = (rb + page() - 1) / page() * page();
    if (space().used + len > total_bytes()) return cudaErrorMemoryAllocation;
    char *m = (char *)mmap(nullptr, len + page(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return cudaErrorMemoryAllocation;
    if (space().open_depth || !protecting()) mprotect(m, len, PROT_READ | PROT_WRITE);
    char *base = m + len - rb;
    space().blocks[base] = Block{bytes, m, len};
    space().used += len;
    hook();
    *p = base;
    return cudaSuccess;
}
template <class T> inline cudaError_t cudaMalloc(T **p, size_t bytes) { return cudaMalloc((void **)p, bytes); }

inline cudaError_t cudaFree(void *p) {
    using namespace tn_emu_dev;
    if (!p) return cudaSuccess;
    if (cudaError_t e = tn_emu_refuse_in_capture(nullptr)) return e;
    auto it = space().blocks.find((const char *)p);
    if (it == space().blocks.end()) return cudaErrorInvalidDevicePointer; /* not a cudaMalloc base */
    /* The pages go back, but the addresses stay reserved and inaccessible for good, so a graph or
     * a stale pointer that still uses the block faults instead of reaching a later allocation. */
    void *m = (void *)it->second.map;
    mprotect(m, it->second.mapped, PROT_NONE);
    madvise(m, it->second.mapped, MADV_DONTNEED);
    space().used -= it->second.mapped;
    space().blocks.erase(it);
    return cudaSuccess;
}

inline cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total) {
    *total = tn_emu_dev::total_bytes();
    *free_bytes = *total - tn_emu_dev::space().used;
    return cudaSuccess;
}

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};
inline cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind kind, cudaStream_t s) {
    using tn_emu_dev::holds;
    if (!n) return cudaSuccess;
    bool ok = kind == cudaMemcpyHostToDevice   ? holds(dst, n) && !holds(src, 1)
              : kind == cudaMemcpyDeviceToHost ? holds(src, n) && !holds(dst, 1)
              : kind == cudaMemcpyDeviceToDevice ? holds(src, n) && holds(dst, n)
                                                 : false; /* the backend always names the kind */
    if (!ok) return cudaErrorInvalidValue;
    if (kind != cudaMemcpyDeviceToDevice) /* pageable host memory cannot be captured */
        if (cudaError_t e = tn_emu_refuse_in_capture(s)) return e;
    auto op = [=]() {
        tn_emu_rt::DeviceOpen open;
        memmove(dst, src, n);
    };
    bool now = false;
    if (cudaError_t e = tn_emu_rt::submit(s, op, &now)) return e;
    if (now) op();
    return cudaSuccess;
}

/* ---- devices and streams ------------------------------------------------------------------- */
/* one emulated device, number 0 */
inline cudaError_t cudaGetDeviceCount(int *n) {
    *n = 1;
    return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidDevice; }
#define cudaStreamNonBlocking 0x01
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned) {
    *s = new CUstream_st;
    return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t s) {
    if (s && s->capturing) std::erase(tn_emu_rt::capturing, s);
    delete s;
    return cudaSuccess;
}

/* ---- graphs -------------------------------------------------------------------------------- */
enum cudaStreamCaptureMode {
    cudaStreamCaptureModeGlobal = 0,
    cudaStreamCaptureModeThreadLocal = 1,
    cudaStreamCaptureModeRelaxed = 2,
};
struct tn_emu_graph {
    std::vector<std::function<void()>> ops;
};
struct tn_emu_graph_exec { /* a distinct type, as in CUDA, so the two cannot be mixed up */
    std::vector<std::function<void()>> ops;
};
typedef tn_emu_graph *cudaGraph_t;
typedef tn_emu_graph_exec *cudaGraphExec_t;

inline cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode) {
    if (!s || s->capturing) return cudaErrorInvalidValue; /* the legacy stream, or a second capture */
    s->capturing = true, s->invalidated = false;
    s->ops.clear();
    tn_emu_rt::capturing.push_back(s);
    return cudaSuccess;
}
inline cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g) {
    *g = nullptr;
    if (!s || !s->capturing) return cudaErrorInvalidValue;
    s->capturing = false;
    std::erase(tn_emu_rt::capturing, s);
    if (s->invalidated) {
        s->ops.clear();
        return cudaErrorStreamCaptureInvalidated;
    }
    *g = new tn_emu_graph{std::move(s->ops)};
    s->ops.clear();
    return cudaSuccess;
}
inline cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t g, unsigned long long flags = 0) {
    (void)flags;
    *exec = g ? new tn_emu_graph_exec{g->ops} : nullptr;
    return g ? cudaSuccess : cudaErrorInvalidValue;
}
inline cudaError_t cudaGraphDestroy(cudaGraph_t g) {
    delete g;
    return cudaSuccess;
}
inline cudaError_t cudaGraphExecDestroy(cudaGraphExec_t g) {
    delete g;
    return cudaSuccess;
}
inline cudaError_t cudaGraphLaunch(cudaGraphExec_t g, cudaStream_t s) {
    if (!g) return cudaErrorInvalidValue;
    if (s && s->capturing) return tn_emu_refuse_in_capture(s); /* graphs in graphs: not used here */
    for (auto &op : g->ops) op();
    return cudaGetLastError();
}

/* ---- cuBLAS ---------------------------------------------------------------------------------- */
typedef enum {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_ARCH_MISMATCH = 8,
    CUBLAS_STATUS_MAPPING_ERROR = 11,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_INTERNAL_ERROR = 14,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
} cublasStatus_t;
typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 } cublasOperation_t;
typedef enum { CUBLAS_POINTER_MODE_HOST = 0, CUBLAS_POINTER_MODE_DEVICE = 1 } cublasPointerMode_t;
typedef enum {
    CUBLAS_DEFAULT_MATH = 0,
    CUBLAS_TENSOR_OP_MATH = 1,
    CUBLAS_PEDANTIC_MATH = 2,
    CUBLAS_TF32_TENSOR_OP_MATH = 3,
} cublasMath_t;
struct cublasContext {
    cudaStream_t stream = nullptr;
    cublasMath_t math = CUBLAS_DEFAULT_MATH;
    cublasPointerMode_t pmode = CUBLAS_POINTER_MODE_HOST;
    void *ws = nullptr; /* the user workspace; cublasSetStream drops it, as cuBLAS does */
};
typedef cublasContext *cublasHandle_t;

inline const char *cublasGetStatusString(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    }
    return "unknown cuBLAS status";
}
inline cublasStatus_t cublasCreate(cublasHandle_t *h) {
    *h = new cublasContext;
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasDestroy(cublasHandle_t h) {
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->stream = s;
    h->ws = nullptr; /* cuBLAS: "unconditionally resets the cuBLAS library workspace" */
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetWorkspace(cublasHandle_t h, void *ws, size_t bytes) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (bytes && (!tn_emu_dev::holds(ws, bytes) || (uintptr_t)ws % 256)) return CUBLAS_STATUS_INVALID_VALUE;
    h->ws = bytes ? ws : nullptr;
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetPointerMode(cublasHandle_t h, cublasPointerMode_t m) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->pmode = m;
    return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    h->math = m;
    return CUBLAS_STATUS_SUCCESS;
}

/* A column-major rows x cols operand with leading dimension ld, TF32-rounded (round to nearest
 * even on the 13 dropped mantissa bits) into a packed copy. */
inline std::vector<float> tn_emu_tf32(const float *a, int rows, int cols, int ld) {
    std::vector<float> out((size_t)rows * cols);
    for (int j = 0; j < cols; j++)
        for (int i = 0; i < rows; i++) {
            uint32_t u;
            float f = a[(size_t)j * ld + i];
            memcpy(&u, &f, 4);
            if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x0fffu + ((u >> 13) & 1u)) & ~0x1fffu;
            memcpy(&f, &u, 4);
            out[(size_t)j * rows + i] = f;
        }
    return out;
}

/* C[m,n] = alpha op(A) op(B) + beta C, column-major, validated as cuBLAS does (and the operands'
 * extents checked against their device allocations, which a GPU would only show as a fault). */
inline cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                  const float *alpha, const float *A, int lda, const float *B, int ldb,
                                  const float *beta, float *C, int ldc) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!alpha || !beta || (ta != CUBLAS_OP_N && ta != CUBLAS_OP_T && ta != CUBLAS_OP_C) ||
        (tb != CUBLAS_OP_N && tb != CUBLAS_OP_T && tb != CUBLAS_OP_C))
        return CUBLAS_STATUS_INVALID_VALUE;
    /* Stricter than cuBLAS, on purpose: src/backend/cuda.cu promises captured GEMMs a fixed user
     * workspace (deterministic and allocation-free), so a capture without one is refused. */
    if (h->stream && h->stream->capturing && !h->ws) {
        tn_emu_rt::invalidate_captures();
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    int ar = ta == CUBLAS_OP_N ? m : k, ac = ta == CUBLAS_OP_N ? k : m; /* A as stored */
    int br = tb == CUBLAS_OP_N ? k : n, bc = tb == CUBLAS_OP_N ? n : k;
    if (m < 0 || n < 0 || k < 0 || lda < (ar > 1 ? ar : 1) || ldb < (br > 1 ? br : 1) || ldc < (m > 1 ? m : 1))
        return CUBLAS_STATUS_INVALID_VALUE;
    bool dev = h->pmode == CUBLAS_POINTER_MODE_DEVICE;
    if (dev && (!tn_emu_dev::holds(alpha, sizeof(float)) || !tn_emu_dev::holds(beta, sizeof(float))))
        return CUBLAS_STATUS_EXECUTION_FAILED; /* device pointer mode with host scalars: a fault */
    if (!dev && (tn_emu_dev::holds(alpha, 1) || tn_emu_dev::holds(beta, 1)))
        return CUBLAS_STATUS_EXECUTION_FAILED; /* host pointer mode reading device memory: a fault */
    if (!m || !n) return CUBLAS_STATUS_SUCCESS;
    auto extent = [](int rows, int cols, int ld) { return ((size_t)(cols - 1) * ld + rows) * sizeof(float); };
    if ((k && (!tn_emu_dev::holds(A, extent(ar, ac, lda)) || !tn_emu_dev::holds(B, extent(br, bc, ldb)))) ||
        !tn_emu_dev::holds(C, extent(m, n, ldc)))
        return CUBLAS_STATUS_EXECUTION_FAILED; /* an out-of-bounds operand: a fault on a GPU */
    /* host pointer mode: alpha and beta are read at the call (and so fixed at capture); device
     * pointer mode: read when the GEMM runs (so a graph replay sees the current values) */
    float al_host = dev ? 0.0f : *alpha, be_host = dev ? 0.0f : *beta;
    bool tf32 = h->math == CUBLAS_TF32_TENSOR_OP_MATH;
    auto op = [=]() {
        tn_emu_rt::DeviceOpen open;
        float al = dev ? *alpha : al_host, be = dev ? *beta : be_host;
        /* One OpenBLAS thread: a 2-thread OpenMP team between the kernels' blockDim-thread teams
         * would make libgomp retire and re-create its pool threads at every GEMM (10x slower). */
        int threads = openblas_get_num_threads();
        openblas_set_num_threads(1);
        CBLAS_TRANSPOSE oa = ta == CUBLAS_OP_N ? CblasNoTrans : CblasTrans;
        CBLAS_TRANSPOSE ob = tb == CUBLAS_OP_N ? CblasNoTrans : CblasTrans;
        if (tf32 && k) {
            std::vector<float> a = tn_emu_tf32(A, ar, ac, lda), b = tn_emu_tf32(B, br, bc, ldb);
            cblas_sgemm(CblasColMajor, oa, ob, m, n, k, al, a.data(), ar, b.data(), br, be, C, ldc);
        } else {
            cblas_sgemm(CblasColMajor, oa, ob, m, n, k, al, A, lda, B, ldb, be, C, ldc);
        }
        openblas_set_num_threads(threads);
    };
    bool now = false;
    if (tn_emu_rt::submit(h->stream, op, &now)) return CUBLAS_STATUS_EXECUTION_FAILED;
    if (now) op();
    return CUBLAS_STATUS_SUCCESS;
}

/* ---- cuRAND ---------------------------------------------------------------------------------- */
typedef enum curandStatus {
    CURAND_STATUS_SUCCESS = 0,
    CURAND_STATUS_VERSION_MISMATCH = 100,
    CURAND_STATUS_NOT_INITIALIZED = 101,
    CURAND_STATUS_ALLOCATION_FAILED = 102,
    CURAND_STATUS_TYPE_ERROR = 103,
    CURAND_STATUS_OUT_OF_RANGE = 104,
    CURAND_STATUS_LENGTH_NOT_MULTIPLE = 105,
    CURAND_STATUS_DOUBLE_PRECISION_REQUIRED = 106,
    CURAND_STATUS_LAUNCH_FAILURE = 201,
    CURAND_STATUS_PREEXISTING_FAILURE = 202,
    CURAND_STATUS_INITIALIZATION_FAILED = 203,
    CURAND_STATUS_ARCH_MISMATCH = 204,
    CURAND_STATUS_INTERNAL_ERROR = 999,
} curandStatus_t;
typedef enum { CURAND_RNG_PSEUDO_PHILOX4_32_10 = 161 } curandRngType_t;
struct tn_emu_curand {
    cudaStream_t stream = nullptr;
    unsigned long long seed = 0, offset = 0;
};
typedef tn_emu_curand *curandGenerator_t;

/* cuRAND's host generator (tests/cuda_emu_curand.c, built against the real curand.h). */
extern "C" int tn_emu_curand_host_normal(float *out, size_t n, float mean, float std, unsigned long long seed,
                                         unsigned long long offset);

inline curandStatus_t curandCreateGenerator(curandGenerator_t *g, curandRngType_t t) {
    if (t != CURAND_RNG_PSEUDO_PHILOX4_32_10) return CURAND_STATUS_TYPE_ERROR;
    *g = new tn_emu_curand;
    return CURAND_STATUS_SUCCESS;
}
inline curandStatus_t curandDestroyGenerator(curandGenerator_t g) {
    delete g;
    return CURAND_STATUS_SUCCESS;
}
inline curandStatus_t curandSetStream(curandGenerator_t g, cudaStream_t s) {
    g->stream = s;
    return CURAND_STATUS_SUCCESS;
}
inline curandStatus_t curandSetPseudoRandomGeneratorSeed(curandGenerator_t g, unsigned long long seed) {
    g->seed = seed;
    return CURAND_STATUS_SUCCESS;
}
inline curandStatus_t curandSetGeneratorOffset(curandGenerator_t g, unsigned long long offset) {
    g->offset = offset;
    return CURAND_STATUS_SUCCESS;
}
/* One draw at the generator's (seed, offset); the backend sets both before every draw, so how the
 * offset moves after a draw is not modelled. Draws inside a graph capture are not emulated. */
inline curandStatus_t curandGenerateNormal(curandGenerator_t g, float *out, size_t n, float mean, float std) {
    if (n % 2) return CURAND_STATUS_LENGTH_NOT_MULTIPLE;
    if (!tn_emu_dev::holds(out, n * sizeof(float))) return CURAND_STATUS_LAUNCH_FAILURE; /* a fault */
    if (tn_emu_refuse_in_capture(g->stream) != cudaSuccess) return CURAND_STATUS_LAUNCH_FAILURE;
    tn_emu_rt::DeviceOpen open;
    return tn_emu_curand_host_normal(out, n, mean, std, g->seed, g->offset) ? CURAND_STATUS_INTERNAL_ERROR
                                                                             : CURAND_STATUS_SUCCESS;
}

#endif
