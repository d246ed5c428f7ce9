/* CUDA execution emulation (DESIGN.md §3): runs the kernels/ .cu files on the CPU, compiled by the host C++
 * compiler with -DTN_CUDA_EMULATION -include tests/cuda_emu.h. Test infrastructure, not a backend.
 *
 * The model it implements:
 *  - blocks run one after another (z, then y, then x outermost to innermost, all sequential);
 *  - the threads of a block run as one OpenMP team of blockDim.x*y*z real threads, so threads
 *    really interleave and __syncthreads() (an OpenMP barrier) really orders them;
 *  - threadIdx / blockIdx / blockDim / gridDim are thread_local, set at the start of each block;
 *  - __shared__ is `static`: one buffer for the whole launch, which is one buffer per block since
 *    blocks never overlap (dynamic `extern __shared__` memory is not emulated: launches with
 *    shmem > 0 fail with cudaErrorInvalidValue);
 *  - warps are 32 consecutive linear thread ids; __shfl_*_sync and __syncwarp exchange through a
 *    per-warp buffer ordered by a per-warp std::barrier, so every lane of the warp must take part
 *    (full-warp, convergent shuffles only; a mask that leaves out a live lane aborts the test);
 *  - atomics are GCC __atomic builtins (float/double atomicAdd as compare-and-swap loops);
 *  - a launch whose configuration CUDA would refuse (block > 1024 threads, grid.y/z > 65535, a
 *    zero dimension) does not run and sets the error that cudaGetLastError() returns, as on a GPU.
 * What it cannot show (coalescing, bank conflicts, divergence semantics, asynchronous faults...)
 * is listed in docs/CUDA.md. Set OMP_WAIT_POLICY=passive on small machines (CTest does). */
#ifndef TAUNET_CUDA_EMU_H
#define TAUNET_CUDA_EMU_H
#ifndef TN_CUDA_EMULATION
#define TN_CUDA_EMULATION 1
#endif
#ifdef __CUDACC__
#error "tests/cuda_emu.h is for the host C++ compiler, not nvcc"
#endif

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <barrier>
#include <functional>
#include <memory>
#include <type_traits>
#include <vector>

/* ---- qualifiers ---------------------------------------------------------------------------- */
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __shared__ static
#define __launch_bounds__(...)

/* ---- types and built-in variables ---------------------------------------------------------- */
struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
inline thread_local uint3 threadIdx, blockIdx;
inline thread_local dim3 blockDim, gridDim;
constexpr int warpSize = 32;

typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevicePointer = 17,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorIllegalAddress = 700,
    cudaErrorStreamCaptureUnsupported = 900,
    cudaErrorStreamCaptureInvalidated = 901,
    cudaErrorStreamCaptureImplicit = 906,
} cudaError_t;

inline const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureImplicit: return "operation would make the legacy stream depend on a capturing blocking stream";
    }
    return "unknown error";
}

/* A stream. Work runs at once (launches are synchronous), except while the stream captures a graph
 * (cudaStreamBeginCapture in tests/cuda_emu_runtime.h): then launches, cuBLAS calls and device
 * copies are recorded in `ops` instead, to run when the graph is launched, with their arguments
 * taken at capture time as on a GPU. */
struct CUstream_st {
    bool capturing = false;
    bool invalidated = false; /* an illegal call during the capture: EndCapture fails */
    std::vector<std::function<void()>> ops;
};
typedef CUstream_st *cudaStream_t;

