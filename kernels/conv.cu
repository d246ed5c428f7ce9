/* conv.cu: the convolution ops of the backend table, over the index math of tn_conv.cuh.
 *   im2col        cols[row, col] = x[src] (+ *add) or 0 for padding, one thread per entry
 *   col2im        dx[e] = beta dx[e] + the fixed-order sum of e's taps in dcols (a gather: no atomics)
 *   shortcut_fwd  the stage-entry subsample with zero channels appended
 *   shortcut_bwd  its gradient, a gather too
 *   avgpool_fwd   the mean over an example's pixel rows, one thread per (example, channel), double
 *   avgpool_bwd   dx = dy / hw
 *   gather_augment the minibatch gather of CHW images through their crop-flip codes
 * Every op is a 1-D grid-stride loop; consecutive threads take consecutive entries of the output
 * they write (coalesced). Each output element is computed by one thread in the order the CPU uses,
 * so both backends give the same bits (kernels compile with --fmad=false). */
#include "tn_kernels.cuh"

namespace TN_KERNEL_NS {

#define GRID_STRIDE(i, n)                                                                           \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x, s_ = (long long)gridDim.x * blockDim.x; \
         i < (long long)(n); i += s_)

static __global__ void im2col_kernel(tn_conv_geom g, long long total, const float *x, const float *add, float *cols) {
    int ckk = g.c * g.k * g.k;
    float a = add ? *add : 0.0f;
    GRID_STRIDE(i, total) {
        long long src = tn_im2col_src(&g, i / ckk, (int)(i % ckk));
        cols[i] = src < 0 ? 0.0f : add ? x[src] + a : x[src];
    }
}

static __global__ void col2im_kernel(tn_conv_geom g, long long total, const float *dcols, float beta, float *dx) {
    GRID_STRIDE(i, total) {
        long long p = i / g.c, ex = p / ((long long)g.h * g.w);
        int ci = (int)(i % g.c), r = (int)(p - ex * g.h * g.w), y = r / g.w, x = r - y * g.w;
        float *d = dx + ex * g.sn + ci * g.sc + y * g.sh + x * g.sw;
        float s = tn_col2im_at(&g, dcols, ex, ci, y, x);
        *d = beta == 0.0f ? s : beta * *d + s;
    }
}

static __global__ void shortcut_fwd_kernel(tn_conv_geom g, long long total, const float *x, float *y) {
    GRID_STRIDE(i, total) {
        long long src = tn_shortcut_src(&g, i / g.oc, (int)(i % g.oc));
        y[i] = src < 0 ? 0.0f : x[src];
    }
}

static __global__ void shortcut_bwd_kernel(tn_conv_geom g, long long total, const float *dy, float beta, float *dx) {
    GRID_STRIDE(i, total) {
        long long p = i / g.c, ex = p / ((long long)g.h * g.w);
        int c = (int)(i % g.c), r = (int)(p - ex * g.h * g.w), y = r / g.w, x = r - y * g.w;
        long long row = tn_shortcut_dst(&g, ex, y, x);
        float *d = dx + ex * g.sn + c * g.sc + y * g.sh + x * g.sw;
        float s = row < 0 ? 0.0f : dy[row * g.oc + c];
        *d = beta == 0.0f ? s : beta * *d + s;
    }
}

static __global__ void avgpool_fwd_kernel(int n, int hw, int ch, const float *x, float *y) {
    GRID_STRIDE(i, (long long)n * ch) {
        long long ex = i / ch;
        int j = (int)(i % ch);
        double s = 0.0;
        for (int r = 0; r < hw; r++) s += x[(ex * hw + r) * ch + j];
        y[i] = (float)(s / hw);
    }
}

static __global__ void avgpool_bwd_kernel(int n, int hw, int ch, const float *dy, float *dx) {
    GRID_STRIDE(i, (long long)n * hw * ch) {
        long long ex = i / ((long long)hw * ch);
        int j = (int)(i % ch);
        dx[i] = dy[ex * ch + j] / (float)hw;
    }
}

/* A 1-D grid-stride launch over `total` items (long long), the kernel's own arguments after. */
#define CONV_LAUNCH(c, kernel, total, ...)                                                         \
    do {                                                                                           \
        int b_ = tn_kblock(c, #kernel);                                                            \
        if (!b_) return TN_ERUNTIME;                                                               \
        if ((total) <= 0) return 0;                                                                \
        TN_LAUNCH_CHECKED((c)->err, kernel, dim3(tn_kgrid(c, (size_t)(total), (size_t)b_)), dim3(b_), \
                          (c)->stream, __VA_ARGS__);                                               \
        return 0;                                                                                  \
    } while (0)

static __global__ void gather_augment_kernel(long long total, const float *src, int h, int w, long long p,
                                             const int32_t *idx, const int32_t *code, float *dst,
                                             const int32_t *ysrc, int32_t *ydst) {
    GRID_STRIDE(i, total) {
        long long r = i / p, j = i - r * p, ex = idx[r];
        long long s = tn_augment_src(h, w, code[ex], j);
        dst[i] = s < 0 ? 0.0f : src[ex * p + s];
        if (ydst && j == 0) ydst[r] = ysrc[ex];
    }
}

int gather_augment(const tn_kcfg *c, const float *src, int ch, int h, int w, const int32_t *idx, const int32_t *code,
                   int nrows, float *dst, const int32_t *ysrc, int32_t *ydst) {
    long long p = (long long)ch * h * w, total = (long long)nrows * p;
    CONV_LAUNCH(c, gather_augment_kernel, total, total, src, h, w, p, idx, code, dst, ysrc, ydst);
}
int im2col(const tn_kcfg *c, const tn_conv_geom *g, int n, const float *x, const float *add, float *cols) {
    long long total = (long long)n * g->oh * g->ow * g->c * g->k * g->k;
    CONV_LAUNCH(c, im2col_kernel, total, *g, total, x, add, cols);
}
int col2im(const tn_kcfg *c, const tn_conv_geom *g, int n, const float *dcols, float beta, float *dx) {
    long long total = (long long)n * g->h * g->w * g->c;
    CONV_LAUNCH(c, col2im_kernel, total, *g, total, dcols, beta, dx);
}
int shortcut_fwd(const tn_kcfg *c, const tn_conv_geom *g, int n, const float *x, float *y) {
    long long total = (long long)n * g->oh * g->ow * g->oc;
    CONV_LAUNCH(c, shortcut_fwd_kernel, total, *g, total, x, y);
}
int shortcut_bwd(const tn_kcfg *c, const tn_conv_geom *g, int n, const float *dy, float beta, float *dx) {
    long long total = (long long)n * g->h * g->w * g->c;
    CONV_LAUNCH(c, shortcut_bwd_kernel, total, *g, total, dy, beta, dx);
}
int avgpool_fwd(const tn_kcfg *c, int n, int hw, int ch, const float *x, float *y) {
    CONV_LAUNCH(c, avgpool_fwd_kernel, (long long)n * ch, n, hw, ch, x, y);
}
int avgpool_bwd(const tn_kcfg *c, int n, int hw, int ch, const float *dy, float *dx) {
    CONV_LAUNCH(c, avgpool_bwd_kernel, (long long)n * hw * ch, n, hw, ch, dy, dx);
}

} /* namespace TN_KERNEL_NS */
