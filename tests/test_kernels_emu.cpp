// Every kernel of kernels/ run through the CUDA emulation (tests/cuda_emu.h, DESIGN.md §3) and
// compared with the cpu backend, the reference, on random inputs that are never zero. Outputs are
// poisoned with NaN first (an element a kernel forgets stays NaN and fails), sizes are not multiples
// of the block size (n = 37 rows, m = 131 columns), and each kernel runs at several block sizes and,
// where it has one, with a small grid cap (grid-stride loops) and small batchnorm chunks (the
// multi-chunk path).
//
// Tolerances, per op (ulp = 2^-23 relative):
//  - fill, scale, gather, bn_eval_stats, act_fwd, act_bwd, sgd, loss gradients: the kernel calls the
//    same TN_HD formula of kernels/tn_math.cuh on the same floats as the cpu backend, so the results
//    are equal up to the compiler's freedom to contract a*b+c into a fused multiply-add (none on
//    baseline x86-64, possible with -march flags): 4 ulps relative.
//  - reductions, BN statistics, loss sums: both sides accumulate in double and round once to
//    float; only the order of the double additions differs (<= n * 2^-53 relative, ~1e-13 here),
//    so the float results differ by at most one rounding: 2 ulps relative (plus 1e-30 absolute).
//  - bn_bwd dz: the column sums are rounded to float on both sides (may differ by 1 ulp of the sum)
//    and dz = gamma*invstd/n * (n*dy - sum_dy - xhat*sum_dy_xhat) cancels: a 1-ulp change of a sum
//    moves dz by up to gamma*invstd/n * ulp(|sum_dy| + |xhat|*|sum_dy_xhat|); we allow 8 ulps of
//    that scale per element (absolute), which is far below any real error (wrong row, wrong sum).
#include "cuda_emu.h"
#include "tn_kernels.cuh"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "taunet/backend.h"

namespace {

namespace K = tn_emu;
using Vec = std::vector<float>;

const float ULP = 1.0f / 8388608.0f; // 2^-23
const int N = 37, M = 131;           // rows, columns: neither a multiple of 32
const int BLOCKS[] = {32, 128, 256};

struct Cpu {
    tn_err e{};
    tn_backend *be = nullptr;
    Cpu() { be = tn_backend_cpu_create(2, &e); }
    ~Cpu() {
        if (be) be->destroy(be);
    }
};

// Uniform in +-[lo, hi]: random sign, magnitude never below lo (never zero).
Vec rnd(size_t n, unsigned seed, float lo = 0.05f, float hi = 2.0f, float shift = 0.0f) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> mag(lo, hi);
    std::bernoulli_distribution sign(0.5);
    Vec v(n);
    for (auto &x : v) x = (sign(g) ? -1.0f : 1.0f) * mag(g) + shift;
    return v;
}
Vec poisoned(size_t n) { return Vec(n, std::nanf("")); }

struct Cfg {
    tn_err e{};
    K::tn_kcfg c{};
    Cfg(int block, int chunk = 0, int grid_cap = 0) {
        c.stream = nullptr;
        c.err = &e;
        c.block = block;
        c.chunk = chunk;
        c.grid_cap = grid_cap;
    }
    std::string where() const {
        return "block " + std::to_string(c.block) + " chunk " + std::to_string(c.chunk) + " grid cap " +
               std::to_string(c.grid_cap);
    }
};

// |got - ref| <= rel * |ref| + abs for every element; no NaN anywhere in got.
void expect_near(const Vec &got, const Vec &ref, float rel, float abs, const std::string &what) {
    ASSERT_EQ(got.size(), ref.size()) << what;
    int bad = 0;
    for (size_t i = 0; i < got.size(); i++) {
        float tol = rel * std::fabs(ref[i]) + abs;
        if (std::isnan(got[i]) || !(std::fabs(got[i] - ref[i]) <= tol)) {
            if (bad++ < 5)
                ADD_FAILURE() << what << ": element " << i << " got " << got[i] << " want " << ref[i]
                              << " (tolerance " << tol << ")";
        }
    }
    EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << got.size() << " elements differ";
}
void expect_same_ints(const std::vector<int32_t> &got, const std::vector<int32_t> &ref, const std::string &what) {
    ASSERT_EQ(got.size(), ref.size());
    for (size_t i = 0; i < got.size(); i++) ASSERT_EQ(got[i], ref[i]) << what << ": element " << i;
}

