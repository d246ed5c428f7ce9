// Makes "cuda" mean src/backend/cuda.cu compiled against the CPU emulation (build/emu/
// backend_cuda_emu.cpp) for the whole taunet_gpu_emu_tests program, before any test runs, so
// tests/test_gpu.cpp's suite runs as GpuEmu in CI: the backend's own code and the orchestrator's
// use of it (memory, GEMM mapping, cuRAND offsets, graph capture and replay) without a GPU.
#include "taunet/backend.h"

extern "C" int tn_cuda_hw_device_count_emu(void);
extern "C" tn_backend *tn_backend_cuda_hw_create_emu(int gpu, int tf32, tn_err *e);

namespace {
const tn_cuda_impl emulated = {tn_cuda_hw_device_count_emu, tn_backend_cuda_hw_create_emu};
const int installed = (tn_cuda_impl_set(&emulated), 0);
} // namespace
