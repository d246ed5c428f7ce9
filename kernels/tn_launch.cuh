/* How kernels are launched and how CUDA calls are checked, in both ways kernels/ compiles:
 *  - nvcc: TN_LAUNCH(k, grid, block, shmem, stream, args...) is k<<<grid, block, shmem, stream>>>(args...);
 *  - the host C++ compiler with -DTN_CUDA_EMULATION -include tests/cuda_emu.h (the tests): the
 *    same line runs the kernel through the CPU emulation of DESIGN.md §3.
 * Kernel launchers live in namespace TN_KERNEL_NS (tn_cuda under nvcc, tn_emu under emulation), so
 * a program can link both builds of the same file without clashes.
 *
 * Checks (DESIGN.md §6: every CUDA call checked with a macro naming the call, file and line; the
 * library never exits): TN_CUDA_CHECK(err, call) records "call failed: reason (file:line)" in the
 * tn_err and returns its code from the enclosing function when call's status is not success. It is
 * generic: it works for any status type with tn_cuda_ok()/tn_cuda_status_str() overloads (CUDA's
 * here; cuBLAS's and cuRAND's in src/backend/cuda.cu). TN_LAUNCH_CHECK(err, name, stream) follows
 * every launch: it reports a launch error (bad configuration, too many resources) and, when
 * compiled with -DTN_CUDA_DEBUG_SYNC, also synchronises so a fault in the kernel is reported there. */
#ifndef TAUNET_TN_LAUNCH_CUH
#define TAUNET_TN_LAUNCH_CUH

#if defined(__CUDACC__)
#include <cuda_runtime.h>
#define TN_KERNEL_NS tn_cuda
#define TN_LAUNCH(kernel, grid, block, shmem, stream, ...) \
    kernel<<<(grid), (block), (shmem), (stream)>>>(__VA_ARGS__)
#elif defined(TN_CUDA_EMULATION)
#ifndef TAUNET_CUDA_EMU_H
#error "TN_CUDA_EMULATION: compile with -include tests/cuda_emu.h"
#endif
#define TN_KERNEL_NS tn_emu
#define TN_LAUNCH(kernel, grid, block, shmem, stream, ...) \
    tn_emu_rt::launch(#kernel, (grid), (block), (shmem), (stream), kernel, __VA_ARGS__)
#else
#error "kernels/ compile with nvcc, or with a C++ compiler and -DTN_CUDA_EMULATION -include tests/cuda_emu.h"
#endif

#include "taunet/error.h"

static inline bool tn_cuda_ok(cudaError_t s) { return s == cudaSuccess; }
static inline const char *tn_cuda_status_str(cudaError_t s) { return cudaGetErrorString(s); }

#define TN_CUDA_CHECK(err, call)                                                                    \
    do {                                                                                            \
        auto tn_st_ = (call);                                                                       \
        if (!tn_cuda_ok(tn_st_))                                                                    \
            return tn_fail((err), TN_ERUNTIME, "%s failed: %s (%s:%d)", #call,                      \
                           tn_cuda_status_str(tn_st_), __FILE__, __LINE__);                         \
    } while (0)

#ifdef TN_CUDA_DEBUG_SYNC
#define TN_LAUNCH_SYNC_(stream) cudaStreamSynchronize(stream)
#else
#define TN_LAUNCH_SYNC_(stream) cudaSuccess
#endif

#define TN_LAUNCH_CHECK(err, name, stream)                                                          \
    do {                                                                                            \
        cudaError_t tn_st_ = cudaGetLastError();                                                    \
        if (tn_st_ == cudaSuccess) tn_st_ = TN_LAUNCH_SYNC_(stream);                                \
        if (tn_st_ != cudaSuccess)                                                                  \
            return tn_fail((err), TN_ERUNTIME, "kernel %s failed: %s (%s:%d)", name,                \
                           cudaGetErrorString(tn_st_), __FILE__, __LINE__);                         \
    } while (0)

/* Launch and check in one line: the message names the kernel, the file and the line. */
#define TN_LAUNCH_CHECKED(err, kernel, grid, block, stream, ...)                                    \
    do {                                                                                            \
        TN_LAUNCH(kernel, grid, block, 0, stream, __VA_ARGS__);                                     \
        TN_LAUNCH_CHECK(err, #kernel, stream);                                                      \
    } while (0)

#endif
