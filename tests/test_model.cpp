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
    tn_plan *plan = nullptr;
    tn_model *m = nullptr;
    tn_config c{};
    std::vector<float> x;
    std::vector<int32_t> y;
    int n, p, d;

    // keep: TN_KEEP_GRADS|VELOCITY keeps gradient buffers (the fused SGD path writes no gradients)
    Net(tn_arch arch, int bn, int loss, int p_ = 7, int w = 9, int d_ = 4, int L = 4, int n_ = 6, double tau = 0.7,
        unsigned keep = TN_KEEP_GRADS | TN_KEEP_VELOCITY)
        : n(n_), p(p_), d(d_) {
        tn_config_defaults(&c);
        c.arch = arch;
        c.width = w;
        c.depth = L;
        c.bn = bn;
        c.loss = loss;
        c.tau_rule = TN_TAU_NUMBER;
        c.tau_value = tau;
        c.momentum = 0.5;
        be = tn_backend_cpu_create(1, &err);
        EXPECT_EQ(tn_plan_make(&c, p, d, &plan, &err), 0) << err.msg;
        m = tn_model_create(be, plan, n, keep, &err);
        EXPECT_NE(m, nullptr) << err.msg;
        EXPECT_EQ(tn_model_init(m, 1234), 0);
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
            for (size_t i = 0; i < nbn() / 2; i++) bnp()[i] = 1.0f + 0.3f * g(rng);
            for (size_t i = nbn() / 2; i < nbn(); i++) bnp()[i] = 0.2f * g(rng);
        }
    }
    ~Net() {
        tn_model_destroy(m);
        tn_plan_free(plan);
        be->destroy(be);
    }
    float *w() const { return tn_model_arena(m, TN_ARENA_W, TN_COPY_VALUE); }
    float *gw() const { return tn_model_arena(m, TN_ARENA_W, TN_COPY_GRAD); }
    float *bnp() const { return tn_model_arena(m, TN_ARENA_BN, TN_COPY_VALUE); }
    float *gbnp() const { return tn_model_arena(m, TN_ARENA_BN, TN_COPY_GRAD); }
    size_t nw() const { return tn_plan_arena_len(plan, TN_ARENA_W); }
    size_t nbn() const { return tn_plan_arena_len(plan, TN_ARENA_BN); }
    const tn_tensor &tensor(int i) const {
        const tn_tensor *t;
        tn_plan_tensors(plan, &t);
        return t[i];
    }
    double loss() {
        double out[2];
        EXPECT_EQ(tn_model_forward(m, x.data(), n, 1), 0);
        EXPECT_EQ(tn_model_loss(m, y.data(), n, 0, out), 0);
        return out[0] / n;
    }
    void grads() {
        double out[2];
        ASSERT_EQ(tn_model_forward(m, x.data(), n, 1), 0);
        ASSERT_EQ(tn_model_loss(m, y.data(), n, 1, out), 0);
        ASSERT_EQ(tn_model_set_hyper(m, 0.0f, 0.0f, 0.0f), 0);
        ASSERT_EQ(tn_model_backward(m, x.data(), n), 0);
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
        const tn_config &C = net.c;
        p = net.p, m = C.width, d = net.d, L = C.depth, n = net.n, resnet = C.arch == TN_ARCH_RESNET, bn = C.bn;
        loss = C.loss;
        tau = (float)tn_config_tau(&C);
        w.assign(net.w(), net.w() + net.nw());
        if (bn) bnp.assign(net.bnp(), net.bnp() + net.nbn());
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
    Ref ref(net);
    double out[2];
    ASSERT_EQ(tn_model_forward(net.m, net.x.data(), net.n, 1), 0);
    ASSERT_EQ(tn_model_loss(net.m, net.y.data(), net.n, 0, out), 0);
    EXPECT_NEAR(out[0] / net.n, ref.eval(), 1e-5 * (1 + std::fabs(ref.eval()))) << "forward vs oracle";
    // every weight tensor (A, W_1 .. W_{L-1}, B) by its place in the tensor table
    for (int i = 0; i <= net.c.depth; i++) {
        const tn_tensor &t = net.tensor(i);
        check_block(net, ref.w, t.off, net.gw() + t.off, t.len, ref, t.name);
    }
    if (bn) {
        check_block(net, ref.bnp, 0, net.gbnp(), net.nbn() / 2, ref, "gamma");
        check_block(net, ref.bnp, net.nbn() / 2, net.gbnp() + net.nbn() / 2, net.nbn() / 2, ref, "beta");
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
        tn_plan *plan;
        ASSERT_EQ(tn_plan_make(&c, 5, 3, &plan, &err), 0);
        tn_model *m = tn_model_create(be, plan, 4, 0, &err);
        ASSERT_NE(m, nullptr);
        ASSERT_EQ(tn_model_init(m, 1), 0);
        float *w = tn_model_arena(m, TN_ARENA_W, TN_COPY_VALUE);
        size_t nw = tn_plan_arena_len(plan, TN_ARENA_W);
        std::vector<float> w0(w, w + nw), x(20, 0.5f);
        for (int i = 0; i < 20; i++) x[i] = 0.1f * (i % 7) - 0.2f;
        int32_t y[4] = {0, 1, 2, 1};
        double out[2];
        ASSERT_EQ(tn_model_forward(m, x.data(), 4, 1), 0);
        ASSERT_EQ(tn_model_loss(m, y, 4, 1, out), 0);
        ASSERT_EQ(tn_model_set_hyper(m, 0.5f, 0.0f, 0.0f), 0);
        ASSERT_EQ(tn_model_backward(m, x.data(), 4), 0);  // fused SGD (momentum 0)
        const tn_tensor *t;
        int nt = tn_plan_tensors(plan, &t), trained = 0;
        for (int i = 0; i < nt; i++) {
            if (t[i].arena != TN_ARENA_W) continue;
            bool changed = false;
            for (size_t k = t[i].off; k < t[i].off + t[i].len; k++) changed |= w[k] != w0[k];
            EXPECT_EQ(changed, (bool)t[i].trains) << t[i].name << " under --train " << (what == TN_TRAIN_HIDDEN ? "hidden" : "last");
            trained += changed;
        }
        EXPECT_GT(trained, 0) << "nothing trained";
        tn_model_destroy(m);
        tn_plan_free(plan);
        be->destroy(be);
    }
}

