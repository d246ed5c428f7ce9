// A backend that records every call it passes on to another backend, as one text line per call:
// the op's name, its integer and float arguments (floats exact, %a) and its pointers. Pointers are
// named by their first appearance in the stream (p0, p1, ...), so two streams compare equal when
// they issue the same ops with the same arguments over the same pattern of buffers, whatever the
// addresses and however the buffers were carved from allocations. alloc and free pass through
// unrecorded (a model may lay its memory out differently and still compute the same thing).
// Used by tests/test_op_stream.cpp to prove that a refactored model issues the same call stream.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "taunet/backend.h"

namespace rec {

struct Recorder {
    tn_backend self{};
    tn_backend *inner = nullptr;
    std::vector<std::string> log;
    std::map<const void *, int> ids;
    bool on = true;
    size_t allocated = 0; // bytes passed to alloc (the planner's count is checked against it)

    std::string p(const void *q) {
        if (!q) return "null";
        auto it = ids.find(q);
        if (it == ids.end()) it = ids.emplace(q, (int)ids.size()).first;
        return "p" + std::to_string(it->second);
    }
    static std::string f(double v) {
        char b[48];
        std::snprintf(b, sizeof b, "%a", v);
        return b;
    }
    static std::string i(long long v) { return std::to_string(v); }
    void add(const std::string &op, std::initializer_list<std::string> args) {
        if (!on) return;
        std::string s = op;
        for (const auto &a : args) s += " " + a;
        log.push_back(s);
    }
};

inline Recorder *R(tn_backend *be) { return static_cast<Recorder *>(be->ctx); }
inline tn_backend *I(tn_backend *be) { return R(be)->inner; }

// ---- the wrapped entries
inline void *r_alloc(tn_backend *be, size_t b) {
    R(be)->allocated += b;
    return I(be)->alloc(I(be), b);
}
inline void r_free(tn_backend *be, void *d) { I(be)->free(I(be), d); }
inline int r_upload(tn_backend *be, void *d, const void *s, size_t b) {
    R(be)->add("upload", {R(be)->p(d), Recorder::i((long long)b)});
    return I(be)->upload(I(be), d, s, b);
}
inline int r_download(tn_backend *be, void *d, const void *s, size_t b) {
    R(be)->add("download", {R(be)->p(s), Recorder::i((long long)b)});
    return I(be)->download(I(be), d, s, b);
}
inline int r_copy(tn_backend *be, void *d, const void *s, size_t b) {
    R(be)->add("copy", {R(be)->p(d), R(be)->p(s), Recorder::i((long long)b)});
    return I(be)->copy(I(be), d, s, b);
}
inline int r_fill(tn_backend *be, float *x, size_t n, float v) {
    R(be)->add("fill", {R(be)->p(x), Recorder::i((long long)n), Recorder::f(v)});
    return I(be)->fill(I(be), x, n, v);
}
inline int r_scale(tn_backend *be, float *x, size_t n, float s) {
    R(be)->add("scale", {R(be)->p(x), Recorder::i((long long)n), Recorder::f(s)});
    return I(be)->scale(I(be), x, n, s);
}
inline int r_sync(tn_backend *be) {
    R(be)->add("sync", {});
    return I(be)->sync(I(be));
}
inline int r_gemm(tn_backend *be, int ta, int tb, int M, int N, int K, float al, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc) {
    auto *r = R(be);
    r->add("gemm", {r->i(ta), r->i(tb), r->i(M), r->i(N), r->i(K), r->f(al), r->p(A), r->i(lda), r->p(B),
                    r->i(ldb), r->f(beta), r->p(C), r->i(ldc)});
    return I(be)->gemm(I(be), ta, tb, M, N, K, al, A, lda, B, ldb, beta, C, ldc);
}
inline int r_init_normal(tn_backend *be, float *x, size_t n, float std, uint64_t seed, uint64_t off) {
    auto *r = R(be);
    r->add("init_normal", {r->p(x), r->i((long long)n), r->f(std), r->i((long long)seed), r->i((long long)off)});
    return I(be)->init_normal(I(be), x, n, std, seed, off);
}
inline int r_gather_rows(tn_backend *be, const float *src, int cols, const int32_t *idx, int nrows, float *dst,
                         const int32_t *ysrc, int32_t *ydst) {
    auto *r = R(be);
    r->add("gather_rows", {r->p(src), r->i(cols), r->p(idx), r->i(nrows), r->p(dst), r->p(ysrc), r->p(ydst)});
    return I(be)->gather_rows(I(be), src, cols, idx, nrows, dst, ysrc, ydst);
}
inline int r_bn_stats(tn_backend *be, int n, int m, const float *z, float eps, float *mean, float *invstd,
                      float *rm, float *rv, float mom) {
    auto *r = R(be);
    r->add("bn_stats", {r->i(n), r->i(m), r->p(z), r->f(eps), r->p(mean), r->p(invstd), r->p(rm), r->p(rv), r->f(mom)});
    return I(be)->bn_stats(I(be), n, m, z, eps, mean, invstd, rm, rv, mom);
}
inline int r_bn_eval_stats(tn_backend *be, int m, const float *rm, const float *rv, float eps, float *mean,
                           float *invstd) {
    auto *r = R(be);
    r->add("bn_eval_stats", {r->i(m), r->p(rm), r->p(rv), r->f(eps), r->p(mean), r->p(invstd)});
    return I(be)->bn_eval_stats(I(be), m, rm, rv, eps, mean, invstd);
}
// tau: the host value, or "dev pN" when it is read from device memory (written only then, so the
// streams recorded before the learnable tau existed still compare)
inline std::string tau_arg(Recorder *r, float tau, const float *tau_dev) { return tau_dev ? "dev " + r->p(tau_dev) : r->f(tau); }
inline int r_act_fwd(tn_backend *be, int n, int m, const float *z, const float *mean, const float *invstd,
                     const float *gamma, const float *beta, const float *hprev, float tau, const float *tau_dev, float *h) {
    auto *r = R(be);
    r->add("act_fwd", {r->i(n), r->i(m), r->p(z), r->p(mean), r->p(invstd), r->p(gamma), r->p(beta), r->p(hprev),
                       tau_arg(r, tau, tau_dev), r->p(h)});
    return I(be)->act_fwd(I(be), n, m, z, mean, invstd, gamma, beta, hprev, tau, tau_dev, h);
}
inline int r_act_bwd(tn_backend *be, size_t n, const float *h, const float *dh, float tau, const float *tau_dev,
                     float *du, float *dhp) {
    auto *r = R(be);
    r->add("act_bwd", {r->i((long long)n), r->p(h), r->p(dh), tau_arg(r, tau, tau_dev), r->p(du), r->p(dhp)});
    return I(be)->act_bwd(I(be), n, h, dh, tau, tau_dev, du, dhp);
}
inline int r_bn_bwd(tn_backend *be, int n, int m, const float *z, const float *mean, const float *invstd,
                    const float *gamma, const float *du, float *dz, float *dg, float *db) {
    auto *r = R(be);
    r->add("bn_bwd", {r->i(n), r->i(m), r->p(z), r->p(mean), r->p(invstd), r->p(gamma), r->p(du), r->p(dz), r->p(dg),
                      r->p(db)});
    return I(be)->bn_bwd(I(be), n, m, z, mean, invstd, gamma, du, dz, dg, db);
}
inline int r_loss(tn_backend *be, tn_loss_kind k, int n, int d, const float *lg, const int32_t *y, float s,
                  float *dl, float *out) {
    auto *r = R(be);
    r->add("loss", {r->i(k), r->i(n), r->i(d), r->p(lg), r->p(y), r->f(s), r->p(dl), r->p(out)});
    return I(be)->loss(I(be), k, n, d, lg, y, s, dl, out);
}
inline int r_sgd(tn_backend *be, size_t n, float *w, const float *g, float *v, float lr, float mu, float wd) {
    auto *r = R(be);
    r->add("sgd", {r->i((long long)n), r->p(w), r->p(g), r->p(v), r->f(lr), r->f(mu), r->f(wd)});
    return I(be)->sgd(I(be), n, w, g, v, lr, mu, wd);
}
inline int r_set_scalars(tn_backend *be, float *dst, const float *vals, int n) {
    auto *r = R(be);
    std::string v;
    for (int k = 0; k < n; k++) v += (k ? "," : "") + Recorder::f(vals[k]);
    r->add("set_scalars", {r->p(dst), v, r->i(n)});
    return I(be)->set_scalars(I(be), dst, vals, n);
}
inline int r_gemm_dev(tn_backend *be, int ta, int tb, int M, int N, int K, const float *al, const float *A, int lda,
                      const float *B, int ldb, const float *beta, float *C, int ldc) {
    auto *r = R(be);
    r->add("gemm_dev", {r->i(ta), r->i(tb), r->i(M), r->i(N), r->i(K), r->p(al), r->p(A), r->i(lda), r->p(B),
                        r->i(ldb), r->p(beta), r->p(C), r->i(ldc)});
    return I(be)->gemm_dev(I(be), ta, tb, M, N, K, al, A, lda, B, ldb, beta, C, ldc);
}
inline int r_sgd_dev(tn_backend *be, size_t n, float *w, const float *g, float *v, const float *hyp) {
    auto *r = R(be);
    r->add("sgd_dev", {r->i((long long)n), r->p(w), r->p(g), r->p(v), r->p(hyp)});
    return I(be)->sgd_dev(I(be), n, w, g, v, hyp);
}
inline int r_sumsq(tn_backend *be, size_t n, const float *x, float *out) {
    R(be)->add("sumsq", {Recorder::i((long long)n), R(be)->p(x), R(be)->p(out)});
    return I(be)->sumsq(I(be), n, x, out);
}
inline int r_dot(tn_backend *be, size_t n, const float *x, const float *y, float *out) {
    R(be)->add("dot", {Recorder::i((long long)n), R(be)->p(x), R(be)->p(y), R(be)->p(out)});
    return I(be)->dot(I(be), n, x, y, out);
}
inline int r_diffsq(tn_backend *be, size_t n, const float *x, const float *y, float *out) {
    R(be)->add("diffsq", {Recorder::i((long long)n), R(be)->p(x), R(be)->p(y), R(be)->p(out)});
    return I(be)->diffsq(I(be), n, x, y, out);
}
inline int r_row_norms(tn_backend *be, int n, int m, const float *x, float *out) {
    R(be)->add("row_norms", {Recorder::i(n), Recorder::i(m), R(be)->p(x), R(be)->p(out)});
    return I(be)->row_norms(I(be), n, m, x, out);
}
inline int r_perturb(tn_backend *be, size_t n, float *w, const float *eps, float sigma) {
    R(be)->add("perturb", {Recorder::i((long long)n), R(be)->p(w), R(be)->p(eps), Recorder::f(sigma)});
    return I(be)->perturb(I(be), n, w, eps, sigma);
}
inline int r_act_bn_bwd(tn_backend *be, int n, int m, const float *h, const float *dh, float tau, float *dhp,
                        const float *z, const float *mean, const float *invstd, const float *gamma, float *dz,
                        float *dg, float *db) {
    auto *r = R(be);
    r->add("act_bn_bwd", {r->i(n), r->i(m), r->p(h), r->p(dh), r->f(tau), r->p(dhp), r->p(z), r->p(mean), r->p(invstd),
                          r->p(gamma), r->p(dz), r->p(dg), r->p(db)});
    return I(be)->act_bn_bwd(I(be), n, m, h, dh, tau, dhp, z, mean, invstd, gamma, dz, dg, db);
}
// A conv geometry as one argument: sizes, kernel, stride, pad and the input's strides.
inline std::string geom_arg(const tn_conv_geom *g) {
    char b[160];
    snprintf(b, sizeof b, "%dx%dx%d->%dx%dx%d k%d s%d p%d [%lld %lld %lld %lld]", g->c, g->h, g->w, g->oc, g->oh, g->ow,
             g->k, g->stride, g->pad, g->sn, g->sc, g->sh, g->sw);
    return b;
}
inline int r_im2col(tn_backend *be, const tn_conv_geom *g, int n, const float *x, const float *add, float *cols) {
    auto *r = R(be);
    r->add("im2col", {geom_arg(g), r->i(n), r->p(x), r->p(add), r->p(cols)});
    return I(be)->im2col(I(be), g, n, x, add, cols);
}
inline int r_col2im(tn_backend *be, const tn_conv_geom *g, int n, const float *dcols, float beta, float *dx) {
    auto *r = R(be);
    r->add("col2im", {geom_arg(g), r->i(n), r->p(dcols), r->f(beta), r->p(dx)});
    return I(be)->col2im(I(be), g, n, dcols, beta, dx);
}
inline int r_gather_augment(tn_backend *be, const float *src, int c, int h, int w, const int32_t *idx,
                            const int32_t *code, int nrows, float *dst, const int32_t *ysrc, int32_t *ydst) {
    auto *r = R(be);
    r->add("gather_augment", {r->p(src), r->i(c), r->i(h), r->i(w), r->p(idx), r->p(code), r->i(nrows), r->p(dst),
                              r->p(ysrc), r->p(ydst)});
    return I(be)->gather_augment(I(be), src, c, h, w, idx, code, nrows, dst, ysrc, ydst);
}
inline int r_shortcut_fwd(tn_backend *be, const tn_conv_geom *g, int n, const float *x, float *y) {
    auto *r = R(be);
    r->add("shortcut_fwd", {geom_arg(g), r->i(n), r->p(x), r->p(y)});
    return I(be)->shortcut_fwd(I(be), g, n, x, y);
}
inline int r_shortcut_bwd(tn_backend *be, const tn_conv_geom *g, int n, const float *dy, float beta, float *dx) {
    auto *r = R(be);
    r->add("shortcut_bwd", {geom_arg(g), r->i(n), r->p(dy), r->f(beta), r->p(dx)});
    return I(be)->shortcut_bwd(I(be), g, n, dy, beta, dx);
}
inline int r_avgpool_fwd(tn_backend *be, int n, int hw, int c, const float *x, float *y) {
    auto *r = R(be);
    r->add("avgpool_fwd", {r->i(n), r->i(hw), r->i(c), r->p(x), r->p(y)});
    return I(be)->avgpool_fwd(I(be), n, hw, c, x, y);
}
inline int r_avgpool_bwd(tn_backend *be, int n, int hw, int c, const float *dy, float *dx) {
    auto *r = R(be);
    r->add("avgpool_bwd", {r->i(n), r->i(hw), r->i(c), r->p(dy), r->p(dx)});
    return I(be)->avgpool_bwd(I(be), n, hw, c, dy, dx);
}
inline int r_bn_apply(tn_backend *be, int n, int m, const float *z, const float *mean, const float *invstd,
                      const float *gamma, const float *beta, float *y) {
    auto *r = R(be);
    r->add("bn_apply", {r->i(n), r->i(m), r->p(z), r->p(mean), r->p(invstd), r->p(gamma), r->p(beta), r->p(y)});
    return I(be)->bn_apply(I(be), n, m, z, mean, invstd, gamma, beta, y);
}
inline int r_add_scalar(tn_backend *be, size_t n, float *x, const float *b) {
    R(be)->add("add_scalar", {Recorder::i((long long)n), R(be)->p(x), R(be)->p(b)});
    return I(be)->add_scalar(I(be), n, x, b);
}
inline int r_sum(tn_backend *be, size_t n, const float *x, float *out) {
    R(be)->add("sum", {Recorder::i((long long)n), R(be)->p(x), R(be)->p(out)});
    return I(be)->sum(I(be), n, x, out);
}
inline size_t r_mem_available(tn_backend *be) { return I(be)->mem_available(I(be)); }
inline void r_destroy(tn_backend *) {}  // the inner backend is the caller's

// Wraps inner (kept by the caller). fused_bn: expose the optional act_bn_bwd entry (the CPU has it,
// a backend without it takes the act_bwd + bn_bwd path).
inline tn_backend *wrap(Recorder &r, tn_backend *inner, bool fused_bn = true) {
    r.inner = inner;
    r.self = tn_backend{};
    tn_backend &b = r.self;
    b.name = inner->name, b.ctx = &r, b.err = inner->err;
    b.alloc = r_alloc, b.free = r_free, b.upload = r_upload, b.download = r_download, b.copy = r_copy;
    b.fill = r_fill, b.scale = r_scale, b.sync = r_sync, b.gemm = r_gemm, b.init_normal = r_init_normal;
    b.gather_rows = r_gather_rows, b.bn_stats = r_bn_stats, b.bn_eval_stats = r_bn_eval_stats;
    b.act_fwd = r_act_fwd, b.act_bwd = r_act_bwd, b.bn_bwd = r_bn_bwd, b.loss = r_loss, b.sgd = r_sgd;
    b.set_scalars = r_set_scalars, b.gemm_dev = r_gemm_dev, b.sgd_dev = r_sgd_dev, b.sumsq = r_sumsq;
    b.dot = r_dot, b.diffsq = r_diffsq, b.row_norms = r_row_norms, b.perturb = r_perturb;
    b.act_bn_bwd = fused_bn && inner->act_bn_bwd ? r_act_bn_bwd : nullptr;
    b.im2col = r_im2col, b.col2im = r_col2im, b.shortcut_fwd = r_shortcut_fwd, b.shortcut_bwd = r_shortcut_bwd;
    b.avgpool_fwd = r_avgpool_fwd, b.avgpool_bwd = r_avgpool_bwd, b.bn_apply = r_bn_apply;
    b.add_scalar = r_add_scalar, b.sum = r_sum, b.gather_augment = r_gather_augment;
    b.mem_available = r_mem_available, b.destroy = r_destroy;
    return &b;
}

}  // namespace rec
