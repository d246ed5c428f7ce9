/* The CPU backend's ops that live outside cpu.c (cpu_conv.c), for its table. Internal to
 * src/backend/. */
#ifndef TAUNET_BACKEND_CPU_OPS_H
#define TAUNET_BACKEND_CPU_OPS_H
#include "taunet/backend.h"

#define TN_CPU_PAR_MIN 4096 /* below this many elements a loop runs on one thread */

int tn_cpu_im2col(tn_backend *be, const tn_conv_geom *g, int n, const float *x, const float *add, float *cols);
int tn_cpu_col2im(tn_backend *be, const tn_conv_geom *g, int n, const float *dcols, float beta, float *dx);
int tn_cpu_gather_augment(tn_backend *be, const float *src, int c, int h, int w, const int32_t *idx,
                          const int32_t *code, int nrows, float *dst, const int32_t *ysrc, int32_t *ydst);
int tn_cpu_shortcut_fwd(tn_backend *be, const tn_conv_geom *g, int n, const float *x, float *y);
int tn_cpu_shortcut_bwd(tn_backend *be, const tn_conv_geom *g, int n, const float *dy, float beta, float *dx);
int tn_cpu_avgpool_fwd(tn_backend *be, int n, int hw, int c, const float *x, float *y);
int tn_cpu_avgpool_bwd(tn_backend *be, int n, int hw, int c, const float *dy, float *dx);
int tn_cpu_bn_apply(tn_backend *be, int n, int m, const float *z, const float *mean, const float *invstd,
                    const float *gamma, const float *beta, float *y);
int tn_cpu_add_scalar(tn_backend *be, size_t n, float *x, const float *b);
#endif
