// End-to-end tests of the taunet command line: the real binary (TAUNET_BIN) runs in a fresh
// temporary directory and the tests look at its exit status, stdout, stderr and the files it
// writes. Every run is tiny (width 16-32, depth 2-4, a few steps, 1-2 threads).
//   CliBadInput.*    exit 2, one stderr line "taunet: ..." naming the problem, no run written
//   CliRuntime.*     exit 1 for failures of the machine rather than of the input
//   CliDeterminism.* the same command twice gives the same metrics and checkpoint
//   CliResume.*      halt + --resume continues bit-exactly
//   CliOutputs.*     config.json, metrics.jsonl, summary.json, export, help
//   CliData.*        the bundled Fashion-MNIST sample
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "cli_util.h"
#include "taunet/config.h"

namespace {

using Args = std::vector<std::string>;
using cli::TempDir;

const std::string kSample = std::string(TAUNET_SOURCE_DIR) + "/data/fashion-sample";

// A tiny synthetic run; tests append --out and what they vary.
const Args kTiny = {"train", "--width", "16", "--depth", "2", "--steps", "2", "--n", "32", "--n-test", "16",
                    "--threads", "1"};

Args cat(Args a, const Args &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Runs taunet in t and checks it succeeded; returns the result for further checks.
cli::Result ok_run(const TempDir &t, const Args &args) {
    cli::Result r = cli::taunet(args, t.path());
    EXPECT_EQ(r.code, 0) << cli::describe(args) << "\nstderr: " << r.err;
    return r;
}

// The bad-input contract: exit `code`, stderr exactly one line starting "taunet: " that contains
// every keyword, nothing on stdout, and nothing written under the --out directory `out`.
void expect_refused(const TempDir &t, const Args &args, const std::vector<std::string> &keywords,
                    const std::string &out = "run", int code = 2) {
    SCOPED_TRACE(cli::describe(args));
    cli::Result r = cli::taunet(args, t.path());
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.code, code) << "stderr: " << r.err;
    EXPECT_EQ(r.err.rfind("taunet: ", 0), 0u) << "stderr: " << r.err;
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.back(), '\n') << "stderr: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "stderr is not one line: " << r.err;
    for (const auto &k : keywords) EXPECT_NE(r.err.find(k), std::string::npos) << "no '" << k << "' in: " << r.err;
    EXPECT_EQ(r.out, "") << "stdout of a refused run";
    if (!out.empty()) {
        EXPECT_FALSE(cli::exists(t / out + "/summary.json"));
        EXPECT_TRUE(cli::listing(t / out).empty()) << "a refused run left files in " << out;
    }
}

// ------------------------------------------------------------------ tiny datasets on disk

void put_be32(std::string &b, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back((char)(unsigned char)(v >> s));
}

std::string idx_images(uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols, size_t pixels) {
    std::string b;
    put_be32(b, magic);
    put_be32(b, n);
    put_be32(b, rows);
    put_be32(b, cols);
    for (size_t i = 0; i < pixels; i++) b.push_back((char)(unsigned char)((i * 37 + 11) % 256));
    return b;
}

std::string idx_labels(uint32_t magic, uint32_t n, size_t count) {
    std::string b;
    put_be32(b, magic);
    put_be32(b, n);
    for (size_t i = 0; i < count; i++) b.push_back((char)(i % 10));
    return b;
}

// An MNIST-layout directory: 20 training and 10 test images of 4x4, raw (not gzip'd).
void make_mnist(const std::string &dir) {
    std::filesystem::create_directories(dir);
    ASSERT_TRUE(cli::spit(dir + "/train-images-idx3-ubyte", idx_images(0x803, 20, 4, 4, 20 * 16)));
    ASSERT_TRUE(cli::spit(dir + "/train-labels-idx1-ubyte", idx_labels(0x801, 20, 20)));
    ASSERT_TRUE(cli::spit(dir + "/t10k-images-idx3-ubyte", idx_images(0x803, 10, 4, 4, 10 * 16)));
    ASSERT_TRUE(cli::spit(dir + "/t10k-labels-idx1-ubyte", idx_labels(0x801, 10, 10)));
}

// A CIFAR-10 binary directory with `recs` records of 3073 bytes in each of the six files.
void make_cifar(const std::string &dir, int recs) {
    std::filesystem::create_directories(dir);
    const char *names[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                           "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    for (int f = 0; f < 6; f++) {
        std::string b;
        for (int r = 0; r < recs; r++) {
            b.push_back((char)((f + r) % 10));
            for (int j = 0; j < 3072; j++) b.push_back((char)(unsigned char)((j * 7 + r * 13 + f) % 256));
        }
        ASSERT_TRUE(cli::spit(dir + "/" + names[f], b));
    }
}

// ------------------------------------------------------------------ reading outputs

std::string field(const std::string &obj, const std::string &key) {
    auto v = cli::json_get(obj, key);
    return v ? *v : "<absent>";
}

double num(const std::string &obj, const std::string &key) {
    auto v = cli::json_get(obj, key);
    return v ? std::strtod(v->c_str(), nullptr) : NAN;
}

std::vector<long> metric_steps(const std::string &metrics) {
    std::vector<long> s;
    for (const auto &l : cli::lines(metrics)) s.push_back(std::strtol(field(l, "step").c_str(), nullptr, 10));
    return s;
}

// The metrics.jsonl records without the wall-clock fields.
std::vector<std::string> metrics_no_time(const std::string &dir) {
    return cli::metrics_without(cli::slurp(dir + "/metrics.jsonl"), {"time", "samples_per_s"});
}

// A JSON object's members without the given keys, as "k=v;" text.
std::string fields_without(const std::string &obj, const std::set<std::string> &drop) {
    auto f = cli::json_fields(obj);
    if (!f) return "<not a JSON object: " + obj + ">";
    std::string s;
    for (const auto &[k, v] : *f)
        if (!drop.count(k)) s += k + "=" + v + ";";
    return s;
}

// Checkpoints compared on everything but the wall-clock `seconds` of the meta text: format
// version, the rest of the meta text (step, losses, flags) and every tensor's bytes.
void expect_same_checkpoint(const std::string &a_path, const std::string &b_path) {
    cli::Ckpt a = cli::read_ckpt(cli::slurp(a_path)), b = cli::read_ckpt(cli::slurp(b_path));
    ASSERT_TRUE(a.ok) << a_path << ": " << a.why;
    ASSERT_TRUE(b.ok) << b_path << ": " << b.why;
    EXPECT_EQ(a.version, b.version);
    EXPECT_EQ(cli::meta_without(a.meta, {"seconds "}), cli::meta_without(b.meta, {"seconds "}));
    EXPECT_FALSE(a.tensors.empty());
    ASSERT_EQ(a.tensors.size(), b.tensors.size());
    for (const auto &[name, bytes] : a.tensors) {
        ASSERT_TRUE(b.tensors.count(name)) << "tensor " << name << " missing in " << b_path;
        EXPECT_TRUE(bytes == b.tensors.at(name)) << "tensor " << name << " differs";
    }
}

}  // namespace

// ================================================================== bad input: exit 2, one line

TEST(CliBadInput, UnknownFlag) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    expect_refused(t, cat(kTiny, {"--out", "run", "--bogus", "3"}), {"unknown flag", "--bogus"});
}

TEST(CliBadInput, FlagWithoutValue) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    expect_refused(t, cat(kTiny, {"--out", "run", "--width"}), {"--width", "value"});
}

