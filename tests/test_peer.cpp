// taunet's exported weights loaded by the reference implementations in bench/peers/: a numpy
// forward pass and, when torch is importable, the PyTorch peer's FCNet via load_state_dict must
// reproduce taunet's final training loss (eval mode) on the bundled Fashion-MNIST sample.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace {
int sh(const std::string &cmd) {
    int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
std::string python() {
    // Debian's python3 carries python3-numpy/torch from apt; another python3 may come first on PATH
    return sh("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0 ? "/usr/bin/python3" : "python3";
}
void check(const std::string &flags) {
    if (sh(python() + " -c 'import numpy' 2>/dev/null") != 0) GTEST_SKIP() << "numpy is not importable";
    std::string dir = ::testing::TempDir() + "taunet_peer_XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    std::string bin = TAUNET_BIN, src = TAUNET_SOURCE_DIR;
    ASSERT_EQ(sh(bin + " train --data fashion:" + src + "/data/fashion-sample --subset 256 --threads 1 " + flags +
                 " --out " + dir + "/run > /dev/null"), 0);
    ASSERT_EQ(sh(bin + " export " + dir + "/run > /dev/null"), 0);
    EXPECT_EQ(sh(python() + " " + src + "/bench/peers/check_export.py " + dir + "/run"), 0);
    sh("rm -rf " + dir);
}
}  // namespace

TEST(Peer, ExportReproducesLossResnetBn) { check("--arch resnet --bn on --width 32 --depth 6 --momentum 0.9 --steps 12"); }
TEST(Peer, ExportReproducesLossPlainXent) { check("--arch plain --width 48 --depth 4 --lr 0.01 --steps 12"); }
TEST(Peer, ExportReproducesLossResnetMse) { check("--arch resnet --loss mse --tau 1/L --width 40 --depth 8 --lr 0.005 --steps 12"); }

// The conv ResNet against the PyTorch peer (bench/peers/torch_cifar.py, the same network in
// torch.nn): taunet's exported initial weights give the same eval-mode loss on real images, and
// one SGD step on the whole set (momentum, weight decay, the lr/10 group of the no-BN scalars and
// tau) gives the same tensors, within fp32 tolerance. Needs a python with torch and numpy:
// TAUNET_TORCH_PYTHON, else python3; skips, saying so, without one.
namespace {
std::string torch_python() {
    std::vector<std::string> cands;
    if (const char *p = std::getenv("TAUNET_TORCH_PYTHON")) cands.push_back(p);
    cands.insert(cands.end(), {"python3", "/usr/bin/python3"});
    for (const auto &p : cands)
        if (sh(p + " -c 'import torch, numpy' 2>/dev/null") == 0) return p;
    return "";
}
void check_conv(const std::string &bn) {
    std::string py = torch_python();
    if (py.empty()) GTEST_SKIP() << "torch is not importable (set TAUNET_TORCH_PYTHON to a python with torch and numpy)";
    std::string dir = ::testing::TempDir() + "taunet_peer_XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    std::string bin = TAUNET_BIN, src = TAUNET_SOURCE_DIR;
    std::string f = " train --arch resnet-cifar --depth 8 --width 4 --bn " + bn + " --data fashion:" + src +
                    "/data/fashion-sample --subset 64 --batch 64 --lr 0.1 --momentum 0.9 --wd 1e-3 --threads 1";
    for (const char *s : {"0", "1"}) {
        std::string run = dir + "/r" + s;
        ASSERT_EQ(sh(bin + f + " --steps " + s + " --out " + run + " > /dev/null"), 0);
        ASSERT_EQ(sh(bin + " export " + run + " > /dev/null"), 0);
    }
    EXPECT_EQ(sh(py + " " + src + "/bench/peers/torch_cifar.py check " + dir + "/r0 " + dir + "/r1"), 0);
    sh("rm -rf " + dir);
}
}  // namespace

TEST(Peer, TorchConvResnetBnForwardAndStep) { check_conv("on"); }
TEST(Peer, TorchConvResnetNoBnForwardAndStep) { check_conv("off"); }