namespace tn_emu_rt {
/* Per-launch state shared by the threads of the running block. */
struct Block {
    int nthreads = 0;
    std::vector<std::unique_ptr<std::barrier<>>> warp_bar;
    std::vector<uint64_t> xchg; /* 32 slots per warp */
};
inline thread_local Block *cur = nullptr;
inline cudaError_t last_error = cudaSuccess; /* sticky until cudaGetLastError(), like CUDA's */
inline long launches = 0;                    /* launches run, for tests that count them */
inline std::vector<CUstream_st *> capturing; /* streams capturing now */
/* A call CUDA refuses while a capture is open: every open capture is invalidated. */
inline void invalidate_captures() {
    for (CUstream_st *s : capturing) s->invalidated = true;
}

/* Hooks of the runtime emulation (tests/cuda_emu_runtime.h), unset for kernel-only tests that pass
 * host vectors: `device_ptr` says whether a kernel's pointer argument lies in emulated device memory
 * (a host pointer handed to a kernel is the bug it catches); `open_device`/`close_device` make
 * device memory accessible while emulated device work runs and inaccessible to host code again. */
inline bool (*device_ptr)(const void *p) = nullptr;
inline void (*open_device)(void) = nullptr;
inline void (*close_device)(void) = nullptr;
struct DeviceOpen {
    DeviceOpen() {
        if (open_device) open_device();
    }
    ~DeviceOpen() {
        if (close_device) close_device();
    }
};

/* Where work submitted to `s` goes: cudaSuccess with *run_now true to run it now, or false when it
 * was recorded into the stream's capture; an error when it is refused (an invalidated capture, or
 * the legacy stream while a capture is open), which launches also leave pending for
 * cudaGetLastError(). */
inline cudaError_t submit(cudaStream_t s, std::function<void()> &&op, bool *run_now) {
    *run_now = false;
    if (!s && !capturing.empty()) {
        /* CUDA refuses legacy-stream work while a blocking stream captures; with our non-blocking
         * stream it would run outside the graph, as much a bug: refused here either way */
        invalidate_captures();
        return cudaErrorStreamCaptureImplicit;
    }
    if (s && s->capturing) {
        if (s->invalidated) return cudaErrorStreamCaptureInvalidated;
        s->ops.push_back(std::move(op));
        return cudaSuccess;
    }
    *run_now = true;
    return cudaSuccess;
}

template <class T> inline void check_ptr_arg(const char *kernel, const T &v) {
    if constexpr (std::is_pointer_v<T>) {
        if (device_ptr && v && !device_ptr((const void *)v)) {
            fprintf(stderr, "cuda_emu: kernel %s got a pointer that is not device memory: %p\n", kernel, (const void *)v);
            if (last_error == cudaSuccess) last_error = cudaErrorIllegalAddress;
        }
    }
}

inline int linear_tid() {
    return (int)(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
}
[[noreturn]] inline void die(const char *what) {
    fprintf(stderr, "cuda_emu: %s\n", what);
    abort();
}
inline void warp_wait() {
    Block *b = cur;
    if (!b) die("warp operation outside a kernel");
    b->warp_bar[(size_t)(linear_tid() / 32)]->arrive_and_wait();
}
/* Lanes of this thread's warp that exist (the last warp of a block may be partial). */
inline unsigned live_mask() {
    int w = linear_tid() / 32, nw = cur->nthreads - w * 32;
    return nw >= 32 ? 0xffffffffu : ((1u << nw) - 1u);
}
/* One shuffle: every lane publishes v, then reads lane src (own value when src < 0). */
template <class T> inline T shuffle(unsigned mask, T v, int src) {
    static_assert(sizeof(T) <= 8, "cuda_emu: shuffles of at most 8 bytes");
    Block *b = cur;
    if (!b) die("warp shuffle outside a kernel");
    if ((mask & live_mask()) != live_mask())
        die("warp shuffle with a mask that leaves out live lanes (only full-warp shuffles are emulated)");
    int t = linear_tid(), w = t / 32;
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof(T));
    b->xchg[(size_t)t] = bits;
    b->warp_bar[(size_t)w]->arrive_and_wait();
    T out = v;
    if (src >= 0 && w * 32 + src < b->nthreads) memcpy(&out, &b->xchg[(size_t)(w * 32 + src)], sizeof(T));
    b->warp_bar[(size_t)w]->arrive_and_wait(); /* nobody overwrites a slot before all have read */
    return out;
}

template <class... P, class... A>
void run_blocks(const char *name, dim3 grid, dim3 block, unsigned long long nt, void (*kernel)(P...),
                const A &...args);

/* Launch: validates like the CUDA runtime, then runs the blocks one after another, each as an
 * OpenMP team. Kernel arguments convert to the kernel's parameter types as in a real launch. */
template <class... P, class... A>
void launch(const char *name, dim3 grid, dim3 block, size_t shmem, cudaStream_t stream, void (*kernel)(P...),
            A &&...args) {
    static_assert(sizeof...(P) == sizeof...(A), "cuda_emu: wrong number of kernel arguments");
    unsigned long long nt = (unsigned long long)block.x * block.y * block.z;
    if (!grid.x || !grid.y || !grid.z || !nt || nt > 1024 || block.x > 1024 || block.y > 1024 ||
        block.z > 64 || grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535) {
        if (last_error == cudaSuccess) last_error = cudaErrorInvalidConfiguration;
        return;
    }
    if (shmem) { /* dynamic shared memory is not emulated */
        if (last_error == cudaSuccess) last_error = cudaErrorInvalidValue;
        return;
    }
    cudaError_t before = last_error;
    (check_ptr_arg(name, args), ...);
    if (last_error != before) return; /* a GPU would fault; the error is pending */
    /* the arguments as the kernel takes them, copied now (a launch copies its arguments) */
    std::function<void()> run = [=]() { run_blocks(name, grid, block, nt, kernel, args...); };
    bool now = false;
    if (cudaError_t e = submit(stream, std::move(run), &now)) {
        if (last_error == cudaSuccess) last_error = e;
    } else if (now) {
        run_blocks(name, grid, block, nt, kernel, args...);
    }
}

/* Runs the blocks of one launch, one after another, each as an OpenMP team. */
template <class... P, class... A>
void run_blocks(const char *name, dim3 grid, dim3 block, unsigned long long nt, void (*kernel)(P...),
                const A &...args) {
    DeviceOpen open;
    Block st;
    st.nthreads = (int)nt;
    int nw = (int)((nt + 31) / 32);
    for (int w = 0; w < nw; w++) {
        long lanes = (long)nt - 32L * w < 32 ? (long)nt - 32L * w : 32;
        st.warp_bar.emplace_back(new std::barrier<>(lanes));
    }
    st.xchg.assign((size_t)nw * 32, 0);
    omp_set_dynamic(0);
    for (unsigned bz = 0; bz < grid.z; bz++)
        for (unsigned by = 0; by < grid.y; by++)
            for (unsigned bx = 0; bx < grid.x; bx++) {
                int short_team = 0;
#pragma omp parallel num_threads((int)nt)
                {
                    if (omp_get_num_threads() != (int)nt) {
#pragma omp atomic write
                        short_team = 1;
                    } else {
                        unsigned t = (unsigned)omp_get_thread_num();
                        threadIdx = uint3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
                        blockIdx = uint3{bx, by, bz};
                        blockDim = block;
                        gridDim = grid;
                        cur = &st;
                        kernel(args...);
                        cur = nullptr;
                    }
                }
                if (short_team) {
                    fprintf(stderr, "cuda_emu: %s: OpenMP gave fewer than %llu threads (OMP_THREAD_LIMIT?)\n",
                            name, nt);
                    abort();
                }
            }
    launches++;
}
} /* namespace tn_emu_rt */