TEST(CliBadInput, BadNumber) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    expect_refused(t, cat(kTiny, {"--out", "run", "--width", "abc"}), {"--width", "abc"});
    expect_refused(t, cat(kTiny, {"--out", "run", "--width", "0"}), {"--width"});
    expect_refused(t, cat(kTiny, {"--out", "run", "--lr", "-1"}), {"--lr", "-1"});
    expect_refused(t, cat(kTiny, {"--out", "run", "--steps", "3x"}), {"--steps", "3x"});
}

TEST(CliBadInput, BadChoice) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    expect_refused(t, cat(kTiny, {"--out", "run", "--arch", "foo"}), {"--arch", "foo", "plain", "resnet"});
    expect_refused(t, cat(kTiny, {"--out", "run", "--loss", "foo"}), {"--loss", "foo", "mse", "xent"});
}

// resnet-cifar: a depth that is not 6n+2 is refused with the list; --tau-learn on is refused where
// there is no learnable tau (another family, or BN, whose tau the authors keep fixed).
TEST(CliBadInput, ConvDepthAndTauLearn) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    expect_refused(t, cat(kTiny, {"--out", "run", "--arch", "resnet-cifar", "--depth", "21"}),
                   {"--depth 21", "6n+2", "20, 32, 44, 56, 110, 1202"});
    expect_refused(t, cat(kTiny, {"--out", "run", "--arch", "resnet-cifar", "--depth", "2"}), {"--depth 2", "6n+2"});
    expect_refused(t, cat(kTiny, {"--out", "run", "--augment", "crop-flip"}), {"--augment", "images", "synthetic"});
    expect_refused(t, cat(kTiny, {"--out", "run", "--warmup-lr", "0.01"}), {"--warmup-lr", "--warmup 400"});
    expect_refused(t, cat(kTiny, {"--out", "run", "--arch", "resnet", "--tau-learn", "on"}),
                   {"--tau-learn on", "resnet-cifar"});
    expect_refused(t, cat(kTiny, {"--out", "run", "--arch", "resnet-cifar", "--depth", "8", "--bn", "on",
                                  "--tau-learn", "on"}),
                   {"--tau-learn on", "--bn on", "--bn off"});
}

// Combinations that would silently do nothing or break BN are refused, naming the fix.
TEST(CliBadInput, InconsistentCombinations) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    expect_refused(t, cat(kTiny, {"--out", "run", "--depth", "1", "--train", "hidden"}), {"--train hidden", "--depth"});
    expect_refused(t, cat(kTiny, {"--out", "run", "--depth", "1", "--bn", "on"}), {"--bn on", "--depth"});
    expect_refused(t, {"train", "--data", "synthetic", "--width", "8", "--depth", "2", "--bn", "on", "--n", "65",
                       "--n-test", "8", "--batch", "64", "--steps", "2", "--threads", "1", "--out", "run"},
                   {"--bn on", "--batch", "one example"});
}

TEST(CliBadInput, BadTau) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    // The message names the flag, the value, and the rules it would have accepted.
    expect_refused(t, cat(kTiny, {"--out", "run", "--tau", "1/sqrt(X)"}), {"--tau", "1/sqrt(X)", "1/sqrt(L)"});
}

// Found by fuzz_flags: a milestone beyond int overflowed into a negative one, and a path with a
// newline split the canonical flags (a checkpoint of that run would not resume). Both refused,
// and the message shows the newline as \x0a, on one line.
TEST(CliBadInput, ValuesThatWouldBreakTheCanonicalFlags) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    expect_refused(t, cat(kTiny, {"--out", "run", "--schedule", "step:3333333333333333333"}), {"--schedule"});
    expect_refused(t, cat(kTiny, {"--out", "run\nx"}), {"--out", "control character", "0x0a"}, "");
    expect_refused(t, cat(kTiny, {"--out", "run", "--data", "fashion:data\tdir"}), {"--data", "0x09"});
}

TEST(CliBadInput, ScheduleMilestonesDecrease) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    expect_refused(t, cat(kTiny, {"--out", "run", "--schedule", "step:5,3"}), {"--schedule", "step:5,3", "increase"});
}

TEST(CliBadInput, DataDirectoryMissing) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    std::string dir = t / "no-such-dir";
    expect_refused(t, cat(kTiny, {"--out", "run", "--data", "fashion:" + dir}), {"no such directory", dir});
}

TEST(CliBadInput, IdxTruncated) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ASSERT_NO_FATAL_FAILURE(make_mnist(t / "mnist"));
    // The intact directory trains, so the refusals below come from the damage alone.
    ok_run(t, cat(kTiny, {"--out", "good", "--data", "mnist:" + t / "mnist"}));
    std::string p = t / "mnist/train-images-idx3-ubyte", b = cli::slurp(p);
    ASSERT_TRUE(cli::spit(p, b.substr(0, b.size() - 5)));
    expect_refused(t, cat(kTiny, {"--out", "run", "--data", "mnist:" + t / "mnist"}),
                   {"truncated", "train-images-idx3-ubyte"});
}

TEST(CliBadInput, IdxWrongMagic) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ASSERT_NO_FATAL_FAILURE(make_mnist(t / "mnist"));
    ok_run(t, cat(kTiny, {"--out", "good", "--data", "mnist:" + t / "mnist"}));
    // What a failed download leaves: an HTML page under the IDX name.
    ASSERT_TRUE(cli::spit(t / "mnist/t10k-labels-idx1-ubyte", std::string("<html><body>404</body></html>\n")));
    expect_refused(t, cat(kTiny, {"--out", "run", "--data", "mnist:" + t / "mnist"}),
                   {"magic", "t10k-labels-idx1-ubyte"});
}

TEST(CliBadInput, IdxCountMismatch) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ASSERT_NO_FATAL_FAILURE(make_mnist(t / "mnist"));
    ok_run(t, cat(kTiny, {"--out", "good", "--data", "mnist:" + t / "mnist"}));
    ASSERT_TRUE(cli::spit(t / "mnist/train-labels-idx1-ubyte", idx_labels(0x801, 19, 19)));
    expect_refused(t, cat(kTiny, {"--out", "run", "--data", "mnist:" + t / "mnist"}),
                   {"mismatch", "train-labels-idx1-ubyte"});
}

TEST(CliBadInput, CifarRecordSize) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ASSERT_NO_FATAL_FAILURE(make_cifar(t / "cifar", 2));
    ok_run(t, cat(kTiny, {"--out", "good", "--data", "cifar10:" + t / "cifar"}));
    std::string p = t / "cifar/data_batch_3.bin", b = cli::slurp(p);
    ASSERT_TRUE(cli::spit(p, b + std::string(100, '\0')));
    expect_refused(t, cat(kTiny, {"--out", "run", "--data", "cifar10:" + t / "cifar"}),
                   {"3073", "data_batch_3.bin"});
}

TEST(CliBadInput, SubsetLargerThanData) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ASSERT_NO_FATAL_FAILURE(make_mnist(t / "mnist"));
    ok_run(t, cat(kTiny, {"--out", "good", "--data", "mnist:" + t / "mnist", "--subset", "20"}));
    expect_refused(t, cat(kTiny, {"--out", "run", "--data", "mnist:" + t / "mnist", "--subset", "21"}),
                   {"--subset", "21", "20"});
}

TEST(CliBadInput, OutAlreadyHoldsRun) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, cat(kTiny, {"--out", "run"}));
    auto before = cli::snapshot(t / "run");
    ASSERT_TRUE(before.count("summary.json"));
    // Same and different settings alike: never overwrite a result.
    expect_refused(t, cat(kTiny, {"--out", "run"}), {"--out", "already holds a run"}, "");
    expect_refused(t, cat(kTiny, {"--out", "run", "--width", "32"}), {"--out", "already holds a run"}, "");
    EXPECT_TRUE(cli::snapshot(t / "run") == before) << "the existing run's files changed";
}

