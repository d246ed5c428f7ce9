// Diagnostics against values computed independently: hand-built weights with known spectra,
// distances, (2,1) norms, and host recomputation of layer norms and margins.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "taunet/backend.h"
#include "taunet/config.h"
#include "taunet/diag.h"
#include "taunet/model.h"

namespace {
// Value of "key": number, or the i-th element of "key": [..], in compact JSON text.
double jnum(const std::string &s, const std::string &key, int idx = -1) {
    size_t p = s.find("\"" + key + "\":");
    EXPECT_NE(p, std::string::npos) << key;
    if (p == std::string::npos) return NAN;
    p += key.size() + 3;
    if (idx >= 0) {
        p++;  // '['
        for (int i = 0; i < idx; i++) p = s.find(',', p) + 1;
    }
    return std::strtod(s.c_str() + p, nullptr);
}

struct Fixture {
    tn_err err{};
    tn_backend *be;
    tn_plan *plan = nullptr;
    tn_model *m = nullptr;
    tn_config c{};
    tn_diag d{};
    std::vector<float> x;
    std::vector<int32_t> y;
    int n = 9, p = 5, nd = 4;
    Fixture(tn_arch arch, const char *diag, int width = 6, int depth = 3, double tau = 0.5) {
        tn_config_defaults(&c);
        c.arch = arch, c.width = width, c.depth = depth, c.tau_rule = TN_TAU_NUMBER, c.tau_value = tau;
        snprintf(c.diag, sizeof c.diag, "%s", diag);
        c.seed = 3;
        be = tn_backend_cpu_create(1, &err);
        EXPECT_EQ(tn_plan_make(&c, p, nd, &plan, &err), 0);
        m = tn_model_create(be, plan, n, tn_diag_keep(tn_diag_mask(diag, nullptr)), &err);
        EXPECT_NE(m, nullptr) << err.msg;
        EXPECT_EQ(tn_model_init(m, c.seed), 0);
        std::mt19937 r(5);
        std::normal_distribution<float> g;
        x.resize((size_t)n * p);
        for (auto &v : x) v = g(r);
        for (int i = 0; i < n; i++) y.push_back(i % 4);
    }
    // Weight tensor i (A = 0, W_l = l, B = depth) and its dimensions.
    float *W(int i) const {
        const tn_tensor *t;
        tn_plan_tensors(plan, &t);
        return tn_model_arena(m, TN_ARENA_W, TN_COPY_VALUE) + t[i].off;
    }
    float *w() const { return tn_model_arena(m, TN_ARENA_W, TN_COPY_VALUE); }
    size_t nw() const { return tn_plan_arena_len(plan, TN_ARENA_W); }
    std::string eval(int have_grad = 0) {
        EXPECT_EQ(tn_diag_open(&d, m, &c, &err), 0) << err.msg;
        tn_json j;
        tn_json_init(&j);
        tn_json_obj_open(&j, nullptr);
        EXPECT_EQ(tn_diag_eval(&d, m, &c, x.data(), y.data(), n, have_grad, &j), 0) << be->err->msg;
        tn_json_obj_close(&j);
        std::string s = j.s;
        tn_json_free(&j);
        return s;
    }
    ~Fixture() {
        tn_diag_close(&d, m);
        tn_model_destroy(m);
        tn_plan_free(plan);
        be->destroy(be);
    }
};
}  // namespace

TEST(Diag, MaskParsing) {
    tn_err e{};
    EXPECT_EQ(tn_diag_mask("", &e), 0u);
    EXPECT_EQ(tn_diag_mask("all", &e), (unsigned)TN_DIAG_ALL);
    EXPECT_EQ(tn_diag_mask("norms,chain", &e), (unsigned)(TN_DIAG_NORMS | TN_DIAG_CHAIN));
    EXPECT_EQ(tn_diag_mask("norms,bogus", &e), TN_DIAG_INVALID);
    EXPECT_NE(std::string(e.msg).find("bogus"), std::string::npos);
}

// Diagonal hidden weights: ||W||_2 = max |diag|; residual map I + tau W has norm 1 + tau*max;
// the chain of two diagonal maps multiplies elementwise, so its norm is the max of the products.
TEST(Diag, SpectralAndChainOnDiagonalWeights) {
    for (tn_arch arch : {TN_ARCH_PLAIN, TN_ARCH_RESNET}) {
        Fixture f(arch, "spectral,chain");
        int m = f.c.width;
        float d1[6] = {3, 1, -0.5f, 2, 0.1f, 1}, d2[6] = {0.5f, 4, 1, 1, 1, 2};
        float *W1 = f.W(1), *W2 = f.W(2);
        std::fill(W1, W1 + m * m, 0.0f);
        std::fill(W2, W2 + m * m, 0.0f);
        for (int i = 0; i < m; i++) W1[i * m + i] = d1[i], W2[i * m + i] = d2[i];
        std::string s = f.eval();
        double tau = arch == TN_ARCH_RESNET ? 0.5 : 0.0;
        auto map = [&](float v) { return arch == TN_ARCH_RESNET ? 1 + tau * v : v; };
        EXPECT_NEAR(jnum(s, "spectral", 1), arch == TN_ARCH_RESNET ? 1 + 0.5 * 3 : 3.0, 1e-4);
        EXPECT_NEAR(jnum(s, "spectral", 2), arch == TN_ARCH_RESNET ? 1 + 0.5 * 4 : 4.0, 1e-4);
        double best = 0;
        for (int i = 0; i < m; i++) best = std::max(best, std::fabs((double)map(d1[i]) * map(d2[i])));
        EXPECT_NEAR(jnum(s, "chain"), best, 1e-4 * best);
    }
}

