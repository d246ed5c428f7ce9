// Training behaviour on the CPU backend, through the library entry point tn_train: the claims a
// researcher relies on (over-parameterized nets fit, tau-ResNets train where PlainNets struggle,
// depth 1202 trains).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "taunet/config.h"
#include "taunet/train.h"

namespace {
std::string tmpdir() {
    std::string t = ::testing::TempDir() + "taunet_train_XXXXXX";
    std::vector<char> b(t.begin(), t.end());
    b.push_back('\0');
    return std::string(mkdtemp(b.data()));
}

// The depth of the "depth 1202" tests: 302 under the sanitizers (scripts/sanitize.sh sets
// TAUNET_TEST_SMALL), where the same check at full depth would take minutes.
std::string deep() { return std::getenv("TAUNET_TEST_SMALL") ? "302" : "1202"; }

tn_train_summary run(std::vector<std::string> flags) {
    tn_config c;
    tn_err e{};
    tn_config_defaults(&c);
    flags.push_back("--out");
    flags.push_back(tmpdir() + "/run");
    flags.push_back("--threads");
    flags.push_back("1");  // ctest runs two tests at once on 2 cores
    std::vector<char *> argv;
    for (auto &f : flags) argv.push_back(f.data());
    EXPECT_EQ(tn_config_parse(&c, (int)argv.size(), argv.data(), &e), 0) << e.msg;
    tn_train_summary s{};
    EXPECT_EQ(tn_train(&c, 1, &s, &e), 0) << e.msg;
    return s;
}
}  // namespace

// Width 512, 64 points: GD on the square loss drives the training loss down by more than 100x.
TEST(Training, OverparameterizedNetFitsWithGd) {
    auto s0 = run({"--arch", "plain", "--width", "512", "--depth", "2", "--n", "64", "--n-test", "16",
                   "--input-dim", "16", "--loss", "mse", "--opt", "gd", "--steps", "0"});
    auto s = run({"--arch", "plain", "--width", "512", "--depth", "2", "--n", "64", "--n-test", "16",
                  "--input-dim", "16", "--loss", "mse", "--opt", "gd", "--lr", "0.5", "--steps", "150"});
    EXPECT_STREQ(tn_status_name(s.status), "finished");
    EXPECT_GT(s0.final_train_loss, 0.1);
    EXPECT_LT(s.final_train_loss, s0.final_train_loss / 100) << "from " << s0.final_train_loss;
    EXPECT_DOUBLE_EQ(s.final_train_acc, 1.0);
}

// Same data, budget and lr: at depth 30 the PlainNet ends with a clearly higher training loss
// than the tau = 1/sqrt(L) ResNet (Zhang et al. 2019), seed for seed. The PlainNet's trajectory
// is chaotic: its final loss moves with the seed and with the GEMM kernel's rounding (OpenBLAS
// Haswell vs SkylakeX kernels give 1.35 and 1.41 for the same seed at 150 steps), so one run of
// each is a coin flip near any threshold. Measured at 300 steps over seeds 0-4 under both
// kernels: ResNet 0.17-0.31, PlainNet 1.04-2.30. The check is therefore the claim per seed
// population: every ResNet seed below every PlainNet seed, with a factor of 2 to spare (the
// measured worst case is 3.4).
TEST(Training, TauResnetTrainsBetterThanPlainAtDepth30) {
    std::vector<std::string> common = {"--width", "128", "--depth", "30", "--n", "256", "--n-test", "32",
                                       "--input-dim", "32", "--batch", "64", "--lr", "0.05", "--steps", "300"};
    double worst_resnet = 0, best_plain = INFINITY;
    for (const char *seed : {"0", "1", "2"}) {
        auto p = common, r = common;
        p.insert(p.end(), {"--arch", "plain", "--seed", seed});
        r.insert(r.end(), {"--arch", "resnet", "--tau", "1/sqrt(L)", "--seed", seed});
        auto sp = run(p), sr = run(r);
        best_plain = std::fmin(best_plain, sp.final_train_loss);
        worst_resnet = std::fmax(worst_resnet, sr.final_train_loss);
        EXPECT_TRUE(std::isfinite(sr.final_train_loss)) << "seed " << seed;
    }
    EXPECT_LT(worst_resnet, 0.5 * best_plain) << "worst resnet " << worst_resnet << " best plain " << best_plain;
}

// Depth 1202 at width 128 trains: finite, and the loss falls within a few SGD steps.
TEST(Training, Depth1202Trains) {
    std::vector<std::string> f = {"--arch", "resnet", "--width", "128", "--depth", deep(), "--n", "128",
                                  "--n-test", "16", "--input-dim", "32", "--batch", "32", "--lr", "0.1", "--eval-every", "8"};
    auto f0 = f, f1 = f;
    f0.insert(f0.end(), {"--steps", "0"});
    f1.insert(f1.end(), {"--steps", "8"});
    auto s0 = run(f0), s1 = run(f1);
    EXPECT_STREQ(tn_status_name(s1.status), "finished");
    EXPECT_LT(s1.final_train_loss, 0.95 * s0.final_train_loss);
}