// A conv ResNet whose batch does not fit is refused with the numbers and the batch that would:
// ResNet-1202 at 64 channels needs about 1.3 GB of activations per 28x28 image, so a batch of
// 2000 (the sample's training set) fits no machine of this project's kind.
TEST(CliBadInput, MemoryRefusalNamesTheBatchThatFits) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    Args a = {"train", "--arch", "resnet-cifar", "--depth", "1202", "--width", "64", "--data", "fashion:" + kSample,
              "--batch", "2000", "--steps", "1", "--backend", "cpu", "--threads", "1", "--out", "run"};
    expect_refused(t, a, {"memory", "GiB", "a batch of 2000", "fits"});
    cli::Result r = cli::taunet(a, t.path());
    size_t at = r.err.find("--batch ");
    ASSERT_NE(at, std::string::npos) << r.err;
    long fits = std::strtol(r.err.c_str() + at + 8, nullptr, 10);
    EXPECT_GT(fits, 0) << r.err;
    EXPECT_LT(fits, 2000) << r.err;
}

TEST(CliBadInput, MemoryRefusedBeforeAllocating) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    Args a = {"train", "--width", "200000", "--depth", "50", "--steps", "1", "--backend", "cpu",
              "--threads", "1", "--out", "run"};
    auto t0 = std::chrono::steady_clock::now();
    expect_refused(t, a, {"memory", "GiB", "--width"});
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
    // The numbers: what the run needs (49 hidden 200000 x 200000 float32 matrices alone are
    // 7301 GiB) and what is available (less).
    cli::Result r = cli::taunet(a, t.path());
    std::vector<double> gib;
    for (size_t at = r.err.find(" GiB"); at != std::string::npos; at = r.err.find(" GiB", at + 1)) {
        size_t b = at;
        while (b > 0 && (std::isdigit((unsigned char)r.err[b - 1]) || r.err[b - 1] == '.')) b--;
        if (b < at) gib.push_back(std::strtod(r.err.substr(b, at - b).c_str(), nullptr));
    }
    ASSERT_GE(gib.size(), 2u) << r.err;
    EXPECT_GE(gib[0], 7301.0) << r.err;
    EXPECT_LT(gib[1], gib[0]) << r.err;
}

namespace {
// A finished run R with checkpoints (--ckpt-every 2), whose checkpoint.bin is then damaged by
// `damage`; `train --resume R` must be refused with the keywords and leave R as it was.
void resume_damaged(void (*damage)(std::string &), const std::vector<std::string> &keywords) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, {"train", "--width", "16", "--depth", "3", "--steps", "4", "--ckpt-every", "2", "--n", "32",
               "--n-test", "16", "--threads", "1", "--out", "R"});
    std::string ck = t / "R/checkpoint.bin", b = cli::slurp(ck);
    ASSERT_TRUE(cli::read_ckpt(b).ok);
    damage(b);
    ASSERT_TRUE(cli::spit(ck, b));
    auto before = cli::snapshot(t / "R");
    expect_refused(t, {"train", "--resume", "R"}, keywords, "");
    EXPECT_TRUE(cli::snapshot(t / "R") == before) << "a refused resume changed the run directory";
}
}  // namespace

TEST(CliBadInput, CheckpointTruncated) {
    resume_damaged([](std::string &b) { b.resize(b.size() / 2); }, {"checkpoint", "truncated"});
}

TEST(CliBadInput, CheckpointWrongVersion) {
    resume_damaged([](std::string &b) { b[8] = 2; }, {"checkpoint", "version 2"});
}

TEST(CliBadInput, CheckpointChecksumMismatch) {
    resume_damaged([](std::string &b) { b[b.size() - 6] ^= 0x40; }, {"checkpoint", "checksum"});
}

TEST(CliBadInput, ResumeWithChangedWidth) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, cat(kTiny, {"--out", "R"}));
    auto before = cli::snapshot(t / "R");
    expect_refused(t, {"train", "--resume", "R", "--width", "32"}, {"--width", "resum"}, "");
    EXPECT_TRUE(cli::snapshot(t / "R") == before);
    // A flag that may change is accepted (the control for the refusal above).
    ok_run(t, {"train", "--resume", "R", "--steps", "3", "--threads", "1"});
}

TEST(CliBadInput, ExportWithoutCheckpoint) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    std::filesystem::create_directories(t / "E");
    expect_refused(t, {"export", "E"}, {"checkpoint"}, "E");
}

TEST(CliBadInput, UnknownCommand) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    expect_refused(t, {"frobnicate", "--out", "run"}, {"unknown command", "frobnicate"});
}

// ================================================================== runtime failure: exit 1

TEST(CliRuntime, CudaBackendWithoutGpu) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    cli::Result info = cli::taunet({"info"}, t.path());
    ASSERT_EQ(info.code, 0) << info.err;
    size_t at = info.out.find("cuda (");
    ASSERT_NE(at, std::string::npos) << info.out;
    if (std::atoi(info.out.c_str() + at + 6) > 0) GTEST_SKIP() << "this machine has a CUDA device";
    expect_refused(t, cat(kTiny, {"--out", "run", "--backend", "cuda"}), {"cuda"}, "run", 1);
}

// ================================================================== determinism

namespace {
void expect_deterministic(const Args &flags) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, cat(flags, {"--out", "r1"}));
    ok_run(t, cat(flags, {"--out", "r2"}));
    auto m1 = metrics_no_time(t / "r1"), m2 = metrics_no_time(t / "r2");
    ASSERT_EQ(m1.size(), 5u);
    EXPECT_EQ(m1, m2);
    // It trained: the loss moved, so equal files are not equal by accident.
    std::string l1 = cli::slurp(t / "r1/metrics.jsonl");
    EXPECT_NE(field(cli::lines(l1).front(), "train_loss"), field(cli::lines(l1).back(), "train_loss"));
    expect_same_checkpoint(t / "r1/checkpoint.bin", t / "r2/checkpoint.bin");
}

const Args kDet = {"train", "--arch", "resnet", "--bn", "on", "--width", "24", "--depth", "3", "--data", "synthetic",
                   "--n", "64", "--n-test", "32", "--seed", "3", "--threads", "2", "--opt", "sgd", "--batch", "16",
                   "--lr", "0.05", "--steps", "8", "--eval-every", "2"};
}  // namespace

TEST(CliDeterminism, SgdMomentumResnetBn) { expect_deterministic(cat(kDet, {"--momentum", "0.9"})); }

TEST(CliDeterminism, PlainSgdResnetBn) { expect_deterministic(cat(kDet, {"--momentum", "0"})); }

// Byte-identical checkpoint.bin files: checkpoints hold no wall-clock time (a resumed run takes
// its clock from metrics.jsonl), so two identical runs write identical bytes.
TEST(CliDeterminism, CheckpointBytesIdentical) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    Args flags = cat(kDet, {"--momentum", "0.9"});
    ok_run(t, cat(flags, {"--out", "r1"}));
    ok_run(t, cat(flags, {"--out", "r2"}));
    std::string a = cli::slurp(t / "r1/checkpoint.bin"), b = cli::slurp(t / "r2/checkpoint.bin");
    ASSERT_FALSE(a.empty());
    EXPECT_TRUE(a == b) << "checkpoint.bin differs; meta of r1:\n"
                        << cli::read_ckpt(a).meta.substr(0, 200) << "\nmeta of r2:\n"
                        << cli::read_ckpt(b).meta.substr(0, 200);
}

