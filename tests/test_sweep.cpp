// `taunet sweep` and `taunet report`: grid expansion as a unit (include/taunet/sweep.h), then the
// real binary on tiny synthetic sweeps: one results line per run, resumption after a rerun or a
// kill, shards covering the grid, dry-run memory refusals, exit 2 on a bad point, report tables.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <unistd.h>
#include <filesystem>
#include <map>
#include <chrono>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli_util.h"
#include "taunet/io.h"
#include "taunet/sweep.h"
#include "run/trainer.h"

namespace {

using Args = std::vector<std::string>;

struct Grid {
    tn_sweep_grid g{};
    tn_sweep_opts o{};
    tn_err e{};
    int rc = 0;
    explicit Grid(Args a) {
        std::vector<char *> argv;
        for (auto &s : a) argv.push_back(s.data());
        rc = tn_sweep_parse((int)argv.size(), argv.data(), &g, &o, &e);
    }
    ~Grid() { tn_sweep_grid_free(&g); }
    // Point i as "--flag value ..." text.
    std::string point(long i) const {
        char *argv[2 * TN_SWEEP_MAX_AXES];
        int n = tn_sweep_point_argv(&g, i, argv, 2 * TN_SWEEP_MAX_AXES);
        std::string s;
        for (int k = 0; k < n; k++) s += (k ? " " : "") + std::string(argv[k]);
        return s;
    }
    std::string id(long i) {
        tn_config c;
        char id[17];
        EXPECT_EQ(tn_sweep_point_config(&g, i, &c, &e), 0) << e.msg;
        tn_sweep_run_id(&c, id);
        return id;
    }
};

std::vector<std::string> split(const char *flag, const char *text, int *rc = nullptr) {
    char **vals = nullptr;
    int n = 0;
    tn_err e{};
    int r = tn_sweep_split_values(flag, text, &vals, &n, &e);
    if (rc) *rc = r;
    std::vector<std::string> v(vals, vals + n);
    tn_sweep_free_values(vals, n);
    return v;
}

// The tiny sweep every CLI test uses: 4 points, about 10 ms each.
Args tiny(const std::string &out, Args extra = {}) {
    Args a = {"sweep", "--width", "8,16", "--depth", "2:3", "--steps", "3", "--threads", "1", "--n", "32",
              "--n-test", "8", "--input-dim", "8", "--out", out};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
}

std::vector<std::string> result_lines(const std::string &dir) {
    std::vector<std::string> v;
    for (auto &l : cli::lines(cli::slurp(dir + "/results.jsonl")))
        if (!l.empty()) v.push_back(l);
    return v;
}

std::string id_of(const std::string &line) { return cli::unquote(cli::json_get(line, "id").value_or("")); }

std::multiset<std::string> ids_in(const std::string &dir) {
    std::multiset<std::string> s;
    for (auto &l : result_lines(dir))
        if (!id_of(l).empty()) s.insert(id_of(l)); // a torn fragment has no readable id
    return s;
}

}  // namespace

TEST(SweepGrid, ListsRangesAndSeparators) {
    EXPECT_EQ(split("--width", "64,256,1024"), (std::vector<std::string>{"64", "256", "1024"}));
    EXPECT_EQ(split("--depth", "2:4"), (std::vector<std::string>{"2", "3", "4"}));
    EXPECT_EQ(split("--depth", "2:10:4"), (std::vector<std::string>{"2", "6", "10"}));
    EXPECT_EQ(split("--depth", "10:2:-4"), (std::vector<std::string>{"10", "6", "2"}));
    EXPECT_EQ(split("--width", "8,32:34"), (std::vector<std::string>{"8", "32", "33", "34"}));
    EXPECT_EQ(split("--tau", "1/sqrt(L),L^-1/4,0.5"), (std::vector<std::string>{"1/sqrt(L)", "L^-1/4", "0.5"}));
    // values with commas: ';' separates their lists
    EXPECT_EQ(split("--schedule", "constant;step:30,60"), (std::vector<std::string>{"constant", "step:30,60"}));
    EXPECT_EQ(split("--diag", "norms,margins"), (std::vector<std::string>{"norms,margins"}));
    EXPECT_EQ(split("--data", "fashion:a,b;synthetic"), (std::vector<std::string>{"fashion:a,b", "synthetic"}));
    EXPECT_EQ(split("--lr", "0.1:0.2"), (std::vector<std::string>{"0.1:0.2"})) << "ranges are for integer flags";
    for (auto [f, v] : std::vector<std::pair<const char *, const char *>>{
             {"--width", "64,,128"}, {"--width", "64,"}, {"--depth", "5:2"}, {"--depth", "1:x"},
             {"--depth", "1:3:0"}, {"--depth", "1:3:1:4"}, {"--schedule", "constant;"},
             // found by fuzz_flags: bounds beyond 2^40 overflowed the range arithmetic (UBSan)
             {"--depth", "2:50:25555555555555555555555"}, {"--depth", "2:9223372036854775807"},
             {"--depth", "-9223372036854775807:2"}}) {
        int rc = 0;
        split(f, v, &rc);
        EXPECT_EQ(rc, TN_EINPUT) << f << " " << v;
    }
}