TEST(KernelEmu, FillAndScale) {
    Cpu cpu;
    size_t n = (size_t)N * M;
    for (int b : BLOCKS)
        for (int cap : {0, 3}) {
            Cfg k(b, 0, cap);
            Vec got = poisoned(n), ref = poisoned(n);
            ASSERT_EQ(K::fill(&k.c, got.data(), n, 0.37f), 0) << k.e.msg;
            cpu.be->fill(cpu.be, ref.data(), n, 0.37f);
            expect_near(got, ref, 0, 0, "fill " + k.where());
            got = rnd(n, 1), ref = got;
            ASSERT_EQ(K::scale(&k.c, got.data(), n, -1.7f), 0) << k.e.msg;
            cpu.be->scale(cpu.be, ref.data(), n, -1.7f);
            expect_near(got, ref, 0, 0, "scale " + k.where());
            Vec eps = rnd(n, 9);
            got = rnd(n, 8), ref = got;
            ASSERT_EQ(K::perturb(&k.c, n, got.data(), eps.data(), 0.05f), 0) << k.e.msg;
            cpu.be->perturb(cpu.be, n, ref.data(), eps.data(), 0.05f);
            expect_near(got, ref, 0, 0, "perturb " + k.where());
        }
}

TEST(KernelEmu, ActFwd) {
    Cpu cpu;
    size_t n = (size_t)N * M;
    Vec z = rnd(n, 2), hprev = rnd(n, 3, 0.05f, 2.0f, 0.5f);
    Vec mean = rnd(M, 4), invstd = rnd(M, 5, 0.5f, 2.0f), gamma = rnd(M, 6), beta = rnd(M, 7);
    for (auto &v : invstd) v = std::fabs(v);
    struct Variant {
        const char *name;
        bool bn, res;
        float tau;
    } variants[] = {{"plain", false, false, 1.0f}, {"resnet", false, true, 0.3f},
                    {"plain+bn", true, false, 1.0f}, {"resnet+bn", true, true, 0.3f}};
    for (const auto &v : variants)
        for (int b : BLOCKS)
            for (int cap : {0, 2}) {
                Cfg k(b, 0, cap);
                const float *mu = v.bn ? mean.data() : nullptr, *is = v.bn ? invstd.data() : nullptr;
                const float *g = v.bn ? gamma.data() : nullptr, *bt = v.bn ? beta.data() : nullptr;
                const float *hp = v.res ? hprev.data() : nullptr;
                Vec got = poisoned(n), ref = poisoned(n);
                ASSERT_EQ(K::act_fwd(&k.c, N, M, z.data(), mu, is, g, bt, hp, v.tau, nullptr, got.data()), 0) << k.e.msg;
                cpu.be->act_fwd(cpu.be, N, M, z.data(), mu, is, g, bt, hp, v.tau, nullptr, ref.data());
                expect_near(got, ref, 4 * ULP, 0, std::string("act_fwd ") + v.name + " " + k.where());
            }
}

