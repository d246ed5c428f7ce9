// The CUDA backend against the cpu backend (the reference) on a real GPU. Every test skips, with
// the reason, when there is no usable CUDA device; CTest labels this executable "gpu" so a CPU-only
// CI can leave it out (`ctest -LE gpu`). bench/gpu_check.sh runs it on a GPU machine.
//
// Tolerances (ulp = 2^-23 relative, u = 2^-24 the fp32 unit roundoff):
//  - elementwise ops, sgd, bn_eval_stats: the same TN_HD formula on the same floats; kernels are
//    built with --fmad=false and CUDA's sqrtf and division are IEEE-exact by default: 4 ulps.
//  - reductions, BN statistics and the loss sums accumulate in double on both sides and round once:
//    2 ulps; bn_bwd dz as in tests/test_kernels_emu.cpp (cancellation scaled by the column sums).
//  - xent: CUDA's expf has up to 2 ulps of error and logf 1 ulp (CUDA C Programming Guide,
//    mathematical functions), glibc's are correctly rounded or nearly: row losses and the softmax
//    gradient get 16 ulps relative plus 16 ulps of `scale` absolute (p - 1 cancels for the label).
//  - fp32 GEMM: any summation order satisfies |fl(AB) - AB| <= K u |A||B| (Higham, Accuracy and
//    Stability of Numerical Algorithms, 3.5), so cuBLAS and OpenBLAS differ by at most 2 K u |A||B|.
//  - TF32 GEMM: each input keeps 10 mantissa bits (relative error <= 2^-10 when truncated, 2^-11
//    rounded), so a product is off by <= 2^-9 relative: |ΔC| <= (2^-9 + 2 K u) |A||B|.
//  - init_normal: cuRAND documents that the device generator gives the same sequence as the host
//    generator: exact equality.
//  - 50-step training parity: measured on the cpu backend by perturbing every GEMM output with
//    random relative noise of 1 to 16 x sqrt(K) u (what a different summation order does) and
//    comparing the loss curves of the configurations below: at most 2.7e-4 relative without BN and
//    6e-3 with BN (BN and momentum amplify rounding differences). We allow 2e-3 without BN and 2e-2
//    with BN; accuracies may differ by 3 examples (near-ties flip). TF32, modelled as 8192 x sqrt(K)
//    u noise: at most 2e-3 relative without BN; we allow 2e-2.
#include <gtest/gtest.h>

// Gpu on a real device (taunet_gpu_tests); GpuEmu when this file is built into taunet_gpu_emu_tests,
// where "cuda" is src/backend/cuda.cu on the CPU emulation (tests/gpu_emu_setup.cpp).
#ifndef TN_GPU_SUITE
#define TN_GPU_SUITE Gpu
#endif

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "op_cases.h"
#include "taunet/backend.h"
#include "taunet/bench.h"
#include "taunet/config.h"
#include "taunet/model.h"
#include "taunet/train.h"

namespace {

using Vec = std::vector<float>;
const float ULP = 1.0f / 8388608.0f;
const double U = 1.0 / 16777216.0;

// Both backends, or the reason there is no GPU.
struct Pair {
    tn_err ecpu{}, egpu{};
    tn_backend *cpu = nullptr, *gpu = nullptr;
    std::string why;
    explicit Pair(int tf32 = 0) {
        if (tn_cuda_device_count() == 0) {
            tn_backend *b = tn_backend_cuda_create(0, tf32, &egpu);
            why = b ? "no CUDA device" : std::string("no usable CUDA device: ") + egpu.msg;
            if (b) b->destroy(b);
            return;
        }
        gpu = tn_backend_cuda_create(0, tf32, &egpu);
        if (!gpu) why = std::string("tn_backend_cuda_create failed: ") + egpu.msg;
        cpu = tn_backend_cpu_create(0, &ecpu);
    }
    ~Pair() {
        for (void *p : bufs)
            if (gpu) gpu->free(gpu, p);
        if (gpu) gpu->destroy(gpu);
        if (cpu) cpu->destroy(cpu);
    }
    // A device copy of host data (freed with the pair).
    template <class T> T *dev(const std::vector<T> &h) {
        T *p = (T *)gpu->alloc(gpu, h.size() * sizeof(T) + 4);
        EXPECT_NE(p, nullptr) << egpu.msg;
        if (p && !h.empty()) {
            EXPECT_EQ(gpu->upload(gpu, p, h.data(), h.size() * sizeof(T)), 0) << egpu.msg;
        }
        bufs.push_back(p);
        return p;
    }
    template <class T> std::vector<T> host(const T *p, size_t n) {
        std::vector<T> h(n);
        EXPECT_EQ(gpu->sync(gpu), 0) << egpu.msg;
        EXPECT_EQ(gpu->download(gpu, h.data(), p, n * sizeof(T)), 0) << egpu.msg;
        return h;
    }
    std::vector<void *> bufs;
};

// Skips without a usable device; bench/gpu_check.sh sets TAUNET_REQUIRE_GPU=1 on a GPU machine so
// that a backend which cannot start fails there instead of passing as all-skipped.
#define NEED_GPU(pair)                                                         \
    do {                                                                       \
        if (!(pair).gpu) {                                                     \
            if (std::getenv("TAUNET_REQUIRE_GPU")) FAIL() << (pair).why;       \
            GTEST_SKIP() << (pair).why;                                        \
        }                                                                      \
    } while (0)
// The same for tests that go through tn_train (--backend cuda) rather than a Pair.
#define NEED_DEVICE()                                                          \
    do {                                                                       \
        if (tn_cuda_device_count() == 0) {                                     \
            if (std::getenv("TAUNET_REQUIRE_GPU")) FAIL() << "no CUDA device"; \
            GTEST_SKIP() << "no CUDA device";                                  \
        }                                                                      \
    } while (0)

Vec rnd(size_t n, unsigned seed, float lo = 0.05f, float hi = 2.0f, float shift = 0.0f) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> mag(lo, hi);
    std::bernoulli_distribution sign(0.5);
    Vec v(n);
    for (auto &x : v) x = (sign(g) ? -1.0f : 1.0f) * mag(g) + shift;
    return v;
}
Vec nans(size_t n) { return Vec(n, std::nanf("")); }