// A grid that is too large is refused as soon as its lists multiply past the limit (found by
// fuzz_flags: 64 axes of 100000 values each were expanded, seconds and gigabytes, first).
TEST(SweepGrid, TooLargeRefusedBeforeExpandingEveryList) {
    std::string big = "1:100000";
    Args a = {"--width", big, "--depth", big, "--n", big, "--batch", big, "--seed", big};
    auto t0 = std::chrono::steady_clock::now();
    Grid g(a);
    EXPECT_EQ(g.rc, TN_EINPUT);
    EXPECT_NE(std::string(g.e.msg).find("more than 1000000 points"), std::string::npos) << g.e.msg;
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
    EXPECT_EQ(split("--seed", "0:99999").size(), 100000u);
}

TEST(SweepGrid, ProductInFlagOrderLastFastest) {
    Grid a({"--width", "8,16", "--depth", "2,3,4", "--out", "d"});
    ASSERT_EQ(a.rc, 0) << a.e.msg;
    ASSERT_EQ(a.g.npoints, 6);
    EXPECT_STREQ(a.o.out, "d");
    EXPECT_EQ(a.point(0), "--width 8 --depth 2");
    EXPECT_EQ(a.point(1), "--width 8 --depth 3");
    EXPECT_EQ(a.point(3), "--width 16 --depth 2");
    EXPECT_EQ(a.point(5), "--width 16 --depth 4");
    Grid b({"--depth", "2,3,4", "--width=8,16", "--lr", "0.1"});
    ASSERT_EQ(b.rc, 0) << b.e.msg;
    EXPECT_EQ(b.point(1), "--depth 2 --width 16 --lr 0.1");
}

TEST(SweepGrid, SeedsVaryAtTheirPosition) {
    Grid a({"--width", "8,16", "--seeds", "3"});
    ASSERT_EQ(a.rc, 0) << a.e.msg;
    ASSERT_EQ(a.g.npoints, 6);
    EXPECT_EQ(a.point(0), "--width 8 --seed 0");
    EXPECT_EQ(a.point(2), "--width 8 --seed 2");
    Grid b({"--seed", "5", "--seeds", "2", "--width", "8,16"});
    ASSERT_EQ(b.rc, 0) << b.e.msg;
    ASSERT_EQ(b.g.npoints, 4);
    EXPECT_EQ(b.point(1), "--seed 5 --width 16");
    EXPECT_EQ(b.point(2), "--seed 6 --width 8");
    Grid c({"--seed", "1,2", "--seeds", "2"});
    EXPECT_EQ(c.rc, TN_EINPUT);
    Grid d({"--seed", "0:3"});
    EXPECT_EQ(d.g.npoints, 4);
}