// Results do not depend on --threads: the CPU backend's GEMMs run on a fixed grid of tiles and
// its reductions in fixed blocks, whatever the thread count. Width 384 and 320 gave different
// weights at 1 and 2 threads when OpenBLAS split its GEMMs by the thread count.
TEST(CliDeterminism, ThreadCountDoesNotChangeResults) {
    for (const Args &flags : {Args{"train", "--width", "384", "--depth", "6", "--n", "256", "--input-dim", "64",
                                   "--steps", "30", "--eval-every", "10"},
                              Args{"train", "--width", "320", "--depth", "4", "--bn", "on", "--momentum", "0.9",
                                   "--n", "200", "--input-dim", "40", "--batch", "48", "--steps", "20",
                                   "--eval-every", "5"}}) {
        SCOPED_TRACE(cli::describe(flags));
        TempDir t;
        ASSERT_TRUE(t.ok());
        for (const char *th : {"1", "2", "3"}) ok_run(t, cat(flags, {"--threads", th, "--out", std::string("t") + th}));
        auto m1 = metrics_no_time(t / "t1");
        auto raw = cli::lines(cli::slurp(t / "t1/metrics.jsonl"));
        ASSERT_GE(raw.size(), 4u);
        EXPECT_NE(field(raw.front(), "train_loss"), field(raw.back(), "train_loss"));
        for (const char *th : {"2", "3"}) {
            EXPECT_EQ(m1, metrics_no_time(t / (std::string("t") + th))) << th << " threads";
            EXPECT_TRUE(cli::slurp(t / "t1/checkpoint.bin") == cli::slurp(t / (std::string("t") + th + "/checkpoint.bin")))
                << "checkpoint.bin at " << th << " threads differs from 1 thread";
        }
    }
}

// ================================================================== resume is bit-exact

namespace {
// A: 12 steps. B: the same, halted after 5 steps, then `train --resume B` with no other flag.
void expect_resume_exact(const Args &flags) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    Args base = cat(flags, {"--steps", "12", "--eval-every", "3"});
    ok_run(t, cat(base, {"--out", "A"}));
    ok_run(t, cat(base, {"--out", "B", "--halt-after", "5"}));
    std::string halted = cli::slurp(t / "B/summary.json");
    ASSERT_EQ(field(halted, "status"), "\"halted\"") << halted;
    EXPECT_EQ(field(halted, "steps"), "5");
    ASSERT_TRUE(cli::exists(t / "B/checkpoint.bin"));

    ok_run(t, {"train", "--resume", "B"});
    std::string sa = cli::slurp(t / "A/summary.json"), sb = cli::slurp(t / "B/summary.json");
    EXPECT_EQ(field(sb, "status"), "\"finished\"") << sb;
    EXPECT_EQ(field(sb, "steps"), "12");
    auto ma = metrics_no_time(t / "A"), mb = metrics_no_time(t / "B");
    EXPECT_EQ(ma.size(), 5u);
    EXPECT_EQ(ma, mb);
    // Final and best numbers alike (the config member is compared below, via config.json).
    EXPECT_EQ(fields_without(sa, {"seconds", "s_per_step", "config"}),
              fields_without(sb, {"seconds", "s_per_step", "config"}));
    // --threads may change on resume (and was not given to it).
    EXPECT_EQ(fields_without(cli::slurp(t / "A/config.json"), {"threads"}),
              fields_without(cli::slurp(t / "B/config.json"), {"threads"}));
    expect_same_checkpoint(t / "A/checkpoint.bin", t / "B/checkpoint.bin");

    ok_run(t, {"export", "A"});
    ok_run(t, {"export", "B"});
    auto ea = cli::snapshot(t / "A/export"), eb = cli::snapshot(t / "B/export");
    ASSERT_FALSE(ea.empty());
    ASSERT_EQ(cli::listing(t / "A/export"), cli::listing(t / "B/export"));
    for (const auto &[name, bytes] : ea) EXPECT_TRUE(bytes == eb[name]) << name << " differs";
}

const Args kRes = {"train", "--width", "24", "--depth", "3", "--n", "64", "--n-test", "32", "--seed", "3",
                   "--threads", "2", "--lr", "0.05"};
}  // namespace

// 64 examples in batches of 32: 6 epochs, reshuffled each; the halt falls mid-epoch.
TEST(CliResume, SgdMomentumResnetBn) {
    expect_resume_exact(cat(kRes, {"--arch", "resnet", "--bn", "on", "--opt", "sgd", "--batch", "32",
                                   "--momentum", "0.9"}));
}

// Weight decay and a step schedule whose milestones (epochs 1 and 2) straddle the halt.
TEST(CliResume, SgdMomentumPlainWdSchedule) {
    expect_resume_exact(cat(kRes, {"--arch", "plain", "--opt", "sgd", "--batch", "16", "--momentum", "0.9",
                                   "--wd", "1e-4", "--schedule", "step:1,2"}));
}

TEST(CliResume, GdResnet) { expect_resume_exact(cat(kRes, {"--arch", "resnet", "--opt", "gd"})); }

// Synthetic data with --subset: the test split must be the same after a resume (it starts after
// --n points of the stream, so the stored --n must stay the user's).
TEST(CliResume, SyntheticSubset) {
    expect_resume_exact(cat(kRes, {"--arch", "resnet", "--opt", "sgd", "--batch", "8", "--subset", "40"}));
}

// A run halted at one thread count and resumed at another continues bit-exactly (the repro of
// the thread-count issue: 1 thread, halt at step 25, resume with the default thread count).
TEST(CliResume, OtherThreadCount) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    Args f = {"train", "--width", "384", "--depth", "6", "--n", "256", "--input-dim", "64", "--steps", "40",
              "--eval-every", "10"};
    ok_run(t, cat(f, {"--threads", "1", "--out", "A"}));
    ok_run(t, cat(f, {"--threads", "1", "--halt-after", "25", "--out", "B"}));
    ok_run(t, {"train", "--resume", "B", "--threads", "2"});
    EXPECT_EQ(metrics_no_time(t / "A"), metrics_no_time(t / "B"));
    expect_same_checkpoint(t / "A/checkpoint.bin", t / "B/checkpoint.bin");
}

// --arch resnet-cifar alone is ResNet-20 at 16 channels (the family's defaults for --width and
// --depth); given flags win; --tau-learn stays out of the canonical flags at its default.
TEST(CliConv, FamilyDefaults) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    Args f = {"train", "--arch", "resnet-cifar", "--data", "fashion:" + kSample, "--subset", "16", "--steps", "0",
              "--threads", "1"};
    ok_run(t, cat(f, {"--out", "a"}));
    std::string a = cli::slurp(t / "a/config.json");
    EXPECT_EQ(field(a, "width"), "16");
    EXPECT_EQ(field(a, "depth"), "20");
    EXPECT_EQ(cli::unquote(field(a, "tau_learn")), "auto");
    EXPECT_EQ(cli::unquote(field(a, "flags")).find("--tau-learn"), std::string::npos) << a;
    ok_run(t, cat(f, {"--out", "b", "--width", "8", "--depth", "8", "--tau-learn", "off"}));
    std::string b = cli::slurp(t / "b/config.json");
    EXPECT_EQ(field(b, "width"), "8");
    EXPECT_EQ(field(b, "depth"), "8");
    EXPECT_NE(cli::unquote(field(b, "flags")).find("--tau-learn"), std::string::npos) << b;
    EXPECT_NE(field(a, "run_id"), field(b, "run_id"));
}

