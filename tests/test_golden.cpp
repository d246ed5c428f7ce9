// Outputs pinned to bytes written earlier (tests/data/golden/, made by make_golden.sh there): the
// checkpoints and exported tensors of four small runs must come out byte-identical, and a run
// directory written by taunet 0.1.0 (before run identities) must still resume.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.h"

namespace {

const std::string kGolden = std::string(TAUNET_SOURCE_DIR) + "/tests/data/golden";

std::vector<std::string> words(const std::string &line) {
    std::istringstream s(line);
    std::vector<std::string> w;
    for (std::string t; s >> t;) w.push_back(t);
    return w;
}

// The bytes follow the GEMM kernel, so the goldens were written under OpenBLAS's Haswell kernel
// (make_golden.sh), which every x86-64 CPU with AVX2 runs, and the runs here use it too.
bool cpu_has_avx2() {
    std::ifstream f("/proc/cpuinfo");
    for (std::string l; std::getline(f, l);)
        if (l.rfind("flags", 0) == 0) return (l + " ").find(" avx2 ") != std::string::npos;
    return false;
}

cli::Result taunet_haswell(std::vector<std::string> args, const std::string &cwd = {}) {
    args.insert(args.begin(), {"/usr/bin/env", "OPENBLAS_CORETYPE=Haswell", TAUNET_BIN});
    return cli::run(args, cwd);
}

}  // namespace

TEST(Golden, CheckpointsAndExportsAreByteIdentical) {
    if (!cpu_has_avx2()) GTEST_SKIP() << "the goldens are bytes of OpenBLAS's Haswell kernel, and this CPU lacks AVX2";
    int cases = 0;
    for (const auto &dir : std::filesystem::directory_iterator(kGolden + "/ckpt")) {
        std::string name = dir.path().filename(), g = dir.path();
        SCOPED_TRACE(name);
        cli::TempDir t;
        ASSERT_TRUE(t.ok());
        std::vector<std::string> args = {"train"};
        for (auto &w : words(cli::lines(cli::slurp(g + "/flags")).at(0))) args.push_back(w);
        args.insert(args.end(), {"--out", t / "run"});
        auto r = taunet_haswell(args, t.path());
        ASSERT_EQ(r.code, 0) << r.err;
        EXPECT_TRUE(cli::slurp(t / "run/checkpoint.bin") == cli::slurp(g + "/checkpoint.bin")) << "checkpoint.bin differs";
        ASSERT_EQ(taunet_haswell({"export", t / "run"}).code, 0);
        auto want = cli::snapshot(g + "/export"), got = cli::snapshot(t / "run/export");
        EXPECT_EQ(cli::listing(g + "/export"), cli::listing(t / "run/export"));
        for (const auto &[file, bytes] : want) EXPECT_TRUE(got[file] == bytes) << file << " differs";
        cases++;
    }
    EXPECT_EQ(cases, 4);
}

// A run directory of taunet 0.1.0 (no run_id anywhere), halted at step 3 of 8, resumes to the end;
// its old metrics lines stay, the new ones carry the run's identity.
TEST(Golden, RunDirectoryOfRelease010Resumes) {
    cli::TempDir t;
    ASSERT_TRUE(t.ok());
    std::filesystem::copy(kGolden + "/release-0.1.0/halted", t / "halted", std::filesystem::copy_options::recursive);
    ASSERT_EQ(cli::json_get(cli::slurp(t / "halted/config.json"), "run_id"), std::nullopt);
    auto r = cli::taunet({"train", "--resume", t / "halted"}, t.path());
    ASSERT_EQ(r.code, 0) << r.err;
    std::string sum = cli::slurp(t / "halted/summary.json");
    EXPECT_EQ(cli::unquote(cli::json_get(sum, "status").value_or("")), "finished") << sum;
    EXPECT_EQ(cli::json_get(sum, "steps").value_or(""), "8");
    auto lines = cli::lines(cli::slurp(t / "halted/metrics.jsonl"));
    ASSERT_GE(lines.size(), 3u);
    EXPECT_EQ(cli::json_get(lines.front(), "run_id"), std::nullopt) << "the old line is kept as written";
    std::string id = cli::unquote(cli::json_get(cli::slurp(t / "halted/config.json"), "run_id").value_or(""));
    EXPECT_EQ(id.size(), 16u);
    EXPECT_EQ(cli::unquote(cli::json_get(lines.back(), "run_id").value_or("")), id);
    EXPECT_EQ(cli::taunet({"export", t / "halted"}).code, 0);
}