TEST(SweepGrid, SweepFlagsAndRefusals) {
    Grid a({"--shard", "1/3", "--dry-run", "--width", "8"});
    ASSERT_EQ(a.rc, 0) << a.e.msg;
    EXPECT_EQ(a.o.shard_k, 1);
    EXPECT_EQ(a.o.shard_n, 3);
    EXPECT_EQ(a.o.dry_run, 1);
    for (Args bad : {Args{"--shard", "3/3"}, Args{"--shard", "a/b"}, Args{"--shard", "-1/2"}, Args{"--shard", "1/2x"},
                     Args{"--resume", "d"}, Args{"--halt-after", "5"}, Args{"--width", "8", "--width", "16"},
                     Args{"--seeds", "0"}, Args{"width", "8"}, Args{"--width"}}) {
        Grid g(bad);
        EXPECT_EQ(g.rc, TN_EINPUT) << bad[0];
        EXPECT_NE(std::string(g.e.msg), "");
    }
}

TEST(SweepGrid, ShardsOfThreeAreDisjointAndCoverTheGrid) {
    Grid a({"--width", "8,16,32,64", "--depth", "2:5", "--seeds", "2"});
    ASSERT_EQ(a.rc, 0);
    std::vector<int> hits(a.g.npoints, 0);
    for (int k = 0; k < 3; k++)
        for (long i = 0; i < a.g.npoints; i++) hits[i] += tn_sweep_in_shard(i, k, 3);
    EXPECT_TRUE(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
}

TEST(SweepGrid, IdsAreStableDistinctAndValidated) {
    Grid a({"--width", "8,16", "--depth", "2"}), b({"--depth", "2", "--width", "16,8"});
    ASSERT_EQ(a.rc, 0);
    ASSERT_EQ(b.rc, 0);
    EXPECT_EQ(a.id(0).size(), 16u);
    EXPECT_NE(a.id(0), a.id(1));
    EXPECT_EQ(a.id(0), b.id(1)) << "same configuration, same id, whatever the flag order";
    EXPECT_EQ(tn_sweep_validate(&a.g, &a.e), 0) << a.e.msg;
    Grid def({"--depth", "2", "--width", "8"}), explicit_default({"--width", "8", "--depth", "2", "--lr", "0.05"});
    EXPECT_EQ(def.id(0), explicit_default.id(0)) << "a flag at its default value is the same run";
    EXPECT_EQ(def.id(0), a.id(0));
    Grid dup({"--width", "8", "--threads", "1,2"});
    EXPECT_EQ(tn_sweep_validate(&dup.g, &dup.e), TN_EINPUT);
    EXPECT_NE(std::string(dup.e.msg).find("same run"), std::string::npos) << dup.e.msg;
    Grid bad({"--width", "8,0"});
    EXPECT_EQ(tn_sweep_validate(&bad.g, &bad.e), TN_EINPUT);
    EXPECT_NE(std::string(bad.e.msg).find("grid point 1 (--width 0)"), std::string::npos) << bad.e.msg;
}

TEST(SweepGrid, VariedFlagsAsJson) {
    Grid a({"--width", "8,16", "--tau", "1/sqrt(L),0.25", "--lr", "0.1", "--seed", "12345678901,2"});
    ASSERT_EQ(a.rc, 0);
    tn_json j;
    tn_json_init(&j);
    tn_json_obj_open(&j, nullptr);
    tn_sweep_varied_json(&a.g, 2, &j);
    tn_json_obj_close(&j);
    EXPECT_STREQ(j.s, "{\"width\":8,\"tau\":0.25,\"seed\":12345678901}");
    tn_json_free(&j);
}

TEST(SweepRun, OneLinePerRunRerunSkipsKilledRunRedoneOnce) {
    cli::TempDir t;
    std::string d = t / "sw";
    auto r = cli::taunet(tiny(d));
    ASSERT_EQ(r.code, 0) << r.err;
    auto lines = result_lines(d);
    ASSERT_EQ(lines.size(), 4u) << r.out;
    std::set<long> idx;
    for (auto &l : lines) {
        auto sum = cli::json_get(l, "summary");
        ASSERT_TRUE(sum) << l;
        EXPECT_EQ(cli::unquote(cli::json_get(*sum, "status").value_or("")), "finished");
        EXPECT_TRUE(cli::exists(d + "/" + cli::unquote(*cli::json_get(l, "run_dir")) + "/summary.json"));
        idx.insert(std::stol(cli::json_get(l, "index").value_or("-1")));
        EXPECT_EQ(cli::json_fields(*cli::json_get(l, "flags"))->size(), 2u) << "width and depth vary";
    }
    EXPECT_EQ(idx, (std::set<long>{0, 1, 2, 3}));
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '['), 4) << r.out;

    auto again = cli::taunet(tiny(d));
    ASSERT_EQ(again.code, 0) << again.err;
    EXPECT_EQ(result_lines(d), lines) << "a rerun adds nothing";
    EXPECT_NE(again.out.find("skipped 4"), std::string::npos) << again.out;

    // killed mid-run: its line never written, its summary.json never written
    std::string last = lines.back(), id = id_of(last);
    std::string text = cli::slurp(d + "/results.jsonl");
    ASSERT_TRUE(cli::spit(d + "/results.jsonl", text.substr(0, text.size() - last.size() - 1)));
    std::filesystem::remove(d + "/runs/" + id + "/summary.json");
    auto redo = cli::taunet(tiny(d));
    ASSERT_EQ(redo.code, 0) << redo.err;
    EXPECT_EQ(std::count(redo.out.begin(), redo.out.end(), '['), 1) << redo.out;
    EXPECT_NE(redo.out.find(id), std::string::npos);
    auto ids = ids_in(d);
    EXPECT_EQ(ids.size(), 4u);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 4u) << "every id exactly once";

    // killed between summary.json and the line: recorded from the summary, not trained again
    lines = result_lines(d);
    text = cli::slurp(d + "/results.jsonl");
    ASSERT_TRUE(cli::spit(d + "/results.jsonl", text.substr(0, text.size() - lines.back().size() - 1)));
    auto rec = cli::taunet(tiny(d));
    ASSERT_EQ(rec.code, 0) << rec.err;
    EXPECT_NE(rec.out.find("recovered"), std::string::npos) << rec.out;
    EXPECT_EQ(ids_in(d).size(), 4u);

    // a torn last line is ignored and does not swallow the next one
    lines = result_lines(d);
    text = cli::slurp(d + "/results.jsonl");
    std::string torn = text.substr(0, text.size() - lines.back().size() - 1) + lines.back().substr(0, 20);
    ASSERT_TRUE(cli::spit(d + "/results.jsonl", torn));
    std::filesystem::remove_all(d + "/runs/" + id_of(lines.back()));
    ASSERT_EQ(cli::taunet(tiny(d)).code, 0);
    auto after = ids_in(d);
    EXPECT_EQ(std::set<std::string>(after.begin(), after.end()).size(), 4u);
    EXPECT_EQ(after.count(id_of(lines.back())), 1u);
}

