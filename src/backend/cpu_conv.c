/* The CPU backend's convolution ops (include/taunet/backend.h): loops over the index math of
 * kernels/tn_conv.cuh, parallel over output rows; every element is written by one thread in a
 * fixed order, so the results do not depend on the thread count. */
#include <string.h>

#include "backend/cpu_ops.h"

int tn_cpu_im2col(tn_backend *be, const tn_conv_geom *g, int n, const float *x, const float *add, float *cols) {
    long long rows = (long long)n * g->oh * g->ow;
    int ckk = g->c * g->k * g->k;
    float a = add ? *add : 0.0f;
#pragma omp parallel for schedule(static) if (rows * ckk > TN_CPU_PAR_MIN)
    for (long long r = 0; r < rows; r++)
        for (int col = 0; col < ckk; col++) {
            long long s = tn_im2col_src(g, r, col);
            cols[r * ckk + col] = s < 0 ? 0.0f : add ? x[s] + a : x[s];
        }
    return 0;
}

int tn_cpu_col2im(tn_backend *be, const tn_conv_geom *g, int n, const float *dcols, float beta, float *dx) {
    long long pix = (long long)n * g->h * g->w;
#pragma omp parallel for schedule(static) if (pix * g->c > TN_CPU_PAR_MIN)
    for (long long p = 0; p < pix; p++) {
        long long ex = p / ((long long)g->h * g->w);
        int r = (int)(p - ex * g->h * g->w), y = r / g->w, xx = r - y * g->w;
        for (int ci = 0; ci < g->c; ci++) {
            float *d = dx + ex * g->sn + ci * g->sc + y * g->sh + xx * g->sw;
            float s = tn_col2im_at(g, dcols, ex, ci, y, xx);
            *d = beta == 0.0f ? s : beta * *d + s;
        }
    }
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
