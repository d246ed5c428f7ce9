/* loss.cu: the loss of logits[n, d] against integer labels, per row then summed.
 *   loss_rows   one thread per row: the row loss and whether argmax == label, from tn_mse_row
 *               (1/2 ||f - onehot(y)||^2) or tn_xent_row (logsumexp(f) - f_y) of kernels/tn_math.cuh,
 *               which also write dlogits = scale * d(row loss)/d(logits) when dlogits != NULL;
 *               results go to a workspace of 2n floats (losses, then correct flags)
 *   loss_sum    one block sums the 2n floats in double in a fixed order (strided per thread, then a
 *               warp-shuffle/shared-memory tree): out[0] = sum of row losses, out[1] = number correct.
 * No float atomics, so the result is the same on every run. One thread per row suits the few
 * classes of these experiments (d <= 100); a warp per row would be the layout for large d. */
#include "tn_kernels.cuh"

namespace TN_KERNEL_NS {

static __global__ void loss_rows_kernel(int kind, int n, int d, const float *logits, const int32_t *labels,
                                        float scale, float *dlogits, float *rows) {
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (size_t)n; i += stride) {
        const float *f = logits + i * d;
        float *g = dlogits ? dlogits + i * d : NULL;
        float c;
        float l = kind == TN_LOSS_MSE ? tn_mse_row(f, d, labels[i], scale, g, &c)
                                      : tn_xent_row(f, d, labels[i], scale, g, &c);
        rows[i] = l;
        rows[n + i] = c;
    }
}

static __global__ void loss_sum_kernel(int n, const float *rows, float *out) {
    __shared__ double sh[32];
    double sl = 0.0, sc = 0.0;
    for (int i = (int)threadIdx.x; i < n; i += (int)blockDim.x) {
        sl += rows[i];
        sc += rows[n + i];
    }
    sl = tn_block_sum(sl, sh);
    sc = tn_block_sum(sc, sh);
    if (threadIdx.x == 0) {
        out[0] = (float)sl;
        out[1] = (float)sc;
    }
}

size_t loss_ws_bytes(int n) { return (size_t)(n > 0 ? n : 0) * 2 * sizeof(float); }

int loss(const tn_kcfg *c, tn_loss_kind kind, int n, int d, const float *logits, const int32_t *labels,
         float scale, float *dlogits, float *out, void *ws) {
    int b = tn_kblock(c, "loss");
    if (!b) return TN_ERUNTIME;
    if (n > 0 && !ws) return tn_fail(c->err, TN_ERUNTIME, "loss: no workspace for %d rows", n);
    float *rows = (float *)ws;
    if (n > 0)
        TN_LAUNCH_CHECKED(c->err, loss_rows_kernel, dim3(tn_kgrid(c, (size_t)n, (size_t)b)), dim3(b), c->stream,
                          (int)kind, n, d, logits, labels, scale, dlogits, rows);
    TN_LAUNCH_CHECKED(c->err, loss_sum_kernel, dim3(1), dim3(b), c->stream, n, (const float *)rows, out);
    return 0;
}

} /* namespace TN_KERNEL_NS */