// --diag on the conv ResNet: all means every diagnostic that applies (norms per block output,
// dist, spectral, grad over the tensor table's weights, margins, sharpness); chain and complexity
// are refused by name (docs/DIAGNOSTICS.md).
TEST(CliConv, Diagnostics) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    Args f = {"train", "--arch", "resnet-cifar", "--depth", "8", "--width", "4", "--data", "fashion:" + kSample,
              "--subset", "32", "--batch", "16", "--steps", "2", "--eval-every", "2", "--threads", "1"};
    ok_run(t, cat(f, {"--out", "a", "--diag", "all"}));
    std::string last = field(cli::lines(cli::slurp(t / "a/metrics.jsonl")).back(), "diag");
    auto count = [&](const char *k) {
        std::string v = field(last, k);
        return v == "<absent>" ? -1 : (int)std::count(v.begin(), v.end(), ',') + 1;
    };
    EXPECT_EQ(count("layer_norms"), 4) << last;  // the stem and the 3 blocks
    EXPECT_EQ(count("spectral"), 8) << last;     // 7 convs and the head
    EXPECT_EQ(count("dist_init"), 8) << last;
    EXPECT_EQ(last.find("\"chain\""), std::string::npos) << last;
    for (const char *d : {"chain", "complexity", "norms,complexity"})
        expect_refused(t, cat(f, {"--out", std::string("r") + d[0], "--diag", d}), {"--diag", "resnet-cifar"});
}

// --preset cifar-resnet: He et al.'s recipe for every flag not given, the warm-up only at depth
// >= 110; explicit flags win; config.json records the resolved values, and the run is the same
// run (same identity) as the recipe spelled out.
TEST(CliConv, PresetCifarResnet) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    Args data = {"--data", "fashion:" + kSample, "--subset", "200", "--threads", "1"};
    ok_run(t, cat(cat({"train", "--preset", "cifar-resnet", "--steps", "0", "--out", "a"}, data), {}));
    std::string a = cli::slurp(t / "a/config.json");
    for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"arch", "\"resnet-cifar\""}, {"depth", "20"}, {"batch", "128"}, {"lr", "0.1"}, {"momentum", "0.9"},
             {"wd", "0.0001"}, {"schedule", "\"step:100,150\""}, {"augment", "\"crop-flip\""},
             {"preprocess", "\"channel\""}, {"warmup", "0"}, {"preset", "\"cifar-resnet\""}})
        EXPECT_EQ(field(a, k), v) << k << " in " << a;
    ok_run(t, cat({"train", "--arch", "resnet-cifar", "--batch", "128", "--lr", "0.1", "--momentum", "0.9", "--wd",
                   "1e-4", "--schedule", "step:100,150", "--augment", "crop-flip", "--preprocess", "channel",
                   "--steps", "0", "--out", "b"},
                  data));
    EXPECT_EQ(field(a, "run_id"), field(cli::slurp(t / "b/config.json"), "run_id"));
    ok_run(t, cat({"train", "--preset", "cifar-resnet", "--depth", "110", "--lr", "0.05", "--steps", "0", "--out", "c"}, data));
    std::string c = cli::slurp(t / "c/config.json");
    EXPECT_EQ(field(c, "warmup"), "400");
    EXPECT_EQ(field(c, "warmup_lr"), "0.01");
    EXPECT_EQ(field(c, "lr"), "0.05");
    ok_run(t, cat({"train", "--preset", "cifar-resnet", "--depth", "110", "--warmup", "100", "--halt-after", "1",
                   "--eval-every", "1000", "--width", "2", "--out", "d"}, data));
    std::string d = cli::slurp(t / "d/config.json");
    EXPECT_EQ(field(d, "warmup"), "100");
    EXPECT_EQ(field(d, "epochs"), "200");
    expect_refused(t, {"train", "--preset", "cifar-resnet", "--out", "e"}, {"--preset cifar-resnet", "--data"});
}

// The conv ResNet resumes bit-exactly too: BN running statistics of the convs and shortcuts,
// the no-BN variant's scalar biases and learnable tau, and their velocities are all checkpointed.
namespace {
const Args kConv = {"train", "--arch", "resnet-cifar", "--depth", "8", "--width", "4", "--data",
                    "fashion:" + kSample, "--subset", "48", "--seed", "3", "--threads", "2", "--batch", "16",
                    "--lr", "0.05", "--momentum", "0.9", "--wd", "1e-4"};
}  // namespace
// With BN, crop-flip augmentation (new codes each epoch) and a constant warm-up across the halt.
TEST(CliResume, ConvResnetBnAugmentWarmup) {
    expect_resume_exact(cat(kConv, {"--bn", "on", "--augment", "crop-flip", "--warmup", "6", "--warmup-lr", "0.01"}));
}
// Without BN, with a validation set held out (its numbers in every metrics line, resumed alike).
TEST(CliResume, ConvResnetNoBnLearnedTauVal) {
    expect_resume_exact(cat(kConv, {"--bn", "off", "--val", "8"}));
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, cat(kConv, {"--bn", "off", "--val", "8", "--steps", "2", "--eval-every", "1", "--out", "v"}));
    for (const auto &l : cli::lines(cli::slurp(t / "v/metrics.jsonl"))) {
        EXPECT_NE(field(l, "val_loss"), "<absent>") << l;
        EXPECT_NE(field(l, "val_acc"), "<absent>") << l;
    }
    EXPECT_NE(field(cli::slurp(t / "v/summary.json"), "val_acc"), "<absent>");
    EXPECT_EQ(field(cli::slurp(t / "v/config.json"), "n"), "40");  // 48 kept, 8 held out
    expect_refused(t, cat(kConv, {"--val", "48", "--out", "w"}), {"--val 48", "no training examples"});
}

// The conv ResNet at 1, 2 and 3 threads: the same bytes (im2col, col2im and the GEMMs of a conv,
// whose weight gradient is one tile with a long K, split the work by shape, never by thread).
TEST(CliDeterminism, ConvThreadCountDoesNotChangeResults) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    Args f = {"train", "--arch", "resnet-cifar", "--depth", "8", "--width", "8", "--data", "fashion:" + kSample,
              "--subset", "128", "--batch", "64", "--steps", "4", "--eval-every", "2", "--bn", "off"};
    for (const char *th : {"1", "2", "3"}) ok_run(t, cat(f, {"--threads", th, "--out", std::string("t") + th}));
    for (const char *th : {"2", "3"}) {
        EXPECT_EQ(metrics_no_time(t / "t1"), metrics_no_time(t / (std::string("t") + th))) << th << " threads";
        EXPECT_TRUE(cli::slurp(t / "t1/checkpoint.bin") == cli::slurp(t / (std::string("t") + th + "/checkpoint.bin")))
            << "checkpoint.bin at " << th << " threads differs from 1 thread";
    }
}

// ================================================================== run identity and litter

// The identity (canonical config hash, seed among the flags) is in config.json, in the checkpoint
// and in every metrics line, and a resume with other budget or engine flags keeps it.
TEST(CliRunIdentity, InConfigCheckpointAndEveryMetricsLine) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, cat(kTiny, {"--out", "R", "--steps", "4", "--eval-every", "1", "--halt-after", "2"}));
    std::string id = cli::unquote(field(cli::slurp(t / "R/config.json"), "run_id"));
    ASSERT_EQ(id.size(), 16u);
    EXPECT_NE(cli::read_ckpt(cli::slurp(t / "R/checkpoint.bin")).meta.find("\nrun " + id + "\n"), std::string::npos);
    ok_run(t, {"train", "--resume", "R", "--threads", "2", "--eval-every", "2"});
    EXPECT_EQ(cli::unquote(field(cli::slurp(t / "R/config.json"), "run_id")), id);
    auto lines = cli::lines(cli::slurp(t / "R/metrics.jsonl"));
    ASSERT_EQ(lines.size(), 4u);  // steps 0, 1, 2 (before the halt), 4
    for (const auto &l : lines) EXPECT_EQ(cli::unquote(field(l, "run_id")), id) << l;
    // another seed is another run
    ok_run(t, cat(kTiny, {"--out", "S", "--seed", "5"}));
    EXPECT_NE(cli::unquote(field(cli::slurp(t / "S/config.json"), "run_id")), id);
}

