// The model's backend call stream, pinned: for PlainNet and tau-ResNet, with and without BN (BN
// through the fused act_bn_bwd op and through act_bwd + bn_bwd), for --train all|hidden|last and
// with and without momentum (the in-backward fused SGD and the explicit update), a fixed driver
// (create, init, two steps of batch 6 and one of 4, an evaluation, W(0) regenerated, and for two
// of them every diagnostic) runs on the CPU backend wrapped by tests/recording_backend.h. The
// stream must equal tests/data/golden/ops/<case>.txt, recorded from the model before it became a
// plan of units (docs/ARCHITECTURE.md), so the refactored model is shown to issue the same calls.
// TAUNET_WRITE_GOLDEN=1 rewrites the files (only when a change of the stream is intended). The
// same driver checks the memory planner: tn_plan_bytes equals the bytes the model and its
// diagnostics allocate, buffer for buffer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "recording_backend.h"
#include "run/planner.h"
#include "taunet/config.h"
#include "taunet/diag.h"
#include "taunet/io.h"
#include "taunet/model.h"

namespace {

struct Case {
    std::string name;
    tn_arch arch;
    int bn, fused_bn;
    tn_train_what train;
    double momentum;
    const char *diag;
};

std::vector<Case> cases() {
    std::vector<Case> v;
    const char *trains[] = {"all", "hidden", "last"};
    for (tn_arch a : {TN_ARCH_PLAIN, TN_ARCH_RESNET})
        for (int bn : {0, 1})
            for (int fused : bn ? std::vector<int>{1, 0} : std::vector<int>{1})
                for (int t = 0; t < 3; t++)
                    for (double mu : {0.0, 0.9}) {
                        std::string n = std::string(a == TN_ARCH_PLAIN ? "plain" : "resnet") + (bn ? "-bn" : "") +
                                        (bn && !fused ? "-unfused" : "") + "-" + trains[t] + (mu > 0 ? "-momentum" : "");
                        const char *diag = "";
                        if (a == TN_ARCH_RESNET && bn && fused && t == 0 && mu > 0) diag = "all";
                        if (a == TN_ARCH_PLAIN && !bn && t == 1 && mu == 0) diag = "all";
                        v.push_back({n, a, bn, fused, (tn_train_what)t, mu, diag});
                    }
    // the conv ResNet (6x6 images of 2 channels, depth 8): its streams pin the conv executor, and
    // the planner's count of its scalars, im2col scratch, stash and shortcut buffers
    for (int bn : {0, 1})
        for (int t = 0; t < 3; t++)
            for (double mu : {0.0, 0.9})
                v.push_back({std::string("cifar") + (bn ? "-bn" : "") + "-" + trains[t] + (mu > 0 ? "-momentum" : ""),
                             TN_ARCH_RESNET_CIFAR, bn, 1, (tn_train_what)t, mu, ""});
    return v;
}

std::string golden_path(const std::string &name) { return std::string(TAUNET_SOURCE_DIR) + "/tests/data/golden/ops/" + name + ".txt"; }

// The driver: the same sequence of model calls for every case.
std::vector<std::string> record(const Case &k) {
    tn_err err{};
    tn_backend *cpu = tn_backend_cpu_create(1, &err);
    rec::Recorder r;
    tn_backend *be = rec::wrap(r, cpu, k.fused_bn);
    tn_config c;
    tn_config_defaults(&c);
    int conv = k.arch == TN_ARCH_RESNET_CIFAR;
    c.arch = k.arch, c.width = conv ? 2 : 5, c.depth = conv ? 8 : 4, c.bn = k.bn, c.train_what = k.train;
    c.momentum = k.momentum, c.tau_rule = TN_TAU_INV_SQRT_L, c.loss = TN_LOSS_XENT, c.seed = 3, c.lr = 0.1, c.wd = 0.01;
    snprintf(c.diag, sizeof c.diag, "%s", k.diag);
    const tn_shape shape = conv ? tn_shape{2, 6, 6} : tn_shape{4, 1, 1};
    const int p = shape.c * shape.h * shape.w, d = 3, nb = 6;
    tn_plan *plan = nullptr;
    EXPECT_EQ(tn_plan_make_shape(&c, shape, d, &plan, &err), 0) << err.msg;
    tn_model *m = tn_model_create(be, plan, nb, tn_run_keep(&c), &err);
    EXPECT_NE(m, nullptr) << err.msg;
    size_t model_bytes = r.allocated;
    EXPECT_EQ(tn_model_init(m, c.seed), 0);
    std::vector<float> hx((size_t)nb * p);
    for (size_t i = 0; i < hx.size(); i++) hx[i] = 0.25f * (float)((i * 7) % 11) - 1.0f;
    int32_t hy[nb] = {0, 2, 1, 1, 0, 2};
    float *x = (float *)be->alloc(be, hx.size() * sizeof(float));
    int32_t *y = (int32_t *)be->alloc(be, sizeof hy);
    be->upload(be, x, hx.data(), hx.size() * sizeof(float));
    be->upload(be, y, hy, sizeof hy);
    double out[2];
    for (int step = 0; step < 3; step++) {
        int n = step == 2 ? 4 : 6;
        EXPECT_EQ(tn_model_set_hyper(m, (float)c.lr, (float)c.momentum, (float)c.wd), 0);
        EXPECT_EQ(tn_model_forward(m, x, n, 1), 0);
        EXPECT_EQ(tn_model_loss_issue(m, y, n, 1), 0);
        EXPECT_EQ(tn_model_backward(m, x, n), 0);
        EXPECT_EQ(tn_model_update(m), 0);
        EXPECT_EQ(tn_model_loss_read(m, out), 0);
    }
    EXPECT_EQ(tn_model_forward(m, x, 6, 0), 0);
    EXPECT_EQ(tn_model_loss(m, y, 6, 0, out), 0);
    r.add("# loss after 3 steps", {rec::Recorder::f(out[0])});
    // the planner counts exactly what the model and its diagnostics allocate
    EXPECT_EQ(model_bytes, tn_plan_bytes(plan, nb, tn_run_keep(&c) & (TN_KEEP_GRADS | TN_KEEP_VELOCITY))) << k.name;
    if (k.diag[0]) {
        tn_diag dg;
        size_t before = r.allocated;
        EXPECT_EQ(tn_diag_open(&dg, m, &c, &err), 0) << err.msg;
        EXPECT_EQ(model_bytes + r.allocated - before, tn_plan_bytes(plan, nb, tn_run_keep(&c))) << k.name;
        tn_json j;
        tn_json_init(&j);
        tn_json_obj_open(&j, nullptr);
        EXPECT_EQ(tn_diag_eval(&dg, m, &c, x, y, 6, 1, &j), 0);
        tn_json_obj_close(&j);
        tn_diag_close(&dg, m);
        tn_json_free(&j);
    }
    be->free(be, x);
    be->free(be, y);
    tn_model_destroy(m);
    tn_plan_free(plan);
    cpu->destroy(cpu);
    return r.log;
}

// Calls compare exactly. The loss line is a check that the numbers still flow, not a proof of
// bit-identity (Golden.* pins the bytes under one GEMM kernel): its last bits follow the kernel
// OpenBLAS picks for the CPU, so it compares to 1e-5 relative.
bool same_line(const std::string &got, const std::string &want) {
    const std::string tag = "# loss after";
    if (got.rfind(tag, 0) != 0 || want.rfind(tag, 0) != 0) return got == want;
    size_t a = got.rfind(' '), b = want.rfind(' ');
    if (got.compare(0, a, want, 0, b) != 0) return false;
    double g = std::strtod(got.c_str() + a + 1, nullptr), w = std::strtod(want.c_str() + b + 1, nullptr);
    return std::fabs(g - w) <= 1e-5 * std::fabs(w);
}

}  // namespace

TEST(OpStream, ModelIssuesTheRecordedCalls) {
    bool write = std::getenv("TAUNET_WRITE_GOLDEN") != nullptr;
    int compared = 0;
    for (const Case &k : cases()) {
        SCOPED_TRACE(k.name);
        auto got = record(k);
        ASSERT_GT(got.size(), 20u);
        if (write) {
            std::ofstream f(golden_path(k.name));
            for (const auto &l : got) f << l << "\n";
            continue;
        }
        std::ifstream f(golden_path(k.name));
        ASSERT_TRUE(f.good()) << "no golden stream " << golden_path(k.name);
        std::vector<std::string> want;
        for (std::string l; std::getline(f, l);) want.push_back(l);
        size_t i = 0;
        while (i < got.size() && i < want.size() && same_line(got[i], want[i])) i++;
        EXPECT_EQ(i, want.size()) << k.name << ": the streams part at call " << i + 1 << ":\n  recorded: "
                                  << (i < want.size() ? want[i] : "<end>") << "\n  now:      "
                                  << (i < got.size() ? got[i] : "<end>");
        EXPECT_EQ(got.size(), want.size()) << k.name;
        compared++;
    }
    if (!write) {
        EXPECT_EQ(compared, 48);
    }
}