/* ---- runtime calls the kernels' launchers use ---------------------------------------------- */
inline cudaError_t cudaGetLastError(void) {
    cudaError_t e = tn_emu_rt::last_error;
    tn_emu_rt::last_error = cudaSuccess;
    return e;
}
inline cudaError_t cudaPeekAtLastError(void) { return tn_emu_rt::last_error; }
/* Launches are synchronous, so there is nothing to wait for; but a capturing stream may not be
 * synchronised (CUDA refuses it and invalidates the capture). */
inline cudaError_t cudaStreamSynchronize(cudaStream_t s) {
    if (s && s->capturing) {
        s->invalidated = true;
        return cudaErrorStreamCaptureUnsupported;
    }
    if (!s && !tn_emu_rt::capturing.empty()) {
        tn_emu_rt::invalidate_captures();
        return cudaErrorStreamCaptureImplicit;
    }
    return cudaSuccess;
}
inline cudaError_t cudaDeviceSynchronize(void) {
    if (tn_emu_rt::capturing.empty()) return cudaSuccess;
    tn_emu_rt::invalidate_captures(); /* illegal while any capture is open */
    return cudaErrorStreamCaptureUnsupported;
}

/* ---- synchronisation and warp intrinsics --------------------------------------------------- */
/* A function, not a macro, so `if (c) __syncthreads();` stays legal (an orphaned barrier binds to
 * the block's team). As in CUDA, every thread of the block must reach it. */