TEST(SweepRun, TwoShardsIntoOneDirEqualTheGrid) {
    cli::TempDir t;
    std::string d = t / "sw";
    cli::Result r0, r1;
    std::thread a([&] { r0 = cli::taunet(tiny(d, {"--shard", "0/2"})); });
    std::thread b([&] { r1 = cli::taunet(tiny(d, {"--shard", "1/2"})); });
    a.join();
    b.join();
    ASSERT_EQ(r0.code, 0) << r0.err;
    ASSERT_EQ(r1.code, 0) << r1.err;
    Grid g({"--width", "8,16", "--depth", "2:3", "--steps", "3", "--threads", "1", "--n", "32", "--n-test", "8",
            "--input-dim", "8"});
    std::multiset<std::string> want;
    for (long i = 0; i < g.g.npoints; i++) want.insert(g.id(i));
    EXPECT_EQ(ids_in(d), want);
}

TEST(SweepCli, DryRunMarksAbsurdWidthRefused) {
    cli::TempDir t;
    auto r = cli::taunet({"sweep", "--width", "8,1048576", "--depth", "10", "--backend", "cpu", "--dry-run",
                          "--out", t / "dry"});
    ASSERT_EQ(r.code, 0) << r.err;
    int refused = 0;
    for (auto &l : cli::lines(r.out)) {
        if (l.find("REFUSED") == std::string::npos) continue;
        refused++;
        EXPECT_NE(l.find("width=1048576"), std::string::npos) << l;
    }
    EXPECT_EQ(refused, 1) << r.out;
    EXPECT_FALSE(cli::exists(t / "dry")) << "a dry run writes nothing";
}