void expect_near(const Vec &got, const Vec &ref, float rel, float abs, const std::string &what) {
    ASSERT_EQ(got.size(), ref.size()) << what;
    int bad = 0;
    for (size_t i = 0; i < got.size(); i++) {
        float tol = rel * std::fabs(ref[i]) + abs;
        if (std::isnan(got[i]) || !(std::fabs(got[i] - ref[i]) <= tol))
            if (bad++ < 5)
                ADD_FAILURE() << what << ": element " << i << " got " << got[i] << " want " << ref[i] << " (tolerance "
                              << tol << ")";
    }
    EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << got.size() << " differ";
}

TEST(TN_GPU_SUITE, MemoryRoundTrip) {
    Pair p;
    NEED_GPU(p);
    Vec a = rnd(1001, 1);
    float *d = p.dev(a), *e = p.dev(nans(1001));
    ASSERT_EQ(p.gpu->copy(p.gpu, e, d, a.size() * sizeof(float)), 0) << p.egpu.msg;
    expect_near(p.host(e, a.size()), a, 0, 0, "upload/copy/download");
    ASSERT_EQ(p.gpu->fill(p.gpu, e, 1001, 0.25f), 0);
    expect_near(p.host(e, 1001), Vec(1001, 0.25f), 0, 0, "fill");
    ASSERT_EQ(p.gpu->scale(p.gpu, d, 1001, -3.0f), 0);
    Vec r = a;
    p.cpu->scale(p.cpu, r.data(), r.size(), -3.0f);
    expect_near(p.host(d, 1001), r, 0, 0, "scale");
    Vec eps = rnd(1001, 5); // the sharpness perturbation w += sigma |w| eps: the same formula
    float *de = p.dev(eps);
    ASSERT_EQ(p.gpu->perturb(p.gpu, 1001, d, de, 0.05f), 0) << p.egpu.msg;
    p.cpu->perturb(p.cpu, 1001, r.data(), eps.data(), 0.05f);
    expect_near(p.host(d, 1001), r, 4 * ULP, 0, "perturb");
}

// C[M,N] = alpha op(A) op(B) + beta C with padded leading dimensions, all four transpositions.
void gemm_case(Pair &p, int ta, int tb, double extra_rel, const char *what) {
    const int M = 37, N = 131, K = 300, pad = 3;
    int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    int lda = ac + pad, ldb = bc + pad, ldc = N + pad;
    Vec A = rnd((size_t)ar * lda, 2), B = rnd((size_t)br * ldb, 3), C = rnd((size_t)M * ldc, 4);
    float *dA = p.dev(A), *dB = p.dev(B), *dC = p.dev(C);
    Vec ref = C;
    ASSERT_EQ(p.gpu->gemm(p.gpu, ta, tb, M, N, K, -0.5f, dA, lda, dB, ldb, 0.7f, dC, ldc), 0) << p.egpu.msg;
    p.cpu->gemm(p.cpu, ta, tb, M, N, K, -0.5f, A.data(), lda, B.data(), ldb, 0.7f, ref.data(), ldc);
    Vec got = p.host(dC, C.size());
    // gemm_dev, alpha and beta from device memory: the same call, so the same bits
    float *dC2 = p.dev(C), *ab = p.dev(nans(2));
    const float vals[2] = {-0.5f, 0.7f};
    ASSERT_EQ(p.gpu->set_scalars(p.gpu, ab, vals, 2), 0) << p.egpu.msg;
    ASSERT_EQ(p.gpu->gemm_dev(p.gpu, ta, tb, M, N, K, ab, dA, lda, dB, ldb, ab + 1, dC2, ldc), 0) << p.egpu.msg;
    EXPECT_EQ(p.host(dC2, C.size()), got) << what << ": gemm_dev differs from gemm";
    int bad = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double mag = 0.7 * std::fabs(C[(size_t)i * ldc + j]);
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                mag += 0.5 * std::fabs((double)a * b);
            }
            size_t o = (size_t)i * ldc + j;
            double tol = (2.0 * K * U + extra_rel) * mag;
            if (!(std::fabs((double)got[o] - ref[o]) <= tol))
                if (bad++ < 5)
                    ADD_FAILURE() << what << " ta=" << ta << " tb=" << tb << " C(" << i << "," << j << ") got " << got[o]
                                  << " want " << ref[o] << " tolerance " << tol;
        }
    EXPECT_EQ(bad, 0);
    for (int i = 0; i < M; i++) // the padding columns are not C's: untouched
        for (int j = N; j < ldc; j++) EXPECT_EQ(got[(size_t)i * ldc + j], C[(size_t)i * ldc + j]);
}

TEST(TN_GPU_SUITE, GemmMatchesCpu) {
    Pair p;
    NEED_GPU(p);
    for (int ta : {0, 1})
        for (int tb : {0, 1}) gemm_case(p, ta, tb, 0.0, "fp32 gemm");
}

TEST(TN_GPU_SUITE, GemmTf32WithinItsError) {
    Pair p(1);
    NEED_GPU(p);
    for (int ta : {0, 1})
        for (int tb : {0, 1}) gemm_case(p, ta, tb, 1.0 / 512, "tf32 gemm");
}

