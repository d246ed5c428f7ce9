// CPU backend ops against values computed independently (double loops, hand-derived numbers):
// BatchNorm forward/backward and running statistics, losses, SGD, init, reductions, schedules.
#include <gtest/gtest.h>

#include <map>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <vector>

#include "op_cases.h"
#include "taunet/backend.h"
#include "taunet/config.h"
#include "taunet/train.h"

namespace {
struct Cpu {
    tn_err err{};
    tn_backend *be;
    Cpu() { be = tn_backend_cpu_create(2, &err); }
    ~Cpu() { be->destroy(be); }
};
std::vector<float> randn(size_t n, unsigned seed, float scale = 1.0f, float shift = 0.0f) {
    std::mt19937 r(seed);
    std::normal_distribution<float> g(shift, scale);
    std::vector<float> v(n);
    for (auto &x : v) x = g(r);
    return v;
}
}  // namespace

// BN forward (train mode) against a double computation of PyTorch's BatchNorm1d formula, and the
// running statistics: r = 0.9 r + 0.1 batch, with the unbiased variance for running_var.
TEST(BatchNorm, ForwardAndRunningStats) {
    Cpu c;
    const int n = 13, m = 37;  // not multiples of anything in particular
    auto z = randn((size_t)n * m, 1, 2.0f, 0.5f), gamma = randn(m, 2, 0.3f, 1.0f), beta = randn(m, 3, 0.2f);
    std::vector<float> mean(m), invstd(m), rm(m, 0.25f), rv(m, 2.0f), h((size_t)n * m, NAN);
    ASSERT_EQ(c.be->bn_stats(c.be, n, m, z.data(), 1e-5f, mean.data(), invstd.data(), rm.data(), rv.data(), 0.1f), 0);
    ASSERT_EQ(c.be->act_fwd(c.be, n, m, z.data(), mean.data(), invstd.data(), gamma.data(), beta.data(),
                            nullptr, 1.0f, nullptr, h.data()), 0);
    for (int j = 0; j < m; j++) {
        double mu = 0, ss = 0;
        for (int i = 0; i < n; i++) mu += z[i * m + j];
        mu /= n;
        for (int i = 0; i < n; i++) ss += (z[i * m + j] - mu) * (z[i * m + j] - mu);
        EXPECT_NEAR(rm[j], 0.9 * 0.25 + 0.1 * mu, 1e-5);
        EXPECT_NEAR(rv[j], 0.9 * 2.0 + 0.1 * ss / (n - 1), 1e-5 * (1 + rv[j]));
        for (int i = 0; i < n; i++) {
            double y = gamma[j] * (z[i * m + j] - mu) / std::sqrt(ss / n + 1e-5) + beta[j];
            EXPECT_NEAR(h[i * m + j], std::max(y, 0.0), 1e-5 * (1 + std::fabs(y)));
        }
    }
}

// Eval mode uses the running statistics, not the batch's.
TEST(BatchNorm, EvalUsesRunningStats) {
    Cpu c;
    const int n = 5, m = 3;
    auto z = randn(n * m, 4);
    float rm[3] = {0.5f, -1.0f, 2.0f}, rv[3] = {4.0f, 0.25f, 1.0f}, g[3] = {1, 2, 3}, b[3] = {0.1f, 0.2f, 0.3f};
    float mean[3], invstd[3], h[15];
    ASSERT_EQ(c.be->bn_eval_stats(c.be, m, rm, rv, 1e-5f, mean, invstd), 0);
    ASSERT_EQ(c.be->act_fwd(c.be, n, m, z.data(), mean, invstd, g, b, nullptr, 1.0f, nullptr, h), 0);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) {
            double y = g[j] * (z[i * m + j] - rm[j]) / std::sqrt(rv[j] + 1e-5) + b[j];
            EXPECT_NEAR(h[i * m + j], std::max(y, 0.0), 1e-5);
        }
}

