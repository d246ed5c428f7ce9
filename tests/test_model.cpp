// Model-level tests on the CPU backend: finite-difference gradient checks of every layer kind,
// batch norm against an independent double-precision computation, running statistics, init.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "taunet/backend.h"
#include "taunet/config.h"
#include "taunet/model.h"

namespace {

struct Net {
    tn_err err{};
    tn_backend *be = nullptr;
    tn_model m{};
    tn_config c{};
    std::vector<float> x;
    std::vector<int32_t> y;
    int n;

    Net(tn_arch arch, int bn, int loss, int p = 7, int w = 9, int d = 4, int L = 4, int n_ = 6,
        double tau = 0.7)
        : n(n_) {
        tn_config_defaults(&c);
        c.arch = arch;
        c.width = w;
        c.depth = L;
        c.bn = bn;
        c.loss = loss;
        c.tau_rule = TN_TAU_NUMBER;
        c.tau_value = tau;
        c.momentum = 0.5;  // keeps gradient buffers (the fused SGD path writes no gradients)
        be = tn_backend_cpu_create(1, &err);
        EXPECT_EQ(tn_model_create(&m, be, &c, p, d, n, &err), 0) << err.msg;
        EXPECT_EQ(tn_model_init(&m, 1234), 0);
        std::mt19937 rng(7);
        std::normal_distribution<float> g(0.0f, 1.0f);
        x.resize((size_t)n * p);
        for (auto &v : x) v = g(rng);
        for (int i = 0; i < n; i++) {  // unit-norm rows, as the theory assumes: the loss stays O(1)
            double s = 0;
            for (int j = 0; j < p; j++) s += (double)x[i * p + j] * x[i * p + j];
            for (int j = 0; j < p; j++) x[i * p + j] /= (float)std::sqrt(s);
        }
        y.resize(n);
        for (int i = 0; i < n; i++) y[i] = (int32_t)(rng() % d);
        if (bn) {  // non-trivial gamma/beta so their gradients and the apply are exercised
            for (size_t i = 0; i < m.nbn / 2; i++) m.bnp[i] = 1.0f + 0.3f * g(rng);
            for (size_t i = m.nbn / 2; i < m.nbn; i++) m.bnp[i] = 0.2f * g(rng);
        }
    }
    ~Net() {
        tn_model_destroy(&m);
        be->destroy(be);
    }
    double loss() {
        double out[2];
        EXPECT_EQ(tn_model_forward(&m, x.data(), n, 1), 0);
        EXPECT_EQ(tn_model_loss(&m, y.data(), n, 0, out), 0);
        return out[0] / n;
    }
    void grads() {
        double out[2];
        ASSERT_EQ(tn_model_forward(&m, x.data(), n, 1), 0);
        ASSERT_EQ(tn_model_loss(&m, y.data(), n, 1, out), 0);
        ASSERT_EQ(tn_model_set_hyper(&m, 0.0f, 0.0f, 0.0f), 0);
        ASSERT_EQ(tn_model_backward(&m, x.data(), n), 0);
    }
};

// Independent double-precision oracle of the whole network (naive loops), written from the
// formulas of DESIGN.md §1, used for finite differences: in float32 the loss is too noisy for
// central differences to resolve 1% errors (ReLU nets amplify rounding), in double it is not.
struct Ref {
    int p, m, d, L, n, resnet, bn, loss;
    double tau;
    std::vector<double> w, bnp, x;
    std::vector<int32_t> y;
    explicit Ref(const Net &net) {
        const tn_model &M = net.m;
        p = M.p, m = M.m, d = M.d, L = M.L, n = net.n, resnet = M.resnet, bn = M.bn, loss = M.loss;
        tau = M.tau;
        w.assign(M.w, M.w + M.nw);
        if (bn) bnp.assign(M.bnp, M.bnp + M.nbn);
        x.assign(net.x.begin(), net.x.end());
        y = net.y;
    }
    double eval() const {
        std::vector<double> h((size_t)n * m), z((size_t)n * m), f((size_t)n * d);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++) {
                double s = 0;
                for (int k = 0; k < p; k++) s += w[(size_t)j * p + k] * x[(size_t)i * p + k];
                h[(size_t)i * m + j] = std::max(s, 0.0);
            }
        for (int l = 1; l < L; l++) {
            const double *W = w.data() + (size_t)m * p + (size_t)(l - 1) * m * m;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < m; j++) {
                    double s = 0;
                    for (int k = 0; k < m; k++) s += W[(size_t)j * m + k] * h[(size_t)i * m + k];
                    z[(size_t)i * m + j] = s;
                }
            if (bn)
                for (int j = 0; j < m; j++) {
                    double mu = 0, var = 0;
                    for (int i = 0; i < n; i++) mu += z[(size_t)i * m + j];
                    mu /= n;
                    for (int i = 0; i < n; i++) var += (z[(size_t)i * m + j] - mu) * (z[(size_t)i * m + j] - mu);
                    var /= n;  // biased, as BatchNorm in training mode
                    double g = bnp[(size_t)(l - 1) * m + j], b = bnp[bnp.size() / 2 + (size_t)(l - 1) * m + j];
                    for (int i = 0; i < n; i++)
                        z[(size_t)i * m + j] = g * (z[(size_t)i * m + j] - mu) / std::sqrt(var + 1e-5) + b;
                }
            for (size_t k = 0; k < h.size(); k++)
                h[k] = std::max((resnet ? h[k] : 0.0) + (resnet ? tau : 1.0) * z[k], 0.0);
        }
        const double *B = w.data() + (size_t)m * p + (size_t)(L - 1) * m * m;
        double total = 0;
        for (int i = 0; i < n; i++) {
            double mx = -1e300;
            for (int c = 0; c < d; c++) {
                double s = 0;
                for (int k = 0; k < m; k++) s += B[(size_t)c * m + k] * h[(size_t)i * m + k];
                f[(size_t)i * d + c] = s;
                mx = std::max(mx, s);
            }
            if (loss == TN_LOSS_MSE) {
                for (int c = 0; c < d; c++) {
                    double r = f[(size_t)i * d + c] - (c == y[i] ? 1.0 : 0.0);
                    total += 0.5 * r * r;
                }
            } else {
                double se = 0;
                for (int c = 0; c < d; c++) se += std::exp(f[(size_t)i * d + c] - mx);
                total += mx + std::log(se) - f[(size_t)i * d + y[i]];
            }
        }
        return total / n;
    }
};