TEST(TN_GPU_SUITE, InitNormalIdenticalToCpu) {
    Pair p;
    NEED_GPU(p);
    for (size_t n : {(size_t)4096, (size_t)4097, (size_t)1})
        for (uint64_t off : {(uint64_t)0, (uint64_t)4096, (uint64_t)123456}) {
            Vec ref = nans(n);
            float *d = p.dev(nans(n + 1)) + (off == 4096 ? 1 : 0); // also a tensor not 8-byte aligned
            ASSERT_EQ(p.gpu->init_normal(p.gpu, d, n, 0.3f, 42, off), 0) << p.egpu.msg;
            ASSERT_EQ(p.cpu->init_normal(p.cpu, ref.data(), n, 0.3f, 42, off), 0) << p.ecpu.msg;
            Vec got = p.host(d, n);
            size_t differ = 0;
            float worst = 0;
            for (size_t i = 0; i < n; i++)
                if (std::memcmp(&got[i], &ref[i], sizeof(float))) {
                    differ++;
                    worst = std::fmax(worst, std::fabs(got[i] - ref[i]) / std::fabs(ref[i]));
                }
            EXPECT_EQ(differ, 0u) << "n=" << n << " offset=" << off << ": largest relative difference " << worst;
        }
}

TEST(TN_GPU_SUITE, ModelInitIdenticalToCpu) {
    Pair p;
    NEED_GPU(p);
    tn_config c;
    tn_config_defaults(&c);
    c.width = 33, c.depth = 4, c.bn = 1; // odd sizes: padded draws
    tn_err e{};
    tn_plan *plan = nullptr;
    ASSERT_EQ(tn_plan_make(&c, 63, 10, &plan, &e), 0) << e.msg;
    tn_model *mc = tn_model_create(p.cpu, plan, 8, 0, &e), *mg = tn_model_create(p.gpu, plan, 8, 0, &e);
    ASSERT_NE(mc, nullptr) << e.msg;
    ASSERT_NE(mg, nullptr) << e.msg;
    ASSERT_EQ(tn_model_init(mc, 7), 0);
    ASSERT_EQ(tn_model_init(mg, 7), 0) << p.egpu.msg;
    for (int a : {TN_ARENA_W, TN_ARENA_BN, TN_ARENA_BN_MEAN, TN_ARENA_BN_VAR}) {
        size_t n = tn_plan_arena_len(plan, a);
        const float *hc = tn_model_arena(mc, a, TN_COPY_VALUE);
        Vec wc(hc, hc + n), wg = p.host(tn_model_arena(mg, a, TN_COPY_VALUE), n);
        EXPECT_EQ(std::memcmp(wc.data(), wg.data(), n * sizeof(float)), 0) << "initial " << tn_arena_name(a) << " differs";
    }
    tn_model_destroy(mc);
    tn_model_destroy(mg);
    tn_plan_free(plan);
}

// The op-case table (tests/op_cases.h) on this backend: every row against its double reference,
// as the CPU backend runs it in OpTable.CpuBackend.
TEST(TN_GPU_SUITE, OpTable) {
    Pair p;
    NEED_GPU(p);
    int n = 0;
    for (const auto &k : opcase::table()) {
        EXPECT_EQ(opcase::run_case(p.gpu, k), "") << k.name;
        n++;
    }
    EXPECT_GE(n, 30);
}