// BN backward against central differences of the double forward of S = sum(du * BN(z)).
TEST(BatchNorm, BackwardMatchesDoubleFiniteDifferences) {
    Cpu c;
    const int n = 7, m = 11;
    auto z = randn(n * m, 5, 1.5f, 0.3f), du = randn(n * m, 6), gamma = randn(m, 7, 0.3f, 1.0f);
    std::vector<float> mean(m), invstd(m), dz(n * m, NAN), dg(m, NAN), db(m, NAN);
    ASSERT_EQ(c.be->bn_stats(c.be, n, m, z.data(), 1e-5f, mean.data(), invstd.data(), nullptr, nullptr, 0.1f), 0);
    ASSERT_EQ(c.be->bn_bwd(c.be, n, m, z.data(), mean.data(), invstd.data(), gamma.data(), du.data(),
                           dz.data(), dg.data(), db.data()), 0);
    auto S = [&](const std::vector<double> &zz, int j, double gj) {
        double mu = 0, var = 0, s = 0;
        for (int i = 0; i < n; i++) mu += zz[i * m + j];
        mu /= n;
        for (int i = 0; i < n; i++) var += (zz[i * m + j] - mu) * (zz[i * m + j] - mu);
        var /= n;
        for (int i = 0; i < n; i++) s += du[i * m + j] * gj * (zz[i * m + j] - mu) / std::sqrt(var + 1e-5);
        return s;
    };
    std::vector<double> zd(z.begin(), z.end());
    const double h = 1e-6;
    for (int j = 0; j < m; j++) {
        for (int i = 0; i < n; i++) {
            double z0 = zd[i * m + j];
            zd[i * m + j] = z0 + h;
            double p = S(zd, j, gamma[j]);
            zd[i * m + j] = z0 - h;
            double q = S(zd, j, gamma[j]);
            zd[i * m + j] = z0;
            EXPECT_NEAR(dz[i * m + j], (p - q) / (2 * h), 2e-4 * (1 + std::fabs(dz[i * m + j])));
        }
        double dgd = (S(zd, j, gamma[j] + h) - S(zd, j, gamma[j] - h)) / (2 * h), dbd = 0;
        for (int i = 0; i < n; i++) dbd += du[i * m + j];
        EXPECT_NEAR(dg[j], dgd, 2e-4 * (1 + std::fabs(dgd)));
        EXPECT_NEAR(db[j], dbd, 1e-5 * (1 + std::fabs(dbd)));
    }
}

// Known values: xent of equal logits over d classes is log d; mse of zero logits is 1/2.
TEST(Loss, KnownValues) {
    Cpu c;
    float logits[6] = {0, 0, 0, 1, 2, 3}, dl[6], out[2];
    int32_t y[2] = {1, 2};
    ASSERT_EQ(c.be->loss(c.be, TN_LOSS_XENT, 2, 3, logits, y, 0.5f, dl, out), 0);
    double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
    EXPECT_NEAR(out[0], std::log(3.0) + lse - 3.0, 1e-6);
    EXPECT_EQ(out[1], 1.0f);  // row 0: argmax of ties is class 0 != 1; row 1: class 2 correct
    EXPECT_NEAR(dl[0], 0.5 / 3, 1e-7);
    EXPECT_NEAR(dl[1], 0.5 * (1.0 / 3 - 1), 1e-7);
    EXPECT_NEAR(dl[5], 0.5 * (std::exp(3.0 - lse) - 1), 1e-6);
    ASSERT_EQ(c.be->loss(c.be, TN_LOSS_MSE, 2, 3, logits, y, 1.0f, dl, out), 0);
    // row 0: 1/2 * 1; row 1: 1/2 * (1 + 4 + 4)
    EXPECT_NEAR(out[0], 0.5 + 4.5, 1e-6);
    EXPECT_FLOAT_EQ(dl[1], -1.0f);
    EXPECT_FLOAT_EQ(dl[5], 2.0f);
}

