/* The text of `taunet help [CMD]`; README.md documents the same flags. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "taunet/config.h"

static const char *usage =
    "taunet: a training engine for deep-learning-theory experiments\n"
    "\n"
    "usage: taunet <command> [flags]\n"
    "  train     train one network and write a run directory\n"
    "  export    write a run's weights as .npy files (one per tensor)\n"
    "  sweep     train a grid of configurations (flag lists), one results.jsonl line per run\n"
    "  report    a table (and figures) of a sweep's results\n"
    "  experiment  run a named claim (sweep, check, REPORT.md, figure): taunet experiment list\n"
    "  bench     time training steps (presets of the performance table, or train flags)\n"
    "  info      what this build and machine offer (backends, threads, memory)\n"
    "  help CMD  the flags of a command\n"
    "\n"
    "exit codes: 0 done (a diverged run is a result), 2 bad usage or input, 1 runtime failure\n";

static const char *export_help =
    "usage: taunet export RUN_DIR [--out DIR]\n"
    "writes A.weight.npy, W.<i>.weight.npy (i = 0..L-2), B.weight.npy and, with BN,\n"
    "bn.<i>.{weight,bias,running_mean,running_var}.npy (float32, C order) to DIR [RUN_DIR/export]\n";

static const char *sweep_help =
    "usage: taunet sweep [train flags with lists] [--seeds K] [--shard K/N] [--dry-run] --out DIR\n"
    "  any train flag takes a list: --width 64,256,1024 --arch plain,resnet --tau '1/sqrt(L),L^-1/4'\n"
    "  integer flags also take ranges a:b or a:b:s (inclusive): --depth 2:10:4 is 2,6,10\n"
    "  --schedule, --diag and --data separate their lists with ';' (their values contain commas):\n"
    "    --schedule 'constant;step:30,60'\n"
    "  grid: the cartesian product in flag order, the last flag varying fastest\n"
    "  --seeds K       seeds 0..K-1 (S..S+K-1 with --seed S), varying at the position of --seeds\n"
    "  --shard K/N     only grid indices i with i % N == K (one process per GPU or Slurm task)\n"
    "  --dry-run       print the grid (index, id, varied flags, params, memory) and stop\n"
    "  --out DIR       DIR/results.jsonl (one line per finished run) and DIR/runs/<id>/\n"
    "every point is validated first (a bad one: one line, exit 2, nothing run). Rerunning the same\n"
    "command skips runs already in results.jsonl and redoes unfinished ones. docs/SWEEPS.md\n";

static const char *report_help =
    "usage: taunet report SWEEP_DIR|SWEEP_DIR/results.jsonl|RUN_DIR [--format md|csv] [--figures DIR|none]\n"
    "a sweep: one row per run (varied flags, status, steps, steps_to_target, train loss/acc, test acc,\n"
    "s/step); lines that do not parse are skipped with a warning; none complete: exit 2\n"
    "a run directory: its status and final numbers, and its loss and accuracy curves (curves.png)\n"
    "figures (python3 + matplotlib, bench/figures.py) go to DIR/figures unless --figures none\n";

static const char *experiment_help =
    "usage: taunet experiment NAME|list [--scale ci|full] [--out DIR] [--threads T] [--backend B]\n"
    "                          [--data DIR] [--dry-run]\n"
    "  runs the sweeps of one of the seed's claims, checks the claim on the results and writes\n"
    "  DIR/claim.json, DIR/REPORT.md and DIR/NAME.png (matplotlib); prints\n"
    "  CLAIM NAME: SUPPORTED|NOT SUPPORTED - key numbers\n"
    "  NAME        width-depth, tau-depth, output-norm, layer-norms-1202, random-labels (or list)\n"
    "  --scale     ci: minutes on a CPU; full: the paper-scale version for a GPU [ci]\n"
    "  --out DIR   [runs/exp-NAME-SCALE]; sweeps go to DIR/sweep (rerunning resumes them)\n"
    "  --threads T --backend B   passed to every run\n"
    "  --data DIR  Fashion-MNIST directory for the image experiments [the bundled sample]\n"
    "  --dry-run   validate and print the sweeps (taunet sweep --dry-run), run nothing\n"
    "exit codes: 0 claim supported, 3 not supported by the data, 2 bad usage, 1 failure.\n"
    "docs/EXPERIMENTS.md; needs python3 (bench/experiments.py)\n";

static const char *bench_help =
    "usage: taunet bench [--preset NAME|all] [train flags] [--input-dim 784] [--classes 10]\n"
    "                    [--warmup 2] [--repeats 5] [--steps-per-repeat 3] [--json FILE|-]\n"
    "times forward + loss + backward + update steps on random inputs (batch 128 unless --batch)\n"
    "and prints the median s/step, samples/s, GFLOP/s (6 n (p m + (L-1) m^2 + m d) per step),\n"
    "the share of time in GEMMs, the backend's sgemm rate on the step's shapes and peak memory.\n"
    "on the cuda backend the timed steps replay a captured CUDA graph, as train does (--graph off:\n"
    "eager); the JSON says which (\"graph\")\n"
    "presets: plain-m128-L10 resnet-m128-L100 resnet-m128-L1202 resnet-bn-m128-L1202\n"
    "         plain-m1024-L10 plain-m4096-L4 (train flags such as --threads, --backend apply to all)\n"
    "bench/compare.py runs it side by side with the PyTorch peer (bench/README.md)\n";

static const char *info_help = "usage: taunet info\nprints the version, backends, threads and memory\n";

/* `taunet help train`, from the flag table: one line per flag under its section. */
static void train_help(void) {
    int n;
    const tn_flag *f = tn_flags(&n);
    const char *section = NULL;
    puts("usage: taunet train [flags]        (every flag takes a value: --flag V or --flag=V)");
    for (int i = 0; i < n; i++) {
        if (!section || strcmp(section, f[i].section)) puts(section = f[i].section);
        char head[96];
        snprintf(head, sizeof head, "%s %s", f[i].name, f[i].metavar);
        const char *star = (f[i].props & TN_FLAG_RESUMABLE) ? "* " : "";
        if (strlen(head) > 34) printf("  %s\n%37s%s%s\n", head, "", star, f[i].help);
        else printf("  %-34s %s%s\n", head, star, f[i].help);
    }
    puts("* may change on --resume; any other change is refused. --resume refuses the files of another run\n"
         "  (run_id); a run killed before its first checkpoint restarts from step 0 in place.\n"
         "outputs: DIR/config.json, DIR/metrics.jsonl (one line per evaluation), DIR/summary.json\n"
         "(status finished|converged|diverged|halted|interrupted|failed), DIR/checkpoint.bin");
}

int tn_cli_help(const char *cmd) {
    if (!cmd) fputs(usage, stdout);
    else if (!strcmp(cmd, "train")) train_help();
    else if (!strcmp(cmd, "export")) fputs(export_help, stdout);
    else if (!strcmp(cmd, "sweep")) fputs(sweep_help, stdout);
    else if (!strcmp(cmd, "report")) fputs(report_help, stdout);
    else if (!strcmp(cmd, "experiment")) fputs(experiment_help, stdout);
    else if (!strcmp(cmd, "info")) fputs(info_help, stdout);
    else if (!strcmp(cmd, "bench")) fputs(bench_help, stdout);
    else {
        fprintf(stderr, "taunet: no help for '%s'; commands are train, export, sweep, report, experiment, bench, info\n", cmd);
        return 2;
    }
    return 0;
}
