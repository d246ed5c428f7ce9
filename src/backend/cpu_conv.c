/* The CPU backend's convolution ops (include/taunet/backend.h): loops over the index math of
 * kernels/tn_conv.cuh, parallel over output rows; every element is written by one thread in a
 * fixed order, so the results do not depend on the thread count. */
#include <string.h>

#include "backend/cpu_ops.h"

/* im2col and col2im use the index math of kernels/tn_conv.cuh at pixel granularity (the
 * per-element tn_im2col_src / tn_col2im_at with their divisions cost 4x the GEMM): im2col one
 * tn_im2col_tap per output pixel and tap, then that pixel's channels; col2im tn_col2im_taps per
 * input pixel and chunk of channels, in the (ky, kx) order of the CUDA kernel, so the two agree
 * bit for bit. */
int tn_cpu_im2col(tn_backend *be, const tn_conv_geom *g, int n, const float *x, const float *add, float *cols) {
    long long rows = (long long)n * g->oh * g->ow;
    int k = g->k, kk = k * k, ckk = g->c * kk;
    float a = add ? *add : 0.0f;
#pragma omp parallel for schedule(static) if (rows * ckk > TN_CPU_PAR_MIN)
    for (long long r = 0; r < rows; r++) {
        long long ex = r / ((long long)g->oh * g->ow);
        int rr = (int)(r - ex * g->oh * g->ow), oy = rr / g->ow, ox = rr - oy * g->ow;
        float *row = cols + r * ckk;
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                long long at = tn_im2col_tap(g, ex, oy, ox, ky, kx);
                int t = ky * k + kx;
                if (at < 0) {
                    for (int ci = 0; ci < g->c; ci++) row[ci * kk + t] = 0.0f;
                    continue;
                }
                const float *px = x + at;
                if (add)
                    for (int ci = 0; ci < g->c; ci++) row[ci * kk + t] = px[ci * g->sc] + a;
                else
                    for (int ci = 0; ci < g->c; ci++) row[ci * kk + t] = px[ci * g->sc];
            }
    }
    return 0;
}

#define COL2IM_CHUNK 64 /* channels summed at once (a local accumulator per channel) */
int tn_cpu_col2im(tn_backend *be, const tn_conv_geom *g, int n, const float *dcols, float beta, float *dx) {
    long long pix = (long long)n * g->h * g->w;
#pragma omp parallel for schedule(static) if (pix * g->c > TN_CPU_PAR_MIN)
    for (long long p = 0; p < pix; p++) {
        long long ex = p / ((long long)g->h * g->w);
        int r = (int)(p - ex * g->h * g->w), y = r / g->w, xx = r - y * g->w;
        float *d = dx + ex * g->sn + y * g->sh + xx * g->sw;
        for (int c0 = 0; c0 < g->c; c0 += COL2IM_CHUNK) {
            int cn = g->c - c0 < COL2IM_CHUNK ? g->c - c0 : COL2IM_CHUNK;
            float s[COL2IM_CHUNK];
            for (int j = 0; j < cn; j++) s[j] = 0.0f;
            tn_col2im_taps(g, dcols, ex, y, xx, c0, cn, s);
            for (int j = 0; j < cn; j++) {
                float *o = d + (long long)(c0 + j) * g->sc;
                *o = beta == 0.0f ? s[j] : beta * *o + s[j];
            }
        }
    }
    return 0;
}

int tn_cpu_gather_augment(tn_backend *be, const float *src, int c, int h, int w, const int32_t *idx,
                          const int32_t *code, int nrows, float *dst, const int32_t *ysrc, int32_t *ydst) {
    long long p = (long long)c * h * w;
#pragma omp parallel for schedule(static) if (nrows * p > TN_CPU_PAR_MIN)
    for (int r = 0; r < nrows; r++) {
        const float *x = src + (long long)idx[r] * p;
        int k = code[idx[r]];
        for (long long j = 0; j < p; j++) {
            long long s = tn_augment_src(h, w, k, j);
            dst[r * p + j] = s < 0 ? 0.0f : x[s];
        }
    }
    if (ydst)
        for (int r = 0; r < nrows; r++) ydst[r] = ysrc[idx[r]];
    return 0;
}

int tn_cpu_shortcut_fwd(tn_backend *be, const tn_conv_geom *g, int n, const float *x, float *y) {
    long long rows = (long long)n * g->oh * g->ow;
#pragma omp parallel for schedule(static) if (rows * g->oc > TN_CPU_PAR_MIN)
    for (long long r = 0; r < rows; r++)
        for (int c = 0; c < g->oc; c++) {
            long long s = tn_shortcut_src(g, r, c);
            y[r * g->oc + c] = s < 0 ? 0.0f : x[s];
        }
    return 0;
}

int tn_cpu_shortcut_bwd(tn_backend *be, const tn_conv_geom *g, int n, const float *dy, float beta, float *dx) {
    long long pix = (long long)n * g->h * g->w;
#pragma omp parallel for schedule(static) if (pix * g->c > TN_CPU_PAR_MIN)
    for (long long p = 0; p < pix; p++) {
        long long ex = p / ((long long)g->h * g->w);
        int r = (int)(p - ex * g->h * g->w), y = r / g->w, xx = r - y * g->w;
        long long row = tn_shortcut_dst(g, ex, y, xx);
        for (int c = 0; c < g->c; c++) {
            float *d = dx + ex * g->sn + c * g->sc + y * g->sh + xx * g->sw;
            float s = row < 0 ? 0.0f : dy[row * g->oc + c];
            *d = beta == 0.0f ? s : beta * *d + s;
        }
    }
    return 0;
}

int tn_cpu_avgpool_fwd(tn_backend *be, int n, int hw, int c, const float *x, float *y) {
#pragma omp parallel for schedule(static) if ((long long)n * hw * c > TN_CPU_PAR_MIN)
    for (int ex = 0; ex < n; ex++)
        for (int j = 0; j < c; j++) {
            double s = 0.0;
            for (int r = 0; r < hw; r++) s += x[((size_t)ex * hw + r) * c + j];
            y[(size_t)ex * c + j] = (float)(s / hw);
        }
    return 0;
}

int tn_cpu_avgpool_bwd(tn_backend *be, int n, int hw, int c, const float *dy, float *dx) {
#pragma omp parallel for schedule(static) if ((long long)n * hw * c > TN_CPU_PAR_MIN)
    for (int ex = 0; ex < n; ex++)
        for (int r = 0; r < hw; r++)
            for (int j = 0; j < c; j++) dx[((size_t)ex * hw + r) * c + j] = dy[(size_t)ex * c + j] / (float)hw;
    return 0;
}

int tn_cpu_bn_apply(tn_backend *be, int n, int m, const float *z, const float *mean, const float *invstd,
                    const float *gamma, const float *beta, float *y) {
#pragma omp parallel for schedule(static) if ((size_t)n * m > TN_CPU_PAR_MIN)
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            size_t o = (size_t)i * m + j;
            y[o] = tn_bn_apply(z[o], mean[j], invstd[j], gamma[j], beta[j]);
        }
    return 0;
}

int tn_cpu_add_scalar(tn_backend *be, size_t n, float *x, const float *b) {
    float v = *b;
#pragma omp parallel for schedule(static) if (n > TN_CPU_PAR_MIN)
    for (size_t i = 0; i < n; i++) x[i] += v;
    return 0;
}