// PyTorch SGD: g' = g + wd w; v = mu v + g'; w -= lr v.
TEST(Sgd, PyTorchSemantics) {
    Cpu c;
    float w[2] = {1.0f, -2.0f}, g[2] = {0.5f, 0.25f}, v[2] = {0.0f, 0.0f};
    ASSERT_EQ(c.be->sgd(c.be, 2, w, g, v, 0.1f, 0.9f, 0.01f), 0);
    EXPECT_FLOAT_EQ(v[0], 0.51f);
    EXPECT_FLOAT_EQ(w[0], 1.0f - 0.051f);
    ASSERT_EQ(c.be->sgd(c.be, 2, w, g, v, 0.1f, 0.9f, 0.01f), 0);
    EXPECT_NEAR(v[0], 0.9f * 0.51f + 0.5f + 0.01f * 0.949f, 1e-6);
    float w2 = 3.0f, g2 = 1.0f;
    ASSERT_EQ(c.be->sgd(c.be, 1, &w2, &g2, nullptr, 0.5f, 0.0f, 0.0f), 0);
    EXPECT_FLOAT_EQ(w2, 2.5f);
}

// cuRAND host Philox: reproducible, right moments, offsets give different numbers, odd counts.
TEST(Init, PhiloxNormal) {
    Cpu c;
    std::vector<float> a(100001), b(100001), o(1000);
    ASSERT_EQ(c.be->init_normal(c.be, a.data(), a.size(), 0.5f, 42, 0), 0);
    ASSERT_EQ(c.be->init_normal(c.be, b.data(), b.size(), 0.5f, 42, 0), 0);
    ASSERT_EQ(c.be->init_normal(c.be, o.data(), o.size(), 0.5f, 42, 1000), 0);
    EXPECT_EQ(a, b);
    double s = 0, ss = 0;
    for (float x : a) s += x, ss += (double)x * x;
    EXPECT_NEAR(s / a.size(), 0.0, 0.01);
    EXPECT_NEAR(std::sqrt(ss / a.size()), 0.5, 0.01);
    EXPECT_NE(o[0], a[0]);
}

TEST(Reduce, SumsqDotDiffsqRowNorms) {
    Cpu c;
    auto x = randn(10007, 8), y = randn(10007, 9);
    float out;
    double s = 0, d = 0, q = 0;
    for (size_t i = 0; i < x.size(); i++) s += x[i] * x[i], d += x[i] * y[i], q += (x[i] - y[i]) * (x[i] - y[i]);
    c.be->sumsq(c.be, x.size(), x.data(), &out);
    EXPECT_NEAR(out, s, 1e-5 * s);
    c.be->dot(c.be, x.size(), x.data(), y.data(), &out);
    EXPECT_NEAR(out, d, 1e-3);
    c.be->diffsq(c.be, x.size(), x.data(), y.data(), &out);
    EXPECT_NEAR(out, q, 1e-5 * q);
    float rn[3];
    c.be->row_norms(c.be, 3, 5, x.data(), rn);
    double r1 = 0;
    for (int j = 0; j < 5; j++) r1 += x[5 + j] * x[5 + j];
    EXPECT_NEAR(rn[1], std::sqrt(r1), 1e-5);
}

TEST(Schedule, WarmupStepCosine) {
    tn_config c;
    tn_config_defaults(&c);
    c.lr = 1.0;
    c.warmup = 4;
    EXPECT_DOUBLE_EQ(tn_lr_at(&c, 0, 100, 10), 0.25);
    EXPECT_DOUBLE_EQ(tn_lr_at(&c, 3, 100, 10), 1.0);
    c.sched = TN_SCHED_STEP;
    c.n_milestones = 2, c.milestones[0] = 2, c.milestones[1] = 5;
    EXPECT_DOUBLE_EQ(tn_lr_at(&c, 19, 100, 10), 1.0);   // epoch 1
    EXPECT_NEAR(tn_lr_at(&c, 20, 100, 10), 0.1, 1e-15);  // epoch 2
    EXPECT_NEAR(tn_lr_at(&c, 55, 100, 10), 0.01, 1e-15); // epoch 5
    c.sched = TN_SCHED_COSINE;
    EXPECT_NEAR(tn_lr_at(&c, 4, 104, 10), 1.0, 1e-12);
    EXPECT_NEAR(tn_lr_at(&c, 54, 104, 10), 0.5, 1e-12);
    EXPECT_NEAR(tn_lr_at(&c, 104, 104, 10), 0.0, 1e-12);
}