TEST(KernelEmu, ActBwd) {
    Cpu cpu;
    size_t n = (size_t)N * M;
    Vec h = rnd(n, 8), dh = rnd(n, 9);
    for (auto &x : h) x = x < 0 ? 0.0f : x; // relu outputs: zeros and positives
    for (int b : BLOCKS)
        for (int cap : {0, 3}) {
            Cfg k(b, 0, cap);
            Vec du = poisoned(n), dhp = poisoned(n), rdu = poisoned(n), rdhp = poisoned(n);
            ASSERT_EQ(K::act_bwd(&k.c, n, h.data(), dh.data(), 0.3f, nullptr, du.data(), dhp.data()), 0) << k.e.msg;
            cpu.be->act_bwd(cpu.be, n, h.data(), dh.data(), 0.3f, nullptr, rdu.data(), rdhp.data());
            expect_near(du, rdu, 4 * ULP, 0, "act_bwd du " + k.where());
            expect_near(dhp, rdhp, 0, 0, "act_bwd dhprev " + k.where());
            // du aliasing dh, no dhprev (the PlainNet call)
            Vec a = dh, ra = dh;
            ASSERT_EQ(K::act_bwd(&k.c, n, h.data(), a.data(), 1.0f, nullptr, a.data(), nullptr), 0) << k.e.msg;
            cpu.be->act_bwd(cpu.be, n, h.data(), ra.data(), 1.0f, nullptr, ra.data(), nullptr);
            expect_near(a, ra, 0, 0, "act_bwd in place " + k.where());
        }
}

TEST(KernelEmu, GatherRows) {
    Cpu cpu;
    const int rows_src = 101, cols = M, nrows = N;
    Vec src = rnd((size_t)rows_src * cols, 10);
    std::vector<int32_t> ysrc(rows_src), idx(nrows);
    std::mt19937 g(11);
    for (int i = 0; i < rows_src; i++) ysrc[i] = (int32_t)(g() % 10);
    for (int r = 0; r < nrows; r++) idx[r] = (int32_t)(g() % rows_src);
    for (int b : BLOCKS)
        for (int cap : {0, 2})
            for (int labels : {0, 1}) {
                Cfg k(b, 0, cap);
                Vec got = poisoned((size_t)nrows * cols), ref = poisoned((size_t)nrows * cols);
                std::vector<int32_t> yg(nrows, -7), yr(nrows, -7);
                ASSERT_EQ(K::gather_rows(&k.c, src.data(), cols, idx.data(), nrows, got.data(),
                                         labels ? ysrc.data() : nullptr, labels ? yg.data() : nullptr),
                          0)
                    << k.e.msg;
                cpu.be->gather_rows(cpu.be, src.data(), cols, idx.data(), nrows, ref.data(),
                                    labels ? ysrc.data() : nullptr, labels ? yr.data() : nullptr);
                expect_near(got, ref, 0, 0, "gather_rows " + k.where());
                expect_same_ints(yg, yr, "gather_rows labels " + k.where());
            }
}

// z with a large common offset per column, so a one-pass E[z^2] - E[z]^2 would lose digits.
TEST(KernelEmu, BnStats) {
    Cpu cpu;
    Vec z = rnd((size_t)N * M, 12, 0.05f, 2.0f, 0.0f);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < M; j++) z[(size_t)i * M + j] += 100.0f + (float)j;
    Vec rm0 = rnd(M, 13), rv0 = rnd(M, 14, 0.5f, 2.0f);
    for (auto &v : rv0) v = std::fabs(v);
    for (int b : BLOCKS)
        for (int chunk : {0, 8}) // one chunk (single launch), five chunks (last one short: merge path)
            for (int running : {0, 1}) {
                Cfg k(b, chunk);
                std::vector<char> ws(K::bn_ws_bytes(&k.c, N, M) + 1);
                Vec mean = poisoned(M), invstd = poisoned(M), rmean = poisoned(M), rinvstd = poisoned(M);
                Vec rm = rm0, rv = rv0, rrm = rm0, rrv = rv0;
                ASSERT_EQ(K::bn_stats(&k.c, N, M, z.data(), 1e-5f, mean.data(), invstd.data(),
                                      running ? rm.data() : nullptr, running ? rv.data() : nullptr, 0.1f, ws.data()),
                          0)
                    << k.e.msg;
                cpu.be->bn_stats(cpu.be, N, M, z.data(), 1e-5f, rmean.data(), rinvstd.data(),
                                 running ? rrm.data() : nullptr, running ? rrv.data() : nullptr, 0.1f);
                std::string w = k.where() + (running ? " running" : "");
                expect_near(mean, rmean, 2 * ULP, 1e-30f, "bn_stats mean " + w);
                expect_near(invstd, rinvstd, 2 * ULP, 1e-30f, "bn_stats invstd " + w);
                expect_near(rm, rrm, 2 * ULP, 1e-30f, "bn_stats running mean " + w);
                expect_near(rv, rrv, 2 * ULP, 1e-30f, "bn_stats running var " + w);
            }
}

