/* Which implementation "cuda" is: the real GPU backend, or one a test installs (tn_cuda_impl_set in
 * include/taunet/backend.h). Every caller (trainer, bench, sweep, --help) goes through these two. */
#include "taunet/backend.h"

static const tn_cuda_impl *installed; /* NULL: the real backend */

void tn_cuda_impl_set(const tn_cuda_impl *impl) { installed = impl; }

int tn_cuda_device_count(void) { return installed ? installed->device_count() : tn_cuda_hw_device_count(); }

tn_backend *tn_backend_cuda_create(int gpu, int tf32, tn_err *e) {
    return installed ? installed->create(gpu, tf32, e) : tn_backend_cuda_hw_create(gpu, tf32, e);
}