// The repro: `cp runB/checkpoint.bin runA/; taunet train --resume runA` spliced the two runs
// (exit 0, A's config.json replaced by B's, metrics mixed). It is refused, naming both runs, and
// A's directory stays as it was.
TEST(CliRunIdentity, ResumeRefusesTheCheckpointOfAnotherRun) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, cat(kTiny, {"--out", "A", "--seed", "1", "--halt-after", "1"}));
    ok_run(t, cat(kTiny, {"--out", "B", "--seed", "2", "--halt-after", "1"}));
    std::string ida = cli::unquote(field(cli::slurp(t / "A/config.json"), "run_id"));
    std::string idb = cli::unquote(field(cli::slurp(t / "B/config.json"), "run_id"));
    ASSERT_TRUE(cli::spit(t / "A/checkpoint.bin", cli::slurp(t / "B/checkpoint.bin")));
    auto before = cli::snapshot(t / "A");
    expect_refused(t, {"train", "--resume", "A"}, {"checkpoint.bin is run " + idb, "config.json is run " + ida, "seed 2", "seed 1"}, "");
    EXPECT_TRUE(cli::snapshot(t / "A") == before);
    // metrics lines of another run are refused too (config.json restored, B's lines appended)
    ASSERT_TRUE(cli::spit(t / "A/checkpoint.bin", cli::slurp(t / "B/checkpoint.bin")));
    ASSERT_TRUE(cli::spit(t / "A/config.json", cli::slurp(t / "B/config.json")));
    expect_refused(t, {"train", "--resume", "A"}, {"metrics.jsonl line 1 is of run " + ida, idb}, "");
}

// A run killed before its first checkpoint has config.json and perhaps metrics lines: --resume
// restarts it in place from step 0 (the killed attempt's lines are dropped), and ends exactly as
// an uninterrupted run. A run that ended without a checkpoint (diverged) is not restarted.
TEST(CliRunIdentity, KilledBeforeTheFirstCheckpointRestartsInPlace) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    Args f = cat(kTiny, {"--steps", "6", "--eval-every", "2"});
    ok_run(t, cat(f, {"--out", "A"}));
    ok_run(t, cat(f, {"--out", "B"}));
    std::filesystem::remove(t / "B/checkpoint.bin");
    std::filesystem::remove(t / "B/summary.json");
    ASSERT_TRUE(cli::spit(t / "B/metrics.jsonl", cli::lines(cli::slurp(t / "A/metrics.jsonl"))[0] + "\n{\"run_id\":\"tor"));
    auto r = ok_run(t, {"train", "--resume", "B"});
    EXPECT_NE(r.out.find("restarting it from step 0"), std::string::npos) << r.out;
    EXPECT_EQ(metrics_no_time(t / "A"), metrics_no_time(t / "B"));
    expect_same_checkpoint(t / "A/checkpoint.bin", t / "B/checkpoint.bin");
    EXPECT_EQ(field(cli::slurp(t / "B/summary.json"), "status"), "\"finished\"");

    ok_run(t, cat(kTiny, {"--out", "D", "--lr", "1e5", "--loss", "mse", "--steps", "50"}));
    ASSERT_EQ(field(cli::slurp(t / "D/summary.json"), "status"), "\"diverged\"");
    ASSERT_FALSE(cli::exists(t / "D/checkpoint.bin"));
    expect_refused(t, {"train", "--resume", "D"}, {"ended (diverged)", "--out"}, "");
    expect_refused(t, {"train", "--resume", "nowhere"}, {"not a taunet run directory"}, "");
}

// Temporaries of a writer that died (checkpoint.bin.tmp.<pid>) are removed on resume and on a
// start into the directory; a live writer's are kept.
TEST(CliLitter, StaleTemporariesOfDeadWritersAreRemoved) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, cat(kTiny, {"--out", "R", "--halt-after", "1"}));
    auto dead = cli::run({"/bin/sh", "-c", "echo $$"});  // a pid that has exited
    ASSERT_EQ(dead.code, 0);
    std::string pid = dead.out.substr(0, dead.out.find('\n')), live = std::to_string(getpid());
    for (const std::string &name : {"checkpoint.bin.tmp." + pid, "config.json.tmp." + pid, "checkpoint.bin.tmp." + live})
        ASSERT_TRUE(cli::spit(t / "R/" + name, std::string(1000, 'x')));
    ok_run(t, {"train", "--resume", "R"});
    EXPECT_FALSE(cli::exists(t / "R/checkpoint.bin.tmp." + pid));
    EXPECT_FALSE(cli::exists(t / "R/config.json.tmp." + pid));
    EXPECT_TRUE(cli::exists(t / "R/checkpoint.bin.tmp." + live));
    std::filesystem::create_directories(t / "N");
    ASSERT_TRUE(cli::spit(t / "N/config.json.tmp." + pid, "{"));
    ok_run(t, cat(kTiny, {"--out", "N"}));
    EXPECT_EQ(cli::listing(t / "N"), (std::set<std::string>{"checkpoint.bin", "config.json", "metrics.jsonl", "summary.json"}));
}

// The repro: kills during checkpoint writes (a checkpoint every step of a 30 MB model) left
// checkpoint.bin.tmp.<pid> behind in 3 of 12 kills. Kill a run 8 times at different moments,
// resuming each time: none remains, and the run still finishes.
TEST(CliLitter, KillsDuringCheckpointWritesLeaveNoTemporaries) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    Args f = {"train", "--arch", "plain", "--width", "1024", "--depth", "8", "--n", "64", "--input-dim", "64",
              "--steps", "1000", "--ckpt-every", "1", "--eval-every", "1000", "--threads", "1", "--out", "R"};
    int litter = 0;
    for (int k = 0; k < 8; k++) {
        std::string delay = std::to_string(0.25 + 0.11 * k);
        std::vector<std::string> argv{"/usr/bin/timeout", "-s", "KILL", delay, TAUNET_BIN};
        // killed before config.json was written, the directory holds no run yet: start it again
        if (!cli::exists(t / "R/config.json")) argv.insert(argv.end(), f.begin(), f.end());
        else argv.insert(argv.end(), {"train", "--resume", "R"});
        auto r = cli::run(argv, t.path(), 60);
        EXPECT_EQ(r.code, 128 + 9) << "run " << k << " was not killed: " << r.err;
        for (const auto &name : cli::listing(t / "R")) litter += name.find(".tmp.") != std::string::npos;
    }
    auto r = ok_run(t, {"train", "--resume", "R", "--steps", "20"});
    for (const auto &name : cli::listing(t / "R")) EXPECT_EQ(name.find(".tmp."), std::string::npos) << name;
    std::printf("[ info ] %d of 8 kills left a temporary behind; all were removed\n", litter);
}