TEST(KernelEmu, BnEvalStats) {
    Cpu cpu;
    Vec rm = rnd(M, 15), rv = rnd(M, 16, 0.05f, 3.0f);
    for (auto &v : rv) v = std::fabs(v);
    for (int b : BLOCKS) {
        Cfg k(b);
        Vec mean = poisoned(M), invstd = poisoned(M), rmean = poisoned(M), rinvstd = poisoned(M);
        ASSERT_EQ(K::bn_eval_stats(&k.c, M, rm.data(), rv.data(), 1e-5f, mean.data(), invstd.data()), 0) << k.e.msg;
        cpu.be->bn_eval_stats(cpu.be, M, rm.data(), rv.data(), 1e-5f, rmean.data(), rinvstd.data());
        expect_near(mean, rmean, 0, 0, "bn_eval_stats mean " + k.where());
        expect_near(invstd, rinvstd, 0, 0, "bn_eval_stats invstd " + k.where());
    }
}

TEST(KernelEmu, BnBwd) {
    Cpu cpu;
    size_t n = (size_t)N * M;
    Vec z = rnd(n, 17, 0.05f, 2.0f, 0.3f), du = rnd(n, 18), gamma = rnd(M, 19);
    Vec mean(M), invstd(M);
    cpu.be->bn_stats(cpu.be, N, M, z.data(), 1e-5f, mean.data(), invstd.data(), nullptr, nullptr, 0.1f);
    // dz tolerance scale per column (header comment)
    Vec sdy(M, 0.0f), sdyx(M, 0.0f);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < M; j++) {
            float xhat = (z[(size_t)i * M + j] - mean[j]) * invstd[j];
            sdy[j] += std::fabs(du[(size_t)i * M + j]);
            sdyx[j] += std::fabs(du[(size_t)i * M + j] * xhat);
        }
    for (int b : BLOCKS)
        for (int chunk : {0, 8})
            for (int grads : {0, 1}) {
                Cfg k(b, chunk);
                std::vector<char> ws(K::bn_ws_bytes(&k.c, N, M) + 1);
                Vec dz = poisoned(n), rdz = poisoned(n), dg = poisoned(M), db = poisoned(M), rdg = poisoned(M),
                    rdb = poisoned(M);
                ASSERT_EQ(K::bn_bwd(&k.c, N, M, z.data(), mean.data(), invstd.data(), gamma.data(), du.data(),
                                    dz.data(), grads ? dg.data() : nullptr, grads ? db.data() : nullptr, ws.data()),
                          0)
                    << k.e.msg;
                cpu.be->bn_bwd(cpu.be, N, M, z.data(), mean.data(), invstd.data(), gamma.data(), du.data(),
                               rdz.data(), grads ? rdg.data() : nullptr, grads ? rdb.data() : nullptr);
                std::string w = k.where() + (grads ? " with dgamma/dbeta" : "");
                int bad = 0;
                for (int i = 0; i < N; i++)
                    for (int j = 0; j < M; j++) {
                        size_t o = (size_t)i * M + j;
                        float xhat = std::fabs((z[o] - mean[j]) * invstd[j]);
                        float tol = 8 * ULP * std::fabs(gamma[j]) * invstd[j] / N * (sdy[j] + xhat * sdyx[j]) +
                                    4 * ULP * std::fabs(rdz[o]);
                        if (std::isnan(dz[o]) || !(std::fabs(dz[o] - rdz[o]) <= tol))
                            if (bad++ < 5)
                                ADD_FAILURE() << "bn_bwd dz " << w << " at (" << i << "," << j << "): got " << dz[o]
                                              << " want " << rdz[o] << " tolerance " << tol;
                    }
                EXPECT_EQ(bad, 0) << "bn_bwd dz " << w;
                if (grads) {
                    expect_near(dg, rdg, 2 * ULP, 1e-30f, "bn_bwd dgamma " + w);
                    expect_near(db, rdb, 2 * ULP, 1e-30f, "bn_bwd dbeta " + w);
                }
            }
}

