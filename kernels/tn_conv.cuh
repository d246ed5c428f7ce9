/* The index math of the convolution ops, written once and used by the CPU loops (C) and the CUDA
 * kernels (nvcc): im2col, col2im (a gather: each input element sums its taps in a fixed order, so
 * no atomics and the same bits on both backends), the subsample-and-pad shortcut, and global
 * average pooling. DESIGN.md §9: activations are pixel rows [n*h*w, c] (NHWC), so a convolution
 * is im2col then the ordinary GEMM  Z = cols W^T  with W [oc, c*k*k] (PyTorch's [oc, c, k, k] as
 * stored); column (ci*k + ky)*k + kx of cols is tap (ky, kx) of input channel ci.
 * C-compatible: no references, no templates, no overloading. */
#ifndef TAUNET_TN_CONV_CUH
#define TAUNET_TN_CONV_CUH

#include "tn_math.cuh"

/* One convolution's geometry, by value: input c x h x w, output oc x oh x ow, a k x k kernel with
 * stride and zero padding. The input is read (and its gradient written) at element
 * ex*sn + ci*sc + y*sh + x*sw of example ex: pixel rows [n*h*w, c] have (sn, sc, sh, sw) =
 * (h*w*c, 1, w*c, c); an image as loaded, CHW per example (the stem's input), (c*h*w, h*w, w, 1).
 * Outputs are always pixel rows [n*oh*ow, oc]. */
typedef struct tn_conv_geom {
    int c, h, w, oc, oh, ow, k, stride, pad;
    long long sn, sc, sh, sw;
} tn_conv_geom;

/* Output size of a k-kernel with this stride and padding along an input of n. */
TN_HD static inline int tn_conv_out(int n, int k, int stride, int pad) { return (n + 2 * pad - k) / stride + 1; }

/* The geometry of a k x k convolution (or, k = 1 and pad = 0, a shortcut) from c x h x w to oc
 * channels; the input as pixel rows, or (chw != 0) as an image is loaded. */
TN_HD static inline tn_conv_geom tn_conv_geom_make(int c, int h, int w, int oc, int k, int stride, int pad, int chw) {
    tn_conv_geom g;
    g.c = c, g.h = h, g.w = w, g.oc = oc, g.k = k, g.stride = stride, g.pad = pad;
    g.oh = tn_conv_out(h, k, stride, pad), g.ow = tn_conv_out(w, k, stride, pad);
    g.sn = (long long)c * h * w;
    if (chw) g.sc = (long long)h * w, g.sh = w, g.sw = 1;
    else g.sc = 1, g.sh = (long long)w * c, g.sw = c;
    return g;
}

/* The offset of channel 0 of the input pixel that tap (ky, kx) of output pixel (ex, oy, ox)
 * reads, or -1 for padding. */
TN_HD static inline long long tn_im2col_tap(const tn_conv_geom *g, long long ex, int oy, int ox, int ky, int kx) {
    int y = oy * g->stride - g->pad + ky, x = ox * g->stride - g->pad + kx;
    if (y < 0 || y >= g->h || x < 0 || x >= g->w) return -1;
    return ex * g->sn + y * g->sh + x * g->sw;
}

/* The input offset that cols[row][col] copies, or -1 for padding; row = (ex*oh + oy)*ow + ox,
 * col = (ci*k + ky)*k + kx (PyTorch's weight layout [out, in, k, k]). */
TN_HD static inline long long tn_im2col_src(const tn_conv_geom *g, long long row, int col) {
    long long ex = row / ((long long)g->oh * g->ow);
    int r = (int)(row - ex * g->oh * g->ow), oy = r / g->ow, ox = r - oy * g->ow;
    int kk = g->k * g->k, ci = col / kk, t = col - ci * kk, ky = t / g->k, kx = t - ky * g->k;
    long long px = tn_im2col_tap(g, ex, oy, ox, ky, kx);
    return px < 0 ? -1 : px + ci * g->sc;
}

