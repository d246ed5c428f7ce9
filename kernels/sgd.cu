/* sgd.cu: one SGD step with momentum and weight decay over n parameters, PyTorch semantics
 * (tn_sgd of kernels/tn_math.cuh): g' = g + wd * w; v = mu * v + g' when mu != 0; w -= lr * (v or g').
 * v may be NULL when mu == 0. A grid-stride loop; each element is read and written once.
 * sgd_dev takes lr, mu, wd from device memory (hyp[0..2]), read by every thread when the kernel
 * runs, so a captured graph uses the values of each replay. */
#include "tn_kernels.cuh"

namespace TN_KERNEL_NS {

static __global__ void sgd_kernel(size_t n, float *w, const float *g, float *v, float lr, float mu, float wd,
                                  const float *hyp) {
    if (hyp) lr = hyp[0], mu = hyp[1], wd = hyp[2];
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        float vi = v ? v[i] : 0.0f;
        w[i] = tn_sgd(w[i], g[i], &vi, lr, mu, wd);
        if (v) v[i] = vi;
    }
}

int sgd(const tn_kcfg *c, size_t n, float *w, const float *g, float *v, float lr, float mu, float wd) {
    int b = tn_kblock(c, "sgd");
    if (!b) return TN_ERUNTIME;
    if (n == 0) return 0;
    TN_LAUNCH_CHECKED(c->err, sgd_kernel, dim3(tn_kgrid(c, n, (size_t)b)), dim3(b), c->stream, n, w, g, v, lr, mu,
                      wd, (const float *)NULL);
    return 0;
}

int sgd_dev(const tn_kcfg *c, size_t n, float *w, const float *g, float *v, const float *hyp) {
    int b = tn_kblock(c, "sgd_dev");
    if (!b) return TN_ERUNTIME;
    if (n == 0) return 0;
    TN_LAUNCH_CHECKED(c->err, sgd_kernel, dim3(tn_kgrid(c, n, (size_t)b)), dim3(b), c->stream, n, w, g, v, 0.0f,
                      0.0f, 0.0f, hyp);
    return 0;
}

} /* namespace TN_KERNEL_NS */