TEST(KernelEmu, Loss) {
    Cpu cpu;
    const int n = 131; // rows: more than a 32- or 128-thread block, so the sum strides
    for (int d : {10, 37})
        for (int kind : {TN_LOSS_MSE, TN_LOSS_XENT}) {
            Vec logits = rnd((size_t)n * d, 20 + d + kind, 0.05f, 3.0f);
            std::vector<int32_t> labels(n);
            std::mt19937 g(21);
            for (int i = 0; i < n; i++) // every third row labelled with its argmax: some correct rows
                labels[i] = i % 3 ? (int32_t)(g() % d) : (int32_t)tn_argmax(&logits[(size_t)i * d], d);
            for (int b : BLOCKS)
                for (int grad : {0, 1}) {
                    Cfg k(b, 0, b == 32 ? 2 : 0);
                    std::vector<char> ws(K::loss_ws_bytes(n));
                    Vec out = poisoned(2), rout = poisoned(2);
                    Vec dl = poisoned((size_t)n * d), rdl = poisoned((size_t)n * d);
                    ASSERT_EQ(K::loss(&k.c, (tn_loss_kind)kind, n, d, logits.data(), labels.data(), 1.0f / n,
                                      grad ? dl.data() : nullptr, out.data(), ws.data()),
                              0)
                        << k.e.msg;
                    cpu.be->loss(cpu.be, (tn_loss_kind)kind, n, d, logits.data(), labels.data(), 1.0f / n,
                                 grad ? rdl.data() : nullptr, rout.data());
                    std::string w = std::string(kind == TN_LOSS_MSE ? "mse" : "xent") + " d=" + std::to_string(d) +
                                    " " + k.where();
                    expect_near(out, rout, 2 * ULP, 0, "loss sums " + w);
                    EXPECT_GE(rout[1], (float)((n + 2) / 3)) << w;
                    if (grad) expect_near(dl, rdl, 4 * ULP, 0, "loss dlogits " + w);
                }
        }
}

TEST(KernelEmu, Sgd) {
    Cpu cpu;
    size_t n = (size_t)N * M;
    Vec w0 = rnd(n, 22), g = rnd(n, 23), v0 = rnd(n, 24);
    for (int b : BLOCKS)
        for (float mu : {0.0f, 0.9f}) {
            Cfg k(b, 0, 3);
            Vec w = w0, v = v0, rw = w0, rv = v0;
            float *vp = mu != 0.0f ? v.data() : nullptr, *rvp = mu != 0.0f ? rv.data() : nullptr;
            ASSERT_EQ(K::sgd(&k.c, n, w.data(), g.data(), vp, 0.05f, mu, 1e-3f), 0) << k.e.msg;
            cpu.be->sgd(cpu.be, n, rw.data(), g.data(), rvp, 0.05f, mu, 1e-3f);
            expect_near(w, rw, 4 * ULP, 0, "sgd w mu=" + std::to_string(mu) + " " + k.where());
            expect_near(v, rv, 4 * ULP, 0, "sgd v mu=" + std::to_string(mu) + " " + k.where());
            // the same step with lr, mu, wd read from memory (set_scalars, then sgd_dev): same bits
            Vec hyp = poisoned(8), w2 = w0, v2 = v0;
            const float vals[3] = {0.05f, mu, 1e-3f};
            ASSERT_EQ(K::set_scalars(&k.c, hyp.data(), vals, 3), 0) << k.e.msg;
            EXPECT_EQ(hyp[0], 0.05f);
            EXPECT_EQ(hyp[1], mu);
            EXPECT_EQ(hyp[2], 1e-3f);
            EXPECT_TRUE(std::isnan(hyp[3])) << "set_scalars wrote past n";
            ASSERT_EQ(K::sgd_dev(&k.c, n, w2.data(), g.data(), mu != 0.0f ? v2.data() : nullptr, hyp.data()), 0)
                << k.e.msg;
            expect_near(w2, w, 0, 0, "sgd_dev w mu=" + std::to_string(mu) + " " + k.where());
            expect_near(v2, v, 0, 0, "sgd_dev v mu=" + std::to_string(mu) + " " + k.where());
        }
}

