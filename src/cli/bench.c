/* `taunet bench`: the step benchmark over the named configurations of the performance table or
 * one given by train flags; prints a fixed-width table and, with --json FILE, one JSON object
 * per configuration (bench/compare.py reads it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "taunet/bench.h"
#include "taunet/io.h"

typedef struct {
    const char *name;
    const char *flags; /* space-separated train flags */
} preset;

static const preset presets[] = {
    {"plain-m128-L10", "--arch plain --width 128 --depth 10"},
    {"resnet-m128-L100", "--arch resnet --width 128 --depth 100"},
    {"resnet-m128-L1202", "--arch resnet --width 128 --depth 1202"},
    {"resnet-bn-m128-L1202", "--arch resnet --width 128 --depth 1202 --bn on"},
    {"plain-m1024-L10", "--arch plain --width 1024 --depth 10"},
    {"plain-m4096-L4", "--arch plain --width 4096 --depth 4"},
};
#define NPRESETS (int)(sizeof presets / sizeof presets[0])

static int split(char *s, char **out, int cap) {
    int n = 0;
    for (char *t = strtok(s, " "); t && n < cap; t = strtok(NULL, " ")) out[n++] = t;
    return n;
}

static int run_one(const char *name, int argc, char **argv, int p, int d, int warmup, int repeats,
                   int steps, tn_json *j) {
    tn_config c;
    tn_err e = {0};
    tn_bench_result r;
    tn_config_defaults(&c);
    c.batch = 128; /* the performance table's batch; --batch overrides */
    c.lr = 0.01;
    if (tn_config_parse(&c, argc, argv, &e) || tn_bench_run(&c, p, d, warmup, repeats, steps, &r, &e)) {
        fprintf(stderr, "taunet: bench %s: %s\n", name, e.msg);
        return e.code ? e.code : 1;
    }
    printf("%-22s %10.5f %11.0f %9.2f %8.1f%% %11.2f %8.3f\n", name, r.s_per_step, r.samples_per_s,
           r.gflops, 100.0 * r.gemm_share, r.sgemm_gflops, r.peak_gib);
    fflush(stdout);
    tn_json_obj_open(j, NULL);
    tn_json_str(j, "config", name);
    tn_json_int(j, "width", c.width);
    tn_json_int(j, "depth", c.depth);
    tn_json_str(j, "arch", tn_arch_name(c.arch));
    tn_json_bool(j, "bn", c.bn);
    tn_json_int(j, "batch", c.batch);
    tn_json_int(j, "threads", c.threads);
    tn_json_num(j, "s_per_step", r.s_per_step);
    tn_json_num(j, "s_min", r.s_min);
    tn_json_num(j, "s_max", r.s_max);
    tn_json_num(j, "samples_per_s", r.samples_per_s);
    tn_json_num(j, "gflops", r.gflops);
    tn_json_num(j, "gemm_share", r.gemm_share);
    tn_json_num(j, "sgemm_gflops", r.sgemm_gflops);
    tn_json_num(j, "peak_gib", r.peak_gib);
    tn_json_int(j, "planned_bytes", (long long)r.planned_bytes);
    tn_json_bool(j, "graph", r.graph);
    tn_json_num(j, "last_loss", r.last_loss);
    tn_json_obj_close(j);
    return 0;
}

int tn_cli_bench(int argc, char **argv) {
    const char *which = NULL, *json_path = NULL;
    int warmup = 2, repeats = 5, steps = 3, p = 784, d = 10, rc = 0;
    char *rest[256];
    int nr = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int *iv = !strcmp(a, "--warmup") ? &warmup : !strcmp(a, "--repeats") ? &repeats
                : !strcmp(a, "--steps-per-repeat") ? &steps : !strcmp(a, "--input-dim") ? &p
                : !strcmp(a, "--classes") ? &d : NULL;
        if (iv || !strcmp(a, "--preset") || !strcmp(a, "--json")) {
            if (!v) {
                fprintf(stderr, "taunet: bench: %s needs a value\n", a);
                return 2;
            }
            if (iv && (*iv = atoi(v)) < (iv == &warmup ? 0 : 1)) {
                fprintf(stderr, "taunet: bench: %s '%s' must be a positive integer\n", a, v);
                return 2;
            }
            if (!strcmp(a, "--preset")) which = v;
            if (!strcmp(a, "--json")) json_path = v;
            i++;
        } else if (nr < 256) {
            rest[nr++] = argv[i];
        }
    }
    tn_json j;
    tn_json_init(&j);
    tn_json_arr_open(&j, NULL);
    printf("%-22s %10s %11s %9s %9s %11s %8s\n", "config", "s/step", "samples/s", "GFLOP/s", "gemm",
           "sgemm GF/s", "peak GiB");
    if (!which && nr > 0) {
        rc = run_one("custom", nr, rest, p, d, warmup, repeats, steps, &j);
    } else {
        int found = 0;
        for (int k = 0; k < NPRESETS && !rc; k++) {
            if (which && strcmp(which, "all") && strcmp(which, presets[k].name)) continue;
            found = 1;
            char buf[512], *args[64 + 256];
            snprintf(buf, sizeof buf, "%s", presets[k].flags);
            int n = split(buf, args, 64);
            for (int i = 0; i < nr; i++) args[n++] = rest[i]; /* e.g. --threads 2 --backend cpu */
            rc = run_one(presets[k].name, n, args, p, d, warmup, repeats, steps, &j);
        }
        if (!found) {
            fprintf(stderr, "taunet: bench: no preset '%s'; presets:", which);
            for (int k = 0; k < NPRESETS; k++) fprintf(stderr, " %s", presets[k].name);
            fprintf(stderr, ", all\n");
            rc = 2;
        }
    }
    tn_json_arr_close(&j);
    if (!rc && json_path) {
        tn_err e = {0};
        if (!strcmp(json_path, "-")) printf("%s\n", j.s);
        else if (tn_write_atomic(json_path, j.s, j.len, &e)) {
            fprintf(stderr, "taunet: %s\n", e.msg);
            rc = 1;
        }
    }
    tn_json_free(&j);
    return rc;
}