TEST(TN_GPU_SUITE, ElementwiseOpsMatchCpu) {
    Pair p;
    NEED_GPU(p);
    const int n = 1000, m = 131;
    size_t nm = (size_t)n * m;
    Vec z = rnd(nm, 5), hp = rnd(nm, 6, 0.05f, 2.0f, 0.5f), mean = rnd(m, 7), is = rnd(m, 8, 0.5f, 2.0f), g = rnd(m, 9),
        b = rnd(m, 10);
    for (auto &v : is) v = std::fabs(v);
    float *dz = p.dev(z), *dhp = p.dev(hp), *dmean = p.dev(mean), *dis = p.dev(is), *dg = p.dev(g), *db = p.dev(b);
    for (int bn : {0, 1})
        for (int res : {0, 1}) {
            float *out = p.dev(nans(nm));
            Vec ref = nans(nm);
            float tau = res ? 0.3f : 1.0f;
            ASSERT_EQ(p.gpu->act_fwd(p.gpu, n, m, dz, bn ? dmean : nullptr, bn ? dis : nullptr, bn ? dg : nullptr,
                                     bn ? db : nullptr, res ? dhp : nullptr, tau, nullptr, out),
                      0)
                << p.egpu.msg;
            p.cpu->act_fwd(p.cpu, n, m, z.data(), bn ? mean.data() : nullptr, bn ? is.data() : nullptr,
                           bn ? g.data() : nullptr, bn ? b.data() : nullptr, res ? hp.data() : nullptr, tau, nullptr, ref.data());
            expect_near(p.host(out, nm), ref, 4 * ULP, 0, "act_fwd bn=" + std::to_string(bn) + " res=" + std::to_string(res));
        }
    // act_bwd with and without the residual output
    Vec h = rnd(nm, 11), dh = rnd(nm, 12);
    for (auto &x : h) x = x < 0 ? 0.0f : x;
    float *dH = p.dev(h), *dDH = p.dev(dh), *du = p.dev(nans(nm)), *dprev = p.dev(nans(nm));
    Vec rdu = nans(nm), rprev = nans(nm);
    ASSERT_EQ(p.gpu->act_bwd(p.gpu, nm, dH, dDH, 0.3f, nullptr, du, dprev), 0);
    p.cpu->act_bwd(p.cpu, nm, h.data(), dh.data(), 0.3f, nullptr, rdu.data(), rprev.data());
    expect_near(p.host(du, nm), rdu, 4 * ULP, 0, "act_bwd du");
    expect_near(p.host(dprev, nm), rprev, 0, 0, "act_bwd dhprev");
    // gather_rows with labels
    std::vector<int32_t> idx(257), ys(n), yg(257, -1), yr(257, -1);
    std::mt19937 rg(13);
    for (auto &i : idx) i = (int32_t)(rg() % n);
    for (auto &y : ys) y = (int32_t)(rg() % 10);
    int32_t *didx = p.dev(idx), *dys = p.dev(ys), *dyg = p.dev(yg);
    float *dst = p.dev(nans((size_t)257 * m));
    Vec rdst = nans((size_t)257 * m);
    ASSERT_EQ(p.gpu->gather_rows(p.gpu, dz, m, didx, 257, dst, dys, dyg), 0);
    p.cpu->gather_rows(p.cpu, z.data(), m, idx.data(), 257, rdst.data(), ys.data(), yr.data());
    expect_near(p.host(dst, rdst.size()), rdst, 0, 0, "gather_rows");
    EXPECT_EQ(p.host(dyg, 257), yr);
    // sgd with and without momentum
    for (float mu : {0.0f, 0.9f}) {
        Vec w = rnd(nm, 14), gr = rnd(nm, 15), v = rnd(nm, 16), rw = w, rv = v;
        float *dw = p.dev(w), *dgr = p.dev(gr), *dv = p.dev(v);
        ASSERT_EQ(p.gpu->sgd(p.gpu, nm, dw, dgr, mu ? dv : nullptr, 0.05f, mu, 1e-3f), 0);
        p.cpu->sgd(p.cpu, nm, rw.data(), gr.data(), mu ? rv.data() : nullptr, 0.05f, mu, 1e-3f);
        expect_near(p.host(dw, nm), rw, 4 * ULP, 0, "sgd w");
        expect_near(p.host(dv, nm), rv, 4 * ULP, 0, "sgd v");
    }
    // bn_eval_stats
    Vec rv = is, rmu = nans(m), ris = nans(m);
    float *om = p.dev(nans(m)), *oi = p.dev(nans(m));
    ASSERT_EQ(p.gpu->bn_eval_stats(p.gpu, m, dmean, dis, 1e-5f, om, oi), 0);
    p.cpu->bn_eval_stats(p.cpu, m, mean.data(), is.data(), 1e-5f, rmu.data(), ris.data());
    expect_near(p.host(om, m), rmu, 0, 0, "bn_eval_stats mean");
    expect_near(p.host(oi, m), ris, 4 * ULP, 0, "bn_eval_stats invstd");
}

TEST(TN_GPU_SUITE, BatchNormOpsMatchCpu) {
    Pair p;
    NEED_GPU(p);
    const int m = 131;
    for (int n : {37, 1000}) { // one chunk, and four (the merge path)
        size_t nm = (size_t)n * m;
        Vec z = rnd(nm, 17, 0.05f, 2.0f, 50.0f), du = rnd(nm, 18), gamma = rnd(m, 19), rm0 = rnd(m, 20),
            rv0 = rnd(m, 21, 0.5f, 2.0f);
        for (auto &v : rv0) v = std::fabs(v);
        float *dz = p.dev(z), *ddu = p.dev(du), *dg = p.dev(gamma), *drm = p.dev(rm0), *drv = p.dev(rv0);
        float *mean = p.dev(nans(m)), *is = p.dev(nans(m));
        Vec rmean = nans(m), ris = nans(m), rrm = rm0, rrv = rv0;
        ASSERT_EQ(p.gpu->bn_stats(p.gpu, n, m, dz, 1e-5f, mean, is, drm, drv, 0.1f), 0) << p.egpu.msg;
        p.cpu->bn_stats(p.cpu, n, m, z.data(), 1e-5f, rmean.data(), ris.data(), rrm.data(), rrv.data(), 0.1f);
        std::string w = "n=" + std::to_string(n);
        expect_near(p.host(mean, m), rmean, 2 * ULP, 1e-30f, "bn_stats mean " + w);
        expect_near(p.host(is, m), ris, 2 * ULP, 1e-30f, "bn_stats invstd " + w);
        expect_near(p.host(drm, m), rrm, 2 * ULP, 1e-30f, "bn_stats running mean " + w);
        expect_near(p.host(drv, m), rrv, 2 * ULP, 1e-30f, "bn_stats running var " + w);
        // backward with the cpu's statistics on both sides
        float *cm = p.dev(rmean), *ci = p.dev(ris), *dz_out = p.dev(nans(nm)), *dgam = p.dev(nans(m)),
              *dbet = p.dev(nans(m));
        Vec rdz = nans(nm), rdg = nans(m), rdb = nans(m);
        ASSERT_EQ(p.gpu->bn_bwd(p.gpu, n, m, dz, cm, ci, dg, ddu, dz_out, dgam, dbet), 0) << p.egpu.msg;
        p.cpu->bn_bwd(p.cpu, n, m, z.data(), rmean.data(), ris.data(), gamma.data(), du.data(), rdz.data(), rdg.data(),
                      rdb.data());
        expect_near(p.host(dgam, m), rdg, 2 * ULP, 1e-30f, "bn_bwd dgamma " + w);
        expect_near(p.host(dbet, m), rdb, 2 * ULP, 1e-30f, "bn_bwd dbeta " + w);
        Vec got = p.host(dz_out, nm);
        int bad = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++) {
                size_t o = (size_t)i * m + j;
                float xh = std::fabs((z[o] - rmean[j]) * ris[j]);
                float tol = 8 * ULP * std::fabs(gamma[j]) * ris[j] / n * (std::fabs(rdb[j]) + xh * std::fabs(rdg[j]) + n * std::fabs(du[o])) +
                            4 * ULP * std::fabs(rdz[o]);
                if (std::isnan(got[o]) || !(std::fabs(got[o] - rdz[o]) <= tol))
                    if (bad++ < 5) ADD_FAILURE() << "bn_bwd dz " << w << " (" << i << "," << j << ") got " << got[o] << " want " << rdz[o];
            }
        EXPECT_EQ(bad, 0);
    }
}