TEST(KernelEmu, Reductions) {
    Cpu cpu;
    for (size_t n : {(size_t)N, (size_t)N * M}) { // one block and many
        Vec x = rnd(n, 25), y = rnd(n, 26, 0.05f, 2.0f, 0.1f);
        float ref[3];
        cpu.be->sumsq(cpu.be, n, x.data(), &ref[0]);
        cpu.be->dot(cpu.be, n, x.data(), y.data(), &ref[1]);
        cpu.be->diffsq(cpu.be, n, x.data(), y.data(), &ref[2]);
        for (int b : BLOCKS)
            for (int cap : {0, 3}) {
                Cfg k(b, 0, cap);
                std::vector<char> ws(K::reduce_ws_bytes(&k.c, n) + 1);
                Vec out = poisoned(3);
                ASSERT_EQ(K::sumsq(&k.c, n, x.data(), &out[0], ws.data()), 0) << k.e.msg;
                ASSERT_EQ(K::dot(&k.c, n, x.data(), y.data(), &out[1], ws.data()), 0) << k.e.msg;
                ASSERT_EQ(K::diffsq(&k.c, n, x.data(), y.data(), &out[2], ws.data()), 0) << k.e.msg;
                expect_near(out, Vec(ref, ref + 3), 2 * ULP, 0,
                            "sumsq/dot/diffsq n=" + std::to_string(n) + " " + k.where());
            }
    }
}

TEST(KernelEmu, RowNorms) {
    Cpu cpu;
    for (int m : {M, 5}) { // wider than a warp, and narrower (idle lanes)
        Vec x = rnd((size_t)N * m, 27 + m);
        Vec ref = poisoned(N);
        cpu.be->row_norms(cpu.be, N, m, x.data(), ref.data());
        for (int b : BLOCKS)
            for (int cap : {0, 1}) {
                Cfg k(b, 0, cap);
                Vec out = poisoned(N);
                ASSERT_EQ(K::row_norms(&k.c, N, m, x.data(), out.data()), 0) << k.e.msg;
                expect_near(out, ref, 2 * ULP, 0, "row_norms m=" + std::to_string(m) + " " + k.where());
            }
    }
}

// The same launch shape gives the same bits (fixed-order reductions, no atomics).
TEST(KernelEmu, ReductionsAreDeterministic) {
    size_t n = (size_t)N * M;
    Vec x = rnd(n, 28);
    Cfg k(128);
    std::vector<char> ws(K::reduce_ws_bytes(&k.c, n) + 1);
    float a = 0, b = 1;
    ASSERT_EQ(K::sumsq(&k.c, n, x.data(), &a, ws.data()), 0);
    ASSERT_EQ(K::sumsq(&k.c, n, x.data(), &b, ws.data()), 0);
    EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0);
}

// A block size the launchers cannot use is refused with the launcher's name, not launched.
TEST(KernelEmu, BadBlockSizeIsRefused) {
    Cfg k(48);
    Vec x(10, 1.0f);
    long before = tn_emu_rt::launches;
    EXPECT_NE(K::fill(&k.c, x.data(), x.size(), 0.0f), 0);
    EXPECT_NE(std::string(k.e.msg).find("block of 48 threads"), std::string::npos) << k.e.msg;
    EXPECT_EQ(tn_emu_rt::launches, before);
}

// ---- the emulation itself ---------------------------------------------------------------------