// GD stopping at --target-loss keeps the weights of the recorded step: the final loss does not
// depend on how often the run evaluates.
TEST(CliOutputs, GdTargetStopsAtTheRecordedWeights) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    Args f = {"train", "--arch", "plain", "--width", "32", "--depth", "3", "--n", "64", "--n-test", "16",
              "--input-dim", "8", "--loss", "mse", "--opt", "gd", "--lr", "0.5", "--target-loss", "0.29",
              "--steps", "200", "--threads", "1"};
    ok_run(t, cat(f, {"--eval-every", "1", "--out", "e1"}));
    ok_run(t, cat(f, {"--eval-every", "100", "--out", "e100"}));
    std::string a = cli::slurp(t / "e1/summary.json"), b = cli::slurp(t / "e100/summary.json");
    EXPECT_EQ(field(a, "status"), "\"converged\"") << a;
    EXPECT_EQ(field(a, "steps_to_target"), field(b, "steps_to_target"));
    EXPECT_EQ(field(a, "train_loss"), field(b, "train_loss"));
    EXPECT_LE(std::stod(field(a, "train_loss")), 0.29);
}

// ================================================================== outputs

TEST(CliOutputs, RunWritesConfigMetricsSummary) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, {"train", "--arch", "plain", "--width", "20", "--depth", "3", "--n", "40", "--n-test", "20",
               "--steps", "6", "--eval-every", "2", "--seed", "7", "--lr", "0.1", "--threads", "1", "--out", "run"});
    EXPECT_EQ(cli::listing(t / "run"),
              (std::set<std::string>{"checkpoint.bin", "config.json", "metrics.jsonl", "summary.json"}));
    std::string cfg = cli::slurp(t / "run/config.json");
    ASSERT_TRUE(cli::json_fields(cfg)) << cfg;
    EXPECT_EQ(field(cfg, "arch"), "\"plain\"");
    EXPECT_EQ(field(cfg, "width"), "20");
    EXPECT_EQ(field(cfg, "depth"), "3");
    EXPECT_EQ(field(cfg, "seed"), "7");
    EXPECT_EQ(field(cfg, "steps"), "6");
    EXPECT_EQ(field(cfg, "eval_every"), "2");
    EXPECT_EQ(field(cfg, "lr"), "0.1");
    // params: A 20x64, two hidden 20x20, B 10x20
    EXPECT_EQ(field(cfg, "params"), std::to_string(20 * 64 + 2 * 20 * 20 + 10 * 20));

    std::string metrics = cli::slurp(t / "run/metrics.jsonl");
    auto ml = cli::lines(metrics);
    ASSERT_EQ(ml.size(), 4u) << metrics;
    EXPECT_EQ(metric_steps(metrics), (std::vector<long>{0, 2, 4, 6}));
    for (const auto &l : ml) {
        ASSERT_TRUE(cli::json_fields(l)) << l;
        for (const char *k : {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "time"})
            EXPECT_TRUE(cli::json_get(l, k)) << k << " missing in " << l;
    }
    EXPECT_EQ(field(ml[0], "batch_loss"), "null");

    std::string sum = cli::slurp(t / "run/summary.json");
    ASSERT_TRUE(cli::json_fields(sum)) << sum;
    EXPECT_EQ(field(sum, "status"), "\"finished\"");
    EXPECT_EQ(field(sum, "steps"), "6");
    EXPECT_EQ(field(sum, "steps_to_target"), "null");
    // The summary's final numbers are the last evaluation's, as printed.
    for (const char *k : {"train_loss", "train_acc", "test_loss", "test_acc"})
        EXPECT_EQ(field(sum, k), field(ml.back(), k)) << k;
}

TEST(CliOutputs, StepsZeroEvaluatesInitialization) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, cat(kTiny, {"--steps", "0", "--out", "run"}));
    std::string metrics = cli::slurp(t / "run/metrics.jsonl");
    ASSERT_EQ(cli::lines(metrics).size(), 1u) << metrics;
    EXPECT_EQ(field(metrics.substr(0, metrics.size() - 1), "step"), "0");
    std::string sum = cli::slurp(t / "run/summary.json");
    EXPECT_EQ(field(sum, "status"), "\"finished\"");
    EXPECT_EQ(field(sum, "steps"), "0");
    EXPECT_EQ(field(sum, "train_loss"), field(cli::lines(metrics)[0], "train_loss"));
}

TEST(CliOutputs, HugeLrDiverges) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    cli::Result r = ok_run(t, {"train", "--arch", "plain", "--width", "16", "--depth", "3", "--lr", "1e4",
                               "--steps", "10", "--n", "64", "--n-test", "32", "--threads", "1", "--out", "run"});
    std::string sum = cli::slurp(t / "run/summary.json");
    ASSERT_TRUE(cli::json_fields(sum)) << sum;
    EXPECT_EQ(field(sum, "status"), "\"diverged\"");
    auto ds = cli::json_get(sum, "diverged_step");
    ASSERT_TRUE(ds) << sum;
    long step = std::strtol(ds->c_str(), nullptr, 10);
    EXPECT_GE(step, 0);
    EXPECT_LT(step, 10);
    EXPECT_EQ(field(sum, "steps"), *ds);
}

TEST(CliOutputs, TargetLossConverges) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, {"train", "--width", "32", "--depth", "2", "--opt", "gd", "--lr", "0.5", "--steps", "200", "--n", "32",
               "--n-test", "16", "--threads", "1", "--target-loss", "1.0", "--out", "run"});
    std::string sum = cli::slurp(t / "run/summary.json");
    ASSERT_TRUE(cli::json_fields(sum)) << sum;
    EXPECT_EQ(field(sum, "status"), "\"converged\"");
    long stt = std::strtol(field(sum, "steps_to_target").c_str(), nullptr, 10);
    EXPECT_GT(stt, 0) << sum;
    EXPECT_LT(stt, 200) << sum;
    EXPECT_LE(num(sum, "train_loss"), 1.0) << sum;
    std::string metrics = cli::slurp(t / "run/metrics.jsonl");
    EXPECT_GT(num(cli::lines(metrics).front(), "train_loss"), 1.0) << "converged at the initialization";
}

// One metrics line per evaluation: a run that stops at an evaluation (diverged there, or SGD
// converged there) must not log that evaluation twice.
TEST(CliOutputs, StopAtEvaluationLogsItOnce) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, {"train", "--arch", "plain", "--width", "16", "--depth", "3", "--lr", "1e4", "--steps", "10", "--n",
               "64", "--n-test", "32", "--threads", "1", "--out", "div"});
    ok_run(t, {"train", "--width", "32", "--depth", "2", "--opt", "sgd", "--batch", "16", "--lr", "0.5", "--steps",
               "200", "--eval-every", "5", "--n", "32", "--n-test", "16", "--threads", "1", "--target-loss", "1.0",
               "--out", "conv"});
    EXPECT_EQ(field(cli::slurp(t / "div/summary.json"), "status"), "\"diverged\"");
    EXPECT_EQ(field(cli::slurp(t / "conv/summary.json"), "status"), "\"converged\"");
    for (const char *run : {"div", "conv"}) {
        std::string metrics = cli::slurp(t / run + "/metrics.jsonl");
        auto steps = metric_steps(metrics);
        ASSERT_FALSE(steps.empty());
        EXPECT_EQ(steps.front(), 0);
        for (size_t i = 1; i < steps.size(); i++)
            EXPECT_LT(steps[i - 1], steps[i]) << run << "/metrics.jsonl:\n" << metrics;
    }
}

// summary.json's best_train_loss covers every evaluation, including the final one it reports.
TEST(CliOutputs, BestTrainLossCoversFinalEvaluation) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, {"train", "--width", "32", "--depth", "2", "--opt", "gd", "--lr", "0.5", "--steps", "200", "--n", "32",
               "--n-test", "16", "--threads", "1", "--target-loss", "1.0", "--out", "run"});
    std::string sum = cli::slurp(t / "run/summary.json");
    EXPECT_EQ(field(sum, "status"), "\"converged\"");
    EXPECT_LE(num(sum, "best_train_loss"), num(sum, "train_loss")) << sum;
}