TEST(TN_GPU_SUITE, LossMatchesCpu) {
    Pair p;
    NEED_GPU(p);
    for (int n : {37, 5000})
        for (int kind : {TN_LOSS_MSE, TN_LOSS_XENT}) {
            const int d = 10;
            Vec f = rnd((size_t)n * d, 22 + kind, 0.05f, 3.0f);
            std::vector<int32_t> y(n);
            std::mt19937 g(23);
            for (auto &v : y) v = (int32_t)(g() % d);
            float *df = p.dev(f), *dl = p.dev(nans((size_t)n * d)), *out = p.dev(nans(2));
            int32_t *dy = p.dev(y);
            Vec rl = nans((size_t)n * d), rout = nans(2);
            float scale = 1.0f / n;
            ASSERT_EQ(p.gpu->loss(p.gpu, (tn_loss_kind)kind, n, d, df, dy, scale, dl, out), 0) << p.egpu.msg;
            p.cpu->loss(p.cpu, (tn_loss_kind)kind, n, d, f.data(), y.data(), scale, rl.data(), rout.data());
            bool x = kind == TN_LOSS_XENT;
            std::string w = std::string(x ? "xent" : "mse") + " n=" + std::to_string(n);
            Vec o = p.host(out, 2);
            expect_near({o[0]}, {rout[0]}, x ? 16 * ULP : 2 * ULP, 0, "loss sum " + w);
            EXPECT_EQ(o[1], rout[1]) << "correct count " << w;
            expect_near(p.host(dl, rl.size()), rl, x ? 16 * ULP : 4 * ULP, x ? 16 * ULP * scale : 0, "dlogits " + w);
        }
}

TEST(TN_GPU_SUITE, ReductionsMatchCpuAndRepeat) {
    Pair p;
    NEED_GPU(p);
    for (size_t n : {(size_t)37, (size_t)1000003}) {
        Vec x = rnd(n, 24), y = rnd(n, 25, 0.05f, 2.0f, 0.1f);
        float *dx = p.dev(x), *dy = p.dev(y), *out = p.dev(nans(6));
        float ref[3];
        p.cpu->sumsq(p.cpu, n, x.data(), &ref[0]);
        p.cpu->dot(p.cpu, n, x.data(), y.data(), &ref[1]);
        p.cpu->diffsq(p.cpu, n, x.data(), y.data(), &ref[2]);
        for (int rep = 0; rep < 2; rep++) {
            ASSERT_EQ(p.gpu->sumsq(p.gpu, n, dx, out + 3 * rep), 0);
            ASSERT_EQ(p.gpu->dot(p.gpu, n, dx, dy, out + 3 * rep + 1), 0);
            ASSERT_EQ(p.gpu->diffsq(p.gpu, n, dx, dy, out + 3 * rep + 2), 0);
        }
        Vec o = p.host(out, 6);
        expect_near(Vec(o.begin(), o.begin() + 3), Vec(ref, ref + 3), 2 * ULP, 0, "sumsq/dot/diffsq n=" + std::to_string(n));
        EXPECT_EQ(std::memcmp(o.data(), o.data() + 3, 3 * sizeof(float)), 0) << "a repeat gave other bits";
    }
    const int rows = 300, cols = 1031;
    Vec x = rnd((size_t)rows * cols, 26);
    float *dx = p.dev(x), *out = p.dev(nans(rows));
    Vec ref = nans(rows);
    ASSERT_EQ(p.gpu->row_norms(p.gpu, rows, cols, dx, out), 0);
    p.cpu->row_norms(p.cpu, rows, cols, x.data(), ref.data());
    expect_near(p.host(out, rows), ref, 2 * ULP, 0, "row_norms");
}

// A captured graph keeps pointers into the backend's scratch buffer; growing the scratch later
// (here: an odd-sized init draws into scratch) must not free the buffer under the live graph.
TEST(TN_GPU_SUITE, GraphSurvivesScratchGrowth) {
    Pair p;
    NEED_GPU(p);
    const size_t n = 5003, big = 600001; // big: odd, so drawn into 2.4 MB of scratch
    Vec x = rnd(n, 31), x2 = rnd(n, 32);
    float *dx = p.dev(x), *out = p.dev(nans(1)), *w = p.dev(nans(big));
    ASSERT_EQ(p.gpu->sumsq(p.gpu, n, dx, out), 0) << p.egpu.msg; // sizes the scratch
    ASSERT_EQ(p.gpu->capture_begin(p.gpu), 0) << p.egpu.msg;
    int op = p.gpu->sumsq(p.gpu, n, dx, out);
    void *g = nullptr;
    ASSERT_EQ(p.gpu->capture_end(p.gpu, &g) || op, 0) << p.egpu.msg;
    ASSERT_NE(g, nullptr);
    ASSERT_EQ(p.gpu->init_normal(p.gpu, w, big, 1.0f, 7, 0), 0) << p.egpu.msg; // grows the scratch
    ASSERT_EQ(p.gpu->upload(p.gpu, dx, x2.data(), n * sizeof(float)), 0);
    ASSERT_EQ(p.gpu->graph_launch(p.gpu, g), 0) << p.egpu.msg;
    float want = NAN;
    p.cpu->sumsq(p.cpu, n, x2.data(), &want);
    expect_near(p.host(out, 1), {want}, 2 * ULP, 0, "sumsq replayed after the scratch grew");
    p.gpu->graph_free(p.gpu, g);
    ASSERT_EQ(p.gpu->sumsq(p.gpu, n, dx, out), 0) << p.egpu.msg; // the new scratch still works
    expect_near(p.host(out, 1), {want}, 2 * ULP, 0, "sumsq after the graph is freed");
}

