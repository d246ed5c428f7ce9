// The op-case table: one row per case of a backend op, each run on any backend against an
// independent double-precision reference written here from the ops' definitions (naive loops,
// not kernels/tn_conv.cuh). tests/test_ops.cpp runs every row on the CPU backend,
// tests/test_gpu.cpp on the emulated CUDA backend (GpuEmu) and on a real GPU (Gpu).
//
// A case draws random inputs (never zeros; sizes and channel counts that are not multiples of a
// block), uploads them, fills each output with NaN (or, for an op that adds into its output with
// beta != 0, random values that are an input too), runs the op and compares each output element
// with the reference within `ulps` ulps of a per-element scale: the sum of the absolute values of
// the terms the element adds (0 ulps for the copies: im2col, shortcut). Both backends evaluate the
// same formula in the same order, so the bound covers float rounding against double, not noise.
#pragma once

#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "taunet/backend.h"

namespace opcase {

using Vec = std::vector<float>;

// Host data of one case: inputs (uploaded), outputs (their initial value, then what the op wrote),
// and the reference with its per-element scale.
struct Data {
    std::vector<Vec> in, out;
    std::vector<std::vector<double>> ref, scale;
};

struct Case {
    std::string name;
    double ulps;
    std::function<void(std::mt19937 &, Data &)> make;                          // inputs, outputs' initial values
    std::function<int(tn_backend *, std::vector<float *> &, std::vector<float *> &)> run; // on device copies
    std::function<void(Data &)> reference;                                    // fills ref and scale
};

inline Vec randn(std::mt19937 &r, size_t n, float lo = 0.05f) {
    std::normal_distribution<float> g;
    Vec v(n);
    for (auto &x : v) {
        x = g(r);
        if (std::fabs(x) < lo) x = x < 0 ? -lo : lo;  // never zero
    }
    return v;
}
inline Vec nans(size_t n) { return Vec(n, std::nanf("")); }

// Geometry of a case: pixel rows (NHWC) or, chw, an image as loaded (the stem).
inline tn_conv_geom geom(int c, int h, int w, int oc, int k, int stride, int pad, bool chw = false) {
    tn_conv_geom g;
    g.c = c, g.h = h, g.w = w, g.oc = oc, g.k = k, g.stride = stride, g.pad = pad;
    g.oh = (h + 2 * pad - k) / stride + 1, g.ow = (w + 2 * pad - k) / stride + 1;
    if (chw) g.sn = (long long)c * h * w, g.sc = (long long)h * w, g.sh = w, g.sw = 1;
    else g.sn = (long long)h * w * c, g.sc = 1, g.sh = (long long)w * c, g.sw = c;
    return g;
}
inline size_t in_size(const tn_conv_geom &g, int n) { return (size_t)n * g.c * g.h * g.w; }
inline long long at(const tn_conv_geom &g, int ex, int ci, int y, int x) { return ex * g.sn + ci * g.sc + y * g.sh + x * g.sw; }

// im2col (with or without the scalar added before padding) and col2im (beta 0 or 0.5), reference
// by the definition: the column (ci, ky, kx) of output pixel (oy, ox) reads input
// (oy*s - p + ky, ox*s - p + kx), and col2im is its adjoint (a scatter-add in double).
inline void add_conv_cases(std::vector<Case> &t, const std::string &tag, tn_conv_geom g, int n) {
    int ckk = g.c * g.k * g.k;
    size_t rows = (size_t)n * g.oh * g.ow;
    for (int add : {0, 1}) {
        t.push_back({"im2col " + tag + (add ? " +bias" : ""), 0,
                     [=](std::mt19937 &r, Data &d) {
                         d.in = {randn(r, in_size(g, n)), randn(r, 1)};
                         d.out = {nans(rows * ckk)};
                     },
                     [=](tn_backend *be, std::vector<float *> &in, std::vector<float *> &out) {
                         return be->im2col(be, &g, n, in[0], add ? in[1] : nullptr, out[0]);
                     },
                     [=](Data &d) {
                         d.ref = {std::vector<double>(rows * ckk, 0.0)};
                         d.scale = {std::vector<double>(rows * ckk, 0.0)};
                         for (int ex = 0; ex < n; ex++)
                             for (int oy = 0; oy < g.oh; oy++)
                                 for (int ox = 0; ox < g.ow; ox++)
                                     for (int ci = 0; ci < g.c; ci++)
                                         for (int ky = 0; ky < g.k; ky++)
                                             for (int kx = 0; kx < g.k; kx++) {
                                                 int y = oy * g.stride - g.pad + ky, x = ox * g.stride - g.pad + kx;
                                                 size_t o = ((size_t)(ex * g.oh + oy) * g.ow + ox) * ckk + (ci * g.k + ky) * g.k + kx;
                                                 if (y < 0 || y >= g.h || x < 0 || x >= g.w) continue;
                                                 double v = d.in[0][at(g, ex, ci, y, x)];
                                                 d.ref[0][o] = add ? (double)(float)(v + d.in[1][0]) : v;
                                             }
                     }});
    }
    for (float beta : {0.0f, 0.5f}) {
        t.push_back({"col2im " + tag + " beta " + std::to_string(beta).substr(0, 3), 4,
                     [=](std::mt19937 &r, Data &d) {
                         d.in = {randn(r, rows * ckk)};
                         d.out = {beta == 0.0f ? nans(in_size(g, n)) : randn(r, in_size(g, n))};
                     },
                     [=](tn_backend *be, std::vector<float *> &in, std::vector<float *> &out) {
                         return be->col2im(be, &g, n, in[0], beta, out[0]);
                     },
                     [=](Data &d) {
                         size_t N = in_size(g, n);
                         d.ref = {std::vector<double>(N, 0.0)};
                         d.scale = {std::vector<double>(N, 0.0)};
                         for (size_t i = 0; i < N && beta != 0.0f; i++)
                             d.ref[0][i] = beta * (double)d.out[0][i], d.scale[0][i] = std::fabs(d.ref[0][i]);
                         for (int ex = 0; ex < n; ex++)
                             for (int oy = 0; oy < g.oh; oy++)
                                 for (int ox = 0; ox < g.ow; ox++)
                                     for (int ci = 0; ci < g.c; ci++)
                                         for (int ky = 0; ky < g.k; ky++)
                                             for (int kx = 0; kx < g.k; kx++) {
                                                 int y = oy * g.stride - g.pad + ky, x = ox * g.stride - g.pad + kx;
                                                 if (y < 0 || y >= g.h || x < 0 || x >= g.w) continue;
                                                 double v = d.in[0][((size_t)(ex * g.oh + oy) * g.ow + ox) * ckk + (ci * g.k + ky) * g.k + kx];
                                                 d.ref[0][at(g, ex, ci, y, x)] += v;
                                                 d.scale[0][at(g, ex, ci, y, x)] += std::fabs(v);
                                             }
                     }});
    }
}

// The stage-entry shortcut (c -> oc channels at stride s) and its backward.
inline void add_shortcut_cases(std::vector<Case> &t, const std::string &tag, tn_conv_geom g, int n) {
    size_t rows = (size_t)n * g.oh * g.ow;
    t.push_back({"shortcut_fwd " + tag, 0,
                 [=](std::mt19937 &r, Data &d) {
                     d.in = {randn(r, in_size(g, n))};
                     d.out = {nans(rows * g.oc)};
                 },
                 [=](tn_backend *be, std::vector<float *> &in, std::vector<float *> &out) {
                     return be->shortcut_fwd(be, &g, n, in[0], out[0]);
                 },
                 [=](Data &d) {
                     d.ref = {std::vector<double>(rows * g.oc, 0.0)};
                     d.scale = {std::vector<double>(rows * g.oc, 0.0)};
                     for (int ex = 0; ex < n; ex++)
                         for (int oy = 0; oy < g.oh; oy++)
                             for (int ox = 0; ox < g.ow; ox++)
                                 for (int c = 0; c < g.c; c++)
                                     d.ref[0][((size_t)(ex * g.oh + oy) * g.ow + ox) * g.oc + c] =
                                         d.in[0][at(g, ex, c, oy * g.stride, ox * g.stride)];
                 }});
    for (float beta : {0.0f, 1.0f}) {
        t.push_back({"shortcut_bwd " + tag + " beta " + std::to_string(beta).substr(0, 3), 1,
                     [=](std::mt19937 &r, Data &d) {
                         d.in = {randn(r, rows * g.oc)};
                         d.out = {beta == 0.0f ? nans(in_size(g, n)) : randn(r, in_size(g, n))};
                     },
                     [=](tn_backend *be, std::vector<float *> &in, std::vector<float *> &out) {
                         return be->shortcut_bwd(be, &g, n, in[0], beta, out[0]);
                     },
                     [=](Data &d) {
                         size_t N = in_size(g, n);
                         d.ref = {std::vector<double>(N, 0.0)};
                         d.scale = {std::vector<double>(N, 0.0)};
                         for (size_t i = 0; i < N && beta != 0.0f; i++) d.ref[0][i] = d.out[0][i], d.scale[0][i] = std::fabs(d.out[0][i]);
                         for (int ex = 0; ex < n; ex++)
                             for (int oy = 0; oy < g.oh; oy++)
                                 for (int ox = 0; ox < g.ow; ox++)
                                     for (int c = 0; c < g.c; c++) {
                                         double v = d.in[0][((size_t)(ex * g.oh + oy) * g.ow + ox) * g.oc + c];
                                         long long o = at(g, ex, c, oy * g.stride, ox * g.stride);
                                         d.ref[0][o] += v, d.scale[0][o] += std::fabs(v);
                                     }
                     }});
    }
}

inline std::vector<Case> table() {
    std::vector<Case> t;
    // odd sizes and channel counts; the stem reads CHW images; stride 2 with odd inputs
    add_conv_cases(t, "c3 7x5 k3 s1 p1", geom(3, 7, 5, 4, 3, 1, 1), 2);
    add_conv_cases(t, "c5 9x7 k3 s2 p1", geom(5, 9, 7, 6, 3, 2, 1), 3);
    add_conv_cases(t, "c3 6x6 k3 s1 p1 chw", geom(3, 6, 6, 4, 3, 1, 1, true), 2);
    add_conv_cases(t, "c2 5x5 k1 s2 p0", geom(2, 5, 5, 3, 1, 2, 0), 3);
    add_shortcut_cases(t, "c3->5 7x5 s2", geom(3, 7, 5, 5, 1, 2, 0), 3);
    add_shortcut_cases(t, "c5->5 6x6 s1", geom(5, 6, 6, 5, 1, 1, 0), 2);
    for (auto [n, hw, c] : std::vector<std::array<int, 3>>{{3, 35, 5}, {2, 64, 17}}) {
        std::string tag = "n" + std::to_string(n) + " hw" + std::to_string(hw) + " c" + std::to_string(c);
        t.push_back({"avgpool_fwd " + tag, 2,
                     [=](std::mt19937 &r, Data &d) { d.in = {randn(r, (size_t)n * hw * c)}, d.out = {nans((size_t)n * c)}; },
                     [=](tn_backend *be, std::vector<float *> &in, std::vector<float *> &out) {
                         return be->avgpool_fwd(be, n, hw, c, in[0], out[0]);
                     },
                     [=](Data &d) {
                         d.ref = {std::vector<double>((size_t)n * c, 0.0)}, d.scale = d.ref;
                         for (int ex = 0; ex < n; ex++)
                             for (int r = 0; r < hw; r++)
                                 for (int j = 0; j < c; j++) {
                                     double v = d.in[0][((size_t)ex * hw + r) * c + j] / hw;
                                     d.ref[0][(size_t)ex * c + j] += v, d.scale[0][(size_t)ex * c + j] += std::fabs(v);
                                 }
                     }});
        t.push_back({"avgpool_bwd " + tag, 1,
                     [=](std::mt19937 &r, Data &d) { d.in = {randn(r, (size_t)n * c)}, d.out = {nans((size_t)n * hw * c)}; },
                     [=](tn_backend *be, std::vector<float *> &in, std::vector<float *> &out) {
                         return be->avgpool_bwd(be, n, hw, c, in[0], out[0]);
                     },
                     [=](Data &d) {
                         d.ref = {std::vector<double>((size_t)n * hw * c)}, d.scale = d.ref;
                         for (size_t i = 0; i < d.ref[0].size(); i++) {
                             double v = d.in[0][(i / ((size_t)hw * c)) * c + i % c] / (double)hw;
                             d.ref[0][i] = v, d.scale[0][i] = std::fabs(v);
                         }
                     }});
    }
    const int bn = 37, bm = 5;
    t.push_back({"bn_apply n37 m5", 4,
                 [=](std::mt19937 &r, Data &d) {
                     Vec is = randn(r, bm);
                     for (auto &v : is) v = std::fabs(v) + 0.5f;
                     d.in = {randn(r, (size_t)bn * bm), randn(r, bm), is, randn(r, bm), randn(r, bm)};
                     d.out = {nans((size_t)bn * bm)};
                 },
                 [=](tn_backend *be, std::vector<float *> &in, std::vector<float *> &out) {
                     return be->bn_apply(be, bn, bm, in[0], in[1], in[2], in[3], in[4], out[0]);
                 },
                 [=](Data &d) {
                     d.ref = {std::vector<double>((size_t)bn * bm)}, d.scale = d.ref;
                     for (int i = 0; i < bn; i++)
                         for (int j = 0; j < bm; j++) {
                             size_t o = (size_t)i * bm + j;
                             double a = d.in[3][j] * (((double)d.in[0][o] - d.in[1][j]) * d.in[2][j]);
                             d.ref[0][o] = a + d.in[4][j], d.scale[0][o] = std::fabs(a) + std::fabs(d.in[4][j]);
                         }
                 }});
    t.push_back({"add_scalar n1001", 1,
                 [=](std::mt19937 &r, Data &d) { d.in = {randn(r, 1)}, d.out = {randn(r, 1001)}; },
                 [=](tn_backend *be, std::vector<float *> &in, std::vector<float *> &out) {
                     return be->add_scalar(be, 1001, out[0], in[0]);
                 },
                 [=](Data &d) {
                     d.ref = {std::vector<double>(1001)}, d.scale = d.ref;
                     for (int i = 0; i < 1001; i++)
                         d.ref[0][i] = (double)d.out[0][i] + d.in[0][0], d.scale[0][i] = std::fabs(d.out[0][i]) + std::fabs(d.in[0][0]);
                 }});
    t.push_back({"sum n10007", 2,
                 [=](std::mt19937 &r, Data &d) { d.in = {randn(r, 10007)}, d.out = {nans(1)}; },
                 [=](tn_backend *be, std::vector<float *> &in, std::vector<float *> &out) { return be->sum(be, 10007, in[0], out[0]); },
                 [=](Data &d) {
                     double s = 0, a = 0;
                     for (float v : d.in[0]) s += v, a += std::fabs(v);
                     d.ref = {{s}}, d.scale = {{std::fabs(s)}};
                     (void)a;
                 }});
    // the learnable tau read from device memory, forward and backward
    const int an = 19, am = 7;
    t.push_back({"act_fwd tau_dev", 4,
                 [=](std::mt19937 &r, Data &d) {
                     d.in = {randn(r, (size_t)an * am), randn(r, (size_t)an * am), randn(r, 1)};
                     d.out = {nans((size_t)an * am)};
                 },
                 [=](tn_backend *be, std::vector<float *> &in, std::vector<float *> &out) {
                     return be->act_fwd(be, an, am, in[0], nullptr, nullptr, nullptr, nullptr, in[1], 99.0f, in[2], out[0]);
                 },
                 [=](Data &d) {
                     d.ref = {std::vector<double>((size_t)an * am)}, d.scale = d.ref;
                     for (size_t i = 0; i < d.ref[0].size(); i++) {
                         double v = (double)d.in[1][i] + (double)d.in[2][0] * d.in[0][i];
                         d.ref[0][i] = v > 0 ? v : 0, d.scale[0][i] = std::fabs(d.in[1][i]) + std::fabs(d.in[2][0] * d.in[0][i]);
                     }
                 }});
    t.push_back({"act_bwd tau_dev", 1,
                 [=](std::mt19937 &r, Data &d) {
                     d.in = {randn(r, (size_t)an * am), randn(r, (size_t)an * am), randn(r, 1)};
                     d.out = {nans((size_t)an * am), nans((size_t)an * am)};
                 },
                 [=](tn_backend *be, std::vector<float *> &in, std::vector<float *> &out) {
                     return be->act_bwd(be, (size_t)an * am, in[0], in[1], 99.0f, in[2], out[0], out[1]);
                 },
                 [=](Data &d) {
                     size_t N = (size_t)an * am;
                     d.ref = {std::vector<double>(N), std::vector<double>(N)}, d.scale = d.ref;
                     for (size_t i = 0; i < N; i++) {
                         double dd = d.in[0][i] > 0 ? d.in[1][i] : 0.0;
                         d.ref[0][i] = (double)d.in[2][0] * dd, d.ref[1][i] = dd;
                         d.scale[0][i] = std::fabs(d.ref[0][i]), d.scale[1][i] = std::fabs(dd);
                     }
                 }});
    // --augment crop-flip's gather: reference by the recipe's definition, the image padded by 4
    // with zeros, the crop at (4 + dy, 4 + dx), then the mirror image when flipped; labels too
    // (compared as their bits). Codes include the extreme shifts and both flips.
    const int AN = 5, AC = 3, AH = 7, AW = 6, AR = 4;
    const int32_t aidx[AR] = {3, 0, 4, 3};
    t.push_back({"gather_augment c3 7x6", 0,
                 [=](std::mt19937 &r, Data &d) {
                     Vec codes(AN), labels(AN), idx(AR);
                     int shifts[AN][3] = {{-4, 4, 1}, {0, 0, 0}, {3, -2, 0}, {4, -4, 1}, {-1, 2, 1}};
                     for (int e = 0; e < AN; e++) {
                         int32_t k = (shifts[e][0] + 4) | (shifts[e][1] + 4) << 4 | shifts[e][2] << 8, l = 7 * e + 1;
                         std::memcpy(&codes[e], &k, 4), std::memcpy(&labels[e], &l, 4);
                     }
                     for (int i = 0; i < AR; i++) std::memcpy(&idx[i], &aidx[i], 4);
                     d.in = {randn(r, (size_t)AN * AC * AH * AW), idx, codes, labels};
                     d.out = {nans((size_t)AR * AC * AH * AW), nans(AR)};
                 },
                 [=](tn_backend *be, std::vector<float *> &in, std::vector<float *> &out) {
                     return be->gather_augment(be, in[0], AC, AH, AW, (const int32_t *)in[1], (const int32_t *)in[2], AR,
                                               out[0], (const int32_t *)in[3], (int32_t *)out[1]);
                 },
                 [=](Data &d) {
                     const int P = 4, PH = AH + 2 * P, PW = AW + 2 * P;
                     d.ref = {std::vector<double>((size_t)AR * AC * AH * AW), std::vector<double>(AR)};
                     d.scale = {std::vector<double>(d.ref[0].size(), 0.0), std::vector<double>(AR, 0.0)};
                     for (int r = 0; r < AR; r++) {
                         int e = aidx[r];
                         int32_t k;
                         std::memcpy(&k, &d.in[2][e], 4);
                         int oy = (k & 15), ox = (k >> 4) & 15, flip = (k >> 8) & 1;  // crop offsets in the padded image
                         for (int c = 0; c < AC; c++) {
                             std::vector<double> pad((size_t)PH * PW, 0.0), crop((size_t)AH * AW);
                             for (int y = 0; y < AH; y++)
                                 for (int x = 0; x < AW; x++) pad[(y + P) * PW + x + P] = d.in[0][((size_t)e * AC + c) * AH * AW + y * AW + x];
                             for (int y = 0; y < AH; y++)
                                 for (int x = 0; x < AW; x++) crop[y * AW + x] = pad[(y + oy) * PW + x + ox];
                             for (int y = 0; y < AH; y++)
                                 for (int x = 0; x < AW; x++)
                                     d.ref[0][((size_t)r * AC + c) * AH * AW + y * AW + x] = crop[y * AW + (flip ? AW - 1 - x : x)];
                         }
                         d.ref[1][r] = d.in[3][e];
                     }
                 }});
    return t;
}

// Runs case k on backend be (device memory through its table) and returns the first mismatch as
// text, or "" when every output element is within the case's bound.
inline std::string run_case(tn_backend *be, const Case &k, unsigned seed = 1) {
    std::mt19937 r(seed);
    Data d;
    k.make(r, d);
    std::vector<float *> in, out;
    auto dev = [&](const Vec &h) {
        float *p = (float *)be->alloc(be, h.size() * sizeof(float) + 64);
        if (p) be->upload(be, p, h.data(), h.size() * sizeof(float));
        return p;
    };
    for (auto &v : d.in) in.push_back(dev(v));
    for (auto &v : d.out) out.push_back(dev(v));
    std::string bad;
    if (k.run(be, in, out) != 0) bad = std::string("the op failed: ") + be->err->msg;
    Data init = d;  // the reference reads the outputs' initial values
    for (size_t o = 0; o < out.size() && bad.empty(); o++) be->download(be, d.out[o].data(), out[o], d.out[o].size() * sizeof(float));
    k.reference(init);
    const double ulp = 1.0 / 8388608.0;
    for (size_t o = 0; o < d.out.size() && bad.empty(); o++)
        for (size_t i = 0; i < d.out[o].size(); i++) {
            double got = d.out[o][i], want = init.ref[o][i], tol = k.ulps * ulp * init.scale[o][i];
            if (!(std::fabs(got - want) <= tol)) {
                bad = "output " + std::to_string(o) + " element " + std::to_string(i) + ": " + std::to_string(got) +
                      ", reference " + std::to_string(want) + " (tolerance " + std::to_string(tol) + ")";
                break;
            }
        }
    for (float *p : in) be->free(be, p);
    for (float *p : out) be->free(be, p);
    return bad;
}

}  // namespace opcase
