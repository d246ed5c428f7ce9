// The conv ResNet plan (src/model/cifar.c) against an independent double-precision oracle of
// the same network written from the formulas (NCHW loops, DESIGN.md §1 and §9, the tau-ResNet
// authors' code): the forward loss, and every tensor's gradient by central differences of the
// oracle (GradCheckConv.*): convs, BN (stem, both block BNs, the shortcut's), the no-BN blocks'
// four scalar biases and the shared learnable tau. Tiny nets: 6x6 images of 2 channels, width 2,
// depth 8 (one block per stage, so two stride-2 stage entries: 6x6 -> 3x3 -> 2x2).
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "taunet/backend.h"
#include "taunet/config.h"
#include "taunet/model.h"
extern "C" {
#include "diag/diag_internal.h"
}

namespace {

using Img = std::vector<double>;  // [n][c][h][w]

struct Shape {
    int n, c, h, w;
    size_t at(int i, int ch, int y, int x) const { return (((size_t)i * c + ch) * h + y) * w + x; }
    size_t size() const { return (size_t)n * c * h * w; }
};

// The parameters by name (the tensor table's PyTorch keys), as doubles the oracle reads and the
// finite differences perturb.
struct Params {
    std::map<std::string, std::vector<double>> t;
    const std::vector<double> &operator[](const std::string &k) const {
        auto it = t.find(k);
        if (it == t.end()) ADD_FAILURE() << "no tensor " << k;
        static const std::vector<double> none(4096, 0.0);
        return it == t.end() ? none : it->second;
    }
    bool has(const std::string &k) const { return t.count(k) > 0; }
};

// conv3x3 (or any k) with zero padding of (x + add): the bias is added to the values, not to the padding.
Img conv(const Img &x, Shape s, const std::vector<double> &W, int oc, int stride, double add, Shape *os) {
    int k = 3, pad = 1, oh = (s.h + 2 * pad - k) / stride + 1, ow = (s.w + 2 * pad - k) / stride + 1;
    *os = {s.n, oc, oh, ow};
    Img y(os->size(), 0.0);
    for (int i = 0; i < s.n; i++)
        for (int o = 0; o < oc; o++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double acc = 0;
                    for (int c = 0; c < s.c; c++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int yy = oy * stride - pad + ky, xx = ox * stride - pad + kx;
                                if (yy < 0 || yy >= s.h || xx < 0 || xx >= s.w) continue;
                                acc += W[((size_t)(o * s.c + c) * k + ky) * k + kx] * (x[s.at(i, c, yy, xx)] + add);
                            }
                    y[os->at(i, o, oy, ox)] = acc;
                }
    return y;
}

// BatchNorm2d in training mode: per channel over (n, h, w), biased variance, eps 1e-5.
void bn(Img &x, Shape s, const Params &P, const std::string &name) {
    const auto &g = P[name + ".weight"], &b = P[name + ".bias"];
    for (int c = 0; c < s.c; c++) {
        double mu = 0, var = 0, cnt = (double)s.n * s.h * s.w;
        for (int i = 0; i < s.n; i++)
            for (int y = 0; y < s.h; y++)
                for (int xx = 0; xx < s.w; xx++) mu += x[s.at(i, c, y, xx)];
        mu /= cnt;
        for (int i = 0; i < s.n; i++)
            for (int y = 0; y < s.h; y++)
                for (int xx = 0; xx < s.w; xx++) var += (x[s.at(i, c, y, xx)] - mu) * (x[s.at(i, c, y, xx)] - mu);
        var /= cnt;
        for (int i = 0; i < s.n; i++)
            for (int y = 0; y < s.h; y++)
                for (int xx = 0; xx < s.w; xx++) {
                    double &v = x[s.at(i, c, y, xx)];
                    v = g[c] * (v - mu) / std::sqrt(var + 1e-5) + b[c];
                }
    }
}

struct Oracle {
    int n, c, h, w, d, width, blocks_per_stage, use_bn, loss, learn;
    double tau;
    Img x;
    std::vector<int32_t> y;
    Params P;