TEST(TN_GPU_SUITE, BadGpuIndexIsRefused) {
    int count = tn_cuda_device_count();
    if (count == 0) { if (std::getenv("TAUNET_REQUIRE_GPU")) FAIL() << "no CUDA device"; GTEST_SKIP() << "no CUDA device"; }
    tn_err e{};
    EXPECT_EQ(tn_backend_cuda_create(count, 0, &e), nullptr);
    EXPECT_EQ(e.code, TN_EINPUT);
    EXPECT_NE(std::string(e.msg).find("--gpu"), std::string::npos) << e.msg;
}

// ---- training parity through tn_train (the whole orchestrator on each backend) ----------------

struct Point {
    long step;
    double train_loss, train_acc, test_loss, test_acc;
};
double field(const std::string &line, const char *key) {
    std::string k = std::string("\"") + key + "\":";
    size_t at = line.find(k);
    if (at == std::string::npos) return NAN;
    return std::strtod(line.c_str() + at + k.size(), nullptr);
}
std::vector<Point> metrics(const std::string &dir) {
    std::ifstream f(dir + "/metrics.jsonl");
    std::vector<Point> v;
    for (std::string l; std::getline(f, l);)
        if (!l.empty())
            v.push_back({(long)field(l, "step"), field(l, "train_loss"), field(l, "train_acc"), field(l, "test_loss"),
                         field(l, "test_acc")});
    return v;
}
double summary_field(const std::string &dir, const char *key) {
    std::ifstream f(dir + "/summary.json");
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return field(all, key);
}
std::string run_dir(const std::string &name) {
    char tmpl[] = "/tmp/taunet-gpu-XXXXXX";
    const char *d = mkdtemp(tmpl);
    return std::string(d ? d : "/tmp") + "/" + name;
}
// Trains the flags on `backend`; returns the run directory ("" after a failure).
std::string train(std::vector<std::string> flags, const char *backend, const char *name) {
    std::string out = run_dir(name);
    flags.insert(flags.end(), {"--backend", backend, "--out", out, "--seed", "3"});
    std::vector<char *> argv;
    for (auto &s : flags) argv.push_back(&s[0]);
    tn_config c;
    tn_err e{};
    tn_config_defaults(&c);
    EXPECT_EQ(tn_config_parse(&c, (int)argv.size(), argv.data(), &e), 0) << e.msg;
    tn_train_summary s;
    int rc = tn_train(&c, 1, &s, &e);
    EXPECT_EQ(rc, 0) << backend << ": " << e.msg;
    return rc ? "" : out;
}

// Two runs' metrics.jsonl, bit for bit: same steps, same train and test losses.
void expect_same_curves(const std::string &a, const std::string &b) {
    auto ma = metrics(a), mb = metrics(b);
    ASSERT_EQ(ma.size(), mb.size()) << a << " vs " << b;
    for (size_t i = 0; i < ma.size(); i++) {
        EXPECT_EQ(ma[i].step, mb[i].step);
        EXPECT_EQ(ma[i].train_loss, mb[i].train_loss) << "step " << ma[i].step;
        EXPECT_EQ(ma[i].test_loss, mb[i].test_loss) << "step " << ma[i].step;
    }
}

// The flags trained on cuda with --graph on and --graph off: identical curves, no graph step
// without the graph, and the number of steps replayed from it with the graph.
void expect_graph_on_off(std::vector<std::string> flags, const char *name, double replayed) {
    auto on = flags, off = flags;
    on.insert(on.end(), {"--graph", "on"});
    off.insert(off.end(), {"--graph", "off"});
    std::string a = train(on, "cuda", (std::string(name) + "-on").c_str()),
                b = train(off, "cuda", (std::string(name) + "-off").c_str());
    ASSERT_FALSE(a.empty() || b.empty());
    EXPECT_EQ(summary_field(a, "graph_steps"), replayed) << a;
    EXPECT_EQ(summary_field(b, "graph_steps"), 0) << b;
    expect_same_curves(a, b);
}

void parity(const std::vector<std::string> &flags, double rel, const char *name, int tf32 = 0) {
    NEED_DEVICE();
    std::vector<std::string> common = {"--data", "synthetic", "--n", "256", "--n-test", "64", "--width", "64",
                                       "--steps", "50", "--eval-every", "5"};
    common.insert(common.end(), flags.begin(), flags.end());
    std::vector<std::string> gflags = common;
    if (tf32) gflags.insert(gflags.end(), {"--math", "tf32"});
    std::string c = train(common, "cpu", name), g = train(gflags, "cuda", name);
    ASSERT_FALSE(c.empty() || g.empty());
    auto a = metrics(c), b = metrics(g);
    ASSERT_EQ(a.size(), 11u) << c;
    ASSERT_EQ(a.size(), b.size()) << g;
    for (size_t i = 0; i < a.size(); i++) {
        ASSERT_EQ(a[i].step, b[i].step);
        std::string at = std::string(name) + " step " + std::to_string(a[i].step);
        double r = i == 0 && !tf32 ? 1e-4 : rel; // step 0: identical weights, one forward pass
        EXPECT_NEAR(b[i].train_loss, a[i].train_loss, r * std::fabs(a[i].train_loss)) << at;
        EXPECT_NEAR(b[i].test_loss, a[i].test_loss, r * std::fabs(a[i].test_loss)) << at;
        EXPECT_NEAR(b[i].train_acc, a[i].train_acc, 3.0 / 256 + 1e-9) << at;
        EXPECT_NEAR(b[i].test_acc, a[i].test_acc, 3.0 / 64 + 1e-9) << at;
    }
    EXPECT_LT(a.back().train_loss, a.front().train_loss) << "the cpu run did not learn: a weak comparison";
    if (!::testing::Test::HasFailure()) // keep the run directories of a failure for a look
        for (const std::string &d : {c, g}) std::filesystem::remove_all(std::filesystem::path(d).parent_path());
}

