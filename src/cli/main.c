/* taunet command line: dispatch, one line per error, exit codes 0 / 1 (runtime) / 2 (input). */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "run/run_dir.h"
#include "run/trainer.h"
#include "taunet/backend.h"
#include "taunet/config.h"
#include "taunet/export.h"
#include "taunet/sweep.h"
#include "taunet/train.h"

static int die(const tn_err *e) {
    fprintf(stderr, "taunet: %s\n", e->msg);
    fflush(stdout);
    return e->code ? e->code : 1;
}

static int has_flag(int argc, char **argv, const char *flag, const char **val) {
    size_t n = strlen(flag);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], flag) && i + 1 < argc) {
            *val = argv[i + 1];
            return i;
        }
        if (!strncmp(argv[i], flag, n) && argv[i][n] == '=') {
            *val = argv[i] + n + 1;
            return i;
        }
    }
    return -1;
}

static int cmd_train(int argc, char **argv) {
    tn_err e = {0};
    tn_config c;
    tn_train_summary s;
    const char *dir;
    int at = has_flag(argc, argv, "--resume", &dir);
    if (at >= 0) {
        /* the other flags are overrides of the stored configuration */
        char *rest[512];
        int nr = 0, skip = strchr(argv[at], '=') ? 1 : 2;
        for (int i = 0; i < argc && nr < 512; i++)
            if (i < at || i >= at + skip) rest[nr++] = argv[i];
        if (tn_resume_config(dir, nr, rest, &c, &e)) return die(&e);
    } else {
        tn_config_defaults(&c);
        if (tn_config_parse(&c, argc, argv, &e)) return die(&e);
    }
    if (tn_train(&c, 0, &s, &e)) return die(&e);
    return 0;
}

static int cmd_export(int argc, char **argv) {
    tn_err e = {0};
    const char *out = NULL;
    if (argc < 1 || argv[0][0] == '-') {
        fprintf(stderr, "taunet: export needs a run directory: taunet export RUN_DIR [--out DIR]\n");
        return 2;
    }
    if (argc > 1 && (argc != 3 || has_flag(argc - 1, argv + 1, "--out", &out) != 0)) {
        fprintf(stderr, "taunet: export takes RUN_DIR and optionally --out DIR\n");
        return 2;
    }
    int n;
    if (tn_export(argv[0], out, &n, &e)) return die(&e);
    if (out) printf("exported %d tensors to %s\n", n, out);
    else printf("exported %d tensors to %s/export\n", n, argv[0]);
    return 0;
}

static int cmd_info(void) {
    printf("taunet %s\n", TAUNET_VERSION);
    printf("backends: cpu (OpenBLAS, %d threads available)", omp_get_num_procs());
    int nd = tn_cuda_device_count();
    printf(", cuda (%d device%s)\n", nd, nd == 1 ? "" : "s");
    printf("host memory available: %.2f GiB\n", tn_host_mem_available() / 1073741824.0);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        tn_cli_help(NULL);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "train")) return cmd_train(argc - 2, argv + 2);
    if (!strcmp(cmd, "export")) return cmd_export(argc - 2, argv + 2);
    if (!strcmp(cmd, "sweep")) return tn_cli_sweep(argc - 2, argv + 2);
    if (!strcmp(cmd, "report")) return tn_cli_report(argc - 2, argv + 2);
    if (!strcmp(cmd, "experiment")) return tn_cli_experiment(argc - 2, argv + 2);
    if (!strcmp(cmd, "info")) return cmd_info();
    if (!strcmp(cmd, "bench")) return tn_cli_bench(argc - 2, argv + 2);
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h"))
        return tn_cli_help(argc > 2 ? argv[2] : NULL);
    if (!strcmp(cmd, "--version")) {
        printf("taunet %s\n", TAUNET_VERSION);
        return 0;
    }
    fprintf(stderr, "taunet: unknown command '%s'; try 'taunet help'\n", cmd);
    return 2;
}
