// `taunet experiment NAME` (src/cli/experiment.c, bench/experiments.py, docs/EXPERIMENTS.md): each
// of the seed's claims at ci scale must run on a 2-core CPU in about a minute or two and come out
// SUPPORTED (exit 0, claim.json "supported": true); the full-scale grids must at least be valid
// (checked with --dry-run, which runs nothing); bad usage exits 2.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli_util.h"

namespace {

const char *kNames[] = {"width-depth", "tau-depth", "output-norm", "layer-norms-1202", "random-labels"};

// Runs one experiment at ci scale into a fresh directory and checks the verdict and the outputs.
void expect_supported(const std::string &name) {
    cli::TempDir t;
    ASSERT_TRUE(t.ok());
    const std::string out = t / "exp";
    std::vector<std::string> args{"experiment", name, "--scale", "ci", "--out", out, "--threads", "2"};
    auto r = cli::taunet(args, t.path(), 900);
    ASSERT_FALSE(r.timed_out) << cli::describe(args) << " timed out\n" << r.out << r.err;
    ASSERT_EQ(r.code, 0) << cli::describe(args) << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err;
    EXPECT_NE(r.out.find("CLAIM " + name + ": SUPPORTED"), std::string::npos) << r.out;

    std::string claim = cli::slurp(out + "/claim.json");
    ASSERT_FALSE(claim.empty()) << "no " << out << "/claim.json";
    auto supported = cli::json_get(claim, "supported");
    ASSERT_TRUE(supported.has_value()) << claim;
    EXPECT_EQ(*supported, "true") << claim;
    EXPECT_EQ(cli::unquote(cli::json_get(claim, "experiment").value_or("")), name);
    EXPECT_TRUE(cli::json_get(claim, "evidence").has_value()) << claim;
    EXPECT_TRUE(cli::json_get(claim, "claim").has_value()) << claim;

    std::string report = cli::slurp(out + "/REPORT.md");
    EXPECT_NE(report.find("SUPPORTED"), std::string::npos);
    EXPECT_NE(report.find("taunet sweep"), std::string::npos) << "REPORT.md lacks the exact commands";
    // The figure, unless the script said matplotlib is missing.
    if (r.out.find("figure skipped") == std::string::npos) {
        EXPECT_TRUE(cli::exists(out + "/" + name + ".png")) << r.out << r.err;
    }
    EXPECT_TRUE(cli::exists(out + "/sweep/results.jsonl"));
}

}  // namespace

TEST(ExperimentCli, ListUsageAndExitCodes) {
    auto list = cli::taunet({"experiment", "list"});
    ASSERT_EQ(list.code, 0) << list.err;
    for (const char *n : kNames) EXPECT_NE(list.out.find(n), std::string::npos) << n << " not listed:\n" << list.out;
    EXPECT_EQ(cli::taunet({"experiment"}).code, 2);
    EXPECT_EQ(cli::taunet({"experiment", "no-such-claim"}).code, 2);
    EXPECT_EQ(cli::taunet({"experiment", "--scale", "ci"}).code, 2);
    EXPECT_EQ(cli::taunet({"experiment", "output-norm", "--scale", "huge"}).code, 2);
    EXPECT_EQ(cli::taunet({"experiment", "output-norm", "--threads", "0"}).code, 2);
    EXPECT_EQ(cli::taunet({"experiment", "output-norm", "--data", "/nonexistent/dir"}).code, 2);
    auto help = cli::taunet({"help", "experiment"});
    EXPECT_EQ(help.code, 0);
    EXPECT_NE(help.out.find("--scale"), std::string::npos);
}

// Every sweep of every experiment, at both scales, passes `taunet sweep --dry-run` (each grid point
// parsed and validated like `taunet train`), and nothing is written.
TEST(ExperimentCli, AllGridsValidWithDryRun) {
    cli::TempDir t;
    ASSERT_TRUE(t.ok());
    for (const char *n : kNames)
        for (const char *scale : {"ci", "full"}) {
            std::vector<std::string> args{"experiment", n, "--scale", scale, "--out", t / "dry", "--dry-run"};
            auto r = cli::taunet(args, t.path(), 120);
            EXPECT_EQ(r.code, 0) << cli::describe(args) << "\n" << r.out << r.err;
            EXPECT_NE(r.out.find("nothing run"), std::string::npos) << r.out;
        }
    EXPECT_FALSE(cli::exists(t / "dry"));
}

TEST(Experiment, WidthDepth) { expect_supported("width-depth"); }
TEST(Experiment, TauDepth) { expect_supported("tau-depth"); }
TEST(Experiment, OutputNorm) { expect_supported("output-norm"); }
TEST(Experiment, LayerNorms1202) { expect_supported("layer-norms-1202"); }
TEST(Experiment, RandomLabels) { expect_supported("random-labels"); }