inline void __syncthreads(void) {
#pragma omp barrier
}
inline void __syncwarp(unsigned mask = 0xffffffffu) {
    (void)mask;
    tn_emu_rt::warp_wait();
}
template <class T> inline T __shfl_sync(unsigned mask, T v, int src, int width = warpSize) {
    int lane = tn_emu_rt::linear_tid() % 32;
    return tn_emu_rt::shuffle(mask, v, (lane / width) * width + (src % width));
}
template <class T> inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
    int lane = tn_emu_rt::linear_tid() % 32;
    int ok = (lane % width) + (int)delta < width;
    return tn_emu_rt::shuffle(mask, v, ok ? lane + (int)delta : -1);
}
template <class T> inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
    int lane = tn_emu_rt::linear_tid() % 32;
    int ok = (lane % width) >= (int)delta;
    return tn_emu_rt::shuffle(mask, v, ok ? lane - (int)delta : -1);
}
template <class T> inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = warpSize) {
    int lane = tn_emu_rt::linear_tid() % 32, src = lane ^ lane_mask;
    return tn_emu_rt::shuffle(mask, v, src / width == lane / width ? src : -1);
}

/* ---- memory fences and atomics -------------------------------------------------------------- */
inline void __threadfence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

inline int atomicAdd(int *p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicAdd(unsigned *p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v) {
    return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
template <class F, class U> inline F tn_emu_atomic_add_float(F *p, F v) {
    U *q = (U *)p, old = __atomic_load_n(q, __ATOMIC_SEQ_CST), nu;
    F f;
    do {
        memcpy(&f, &old, sizeof f);
        F s = f + v;
        memcpy(&nu, &s, sizeof nu);
    } while (!__atomic_compare_exchange_n(q, &old, nu, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    return f;
}
inline float atomicAdd(float *p, float v) { return tn_emu_atomic_add_float<float, uint32_t>(p, v); }
inline double atomicAdd(double *p, double v) { return tn_emu_atomic_add_float<double, uint64_t>(p, v); }
inline int atomicSub(int *p, int v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }
inline int atomicExch(int *p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicExch(unsigned *p, unsigned v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
template <class T> inline T tn_emu_atomic_minmax(T *p, T v, int want_max) {
    T old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while ((want_max ? v > old : v < old) &&
           !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    }
    return old;
}
inline int atomicMax(int *p, int v) { return tn_emu_atomic_minmax(p, v, 1); }
inline int atomicMin(int *p, int v) { return tn_emu_atomic_minmax(p, v, 0); }
inline unsigned atomicMax(unsigned *p, unsigned v) { return tn_emu_atomic_minmax(p, v, 1); }
inline unsigned atomicMin(unsigned *p, unsigned v) { return tn_emu_atomic_minmax(p, v, 0); }
template <class T> inline T tn_emu_atomic_cas(T *p, T cmp, T v) {
    __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return cmp; /* the old value either way */
}
inline int atomicCAS(int *p, int cmp, int v) { return tn_emu_atomic_cas(p, cmp, v); }
inline unsigned atomicCAS(unsigned *p, unsigned cmp, unsigned v) { return tn_emu_atomic_cas(p, cmp, v); }
inline unsigned long long atomicCAS(unsigned long long *p, unsigned long long cmp, unsigned long long v) {
    return tn_emu_atomic_cas(p, cmp, v);
}
/* ((old >= limit) ? 0 : old + 1), as CUDA's atomicInc */
inline unsigned atomicInc(unsigned *p, unsigned limit) {
    unsigned old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (!__atomic_compare_exchange_n(p, &old, old >= limit ? 0u : old + 1u, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
    }
    return old;
}

/* ---- device math that the host library lacks ------------------------------------------------ */
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
template <class T> inline T __ldg(const T *p) { return *p; }

#endif
