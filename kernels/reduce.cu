/* reduce.cu: deterministic reductions to one float in device memory, and per-row norms.
 *   sumsq   out[0] = sum_i x_i^2        dot     out[0] = sum_i x_i y_i
 *   diffsq  out[0] = sum_i (x_i - y_i)^2    sum     out[0] = sum_i x_i
 *   row_norms  out[r] = ||x[r, :]||_2 for the n rows of x[n, m]
 * Terms and sums are in double (a float product is exact in double), as in the cpu backend.
 * sumsq/dot/diffsq: G = min(ceil(n / block), grid cap) blocks; each thread sums a fixed strided
 * set of elements, a block combines its threads with a warp-shuffle then shared-memory tree
 * (tn_block_sum) and writes one partial; a second one-block launch sums the G partials the same way
 * (with G = 1 the first launch writes out[0] itself). The order depends only on n and the block size:
 * the same bits on every run, no float atomics.
 * row_norms: one warp per row (lanes stride over the columns, then a butterfly of shuffles). */
#include "tn_kernels.cuh"

namespace TN_KERNEL_NS {

enum { OP_SUMSQ = 0, OP_DOT = 1, OP_DIFFSQ = 2, OP_SUM = 3 };

__device__ static inline double term(int op, const float *x, const float *y, size_t i) {
    double a = x[i];
    if (op == OP_SUMSQ) return a * a;
    if (op == OP_SUM) return a;
    double b = y[i];
    return op == OP_DOT ? a * b : (a - b) * (a - b);
}

static __global__ void reduce_kernel(int op, size_t n, const float *x, const float *y, double *part, float *out) {
    __shared__ double sh[32];
    double s = 0.0;
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) s += term(op, x, y, i);
    s = tn_block_sum(s, sh);
    if (threadIdx.x != 0) return;
    if (gridDim.x == 1) out[0] = (float)s;
    else part[blockIdx.x] = s;
}

static __global__ void reduce_final_kernel(int G, const double *part, float *out) {
    __shared__ double sh[32];
    double s = 0.0;
    for (int i = (int)threadIdx.x; i < G; i += (int)blockDim.x) s += part[i];
    s = tn_block_sum(s, sh);
    if (threadIdx.x == 0) out[0] = (float)s;
}

static __global__ void row_norms_kernel(int n, int m, const float *x, float *out) {
    int lane = (int)threadIdx.x & 31, wpb = (int)blockDim.x >> 5;
    /* the row loop is uniform across a warp, so every lane takes part in every shuffle */
    for (int r = (int)blockIdx.x * wpb + ((int)threadIdx.x >> 5); r < n; r += (int)gridDim.x * wpb) {
        const float *row = x + (size_t)r * m;
        double s = 0.0;
        for (int j = lane; j < m; j += 32) s += (double)row[j] * row[j];
        s = tn_warp_sum(s);
        if (lane == 0) out[r] = (float)sqrt(s);
    }
}

size_t reduce_ws_bytes(const tn_kcfg *c, size_t n) {
    int b = c->block > 0 ? c->block : TN_KDEFAULT_BLOCK;
    unsigned G = tn_kgrid(c, n, (size_t)b);
    return G > 1 ? (size_t)G * sizeof(double) : 0;
}

static int reduce(const tn_kcfg *c, int op, size_t n, const float *x, const float *y, float *out, void *ws) {
    int b = tn_kblock(c, "reduce");
    if (!b) return TN_ERUNTIME;
    unsigned G = tn_kgrid(c, n, (size_t)b);
    if (G > 1 && !ws) return tn_fail(c->err, TN_ERUNTIME, "reduce: no workspace for %u partial sums", G);
    TN_LAUNCH_CHECKED(c->err, reduce_kernel, dim3(G), dim3(b), c->stream, op, n, x, y, (double *)ws, out);
    if (G > 1)
        TN_LAUNCH_CHECKED(c->err, reduce_final_kernel, dim3(1), dim3(b), c->stream, (int)G, (const double *)ws, out);
    return 0;
}

int sumsq(const tn_kcfg *c, size_t n, const float *x, float *out, void *ws) {
    return reduce(c, OP_SUMSQ, n, x, NULL, out, ws);
}
int dot(const tn_kcfg *c, size_t n, const float *x, const float *y, float *out, void *ws) {
    return reduce(c, OP_DOT, n, x, y, out, ws);
}
int diffsq(const tn_kcfg *c, size_t n, const float *x, const float *y, float *out, void *ws) {
    return reduce(c, OP_DIFFSQ, n, x, y, out, ws);
}
int sum(const tn_kcfg *c, size_t n, const float *x, float *out, void *ws) { return reduce(c, OP_SUM, n, x, NULL, out, ws); }

int row_norms(const tn_kcfg *c, int n, int m, const float *x, float *out) {
    int b = tn_kblock(c, "row_norms");
    if (!b) return TN_ERUNTIME;
    if (n <= 0) return 0;
    TN_LAUNCH_CHECKED(c->err, row_norms_kernel, dim3(tn_kgrid(c, (size_t)n, (size_t)(b / 32))), dim3(b), c->stream,
                      n, m, x, out);
    return 0;
}

} /* namespace TN_KERNEL_NS */