// The same with BN in train mode (running statistics are then used for evaluation): finite, and
// the training loss falls below its value at initialization.
TEST(Training, Depth1202WithBnTrains) {
    std::vector<std::string> f = {"--arch", "resnet", "--bn", "on", "--width", "128", "--depth", deep(), "--n", "128",
                                  "--n-test", "16", "--input-dim", "32", "--batch", "32", "--lr", "0.1", "--eval-every", "8"};
    auto f0 = f, f1 = f;
    f0.insert(f0.end(), {"--steps", "0"});
    f1.insert(f1.end(), {"--steps", "8"});
    auto s0 = run(f0), s = run(f1);
    EXPECT_STREQ(tn_status_name(s.status), "finished");
    EXPECT_TRUE(std::isfinite(s.final_train_loss));
    EXPECT_LT(s.final_train_loss, s0.final_train_loss);
}

// tau = L^-1/4 blows the output up with depth at initialization; 1/sqrt(L) keeps it bounded:
// the initial loss (mse, so it grows with ||f||^2) is far larger.
TEST(Training, TauLMinusQuarterExplodesAtInit) {
    std::vector<std::string> f = {"--arch", "resnet", "--width", "64", "--depth", "300", "--n", "64",
                                  "--n-test", "8", "--input-dim", "16", "--loss", "mse", "--steps", "0"};
    auto a = f, b = f;
    a.insert(a.end(), {"--tau", "1/sqrt(L)"});
    b.insert(b.end(), {"--tau", "L^-1/4"});
    auto sa = run(a), sb = run(b);
    EXPECT_LT(sa.final_train_loss, 100.0);
    EXPECT_GT(sb.final_train_loss, 100 * sa.final_train_loss);
}

// ------------------------------------------------------------------ conv ResNets (CIFAR family)

namespace {
const std::string kSample = "fashion:" + std::string(TAUNET_SOURCE_DIR) + "/data/fashion-sample";
// The conv depth of the "ResNet-1202" tests: 302 (n = 50) under the sanitizers, like deep().
std::string conv_deep() { return std::getenv("TAUNET_TEST_SMALL") ? "302" : "1202"; }
}  // namespace

// ResNet-20 with BN on the 2000 real training images of the Fashion-MNIST sample (28x28, one
// channel): two epochs of SGD give a test accuracy far above chance (0.1) on its 500 test images.
// (Measured: test accuracy 0.73 at 2 threads on an AMD EPYC, OpenBLAS's Zen kernel.)
TEST(Training, ConvResnet20BnBeatsChance) {
    // under the sanitizers (TAUNET_TEST_SMALL) ResNet-8, the same recipe
    auto s = run({"--arch", "resnet-cifar", "--depth", std::getenv("TAUNET_TEST_SMALL") ? "8" : "20", "--bn", "on",
                  "--data", kSample, "--batch", "32",
                  "--lr", "0.05", "--momentum", "0.9", "--wd", "1e-4", "--epochs", "2", "--eval-every", "0"});
    EXPECT_STREQ(tn_status_name(s.status), "finished");
    EXPECT_GT(s.final_test_acc, 0.5) << "chance is 0.1";
}

// A tiny IDX set in dir (8 training and 4 test images of 28x28, random pixels and labels, raw
// files): a deep net's evaluation then costs little next to its steps.
void write_idx(const std::string &dir, const char *name, int n, bool images, std::mt19937 &rng) {
    std::ofstream f(dir + "/" + name, std::ios::binary);
    unsigned char hdr[16] = {0, 0, 8, (unsigned char)(images ? 3 : 1), 0, 0, 0, (unsigned char)n, 0, 0, 0, 28, 0, 0, 0, 28};
    f.write((const char *)hdr, images ? 16 : 8);
    for (int i = 0; i < n * (images ? 28 * 28 : 1); i++) f.put((char)(images ? rng() % 256 : rng() % 10));
}
std::string tiny_idx() {
    std::string d = tmpdir();
    std::mt19937 rng(7);
    write_idx(d, "train-images-idx3-ubyte", 8, true, rng);
    write_idx(d, "train-labels-idx1-ubyte", 8, false, rng);
    write_idx(d, "t10k-images-idx3-ubyte", 4, true, rng);
    write_idx(d, "t10k-labels-idx1-ubyte", 4, false, rng);
    return "mnist:" + d;
}

// ResNet-1202 steps on the CPU, with BN (tau fixed at 1/sqrt(600)) and without (the scalar biases
// and the learnable tau): finite, and a few SGD steps on one small batch lower its loss.
void conv_deep_trains(const char *bn) {
    std::vector<std::string> f = {"--arch", "resnet-cifar", "--depth", conv_deep(), "--bn", bn, "--data", tiny_idx(),
                                  "--batch", "8", "--lr", "0.05", "--eval-every", "3"};
    auto f0 = f, f1 = f;
    f0.insert(f0.end(), {"--steps", "0"});
    f1.insert(f1.end(), {"--steps", "3"});
    auto s0 = run(f0), s1 = run(f1);
    EXPECT_STREQ(tn_status_name(s1.status), "finished");
    EXPECT_TRUE(std::isfinite(s1.final_train_loss));
    EXPECT_LT(s1.final_train_loss, s0.final_train_loss) << "--bn " << bn;
}
TEST(Training, ConvResnet1202WithBnSteps) { conv_deep_trains("on"); }
TEST(Training, ConvResnet1202WithoutBnSteps) { conv_deep_trains("off"); }
