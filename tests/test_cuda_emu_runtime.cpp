// The CUDA runtime emulation (tests/cuda_emu_runtime.h) catches what it promises to catch: the
// GpuEmu suite trusts it to turn a host/device slip, an overrunning GEMM or an illegal call during
// graph capture into a failure, so each of those is shown failing here. Compiled like the emulated
// backend: -include tests/cuda_emu.h, tests/emu_include first on the include path.
#include <cuda_runtime.h>
#include <cublas_v2.h>
#include <gtest/gtest.h>

#include <vector>

#include "tn_launch.cuh"

namespace {

__global__ void add_to(float *x, int n, float v) {
    int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (i < n) x[i] += v;
}

float *dev_floats(const std::vector<float> &h) {
    float *p = nullptr;
    EXPECT_EQ(cudaMalloc(&p, h.size() * sizeof(float)), cudaSuccess);
    EXPECT_EQ(cudaMemcpyAsync(p, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice, nullptr), cudaSuccess);
    return p;
}
std::vector<float> host_floats(const float *p, size_t n) {
    std::vector<float> h(n);
    EXPECT_EQ(cudaMemcpyAsync(h.data(), p, n * sizeof(float), cudaMemcpyDeviceToHost, nullptr), cudaSuccess);
    return h;
}

TEST(EmuRuntime, HostCodeCannotTouchDeviceMemory) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    float *p = dev_floats({1, 2, 3});
    EXPECT_DEATH(
        {
            volatile float x = p[1];
            (void)x;
        },
        "");
    EXPECT_EQ(host_floats(p, 3)[1], 2.0f); // through a copy it works
    EXPECT_EQ(cudaFree(p), cudaSuccess);
}

// A kernel running past its buffer faults (a guard page follows every block), and so does work
// that still uses a freed block (a graph replayed after cudaFree): neither reaches other memory.
TEST(EmuRuntime, OverrunsAndUseAfterFreeFault) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    float *p = dev_floats(std::vector<float>(1024, 0.0f)), *q = dev_floats(std::vector<float>(1024, 0.0f));
    EXPECT_DEATH(TN_LAUNCH(add_to, dim3(2), dim3(576), 0, nullptr, p, 1152, 1.0f), "");
    cudaStream_t s;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
    TN_LAUNCH(add_to, dim3(1), dim3(32), 0, s, q, 32, 1.0f);
    cudaGraph_t g;
    cudaGraphExec_t ex;
    ASSERT_EQ(cudaStreamEndCapture(s, &g), cudaSuccess);
    ASSERT_EQ(cudaGraphInstantiate(&ex, g, 0), cudaSuccess);
    cudaFree(q);
    EXPECT_DEATH(cudaGraphLaunch(ex, s), "");
    cudaGraphDestroy(g);
    cudaGraphExecDestroy(ex);
    cudaStreamDestroy(s);
    cudaFree(p);
}

TEST(EmuRuntime, KernelGivenAHostPointerFails) {
    float *p = dev_floats({1, 2, 3});
    std::vector<float> host = {1, 2, 3};
    TN_LAUNCH(add_to, dim3(1), dim3(32), 0, nullptr, host.data(), 3, 1.0f);
    EXPECT_EQ(cudaGetLastError(), cudaErrorIllegalAddress);
    EXPECT_EQ(host[0], 1.0f) << "the kernel must not have run";
    TN_LAUNCH(add_to, dim3(1), dim3(32), 0, nullptr, p, 3, 1.0f);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);
    EXPECT_EQ(host_floats(p, 3), (std::vector<float>{2, 3, 4}));
    cudaFree(p);
}

TEST(EmuRuntime, CopiesMustMatchTheirKind) {
    float *p = dev_floats({1, 2});
    std::vector<float> h(2);
    EXPECT_EQ(cudaMemcpyAsync(h.data(), p, 8, cudaMemcpyHostToDevice, nullptr), cudaErrorInvalidValue);
    EXPECT_EQ(cudaMemcpyAsync(p, h.data(), 8, cudaMemcpyDeviceToHost, nullptr), cudaErrorInvalidValue);
    EXPECT_EQ(cudaMemcpyAsync(h.data(), p, 12, cudaMemcpyDeviceToHost, nullptr), cudaErrorInvalidValue)
        << "a copy past the allocation";
    EXPECT_EQ(cudaFree(h.data()), cudaErrorInvalidDevicePointer);
    EXPECT_EQ(cudaFree(p + 1), cudaErrorInvalidDevicePointer);
    cudaFree(p);
}

TEST(EmuRuntime, DeviceHasAFixedSize) {
    size_t fr = 0, tot = 0;
    ASSERT_EQ(cudaMemGetInfo(&fr, &tot), cudaSuccess);
    void *p = nullptr;
    EXPECT_EQ(cudaMalloc(&p, fr + 1), cudaErrorMemoryAllocation);
    ASSERT_EQ(cudaMalloc(&p, 1 << 20), cudaSuccess);
    size_t fr2 = 0;
    cudaMemGetInfo(&fr2, &tot);
    EXPECT_EQ(fr - fr2, (size_t)1 << 20);
    cudaFree(p);
}

