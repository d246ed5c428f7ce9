/* The CUDA backend of a build without nvcc (CMake found no CUDA toolkit): it keeps the seam
 * complete, so --backend auto falls back to cpu and --backend cuda says why. */
#include "taunet/backend.h"

int tn_cuda_hw_device_count(void) { return 0; }

tn_backend *tn_backend_cuda_hw_create(int gpu, int tf32, tn_err *e) {
    (void)gpu, (void)tf32;
    tn_fail(e, TN_ERUNTIME, "this taunet was built without the CUDA toolkit (nvcc not found by CMake); rebuild with CUDA, or use --backend cpu");
    return NULL;
}
