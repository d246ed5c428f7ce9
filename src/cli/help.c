/* The text of `taunet help [CMD]`; README.md documents the same flags. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

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

static const char *train_help =
    "usage: taunet train [flags]        (every flag takes a value: --flag V or --flag=V)\n"
    "model\n"
    "  --arch plain|resnet              PlainNet h=relu(W h) or tau-ResNet h=relu(h + tau W h) [resnet]\n"
    "  --width M  --depth L             width and depth: A, then L-1 hidden W, then B [128, 10]\n"
    "  --tau T|1/sqrt(L)|1/L|L^-1/4     residual branch scale, a number or a rule of L [1/sqrt(L)]\n"
    "  --bn on|off                      BatchNorm1d on every hidden W h (PyTorch semantics) [off]\n"
    "data\n"
    "  --data synthetic|mnist:DIR|fashion:DIR|cifar10:DIR        [synthetic]\n"
    "  --n N  --n-test N                synthetic: train / test points on the unit sphere [512, 512]\n"
    "  --input-dim P  --classes D       synthetic: dimension and classes [64, 10]\n"
    "  --labels uniform|teacher         synthetic: random labels or a random teacher net [teacher]\n"
    "  --subset N                       keep the first N training examples (file order; 0: all)\n"
    "  --label-noise F                  replace a fraction F of training labels by random ones\n"
    "  --preprocess scale|standardize|unitnorm|none   [scale for images, unitnorm for synthetic]\n"
    "training\n"
    "  --loss mse|xent                  1/2||f-y||^2 with one-hot y, or softmax cross-entropy [xent]\n"
    "  --opt gd|sgd  --batch B          full-batch GD, or minibatch SGD shuffled per epoch [sgd, 128]\n"
    "  --lr LR  --momentum MU  --wd WD  [0.05, 0, 0]\n"
    "  --schedule constant|step:E1,E2|cosine  --lr-gamma G  --warmup S   [constant, 0.1, 0]\n"
    "  --steps S | --epochs E           step budget; --steps 0 evaluates the initialization [200]\n"
    "  --eval-every K                   evaluate train and test sets every K steps [steps/10]\n"
    "  --target-loss EPS                stop as converged when the training loss <= EPS\n"
    "  --train all|hidden|last          what trains (hidden: A and B frozen; last: only B) [all]\n"
    "  --seed S                         weights, data, shuffling, label noise [0]\n"
    "engine and output\n"
    "  --backend auto|cpu|cuda  --threads T  --gpu N  --math fp32|tf32  --graph on|off\n"
    "  --diag LIST                      norms,dist,spectral,chain,grad,margins,complexity,sharpness\n"
    "                                   or all: logged per evaluation (docs/DIAGNOSTICS.md)\n"
    "  --sharp-sigma S --sharp-draws K  sharpness: relative perturbation scale and draws [0.01, 5]\n"
    "  --out DIR                        run directory [runs/<time>-<arch>-m<W>-L<D>-s<seed>]\n"
    "  --ckpt-every K                   checkpoint every K steps (and at the end, unless diverged) [0]\n"
    "  --resume DIR                     continue DIR bit-exactly; may change --steps/--epochs,\n"
    "                                   --halt-after, --threads, --backend, --gpu, --eval-every,\n"
    "                                   --ckpt-every, --target-loss; refuses files of another run\n"
    "                                   (run_id); a run killed before its first checkpoint restarts\n"
    "                                   from step 0 in place\n"
    "  --halt-after N                   stop after N steps of this invocation (status halted;\n"
    "                                   continue with --resume) for time-sliced jobs\n"
    "outputs: DIR/config.json, DIR/metrics.jsonl (one line per evaluation), DIR/summary.json\n"
    "(status finished|converged|diverged|halted|interrupted|failed), DIR/checkpoint.bin\n";

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

int tn_cli_help(const char *cmd) {
    if (!cmd) fputs(usage, stdout);
    else if (!strcmp(cmd, "train")) fputs(train_help, stdout);
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