// Directional derivative of the double oracle along a random unit direction v of one parameter
// block, by central differences with h = 1e-5 (truncation ~1e-10, round-off ~1e-11), against
// g.v from float32 backprop. Backprop in float carries relative error ~1e-6 per layer; 1e-3
// relative (plus a 1e-6 absolute floor) therefore passes a right formula and fails a wrong one
// (a missing tau, a wrong BN term or a transposed GEMM is off by far more).
void check_block(Net &net, std::vector<double> &blk, size_t offset, const float *g, size_t count,
                 const Ref &ref, const char *what) {
    std::mt19937 rng(11);
    std::normal_distribution<double> nd;
    std::vector<double> v(count);
    double nv = 0.0;
    for (auto &e : v) e = nd(rng), nv += e * e;
    nv = std::sqrt(nv);
    double gv = 0.0;
    for (size_t i = 0; i < count; i++) v[i] /= nv, gv += (double)g[i] * v[i];
    const double h = 1e-5;
    for (size_t i = 0; i < count; i++) blk[offset + i] += h * v[i];
    double lp = ref.eval();
    for (size_t i = 0; i < count; i++) blk[offset + i] -= 2 * h * v[i];
    double lm = ref.eval();
    for (size_t i = 0; i < count; i++) blk[offset + i] += h * v[i];
    double fd = (lp - lm) / (2 * h);
    EXPECT_NEAR(fd, gv, 1e-3 * std::max(std::fabs(gv), std::fabs(fd)) + 1e-6)
        << what << ": finite difference " << fd << " vs backprop " << gv;
}