// Column-major C[m,n] = A[m,k] B[k,n] with the operands' leading dimensions checked as cuBLAS does
// and their extents checked against the allocations.
TEST(EmuRuntime, GemmChecksShapesAndBuffers) {
    cublasHandle_t h;
    ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
    const int m = 3, n = 2, k = 4;
    std::vector<float> a(m * k), b(k * n);
    for (int i = 0; i < m * k; i++) a[i] = 0.5f * (float)i - 1.0f;
    for (int i = 0; i < k * n; i++) b[i] = 1.0f + 0.25f * (float)i;
    float *da = dev_floats(a), *db = dev_floats(b), *dc = dev_floats(std::vector<float>(m * n, 7.0f));
    float one = 1, zero = 0;
    EXPECT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, da, m - 1, db, k, &zero, dc, m),
              CUBLAS_STATUS_INVALID_VALUE);
    EXPECT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n + 1, k, &one, da, m, db, k, &zero, dc, m),
              CUBLAS_STATUS_EXECUTION_FAILED)
        << "B and C are one column short";
    ASSERT_EQ(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, da, m, db, k, &zero, dc, m),
              CUBLAS_STATUS_SUCCESS);
    std::vector<float> c = host_floats(dc, m * n);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double want = 0;
            for (int l = 0; l < k; l++) want += (double)a[l * m + i] * b[j * k + l];
            EXPECT_NEAR(c[j * m + i], want, 1e-5 * (1 + std::abs(want))) << i << "," << j;
        }
    cudaFree(da), cudaFree(db), cudaFree(dc);
    cublasDestroy(h);
}

// cublasSetStream drops the user workspace (as cuBLAS does), and a captured GEMM needs one here.
TEST(EmuRuntime, CapturedGemmNeedsTheWorkspaceSetAfterTheStream) {
    cublasHandle_t h;
    cublasCreate(&h);
    cudaStream_t s;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    float *a = dev_floats(std::vector<float>(4, 1.0f)), *ws = nullptr;
    ASSERT_EQ(cudaMalloc(&ws, 1 << 20), cudaSuccess);
    EXPECT_EQ(cublasSetWorkspace(h, ws + 1, 4096), CUBLAS_STATUS_INVALID_VALUE) << "misaligned";
    float one = 1, zero = 0;
    cudaGraph_t g;
    for (int order = 0; order < 2; order++) { // 0: workspace then stream (lost), 1: stream then workspace
        if (order == 0) cublasSetWorkspace(h, ws, 1 << 20), cublasSetStream(h, s);
        else cublasSetStream(h, s), cublasSetWorkspace(h, ws, 1 << 20);
        ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
        cublasStatus_t st = cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a, 2, a, 2, &zero, a, 2);
        cudaError_t end = cudaStreamEndCapture(s, &g);
        if (order == 0) {
            EXPECT_EQ(st, CUBLAS_STATUS_NOT_SUPPORTED);
            EXPECT_EQ(end, cudaErrorStreamCaptureInvalidated);
        } else {
            EXPECT_EQ(st, CUBLAS_STATUS_SUCCESS);
            EXPECT_EQ(end, cudaSuccess);
            cudaGraphDestroy(g);
        }
    }
    cudaFree(a), cudaFree(ws);
    cublasDestroy(h);
    cudaStreamDestroy(s);
}

// Capture records; the graph runs the work, with the arguments of capture time, each launch.
TEST(EmuRuntime, CaptureRecordsAndGraphReplays) {
    cudaStream_t s;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    float *p = dev_floats({0, 0, 0});
    ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
    float v = 1.0f;
    TN_LAUNCH(add_to, dim3(1), dim3(32), 0, s, p, 3, v);
    v = 100.0f; // a launch copies its arguments: the graph keeps 1
    cudaGraph_t g;
    ASSERT_EQ(cudaStreamEndCapture(s, &g), cudaSuccess);
    EXPECT_EQ(host_floats(p, 3)[0], 0.0f) << "captured work must not run at capture";
    cudaGraphExec_t ex;
    ASSERT_EQ(cudaGraphInstantiate(&ex, g, 0), cudaSuccess);
    cudaGraphDestroy(g);
    ASSERT_EQ(cudaGraphLaunch(ex, s), cudaSuccess);
    ASSERT_EQ(cudaGraphLaunch(ex, s), cudaSuccess);
    EXPECT_EQ(host_floats(p, 3), (std::vector<float>{2, 2, 2}));
    cudaGraphExecDestroy(ex);
    cudaFree(p);
    cudaStreamDestroy(s);
}

// What CUDA forbids while a stream captures invalidates the capture, so a training step that
// synchronises or copies to the host inside the captured region cannot pass as graph-safe.
TEST(EmuRuntime, IllegalCallsInvalidateTheCapture) {
    cudaStream_t s;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    float *p = dev_floats({0, 0});
    std::vector<float> h(2);
    cudaGraph_t g;
    for (int what = 0; what < 5; what++) {
        ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
        TN_LAUNCH(add_to, dim3(1), dim3(32), 0, s, p, 2, 1.0f);
        if (what == 0) {
            EXPECT_EQ(cudaStreamSynchronize(s), cudaErrorStreamCaptureUnsupported);
        } else if (what == 1) {
            EXPECT_NE(cudaMemcpyAsync(h.data(), p, 8, cudaMemcpyDeviceToHost, s), cudaSuccess);
        } else if (what == 2) {
            void *q = nullptr;
            EXPECT_EQ(cudaMalloc(&q, 64), cudaErrorStreamCaptureUnsupported);
        } else if (what == 3) {
            EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorStreamCaptureUnsupported);
        } else {
            TN_LAUNCH(add_to, dim3(1), dim3(32), 0, nullptr, p, 2, 1.0f); // the legacy stream
            EXPECT_EQ(cudaGetLastError(), cudaErrorStreamCaptureImplicit);
        }
        EXPECT_EQ(cudaStreamEndCapture(s, &g), cudaErrorStreamCaptureInvalidated) << "case " << what;
        EXPECT_EQ(g, nullptr);
    }
    EXPECT_EQ(host_floats(p, 2), (std::vector<float>{0, 0})) << "nothing of a failed capture runs";
    cudaFree(p);
    cudaStreamDestroy(s);
}

} // namespace