TEST(Schedule, EpochOrderIsAPermutationFixedBySeedAndEpoch) {
    std::vector<int32_t> a(1000), b(1000), e2(1000);
    tn_epoch_order(5, 3, 1000, a.data());
    tn_epoch_order(5, 3, 1000, b.data());
    tn_epoch_order(5, 4, 1000, e2.data());
    EXPECT_EQ(a, b);
    EXPECT_NE(a, e2);
    std::vector<int32_t> s = a;
    std::sort(s.begin(), s.end());
    for (int i = 0; i < 1000; i++) ASSERT_EQ(s[i], i);
}

// --warmup-lr: the warm-up runs at that constant lr (He et al.'s 0.01 for 400 iterations at
// depth >= 110), counted per iteration, then the schedule from --lr.
TEST(Schedule, ConstantWarmup) {
    tn_config c;
    tn_config_defaults(&c);
    c.lr = 0.1, c.warmup = 400, c.warmup_lr = 0.01;
    c.sched = TN_SCHED_STEP;
    c.n_milestones = 1, c.milestones[0] = 100;
    EXPECT_DOUBLE_EQ(tn_lr_at(&c, 0, 100000, 391), 0.01);
    EXPECT_DOUBLE_EQ(tn_lr_at(&c, 399, 100000, 391), 0.01);  // in epoch 1: per iteration, not per epoch
    EXPECT_DOUBLE_EQ(tn_lr_at(&c, 400, 100000, 391), 0.1);
    EXPECT_NEAR(tn_lr_at(&c, 100 * 391, 100000, 391), 0.01, 1e-15);
}

// --augment crop-flip: the codes depend on (seed, epoch, example) only (the same for a prefix of
// the examples, so a resume or another --subset sees the same images), differ by epoch, and every
// shift in [-4, 4]^2 and both flips occur about equally often.
TEST(Schedule, AugmentCodesFixedBySeedEpochExample) {
    const int n = 40000;
    std::vector<int32_t> a(n), b(100), e2(n);
    tn_augment_codes(5, 3, n, a.data());
    tn_augment_codes(5, 3, 100, b.data());
    tn_augment_codes(5, 4, n, e2.data());
    EXPECT_TRUE(std::equal(b.begin(), b.end(), a.begin()));
    EXPECT_NE(a, e2);
    std::map<int, int> count;
    for (int k : a) count[k]++;
    EXPECT_EQ(count.size(), 9u * 9u * 2u);
    for (auto [k, m] : count) {
        int dy = (k & 15) - 4, dx = ((k >> 4) & 15) - 4, flip = k >> 8;
        ASSERT_TRUE(dy >= -4 && dy <= 4 && dx >= -4 && dx <= 4 && (flip == 0 || flip == 1)) << k;
        EXPECT_NEAR(m, n / 162.0, 5 * std::sqrt(n / 162.0)) << "dy " << dy << " dx " << dx << " flip " << flip;
    }
}

TEST(Config, TauRules) {
    tn_config c;
    tn_config_defaults(&c);
    c.depth = 16;
    c.tau_rule = TN_TAU_INV_SQRT_L;
    EXPECT_DOUBLE_EQ(tn_config_tau(&c), 0.25);
    c.tau_rule = TN_TAU_INV_L;
    EXPECT_DOUBLE_EQ(tn_config_tau(&c), 1.0 / 16);
    c.tau_rule = TN_TAU_L_M14;
    EXPECT_DOUBLE_EQ(tn_config_tau(&c), 0.5);
    c.arch = TN_ARCH_PLAIN;
    EXPECT_DOUBLE_EQ(tn_config_tau(&c), 1.0);
}