void gradcheck(tn_arch arch, int bn, int loss) {
    Net net(arch, bn, loss);
    net.grads();
    tn_model &m = net.m;
    // keep a copy: the check's forward passes overwrite nothing in gw, but be explicit
    Ref ref(net);
    double out[2];
    ASSERT_EQ(tn_model_forward(&m, net.x.data(), net.n, 1), 0);
    ASSERT_EQ(tn_model_loss(&m, net.y.data(), net.n, 0, out), 0);
    EXPECT_NEAR(out[0] / net.n, ref.eval(), 1e-5 * (1 + std::fabs(ref.eval()))) << "forward vs oracle";
    check_block(net, ref.w, 0, m.gw, m.off_W, ref, "A");
    for (int l = 1; l < m.L; l++) {
        std::string name = "W_" + std::to_string(l);
        size_t off = (size_t)(tn_model_W(&m, l) - m.w);
        check_block(net, ref.w, off, m.gw + off, (size_t)m.m * m.m, ref, name.c_str());
    }
    check_block(net, ref.w, m.off_B, m.gw + m.off_B, (size_t)m.d * m.m, ref, "B");
    if (bn) {
        check_block(net, ref.bnp, 0, m.gbnp, m.nbn / 2, ref, "gamma");
        check_block(net, ref.bnp, m.nbn / 2, m.gbnp + m.nbn / 2, m.nbn / 2, ref, "beta");
    }
}

}  // namespace

TEST(GradCheck, PlainMse) { gradcheck(TN_ARCH_PLAIN, 0, TN_LOSS_MSE); }
TEST(GradCheck, PlainXent) { gradcheck(TN_ARCH_PLAIN, 0, TN_LOSS_XENT); }
TEST(GradCheck, ResnetMse) { gradcheck(TN_ARCH_RESNET, 0, TN_LOSS_MSE); }
TEST(GradCheck, ResnetXent) { gradcheck(TN_ARCH_RESNET, 0, TN_LOSS_XENT); }
TEST(GradCheck, PlainBnXent) { gradcheck(TN_ARCH_PLAIN, 1, TN_LOSS_XENT); }
TEST(GradCheck, ResnetBnMse) { gradcheck(TN_ARCH_RESNET, 1, TN_LOSS_MSE); }
TEST(GradCheck, ResnetBnXent) { gradcheck(TN_ARCH_RESNET, 1, TN_LOSS_XENT); }

// Frozen layers get no update: --train hidden leaves A and B, --train last leaves A and W.
TEST(GradCheck, TrainSubsetsFreezeTheRest) {
    for (int what : {TN_TRAIN_HIDDEN, TN_TRAIN_LAST}) {
        tn_err err{};
        tn_config c;
        tn_config_defaults(&c);
        c.width = 8, c.depth = 3, c.train_what = (tn_train_what)what;
        tn_backend *be = tn_backend_cpu_create(1, &err);
        tn_model m;
        ASSERT_EQ(tn_model_create(&m, be, &c, 5, 3, 4, &err), 0);
        ASSERT_EQ(tn_model_init(&m, 1), 0);
        std::vector<float> w0(m.w, m.w + m.nw), x(20, 0.5f);
        for (int i = 0; i < 20; i++) x[i] = 0.1f * (i % 7) - 0.2f;
        int32_t y[4] = {0, 1, 2, 1};
        double out[2];
        ASSERT_EQ(tn_model_forward(&m, x.data(), 4, 1), 0);
        ASSERT_EQ(tn_model_loss(&m, y, 4, 1, out), 0);
        ASSERT_EQ(tn_model_set_hyper(&m, 0.5f, 0.0f, 0.0f), 0);
        ASSERT_EQ(tn_model_backward(&m, x.data(), 4), 0);  // fused SGD (momentum 0)
        size_t changed_lo = m.nw, changed_hi = 0;
        for (size_t i = 0; i < m.nw; i++)
            if (m.w[i] != w0[i]) changed_lo = std::min(changed_lo, i), changed_hi = i + 1;
        EXPECT_GE(changed_lo, m.train_lo);
        EXPECT_LE(changed_hi, m.train_hi);
        EXPECT_GT(changed_hi, changed_lo) << "nothing trained";
        tn_model_destroy(&m);
        be->destroy(be);
    }
}