// The conv ResNet on real images (the Fashion-MNIST sample, 28x28, one channel), CPU vs CUDA:
// the same curves within fp32 tolerance; ResNet-8 at 4 channels keeps the emulation quick.
void conv_parity(const std::vector<std::string> &flags, double rel, const char *name) {
    NEED_DEVICE();
    std::vector<std::string> common = {"--arch", "resnet-cifar", "--depth", "8", "--width", "4", "--data",
                                       "fashion:" + std::string(TAUNET_SOURCE_DIR) + "/data/fashion-sample",
                                       "--subset", "64", "--batch", "32", "--steps", "6", "--eval-every", "3",
                                       "--lr", "0.05", "--momentum", "0.9", "--wd", "1e-4"};
    common.insert(common.end(), flags.begin(), flags.end());
    std::string c = train(common, "cpu", name), g = train(common, "cuda", name);
    ASSERT_FALSE(c.empty() || g.empty());
    auto a = metrics(c), b = metrics(g);
    ASSERT_EQ(a.size(), 3u) << c;
    ASSERT_EQ(a.size(), b.size()) << g;
    for (size_t i = 0; i < a.size(); i++) {
        std::string at = std::string(name) + " step " + std::to_string(a[i].step);
        double r = i == 0 ? 1e-4 : rel;
        EXPECT_NEAR(b[i].train_loss, a[i].train_loss, r * std::fabs(a[i].train_loss)) << at;
        EXPECT_NEAR(b[i].test_loss, a[i].test_loss, r * std::fabs(a[i].test_loss)) << at;
    }
    EXPECT_NE(a.back().train_loss, a.front().train_loss) << "the weights did not move: a weak comparison";
    if (!::testing::Test::HasFailure())
        for (const std::string &d : {c, g}) std::filesystem::remove_all(std::filesystem::path(d).parent_path());
}

TEST(TN_GPU_SUITE, TrainParityPlain) {
    parity({"--arch", "plain", "--depth", "6", "--bn", "off", "--opt", "gd", "--lr", "0.1", "--loss", "mse"}, 2e-3,
           "plain");
}
TEST(TN_GPU_SUITE, TrainParityPlainBn) {
    parity({"--arch", "plain", "--depth", "6", "--bn", "on", "--opt", "gd", "--lr", "0.05"}, 2e-2, "plain-bn");
}
TEST(TN_GPU_SUITE, TrainParityResnet) {
    parity({"--arch", "resnet", "--depth", "10", "--bn", "off", "--opt", "sgd", "--batch", "64", "--momentum", "0.5",
            "--lr", "0.05"},
           2e-3, "resnet");
}
TEST(TN_GPU_SUITE, TrainParityResnetBn) {
    parity({"--arch", "resnet", "--depth", "10", "--bn", "on", "--opt", "gd", "--momentum", "0.3", "--lr", "0.05"},
           2e-2, "resnet-bn");
}
// BN: BatchNorm2d after every conv and on the stage-entry shortcuts; crop-flip batches gathered on the device.
TEST(TN_GPU_SUITE, TrainParityConvBn) { conv_parity({"--bn", "on", "--augment", "crop-flip"}, 1e-3, "conv-bn"); }
// No BN: the scalar biases and the learnable tau (its gradient a sum of the blocks' dots).
TEST(TN_GPU_SUITE, TrainParityConvNoBn) { conv_parity({"--bn", "off", "--preprocess", "standardize"}, 1e-3, "conv-nobn"); }
TEST(TN_GPU_SUITE, TrainParityTf32) {
    parity({"--arch", "plain", "--depth", "6", "--bn", "off", "--opt", "gd", "--lr", "0.1", "--loss", "mse"}, 2e-2,
           "plain-tf32", 1);
    parity({"--arch", "resnet", "--depth", "10", "--bn", "off", "--opt", "sgd", "--batch", "64", "--momentum", "0.5",
            "--lr", "0.05"},
           2e-2, "resnet-tf32", 1);
}

} // namespace

// `taunet bench` on the cuda backend times the graph replay, as train runs it, unless --graph off;
// both run the same steps, so they end at the same loss (a replay that did nothing would not); its
// GEMM share (measured on an extra eager step) covers the fused-update GEMMs too.
TEST(TN_GPU_SUITE, BenchReplaysTheGraph) {
    NEED_DEVICE();
    double last[2] = {NAN, NAN};
    int k = 0;
    for (const char *graph : {"on", "off"}) {
        std::vector<std::string> flags = {"--arch", "resnet", "--width", "32", "--depth", "6", "--batch", "16",
                                          "--backend", "cuda", "--graph", graph};
        std::vector<char *> argv;
        for (auto &s : flags) argv.push_back(&s[0]);
        tn_config c;
        tn_err e{};
        tn_config_defaults(&c);
        ASSERT_EQ(tn_config_parse(&c, (int)argv.size(), argv.data(), &e), 0) << e.msg;
        tn_bench_result r;
        ASSERT_EQ(tn_bench_run(&c, 20, 10, 1, 2, 2, &r, &e), 0) << e.msg;
        EXPECT_EQ(r.graph, std::string(graph) == "on") << "--graph " << graph;
        EXPECT_GT(r.s_per_step, 0.0);
        EXPECT_GT(r.gemm_share, 0.0);
        EXPECT_LE(r.gemm_share, 1.0);
        last[k++] = r.last_loss;
    }
    EXPECT_TRUE(std::isfinite(last[0]));
    EXPECT_EQ(last[0], last[1]) << "the replayed steps did not do what the eager steps do";
}