    double eval() const {
        Shape s{n, c, h, w}, os;
        Img a = conv(x, s, P["conv1.weight"], width, 1, 0.0, &os);
        s = os;
        if (use_bn) bn(a, s, P, "bn1");
        for (double &v : a) v = std::max(v, 0.0);
        double t = learn ? P["tau"][0] : tau;
        for (int st = 0; st < 3; st++)
            for (int j = 0; j < blocks_per_stage; j++) {
                std::string pre = "layer" + std::to_string(st + 1) + "." + std::to_string(j) + ".";
                int oc = width << st, stride = st && !j ? 2 : 1;
                auto bias = [&](const char *k) { return use_bn ? 0.0 : P[pre + k][0]; };
                Shape s1, s2;
                Img u = conv(a, s, P[pre + "conv1.weight"], oc, stride, bias("bias1a"), &s1);
                for (double &v : u) v += bias("bias1b");
                if (use_bn) bn(u, s1, P, pre + "bn1");
                for (double &v : u) v = std::max(v, 0.0);
                Img z = conv(u, s1, P[pre + "conv2.weight"], oc, 1, bias("bias2a"), &s2);
                for (double &v : z) v += bias("bias2b");
                if (use_bn) bn(z, s2, P, pre + "bn2");
                // the shortcut: identity, or the stride-2 subsample (BN'd in the BN variant) with
                // zero channels appended at the end
                Img sc(s2.size(), 0.0);
                if (stride == 1 && s.c == oc) sc = a;
                else {
                    Shape ss{n, s.c, s2.h, s2.w};
                    Img sub(ss.size());
                    for (int i = 0; i < n; i++)
                        for (int ch = 0; ch < s.c; ch++)
                            for (int yy = 0; yy < s2.h; yy++)
                                for (int xx = 0; xx < s2.w; xx++) sub[ss.at(i, ch, yy, xx)] = a[s.at(i, ch, 2 * yy, 2 * xx)];
                    if (use_bn) bn(sub, ss, P, pre + "downsample.1");
                    for (int i = 0; i < n; i++)
                        for (int ch = 0; ch < s.c; ch++)
                            for (int yy = 0; yy < s2.h; yy++)
                                for (int xx = 0; xx < s2.w; xx++) sc[s2.at(i, ch, yy, xx)] = sub[ss.at(i, ch, yy, xx)];
                }
                for (size_t k = 0; k < z.size(); k++) z[k] = std::max(sc[k] + t * z[k], 0.0);
                a = z, s = s2;
            }
        const auto &F = P["fc.weight"];
        double total = 0;
        for (int i = 0; i < n; i++) {
            std::vector<double> pool(s.c, 0.0), f(d, 0.0);
            for (int ch = 0; ch < s.c; ch++) {
                for (int yy = 0; yy < s.h; yy++)
                    for (int xx = 0; xx < s.w; xx++) pool[ch] += a[s.at(i, ch, yy, xx)];
                pool[ch] /= (double)s.h * s.w;
            }
            double mx = -1e300;
            for (int k = 0; k < d; k++) {
                for (int ch = 0; ch < s.c; ch++) f[k] += F[(size_t)k * s.c + ch] * pool[ch];
                mx = std::max(mx, f[k]);
            }
            if (loss == TN_LOSS_MSE)
                for (int k = 0; k < d; k++) total += 0.5 * (f[k] - (k == y[i])) * (f[k] - (k == y[i]));
            else {
                double se = 0;
                for (int k = 0; k < d; k++) se += std::exp(f[k] - mx);
                total += mx + std::log(se) - f[y[i]];
            }
        }
        return total / n;
    }
};

struct ConvNet {
    tn_err err{};
    tn_backend *be = nullptr;
    tn_plan *plan = nullptr;
    tn_model *m = nullptr;
    tn_config c{};
    int n = 3, ch = 2, h = 6, w = 6, d = 3;
    std::vector<float> x;
    std::vector<int32_t> y;