// The optimizer scalars written by tn_model_set_hyper really drive the update: two momentum steps
// with weight decay against a host recomputation of PyTorch's SGD (v = mu v + g + wd w;
// w -= lr v) from the gradients the model wrote, BN parameters included.
TEST(GradCheck, UpdateUsesLrMomentumAndWeightDecay) {
    Net a(TN_ARCH_RESNET, 1, TN_LOSS_XENT);
    const float lr = 0.1f, mu = 0.9f, wd = 0.01f;
    std::vector<float> w(a.w(), a.w() + a.nw()), bnp(a.bnp(), a.bnp() + a.nbn());
    std::vector<float> vw(a.nw(), 0.0f), vb(a.nbn(), 0.0f);
    for (int step = 0; step < 2; step++) {
        a.grads(); // forward, loss, backward (hyper 0): gradients in the GRAD copies
        for (size_t i = 0; i < a.nw(); i++) {
            vw[i] = mu * vw[i] + (a.gw()[i] + wd * w[i]);
            w[i] = w[i] - lr * vw[i];
        }
        for (size_t i = 0; i < a.nbn(); i++) {
            vb[i] = mu * vb[i] + (a.gbnp()[i] + wd * bnp[i]);
            bnp[i] = bnp[i] - lr * vb[i];
        }
        ASSERT_EQ(tn_model_set_hyper(a.m, lr, mu, wd), 0);
        ASSERT_EQ(tn_model_update(a.m), 0);
        for (size_t i = 0; i < a.nw(); i++) ASSERT_EQ(a.w()[i], w[i]) << "step " << step << " weight " << i;
        for (size_t i = 0; i < a.nbn(); i++) ASSERT_EQ(a.bnp()[i], bnp[i]) << "step " << step << " bn " << i;
    }
}

// Fused in-backward SGD and the explicit gradient + update path give the same weights.
TEST(GradCheck, FusedSgdEqualsExplicitUpdate) {
    Net a(TN_ARCH_RESNET, 0, TN_LOSS_XENT), b(TN_ARCH_RESNET, 0, TN_LOSS_XENT, 7, 9, 4, 4, 6, 0.7, 0);
    ASSERT_FALSE(tn_model_fused_sgd(a.m));
    ASSERT_TRUE(tn_model_fused_sgd(b.m));
    a.grads();
    ASSERT_EQ(tn_model_set_hyper(a.m, 0.1f, 0.0f, 0.01f), 0);
    ASSERT_EQ(tn_model_update(a.m), 0);  // explicit, momentum 0 this step
    double out[2];
    ASSERT_EQ(tn_model_forward(b.m, b.x.data(), b.n, 1), 0);
    ASSERT_EQ(tn_model_loss(b.m, b.y.data(), b.n, 1, out), 0);
    ASSERT_EQ(tn_model_set_hyper(b.m, 0.1f, 0.0f, 0.01f), 0);
    ASSERT_EQ(tn_model_backward(b.m, b.x.data(), b.n), 0);
    for (size_t i = 0; i < a.nw(); i++) ASSERT_NEAR(a.w()[i], b.w()[i], 1e-6f * (1 + std::fabs(a.w()[i]))) << i;
}