namespace {
void expect_npy(const std::string &path, std::vector<long long> shape) {
    std::string b = cli::slurp(path);
    cli::NpyInfo n = cli::npy_info(b);
    ASSERT_TRUE(n.ok) << path << ": " << n.why;
    EXPECT_EQ(n.descr, "<f4") << path;
    EXPECT_FALSE(n.fortran_order) << path;
    EXPECT_EQ(n.shape, shape) << path << " header: " << n.header;
    EXPECT_EQ(n.data_offset % 64, 0u) << path;
    EXPECT_EQ(n.header.back(), '\n') << path;
    long long count = 1;
    for (auto s : shape) count *= s;
    EXPECT_EQ(b.size(), n.data_offset + 4 * (size_t)count) << path;
}
}  // namespace

TEST(CliOutputs, ExportShapesWithBn) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    const int m = 24, L = 4, p = 20, d = 5;
    ok_run(t, {"train", "--arch", "resnet", "--bn", "on", "--width", std::to_string(m), "--depth", std::to_string(L),
               "--input-dim", std::to_string(p), "--classes", std::to_string(d), "--n", "32", "--n-test", "16",
               "--batch", "16", "--steps", "3", "--threads", "1", "--out", "run"});
    cli::Result r = ok_run(t, {"export", "run"});
    std::set<std::string> want = {"A.weight.npy", "B.weight.npy"};
    for (int i = 0; i < L - 1; i++) {
        want.insert("W." + std::to_string(i) + ".weight.npy");
        for (const char *s : {"weight", "bias", "running_mean", "running_var"})
            want.insert("bn." + std::to_string(i) + "." + s + ".npy");
    }
    EXPECT_EQ(cli::listing(t / "run/export"), want);
    EXPECT_NE(r.out.find(std::to_string(want.size()) + " tensors"), std::string::npos) << r.out;
    expect_npy(t / "run/export/A.weight.npy", {m, p});
    for (int i = 0; i < L - 1; i++) expect_npy(t / "run/export/W." + std::to_string(i) + ".weight.npy", {m, m});
    expect_npy(t / "run/export/B.weight.npy", {d, m});
    for (int i = 0; i < L - 1; i++)
        for (const char *s : {"weight", "bias", "running_mean", "running_var"})
            expect_npy(t / "run/export/bn." + std::to_string(i) + "." + s + ".npy", {m});
    // Running variances of a trained BN layer are positive.
    std::string rv = cli::slurp(t / "run/export/bn.0.running_var.npy");
    cli::NpyInfo n = cli::npy_info(rv);
    ASSERT_TRUE(n.ok);
    for (int i = 0; i < m; i++) {
        float v;
        std::memcpy(&v, rv.data() + n.data_offset + 4 * i, 4);
        EXPECT_GT(v, 0.0f) << "running_var[" << i << "]";
    }
}

TEST(CliOutputs, ExportWithoutBnToOutDir) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, {"train", "--arch", "plain", "--width", "16", "--depth", "3", "--input-dim", "12", "--classes", "4",
               "--n", "32", "--n-test", "16", "--steps", "2", "--threads", "1", "--out", "run"});
    ok_run(t, {"export", "run", "--out", "npys"});
    EXPECT_EQ(cli::listing(t / "npys"),
              (std::set<std::string>{"A.weight.npy", "W.0.weight.npy", "W.1.weight.npy", "B.weight.npy"}));
    expect_npy(t / "npys/A.weight.npy", {16, 12});
    expect_npy(t / "npys/W.1.weight.npy", {16, 16});
    expect_npy(t / "npys/B.weight.npy", {4, 16});
    EXPECT_FALSE(cli::exists(t / "run/export"));
}

// Help, the parser and the canonical writer read one flag table: every flag of it is in
// `taunet help train` (as a whole word: "--n" does not count inside "--n-test"), every flag the
// parser accepts is in it, and the canonical flags are exactly its canonical rows, in its order.
TEST(CliOutputs, HelpTrainListsEveryFlag) {
    cli::Result r = cli::taunet({"help", "train"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    int n;
    const tn_flag *flags = tn_flags(&n);
    ASSERT_GE(n, 40);
    std::string canon_names;
    for (int i = 0; i < n; i++) {
        std::string f = flags[i].name;
        bool found = false;
        for (size_t at = r.out.find(f); at != std::string::npos && !found; at = r.out.find(f, at + 1)) {
            char next = at + f.size() < r.out.size() ? r.out[at + f.size()] : ' ';
            found = !(std::isalnum((unsigned char)next) || next == '-' || next == '_');
        }
        EXPECT_TRUE(found) << f << " is not in 'taunet help train'";
        // --steps 200 by default; flags written only when set are absent at the defaults
        if ((flags[i].props & TN_FLAG_CANON) && f != "--epochs" && !(flags[i].props & TN_FLAG_IF_SET)) canon_names += f + ";";
    }
    tn_config c;
    tn_config_defaults(&c);
    char text[8192];
    ASSERT_EQ(tn_config_to_flags(&c, text, sizeof text), 0);
    std::string written;
    for (const auto &l : cli::lines(text))
        if (l.rfind("--", 0) == 0) written += l + ";";
    EXPECT_EQ(written, canon_names);
    tn_err e{};
    char bogus[] = "--no-such-flag", one[] = "1";
    char *argv[] = {bogus, one};
    EXPECT_EQ(tn_config_parse(&c, 2, argv, &e), TN_EINPUT);
    EXPECT_EQ(tn_flag_find("--no-such-flag"), nullptr);
}

// ================================================================== the bundled sample

TEST(CliData, FashionSampleSubset) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, {"train", "--data", "fashion:" + kSample, "--subset", "300", "--steps", "3", "--width", "16", "--depth",
               "2", "--threads", "2", "--out", "run"});
    std::string cfg = cli::slurp(t / "run/config.json");
    EXPECT_EQ(field(cfg, "data"), "\"fashion:" + kSample + "\"");
    EXPECT_EQ(field(cfg, "subset"), "300");
    // 784 inputs: A 16x784, one hidden 16x16, B 10x16
    EXPECT_EQ(field(cfg, "params"), std::to_string(16 * 784 + 16 * 16 + 10 * 16));
    std::string sum = cli::slurp(t / "run/summary.json");
    EXPECT_EQ(field(sum, "status"), "\"finished\"");
    EXPECT_EQ(field(sum, "steps"), "3");
    // Training accuracies are multiples of 1/300: the subset is what was trained on.
    for (const auto &l : cli::lines(cli::slurp(t / "run/metrics.jsonl"))) {
        double k = num(l, "train_acc") * 300.0;
        EXPECT_NEAR(k, std::round(k), 1e-4) << l;
    }
}

// config.json holds "every resolved setting": for image data, the sizes and dimension it
// reports are the data's (300 after --subset, 500 test images, 784 pixels, 10 classes), not the
// unused synthetic defaults (--n 512, --n-test 512, --input-dim 64).
TEST(CliData, FashionConfigReportsDataSizes) {
    TempDir t;
    ASSERT_TRUE(t.ok());
    ok_run(t, {"train", "--data", "fashion:" + kSample, "--subset", "300", "--steps", "1", "--width", "16", "--depth",
               "2", "--threads", "2", "--out", "run"});
    std::string cfg = cli::slurp(t / "run/config.json");
    for (auto [key, want] : {std::pair<const char *, const char *>{"n", "300"}, {"n_test", "500"},
                             {"input_dim", "784"}, {"classes", "10"}})
        if (auto v = cli::json_get(cfg, key)) {
            EXPECT_EQ(*v, want) << key << " in " << cfg;
        }
}