/* The gradient of input pixel (ex, y, x) for channels c0 .. c0+cn-1, added into s[0 .. cn): the
 * dcols entries that copied them, taps in (ky, kx) order. The CUDA kernel takes one channel per
 * thread (tn_col2im_at), the CPU a chunk per pixel; the order, and so the bits, are the same. */
TN_HD static inline void tn_col2im_taps(const tn_conv_geom *g, const float *dcols, long long ex, int y, int x, int c0,
                                        int cn, float *s) {
    int k = g->k, kk = k * k, ckk = g->c * kk;
    for (int ky = 0; ky < k; ky++) {
        int ty = y + g->pad - ky;
        if (ty < 0 || ty % g->stride) continue;
        int oy = ty / g->stride;
        if (oy >= g->oh) continue;
        for (int kx = 0; kx < k; kx++) {
            int tx = x + g->pad - kx;
            if (tx < 0 || tx % g->stride) continue;
            int ox = tx / g->stride;
            if (ox >= g->ow) continue;
            const float *src = dcols + ((ex * g->oh + oy) * g->ow + ox) * ckk + (long long)c0 * kk + ky * k + kx;
            for (int j = 0; j < cn; j++) s[j] += src[(long long)j * kk];
        }
    }
}

/* The gradient of input element (ex, ci, y, x). */
TN_HD static inline float tn_col2im_at(const tn_conv_geom *g, const float *dcols, long long ex, int ci, int y, int x) {
    float s = 0.0f;
    tn_col2im_taps(g, dcols, ex, y, x, ci, 1, &s);
    return s;
}

/* The shortcut of a stage entry: out[(ex*oh + oy)*ow + ox][c] = in at (oy*stride, ox*stride) for
 * c < g->c, and 0 for the g->oc - g->c channels appended at the end (the tau-ResNet authors'
 * torch.cat((identity, zeros), 1)). The input offset of out[row][c], or -1 for an appended zero. */
TN_HD static inline long long tn_shortcut_src(const tn_conv_geom *g, long long row, int c) {
    if (c >= g->c) return -1;
    long long ex = row / ((long long)g->oh * g->ow);
    int r = (int)(row - ex * g->oh * g->ow), oy = r / g->ow, ox = r - oy * g->ow;
    return ex * g->sn + c * g->sc + (long long)oy * g->stride * g->sh + (long long)ox * g->stride * g->sw;
}

/* The other way: the out row whose entry (at channel c) copied input (ex, y, x), or -1. */
TN_HD static inline long long tn_shortcut_dst(const tn_conv_geom *g, long long ex, int y, int x) {
    if (y % g->stride || x % g->stride) return -1;
    int oy = y / g->stride, ox = x / g->stride;
    if (oy >= g->oh || ox >= g->ow) return -1;
    return (ex * g->oh + oy) * g->ow + ox;
}

/* --augment crop-flip (the CIFAR recipe: a random 32x32 crop of the image padded by 4 with zeros,
 * then a random horizontal flip). An example's code packs its shift dy, dx in [-4, 4] and its
 * flip: output pixel (y, x) of a channel reads input (y + dy, x' + dx), x' = w-1-x when flipped,
 * else x, and is 0 outside the image (the padding). Examples are CHW, as loaded. */
#define TN_AUG_PAD 4
TN_HD static inline int tn_augment_code(int dy, int dx, int flip) {
    return (dy + TN_AUG_PAD) | (dx + TN_AUG_PAD) << 4 | (flip ? 1 : 0) << 8;
}
/* The source offset within its example of entry j (CHW) of an augmented example, or -1 (padding). */
TN_HD static inline long long tn_augment_src(int h, int w, int code, long long j) {
    long long hw = (long long)h * w, ch = j / hw;
    int r = (int)(j - ch * hw), y = r / w, x = r - y * w;
    int dy = (code & 15) - TN_AUG_PAD, dx = ((code >> 4) & 15) - TN_AUG_PAD, flip = (code >> 8) & 1;
    int sy = y + dy, sx = (flip ? w - 1 - x : x) + dx;
    if (sy < 0 || sy >= h || sx < 0 || sx >= w) return -1;
    return ch * hw + (long long)sy * w + sx;
}

#endif