// The canonical flags re-parse to the same configuration (checkpoints rely on it).
TEST(Config, FlagsRoundTrip) {
    tn_config a, b;
    tn_err e{};
    tn_config_defaults(&a);
    const char *argv[] = {"--arch", "plain", "--width", "33", "--depth", "7", "--bn", "on", "--schedule",
                          "step:3,9", "--lr", "0.123", "--data", "fashion:/tmp/x y", "--epochs", "2.5", "--seed", "9"};
    ASSERT_EQ(tn_config_parse(&a, 18, (char **)argv, &e), 0) << e.msg;
    char buf[8192], buf2[8192];
    ASSERT_EQ(tn_config_to_flags(&a, buf, sizeof buf), 0);
    std::vector<char *> args;
    std::string s(buf);
    std::vector<std::string> parts;
    size_t pos = 0, nl;
    while ((nl = s.find('\n', pos)) != std::string::npos) parts.push_back(s.substr(pos, nl - pos)), pos = nl + 1;
    parts.push_back(s.substr(pos));
    for (auto &p : parts) args.push_back(p.data());
    tn_config_defaults(&b);
    ASSERT_EQ(tn_config_parse(&b, (int)args.size(), args.data(), &e), 0) << e.msg;
    ASSERT_EQ(tn_config_to_flags(&b, buf2, sizeof buf2), 0);
    EXPECT_STREQ(buf, buf2);
    EXPECT_EQ(b.width, 33);
    EXPECT_STREQ(b.data.dir, "/tmp/x y");
}

// Every required entry of the CPU backend's table is set (a NULL op would crash the orchestrator
// only when a rarely used path, e.g. a diagnostic, first calls it). Optional entries (fused ops,
// graph capture) may be NULL: the orchestrator checks them.
TEST(Backend, CpuTableComplete) {
    Cpu c;
    const size_t optional[] = {offsetof(tn_backend, act_bn_bwd), offsetof(tn_backend, capture_begin),
                               offsetof(tn_backend, capture_end), offsetof(tn_backend, graph_launch),
                               offsetof(tn_backend, graph_free)};
    const char *base = (const char *)c.be;
    for (size_t off = offsetof(tn_backend, alloc); off <= offsetof(tn_backend, destroy); off += sizeof(void (*)(void))) {
        if (std::find(std::begin(optional), std::end(optional), off) != std::end(optional)) continue;
        void (*fn)(void);
        memcpy(&fn, base + off, sizeof fn);
        EXPECT_NE(fn, nullptr) << "op at offset " << off;
    }
    EXPECT_NE(c.be->act_bn_bwd, nullptr) << "the CPU provides the fused BN backward";
    EXPECT_EQ(c.be->capture_begin, nullptr) << "no graph capture on the CPU";
}

// The fused act_bn_bwd equals act_bwd followed by bn_bwd (the path backends without the fused op
// take), residual and plain.
TEST(BatchNorm, FusedActBnBackwardEqualsTwoOps) {
    Cpu c;
    const int n = 19, m = 41;
    auto h = randn(n * m, 21), dh = randn(n * m, 22), z = randn(n * m, 23, 1.3f, 0.2f), gamma = randn(m, 24, 0.3f, 1.0f);
    for (auto &v : h) v = v > 0.3f ? v : 0.0f;  // relu outputs with zeros
    std::vector<float> mean(m), invstd(m);
    ASSERT_EQ(c.be->bn_stats(c.be, n, m, z.data(), 1e-5f, mean.data(), invstd.data(), nullptr, nullptr, 0.1f), 0);
    for (bool residual : {true, false}) {
        std::vector<float> du(n * m), dhp1(n * m, NAN), dz1(n * m, NAN), dg1(m), db1(m);
        std::vector<float> dhp2(n * m, NAN), dz2 = dh, dg2(m), db2(m);
        ASSERT_EQ(c.be->act_bwd(c.be, (size_t)n * m, h.data(), dh.data(), 0.4f, nullptr, du.data(), residual ? dhp1.data() : nullptr), 0);
        ASSERT_EQ(c.be->bn_bwd(c.be, n, m, z.data(), mean.data(), invstd.data(), gamma.data(), du.data(), dz1.data(),
                               dg1.data(), db1.data()), 0);
        // dz aliases dh in the fused op, as the model calls it
        ASSERT_EQ(c.be->act_bn_bwd(c.be, n, m, h.data(), dz2.data(), 0.4f, residual ? dhp2.data() : nullptr, z.data(),
                                   mean.data(), invstd.data(), gamma.data(), dz2.data(), dg2.data(), db2.data()), 0);
        for (int i = 0; i < n * m; i++) {
            ASSERT_FLOAT_EQ(dz1[i], dz2[i]) << i;
            if (residual) {
                ASSERT_EQ(dhp1[i], dhp2[i]) << i;
            }
        }
        for (int j = 0; j < m; j++) {
            ASSERT_FLOAT_EQ(dg1[j], dg2[j]);
            ASSERT_FLOAT_EQ(db1[j], db2[j]);
        }
    }
}