    ConvNet(int use_bn, int loss, int tau_learn, unsigned keep = TN_KEEP_GRADS | TN_KEEP_VELOCITY) {
        tn_config_defaults(&c);
        c.arch = TN_ARCH_RESNET_CIFAR, c.width = 2, c.depth = 8, c.bn = use_bn, c.loss = loss;
        c.tau_rule = TN_TAU_NUMBER, c.tau_value = 0.6, c.tau_learn = tau_learn;
        be = tn_backend_cpu_create(1, &err);
        EXPECT_EQ(tn_plan_make_shape(&c, tn_shape{ch, h, w}, d, &plan, &err), 0) << err.msg;
        m = tn_model_create(be, plan, n, keep, &err);
        EXPECT_NE(m, nullptr) << err.msg;
        EXPECT_EQ(tn_model_init(m, 99), 0);
        std::mt19937 rng(5);
        std::normal_distribution<float> g(0.0f, 1.0f);
        x.resize((size_t)n * ch * h * w);
        for (auto &v : x) v = g(rng);
        y = {0, 2, 1};
        // non-trivial BN parameters and biases, so each of their terms is exercised
        const tn_tensor *t;
        int nt = tn_plan_tensors(plan, &t);
        for (int i = 0; i < nt; i++) {
            float *a = tn_model_arena(m, t[i].arena, TN_COPY_VALUE) + t[i].off;
            std::string name = t[i].name;
            bool gamma = name.find(".weight") != std::string::npos && t[i].arena == TN_ARENA_BN;
            for (size_t k = 0; k < t[i].len; k++) {
                if (t[i].arena == TN_ARENA_BN) a[k] = gamma ? 1.0f + 0.3f * g(rng) : 0.2f * g(rng);
                if (t[i].arena == TN_ARENA_SCALARS && name != "tau") a[k] = 0.2f * g(rng);
            }
        }
    }
    ~ConvNet() {
        tn_model_destroy(m);
        tn_plan_free(plan);
        be->destroy(be);
    }
    void grads() {
        double out[2];
        ASSERT_EQ(tn_model_forward(m, x.data(), n, 1), 0);
        ASSERT_EQ(tn_model_loss(m, y.data(), n, 1, out), 0);
        ASSERT_EQ(tn_model_set_hyper(m, 0.0f, 0.0f, 0.0f), 0);
        ASSERT_EQ(tn_model_backward(m, x.data(), n), 0);
    }
    Oracle oracle() const {
        Oracle o{n, ch, h, w, d, c.width, (c.depth - 2) / 6, c.bn, c.loss, tn_config_tau_learns(&c), 0.6, {}, y, {}};
        o.x.assign(x.begin(), x.end());
        const tn_tensor *t;
        int nt = tn_plan_tensors(plan, &t);
        for (int i = 0; i < nt; i++) {
            const float *a = tn_model_arena(m, t[i].arena, TN_COPY_VALUE) + t[i].off;
            o.P.t[t[i].name].assign(a, a + t[i].len);
        }
        return o;
    }
};

// Directional derivative of the oracle along a random unit direction of one tensor, central
// differences with h = 1e-5 in double, against g.v from float backprop (the same tolerance
// argument as tests/test_model.cpp: 1e-3 relative passes a right formula, fails a wrong one).
void check_tensor(Oracle &o, const std::string &name, const float *g, size_t count, double scale) {
    std::mt19937 rng(11);
    std::normal_distribution<double> nd;
    std::vector<double> v(count);
    double nv = 0.0, gv = 0.0;
    for (auto &e : v) e = nd(rng), nv += e * e;
    for (size_t i = 0; i < count; i++) v[i] /= std::sqrt(nv), gv += scale * g[i] * v[i];
    auto &blk = o.P.t[name];
    const double h = 1e-5;
    for (size_t i = 0; i < count; i++) blk[i] += h * v[i];
    double lp = o.eval();
    for (size_t i = 0; i < count; i++) blk[i] -= 2 * h * v[i];
    double lm = o.eval();
    for (size_t i = 0; i < count; i++) blk[i] += h * v[i];
    double fd = (lp - lm) / (2 * h);
    EXPECT_NEAR(fd, gv, 1e-3 * std::max(std::fabs(gv), std::fabs(fd)) + 1e-6)
        << name << ": finite difference " << fd << " vs backprop " << gv;
}

void gradcheck(int use_bn, int loss, int tau_learn) {
    ConvNet net(use_bn, loss, tau_learn);
    Oracle o = net.oracle();
    double out[2];
    ASSERT_EQ(tn_model_forward(net.m, net.x.data(), net.n, 1), 0);
    ASSERT_EQ(tn_model_loss(net.m, net.y.data(), net.n, 0, out), 0);
    double ref = o.eval();
    EXPECT_NEAR(out[0] / net.n, ref, 1e-5 * (1 + std::fabs(ref))) << "forward vs oracle";
    net.grads();
    const tn_tensor *t;
    int nt = tn_plan_tensors(net.plan, &t), checked = 0;
    for (int i = 0; i < nt; i++) {
        if (!t[i].trains) continue;
        const float *g = tn_model_arena(net.m, t[i].arena, TN_COPY_GRAD) + t[i].off;
        // the shared tau's stored gradient is the average over the blocks (the authors' scale_tau_grad)
        double scale = std::string(t[i].name) == "tau" ? (net.c.depth - 2) / 2 : 1.0;
        check_tensor(o, t[i].name, g, t[i].len, scale);
        checked++;
    }
    // 8 convs and the head; BN: gamma and beta of the stem, 6 block and 2 shortcut BNs; no BN: 12 biases [+ tau]
    EXPECT_EQ(checked, use_bn ? 8 + 18 : 8 + 12 + (tau_learn ? 1 : 0)) << "tensors checked";
}

}  // namespace