// The optimizer scalars written by tn_model_set_hyper really drive the update: two momentum steps
// with weight decay against a host recomputation of PyTorch's SGD (v = mu v + g + wd w;
// w -= lr v) from the gradients the model wrote, BN parameters included.
TEST(GradCheck, UpdateUsesLrMomentumAndWeightDecay) {
    Net a(TN_ARCH_RESNET, 1, TN_LOSS_XENT);
    const float lr = 0.1f, mu = 0.9f, wd = 0.01f;
    std::vector<float> w(a.m.w, a.m.w + a.m.nw), bnp(a.m.bnp, a.m.bnp + a.m.nbn);
    std::vector<float> vw(a.m.nw, 0.0f), vb(a.m.nbn, 0.0f);
    for (int step = 0; step < 2; step++) {
        a.grads(); // forward, loss, backward (hyper 0): gradients in gw, gbnp
        for (size_t i = a.m.train_lo; i < a.m.train_hi; i++) {
            vw[i] = mu * vw[i] + (a.m.gw[i] + wd * w[i]);
            w[i] = w[i] - lr * vw[i];
        }
        for (size_t i = 0; i < a.m.nbn; i++) {
            vb[i] = mu * vb[i] + (a.m.gbnp[i] + wd * bnp[i]);
            bnp[i] = bnp[i] - lr * vb[i];
        }
        ASSERT_EQ(tn_model_set_hyper(&a.m, lr, mu, wd), 0);
        ASSERT_EQ(tn_model_update(&a.m), 0);
        for (size_t i = 0; i < a.m.nw; i++) ASSERT_EQ(a.m.w[i], w[i]) << "step " << step << " weight " << i;
        for (size_t i = 0; i < a.m.nbn; i++) ASSERT_EQ(a.m.bnp[i], bnp[i]) << "step " << step << " bn " << i;
    }
}

// Fused in-backward SGD and the explicit gradient + update path give the same weights.
TEST(GradCheck, FusedSgdEqualsExplicitUpdate) {
    Net a(TN_ARCH_RESNET, 0, TN_LOSS_XENT), b(TN_ARCH_RESNET, 0, TN_LOSS_XENT);
    a.grads();
    ASSERT_EQ(tn_model_set_hyper(&a.m, 0.1f, 0.0f, 0.01f), 0);
    ASSERT_EQ(tn_model_update(&a.m), 0);  // explicit, momentum 0 this step
    double out[2];
    b.m.fused_sgd = 1;
    ASSERT_EQ(tn_model_forward(&b.m, b.x.data(), b.n, 1), 0);
    ASSERT_EQ(tn_model_loss(&b.m, b.y.data(), b.n, 1, out), 0);
    ASSERT_EQ(tn_model_set_hyper(&b.m, 0.1f, 0.0f, 0.01f), 0);
    ASSERT_EQ(tn_model_backward(&b.m, b.x.data(), b.n), 0);
    for (size_t i = 0; i < a.m.nw; i++) ASSERT_NEAR(a.m.w[i], b.m.w[i], 1e-6f * (1 + std::fabs(a.m.w[i]))) << i;
}