// The op-case table (tests/op_cases.h) on the CPU backend, every row against its double reference.
TEST(OpTable, CpuBackend) {
    tn_err e{};
    tn_backend *be = tn_backend_cpu_create(2, &e);
    ASSERT_NE(be, nullptr) << e.msg;
    int n = 0;
    for (const auto &k : opcase::table()) {
        EXPECT_EQ(opcase::run_case(be, k), "") << k.name;
        n++;
    }
    EXPECT_GE(n, 30);
    be->destroy(be);
}

// The table can fail: a col2im with one element off by 0.01, an im2col that ignores the stride,
// and a shortcut that puts the zero channels first are each caught.
namespace {
int bad_col2im(tn_backend *be, const tn_conv_geom *g, int n, const float *dcols, float beta, float *dx) {
    tn_err e{};
    tn_backend *cpu = tn_backend_cpu_create(1, &e);
    int rc = cpu->col2im(cpu, g, n, dcols, beta, dx);
    dx[1] += 0.01f;  // one element off
    cpu->destroy(cpu);
    return rc;
}
int bad_im2col(tn_backend *be, const tn_conv_geom *g, int n, const float *x, const float *add, float *cols) {
    tn_conv_geom h = *g;
    h.stride = 1;
    tn_err e{};
    tn_backend *cpu = tn_backend_cpu_create(1, &e);
    int rc = cpu->im2col(cpu, &h, n, x, add, cols);
    cpu->destroy(cpu);
    return rc;
}
int bad_shortcut(tn_backend *be, const tn_conv_geom *g, int n, const float *x, float *y) {
    tn_err e{};
    tn_backend *cpu = tn_backend_cpu_create(1, &e);
    int rc = cpu->shortcut_fwd(cpu, g, n, x, y);
    size_t rows = (size_t)n * g->oh * g->ow;
    for (size_t r = 0; r < rows && g->oc > g->c; r++) std::rotate(y + r * g->oc, y + r * g->oc + g->c, y + (r + 1) * g->oc);
    cpu->destroy(cpu);
    return rc;
}
}  // namespace

TEST(OpTable, CatchesWrongOps) {
    tn_err e{};
    tn_backend *be = tn_backend_cpu_create(1, &e);
    be->col2im = bad_col2im, be->shortcut_fwd = bad_shortcut;
    auto im = be->im2col;
    int caught = 0, rows = 0;
    for (const auto &k : opcase::table()) {
        bool stride2 = k.name.find(" s2") != std::string::npos;
        be->im2col = k.name.rfind("im2col", 0) == 0 && stride2 ? bad_im2col : im;
        if (k.name.rfind("col2im", 0) == 0 || (k.name.rfind("im2col", 0) == 0 && stride2) ||
            k.name.rfind("shortcut_fwd c3->5", 0) == 0) {
            rows++;
            caught += opcase::run_case(be, k) != "";
        }
    }
    EXPECT_GE(rows, 12);
    EXPECT_EQ(caught, rows);
    be->destroy(be);
}