// The memory planner refuses, before allocating, a run that cannot fit in the device's free
// memory, naming both numbers.
TEST(TN_GPU_SUITE, PlannerRefusesWhatCannotFit) {
    NEED_DEVICE();
    std::vector<std::string> flags = {"--arch", "plain", "--width", "400000", "--depth", "3", "--backend",
                                      "cuda", "--steps", "1", "--out", run_dir("refuse")};
    std::vector<char *> argv;
    for (auto &s : flags) argv.push_back(&s[0]);
    tn_config c;
    tn_err e{};
    tn_config_defaults(&c);
    ASSERT_EQ(tn_config_parse(&c, (int)argv.size(), argv.data(), &e), 0) << e.msg;
    tn_train_summary s;
    EXPECT_EQ(tn_train(&c, 1, &s, &e), TN_EINPUT);
    EXPECT_NE(std::string(e.msg).find("GiB"), std::string::npos) << e.msg;
    EXPECT_NE(std::string(e.msg).find("cuda"), std::string::npos) << e.msg;
}

// Same GPU, same flags: bit-identical metrics run to run (one stream, fixed cuBLAS workspace,
// no float atomics).
TEST(TN_GPU_SUITE, RunToRunBitIdentical) {
    NEED_DEVICE();
    std::vector<std::string> f = {"--arch", "resnet", "--bn", "on", "--width", "96", "--depth", "20", "--n", "256",
                                  "--momentum", "0.9", "--steps", "20", "--eval-every", "5"};
    std::string a = train(f, "cuda", "a"), b = train(f, "cuda", "b");
    ASSERT_FALSE(a.empty() || b.empty());
    expect_same_curves(a, b);
}

// A cosine schedule with warm-up changes lr every step: the captured step reads lr from device
// memory, so it is replayed throughout and still matches the eager run bit for bit. Momentum 0:
// the update is fused into the backward GEMMs (alpha = -lr, beta = 1 - lr*wd from device memory);
// GraphOnOffIdentical below covers momentum, where the sgd kernel reads lr.
TEST(TN_GPU_SUITE, GraphOnOffIdenticalWithCosineSchedule) {
    NEED_DEVICE();
    std::vector<std::string> f = {"--arch", "resnet", "--bn", "on", "--width", "48", "--depth", "12", "--n", "256", "--n-test", "64",
                                  "--batch", "64", "--momentum", "0", "--wd", "1e-3", "--schedule", "cosine", "--warmup", "4",
                                  "--steps", "24", "--eval-every", "4"};
    expect_graph_on_off(f, "cos", 23); // every step after the first replays
}

// The conv ResNet's step (im2col, col2im, shortcuts, the scalars' lr/10 update and the learnable
// tau read from device memory, the crop-flip gather) captured and replayed: the same numbers as
// eager steps. 48 images in batches of 16: every step after the first replays.
TEST(TN_GPU_SUITE, GraphOnOffIdenticalConv) {
    NEED_DEVICE();
    std::vector<std::string> f = {"--arch", "resnet-cifar", "--depth", "8", "--width", "4", "--bn", "off", "--data",
                                  "fashion:" + std::string(TAUNET_SOURCE_DIR) + "/data/fashion-sample", "--subset",
                                  "48", "--batch", "16", "--momentum", "0.9", "--wd", "1e-4", "--augment", "crop-flip",
                                  "--steps", "6", "--eval-every", "3"};
    expect_graph_on_off(f, "conv", 5);
}

// Two batches per epoch, 64 and 36, alternate: the full batch is captured on its second
// occurrence although the sizes never repeat back to back, and the remainders run eagerly.
TEST(TN_GPU_SUITE, GraphCapturesFullBatchesBetweenRemainders) {
    NEED_DEVICE();
    std::vector<std::string> f = {"--arch", "plain", "--width", "32", "--depth", "4", "--n", "100", "--n-test", "32",
                                  "--batch", "64", "--steps", "8", "--eval-every", "4"};
    expect_graph_on_off(f, "alt", 3); // steps 2, 4 and 6 replay
}

// --graph on (the step captured once and replayed) gives exactly the numbers of --graph off: the
// same kernels and GEMMs in the same order on the same stream. SGD with a last batch of another
// size and a step schedule exercise the eager steps between replays and the lr read from device
// memory.
TEST(TN_GPU_SUITE, GraphOnOffIdentical) {
    NEED_DEVICE();
    std::vector<std::string> f = {"--arch", "resnet", "--bn", "on", "--width", "64", "--depth", "16", "--n", "300",
                                  "--n-test", "64", "--batch", "64", "--momentum", "0.9", "--schedule", "step:2,4", "--steps", "30",
                                  "--eval-every", "5"};
    // the graph really ran: 30 steps of batches 64,64,64,64,44; the first step and every batch of 44
    // run eagerly (a remainder batch is not captured), the other 23 replay the graph across the lr
    // changes of the step schedule
    expect_graph_on_off(f, "graph", 23);
}
