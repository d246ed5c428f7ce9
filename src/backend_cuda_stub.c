/* Placeholder for the CUDA backend until kernels/ and src/backend_cuda.c land (issue: "The CUDA
 * backend"). It keeps the seam complete: --backend auto falls back to cpu, --backend cuda says why. */
#include "taunet/backend.h"

int tn_cuda_device_count(void) { return 0; }

tn_backend *tn_backend_cuda_create(int gpu, int tf32, tn_err *e) {
    tn_fail(e, TN_ERUNTIME, "the CUDA backend is not part of this build yet");
    return NULL;
}