TEST(SweepCli, InvalidPointExits2AndRunsNothing) {
    cli::TempDir t;
    for (Args bad : {Args{"sweep", "--width", "8,0", "--out", t / "a"},
                     Args{"sweep", "--arch", "resnet,plain", "--tau", "0.5", "--out", t / "a"},
                     Args{"sweep", "--data", "fashion:/nonexistent/dir", "--out", t / "a"},
                     Args{"sweep", "--width", "8"}}) {
        auto r = cli::taunet(bad);
        EXPECT_EQ(r.code, 2) << cli::describe(bad) << "\n" << r.err;
        EXPECT_EQ(cli::lines(r.err).size(), 1u) << r.err;
        EXPECT_EQ(r.out, "");
        EXPECT_FALSE(cli::exists(t / "a/results.jsonl"));
    }
    auto r = cli::taunet({"sweep", "--arch", "resnet,plain", "--tau", "0.5", "--out", t / "a"});
    EXPECT_NE(r.err.find("grid point 1 (--arch plain)"), std::string::npos) << r.err;
}

TEST(Report, MarkdownAndCsvOneRowPerRun) {
    cli::TempDir t;
    std::string d = t / "sw";
    ASSERT_EQ(cli::taunet(tiny(d)).code, 0);
    auto md = cli::taunet({"report", d, "--figures", "none"});
    ASSERT_EQ(md.code, 0) << md.err;
    auto ml = cli::lines(md.out);
    ASSERT_GE(ml.size(), 6u) << md.out;
    EXPECT_EQ(ml[0], "| index | width | depth | status | steps | steps_to_target | train_loss | train_acc | test_acc | s_per_step |");
    EXPECT_EQ(std::count_if(ml.begin(), ml.end(), [](auto &l) { return l.rfind("| ", 0) == 0; }), 6) << md.out;
    EXPECT_NE(ml[2].find("| 0 | 8 | 2 | finished | 3 |"), std::string::npos) << ml[2];

    auto csv = cli::taunet({"report", d + "/results.jsonl", "--format", "csv", "--figures", "none"});
    ASSERT_EQ(csv.code, 0) << csv.err;
    auto cl = cli::lines(csv.out);
    ASSERT_EQ(cl.size(), 5u) << csv.out;
    EXPECT_EQ(cl[0], "index,width,depth,status,steps,steps_to_target,train_loss,train_acc,test_acc,s_per_step");
    EXPECT_EQ(cl[4].rfind("3,16,3,finished,3,,", 0), 0u) << cl[4];

    // a hand-merged file repeating a line still gives one row per run
    auto first = result_lines(d).front();
    ASSERT_TRUE(cli::spit(d + "/results.jsonl", cli::slurp(d + "/results.jsonl") + first + "\n"));
    auto dup = cli::taunet({"report", d, "--format", "csv", "--figures", "none"});
    EXPECT_EQ(cli::lines(dup.out).size(), 5u) << dup.out;

    EXPECT_EQ(cli::taunet({"report", t / "nothing"}).code, 2);
    EXPECT_EQ(cli::taunet({"report", d, "--format", "xml"}).code, 2);
}

TEST(Report, FiguresOrOneSkipLine) {
    cli::TempDir t;
    std::string d = t / "sw";
    ASSERT_EQ(cli::taunet(tiny(d, {"--target-loss", "2.3"})).code, 0);
    setenv("TAUNET_SCRIPTS_DIR", TAUNET_SOURCE_DIR "/bench", 1);
    auto r = cli::taunet({"report", d, "--figures", t / "figs"});
    unsetenv("TAUNET_SCRIPTS_DIR");
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    if (r.out.find("figures skipped") == std::string::npos) {
        EXPECT_TRUE(cli::exists(t / "figs/loss_curves.png")) << r.out << r.err;
        EXPECT_TRUE(cli::exists(t / "figs/steps_to_target.png")) << r.out << r.err;
    } else {
        EXPECT_NE(r.out.find("apt-get install python3-matplotlib"), std::string::npos) << r.out;
    }
}