__global__ void emu_probe_kernel(int *out) {
    int t = (int)threadIdx.x, lane = t % 32;
    __shared__ int sh[64];
    sh[t] = t * 10;
    __syncthreads();
    int other = sh[63 - t]; // written by another warp: needs the barrier
    int down = __shfl_down_sync(0xffffffffu, t, 3);
    int x = __shfl_xor_sync(0xffffffffu, t, 5);
    int bc = __shfl_sync(0xffffffffu, t, 7);
    int up = __shfl_up_sync(0xffffffffu, t, 2);
    __syncwarp();
    out[t * 6 + 0] = other;
    out[t * 6 + 1] = down;
    out[t * 6 + 2] = x;
    out[t * 6 + 3] = bc;
    out[t * 6 + 4] = up;
    out[t * 6 + 5] = (int)(blockIdx.x * 1000 + lane);
    atomicAdd(&out[64 * 6], 1);
}

TEST(KernelEmu, EmulatedIntrinsicsFollowCuda) {
    std::vector<int> out(64 * 6 + 1, -1);
    out[64 * 6] = 0;
    TN_LAUNCH(emu_probe_kernel, dim3(1), dim3(64), 0, nullptr, out.data());
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    for (int t = 0; t < 64; t++) {
        int lane = t % 32, w = t / 32;
        EXPECT_EQ(out[t * 6 + 0], (63 - t) * 10) << t;
        EXPECT_EQ(out[t * 6 + 1], lane + 3 < 32 ? t + 3 : t) << t;       // beyond the warp: own value
        EXPECT_EQ(out[t * 6 + 2], w * 32 + (lane ^ 5)) << t;
        EXPECT_EQ(out[t * 6 + 3], w * 32 + 7) << t;
        EXPECT_EQ(out[t * 6 + 4], lane >= 2 ? t - 2 : t) << t;
        EXPECT_EQ(out[t * 6 + 5], lane) << t;
    }
    EXPECT_EQ(out[64 * 6], 64);
}

// A launch CUDA would refuse (1025 threads) does not run, and the launch check reports it with
// the kernel's name, the file and the line.
int launch_too_big(tn_err *e, int *out) {
    TN_LAUNCH_CHECKED(e, emu_probe_kernel, dim3(1), dim3(1025), nullptr, out);
    return 0;
}
TEST(KernelEmu, LaunchErrorNamesKernelFileAndLine) {
    tn_err e{};
    std::vector<int> out(2000, -1);
    EXPECT_EQ(launch_too_big(&e, out.data()), TN_ERUNTIME);
    std::string msg = e.msg;
    EXPECT_NE(msg.find("emu_probe_kernel"), std::string::npos) << msg;
    EXPECT_NE(msg.find("invalid configuration argument"), std::string::npos) << msg;
    EXPECT_NE(msg.find("test_kernels_emu.cpp:"), std::string::npos) << msg;
    EXPECT_EQ(out[0], -1) << "the refused kernel ran";
    EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "the check clears the error";
}

// ---- the CUDA backend's host side without a GPU ---------------------------------------------

TEST(CudaBackend, NoDeviceGivesReason) {
    if (tn_cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present (tests/test_gpu.cpp covers it)";
    tn_err e{};
    tn_backend *be = tn_backend_cuda_create(0, 0, &e);
    EXPECT_EQ(be, nullptr);
    if (be) be->destroy(be);
    EXPECT_EQ(e.code, TN_ERUNTIME);
#ifdef TAUNET_HAVE_CUDA
    EXPECT_EQ(std::string(e.msg).rfind("no CUDA device: ", 0), 0u) << e.msg;
    EXPECT_GT(std::strlen(e.msg), std::strlen("no CUDA device: ")) << "the reason is missing";
#else
    EXPECT_NE(std::string(e.msg).find("built without the CUDA toolkit"), std::string::npos) << e.msg;
    EXPECT_NE(std::string(e.msg).find("--backend cpu"), std::string::npos) << e.msg;
#endif
}

} // namespace