TEST(GradCheckConv, BnXent) { gradcheck(1, TN_LOSS_XENT, 2); }
TEST(GradCheckConv, BnMse) { gradcheck(1, TN_LOSS_MSE, 2); }
TEST(GradCheckConv, NoBnLearnedTauXent) { gradcheck(0, TN_LOSS_XENT, 1); }
TEST(GradCheckConv, NoBnLearnedTauMse) { gradcheck(0, TN_LOSS_MSE, 2); }
TEST(GradCheckConv, NoBnFixedTauXent) { gradcheck(0, TN_LOSS_XENT, 0); }

// --diag spectral on the conv ResNet: each conv map's norm is the operator norm of the true
// convolution (zero padding, its stride) of one example's feature map. Reference: the dense
// matrix of the oracle's double conv applied to every basis image, its top singular value by
// 2000 power iterations on A^T A in double. taunet's power iteration from a random start gives a
// Rayleigh-quotient estimate: never above the truth, and within 1e-3 of it (40 fixed iterations
// were 3 % low on the last conv, whose top singular values are close).
TEST(DiagConv, SpectralIsTheConvOperatorNorm) {
    ConvNet net(1, TN_LOSS_XENT, 0);
    const tn_map *maps;
    const tn_tensor *t;
    int nm = tn_plan_maps(net.plan, &maps), convs = 0;
    tn_plan_tensors(net.plan, &t);
    size_t v = (size_t)tn_plan_max_width(net.plan) + 2;
    float *va = (float *)net.be->alloc(net.be, v * sizeof(float)), *vb = (float *)net.be->alloc(net.be, v * sizeof(float));
    Oracle o = net.oracle();
    for (int i = 0; i < nm; i++) {
        if (!maps[i].conv) continue;
        const tn_conv_geom &g = maps[i].g;
        Shape s{1, g.c, g.h, g.w}, os{};
        size_t in = s.size();
        std::vector<std::vector<double>> A;  // columns: the image of each basis vector
        for (size_t j = 0; j < in; j++) {
            Img e(in, 0.0);
            e[j] = 1.0;
            A.push_back(conv(e, s, o.P[t[maps[i].tensor].name], g.oc, g.stride, 0.0, &os));
        }
        std::vector<double> x(in, 1.0);
        double sigma = 0;
        for (int it = 0; it < 2000; it++) {
            std::vector<double> y(A[0].size(), 0.0), z(in, 0.0);
            for (size_t j = 0; j < in; j++)
                for (size_t r = 0; r < y.size(); r++) y[r] += A[j][r] * x[j];
            for (size_t j = 0; j < in; j++)
                for (size_t r = 0; r < y.size(); r++) z[j] += A[j][r] * y[r];
            double nz = 0, ny = 0;
            for (double q : z) nz += q * q;
            for (double q : y) ny += q * q;
            double nx = 0;
            for (double q : x) nx += q * q;
            sigma = std::sqrt(ny / nx);
            for (size_t j = 0; j < in; j++) x[j] = z[j] / std::sqrt(nz);
        }
        double got = tn_diag_spectral(net.m, &i, 1, va, vb, 7 + (uint64_t)i);
        EXPECT_LE(got, sigma * (1 + 1e-4)) << t[maps[i].tensor].name;
        EXPECT_GE(got, sigma * (1 - 1e-3)) << t[maps[i].tensor].name;
        convs++;
    }
    EXPECT_EQ(convs, 7);
    net.be->free(net.be, va);
    net.be->free(net.be, vb);
}