// The repro: a rerun spliced a damaged summary.json into results.jsonl ("recovered from its
// summary.json"). Truncate a run's summary.json and delete its results line: the rerun says the
// summary is damaged, runs the point again, and every line of results.jsonl parses.
TEST(SweepRun, DamagedSummaryIsRunAgainNeverSpliced) {
    cli::TempDir t;
    std::string d = t / "sw";
    ASSERT_EQ(cli::taunet(tiny(d)).code, 0);
    auto lines = result_lines(d);
    std::string last = lines.back(), id = id_of(last), text = cli::slurp(d + "/results.jsonl");
    ASSERT_TRUE(cli::spit(d + "/results.jsonl", text.substr(0, text.size() - last.size() - 1)));
    std::string sum = cli::slurp(d + "/runs/" + id + "/summary.json");
    ASSERT_TRUE(cli::spit(d + "/runs/" + id + "/summary.json", sum.substr(0, sum.size() / 2)));
    auto r = cli::taunet(tiny(d));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("summary.json is damaged"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("running it again"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("recovered"), std::string::npos) << r.out;
    auto after = result_lines(d);
    ASSERT_EQ(after.size(), 4u);
    for (const auto &l : after) {
        EXPECT_EQ(tn_json_check(l.data(), l.size(), nullptr), 0) << l;
        EXPECT_EQ(cli::unquote(cli::json_get(*cli::json_get(l, "summary"), "status").value_or("")), "finished") << l;
    }
    EXPECT_EQ(id_of(after.back()), id);
}

// A line that does not parse is skipped with a warning (a half-written last line says so); a
// results file without one complete line is bad input: exit 2 with one line (it passed a null
// pointer to qsort and printed an empty table with exit 0).
TEST(Report, DamagedLinesSkippedAndNoCompleteLineExits2) {
    cli::TempDir t;
    std::string d = t / "sw";
    ASSERT_EQ(cli::taunet(tiny(d)).code, 0);
    auto lines = result_lines(d);
    std::string spliced = lines[1].substr(0, 60) + lines[2];  // a line cut and glued to the next
    ASSERT_TRUE(cli::spit(d + "/results.jsonl", lines[0] + "\n" + spliced + "\n" + lines[3] + "\n" + lines[1].substr(0, 40)));
    auto r = cli::taunet({"report", d, "--format", "csv", "--figures", "none"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(cli::lines(r.out).size(), 3u) << r.out;  // header + the two whole lines
    EXPECT_NE(r.err.find("line 2 of"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("last line of"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("incomplete"), std::string::npos) << r.err;

    for (const std::string &bad : {std::string(""), std::string("{\"id\":\"0123"), spliced + "\n" + "garbage\n"}) {
        ASSERT_TRUE(cli::spit(d + "/results.jsonl", bad));
        auto b = cli::taunet({"report", d, "--figures", "none"});
        EXPECT_EQ(b.code, 2) << bad << "\n" << b.out << b.err;
        EXPECT_EQ(b.out, "");
        EXPECT_NE(b.err.find("no complete result line"), std::string::npos) << b.err;
    }
}

// `taunet report RUN_DIR` (what quickstart ends with): the run's final numbers, and its loss and
// accuracy curves as one figure whose path is printed.
TEST(Report, RunDirectoryShowsNumbersAndCurves) {
    cli::TempDir t;
    ASSERT_EQ(cli::taunet({"train", "--width", "16", "--depth", "3", "--n", "64", "--n-test", "32", "--steps", "20",
                           "--threads", "1", "--out", t / "run"}).code, 0);
    setenv("TAUNET_SCRIPTS_DIR", TAUNET_SOURCE_DIR "/bench", 1);
    auto r = cli::taunet({"report", t / "run"});
    unsetenv("TAUNET_SCRIPTS_DIR");
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    std::string sum = cli::slurp(t / "run/summary.json");
    char want[128];
    std::snprintf(want, sizeof want, "acc %.4f\n", std::strtod(cli::json_get(sum, "test_acc")->c_str(), nullptr));
    EXPECT_NE(r.out.find("finished | train loss"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(want, r.out.find("test loss")), std::string::npos) << r.out;
    if (r.out.find("figures skipped") == std::string::npos) {
        EXPECT_NE(r.out.find("figure: " + t / "run/figures/curves.png"), std::string::npos) << r.out;
        EXPECT_TRUE(cli::exists(t / "run/figures/curves.png"));
    }
}

// The memory planner is one function: for every combination of --diag items (all 256), --opt,
// --momentum and --bn, `sweep --dry-run` prints exactly the bytes that train computes, reports
// in config.json and checks against the free memory (tn_trainer_open). Before, the dry run left
// out the diagnostics' buffers and the epoch's order, so it under-counted --diag dist|sharpness.
TEST(Planner, DryRunEqualsTrainForEveryDiagOptMomentumBn) {
    const char *names[] = {"norms", "dist", "spectral", "chain", "grad", "margins", "complexity", "sharpness"};
    std::string diags;
    for (int k = 0; k < 256; k++) {
        std::string s;
        for (int i = 0; i < 8; i++)
            if (k >> i & 1) s += (s.empty() ? "" : ",") + std::string(names[i]);
        diags += (k ? ";" : "") + (s.empty() ? std::string("none") : s);
    }
    Args grid = {"--width", "6", "--depth", "3", "--n", "16", "--n-test", "8", "--input-dim", "5", "--batch", "4",
                 "--steps", "1", "--threads", "1", "--diag", diags, "--opt", "gd,sgd", "--momentum", "0,0.9", "--bn", "off,on"};
    cli::TempDir t;
    Args dry = {"sweep"};
    dry.insert(dry.end(), grid.begin(), grid.end());
    dry.insert(dry.end(), {"--dry-run", "--backend", "cpu"});
    auto r = cli::taunet(dry);
    ASSERT_EQ(r.code, 0) << r.err;
    std::map<long, unsigned long long> printed;  // index -> the "mem bytes" column
    for (const auto &l : cli::lines(r.out)) {
        long idx;
        char id[32];
        long long params;
        double gib;
        unsigned long long bytes;
        if (std::sscanf(l.c_str(), "%ld %31s %lld %lf %llu", &idx, id, &params, &gib, &bytes) == 5) printed[idx] = bytes;
    }
    Grid g(grid);
    ASSERT_EQ(g.rc, 0) << g.e.msg;
    ASSERT_EQ(g.g.npoints, 2048);
    ASSERT_EQ(printed.size(), 2048u) << r.out.substr(0, 500);
    std::set<unsigned long long> distinct;
    // the 2048 run directories (config.json, fsynced) on tmpfs when there is one: seconds, not minutes
    std::string shm = t.path();
    char tmpl[] = "/dev/shm/taunet-planner-XXXXXX";
    if (access("/dev/shm", W_OK) == 0 && mkdtemp(tmpl)) shm = tmpl;
    for (long i = 0; i < g.g.npoints; i++) {
        tn_config c;
        tn_err e{};
        ASSERT_EQ(tn_sweep_point_config(&g.g, i, &c, &e), 0) << e.msg;
        snprintf(c.out, sizeof c.out, "%s/run%ld", shm.c_str(), i);
        tn_trainer tr;
        ASSERT_EQ(tn_trainer_open(&tr, &c, 1, &e), 0) << e.msg;
        EXPECT_EQ(tr.bytes, printed[i]) << "grid point " << i;
        std::string cfg = cli::slurp(std::string(c.out) + "/config.json");
        EXPECT_EQ(cli::json_get(cfg, "memory_estimate_bytes").value_or(""), std::to_string(tr.bytes)) << i;
        distinct.insert(tr.bytes);
        tn_trainer_close(&tr);
    }
    EXPECT_GE(distinct.size(), 16u) << "the combinations must change the count (keep flags, BN, momentum)";
    if (shm != t.path()) std::filesystem::remove_all(shm);
}