// At initialization the distance is 0; scaling W_1 by 1.5 makes it exactly 0.5.
TEST(Diag, DistanceFromInit) {
    Fixture f(TN_ARCH_RESNET, "dist");
    std::string s0 = f.eval();
    EXPECT_EQ(jnum(s0, "dist_init", 1), 0.0);
    tn_diag_close(&f.d, f.m);
    float *W1 = f.W(1);
    for (int i = 0; i < f.c.width * f.c.width; i++) W1[i] *= 1.5f;
    std::string s = f.eval();
    EXPECT_NEAR(jnum(s, "dist_init", 1), 0.5, 1e-6);
    EXPECT_EQ(jnum(s, "dist_init", 2), 0.0);
}

// Layer norms and margins recomputed on the host from the model's own forward pass.
TEST(Diag, LayerNormsAndMarginsMatchHost) {
    Fixture f(TN_ARCH_RESNET, "norms,margins");
    std::string s = f.eval();
    ASSERT_EQ(tn_model_forward(f.m, f.x.data(), f.n, 0), 0);
    const int w = f.c.width;
    ASSERT_EQ(tn_plan_taps(f.plan), f.c.depth);
    for (int l = 0; l < f.c.depth; l++) {
        double mean = 0;
        const float *h = tn_model_tap(f.m, l);
        for (int i = 0; i < f.n; i++) {
            double r = 0;
            for (int j = 0; j < w; j++) r += (double)h[i * w + j] * h[i * w + j];
            mean += std::sqrt(r) / f.n;
        }
        EXPECT_NEAR(jnum(s, "layer_norms", l), mean, 1e-5 * (1 + mean));
    }
    std::vector<double> mg;
    for (int i = 0; i < f.n; i++) {
        const float *lg = tn_model_logits(f.m) + i * 4;
        double other = -1e30;
        for (int k = 0; k < 4; k++)
            if (k != f.y[i]) other = std::max(other, (double)lg[k]);
        mg.push_back(lg[f.y[i]] - other);
    }
    std::sort(mg.begin(), mg.end());
    EXPECT_NEAR(jnum(s, "min"), mg.front(), 1e-6);
    EXPECT_NEAR(jnum(s, "max"), mg.back(), 1e-6);
    EXPECT_NEAR(jnum(s, "median"), mg[4], 1e-6);
}

// R_A recomputed from the logged spectral norms and host (2,1) norms; plain layers use M = 0,
// residual layers M = I (so A - M = tau W).
TEST(Diag, SpectralComplexityFormula) {
    Fixture f(TN_ARCH_RESNET, "spectral,complexity");
    std::string s = f.eval();
    auto n21 = [&](const float *W, int out, int in, double scale) {
        double t = 0;
        for (int r = 0; r < out; r++) {
            double q = 0;
            for (int c = 0; c < in; c++) q += (double)W[r * in + c] * W[r * in + c];
            t += std::sqrt(q);
        }
        return scale * t;
    };
    std::vector<double> sig, nn;
    const int L = f.c.depth, w = f.c.width;
    for (int i = 0; i <= L; i++) sig.push_back(jnum(s, "spectral", i));
    nn.push_back(n21(f.W(0), w, f.p, 1));
    for (int l = 1; l < L; l++) nn.push_back(n21(f.W(l), w, w, tn_config_tau(&f.c)));
    nn.push_back(n21(f.W(L), f.nd, w, 1));
    double prod = 1, sum = 0;
    for (size_t i = 0; i < sig.size(); i++) prod *= sig[i], sum += std::pow(nn[i] / sig[i], 2.0 / 3);
    double ra = prod * std::pow(sum, 1.5);
    EXPECT_NEAR(jnum(s, "log10_spectral_complexity"), std::log10(ra), 1e-5);
}

// sigma = 0 perturbs nothing: sharpness exactly 0; sigma > 0 gives a finite value.
TEST(Diag, Sharpness) {
    Fixture f(TN_ARCH_PLAIN, "sharpness");
    f.c.sharp_sigma = 0.0;
    std::string s0 = f.eval();
    EXPECT_EQ(jnum(s0, "value"), 0.0);
    tn_diag_close(&f.d, f.m);
    std::vector<float> w(f.w(), f.w() + f.nw());
    f.c.sharp_sigma = 0.05;
    std::string s = f.eval();
    EXPECT_TRUE(std::isfinite(jnum(s, "value")));
    EXPECT_NE(jnum(s, "value"), 0.0);
    for (size_t i = 0; i < w.size(); i++) ASSERT_EQ(w[i], f.w()[i]) << "weights not restored";
}
