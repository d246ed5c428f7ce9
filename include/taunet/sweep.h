/* `taunet sweep` and `taunet report` (docs/SWEEPS.md): a grid of train configurations, run
 * in-process one after another, each finished run recorded as one line of DIR/results.jsonl.
 *
 * Grid: every train flag may carry a list of values, split on ',' (on ';' for --schedule, --diag
 * and --data, whose values contain commas); integer flags also take ranges a:b and a:b:s. The grid
 * is the cartesian product in flag order, the last flag varying fastest. */
#ifndef TAUNET_SWEEP_H
#define TAUNET_SWEEP_H
#include <stddef.h>
#include <stdint.h>
#include "taunet/config.h"
#include "taunet/error.h"
#ifdef __cplusplus
extern "C" {
#endif

#define TN_SWEEP_MAX_AXES 64
#define TN_SWEEP_MAX_POINTS 1000000L
#define TN_SWEEP_MAX_VALUES 100000

typedef struct tn_sweep_axis {
    char flag[64]; /* "--width" */
    int nvals;
    char **vals;   /* malloc'd strings */
} tn_sweep_axis;

typedef struct tn_sweep_grid {
    int naxes;
    tn_sweep_axis axes[TN_SWEEP_MAX_AXES];
    long npoints;
} tn_sweep_grid;

typedef struct tn_sweep_opts {
    char out[1024];   /* sweep directory (results.jsonl, runs/<id>) */
    int shard_k, shard_n;
    int dry_run;
} tn_sweep_opts;

/* The list separator of a flag: ';' for --schedule, --diag, --data; ',' otherwise. */
char tn_sweep_separator(const char *flag);
/* Splits one flag's value text into values (lists; ranges for integer flags). *vals is a
 * malloc'd array of malloc'd strings (tn_sweep_free_values). TN_EINPUT on a bad list or range. */
int tn_sweep_split_values(const char *flag, const char *text, char ***vals, int *n, tn_err *e);
void tn_sweep_free_values(char **vals, int n);

/* Parses `taunet sweep` arguments: sweep flags (--seeds K, --shard K/N, --dry-run, --out DIR)
 * into o, train flags into axes of g (in order; --seeds becomes a --seed axis at its position).
 * Does not validate the points (tn_sweep_validate does). */
int tn_sweep_parse(int argc, char **argv, tn_sweep_grid *g, tn_sweep_opts *o, tn_err *e);
void tn_sweep_grid_free(tn_sweep_grid *g);

/* argv of grid point i ("--flag", "value" pairs pointing into g; cap >= 2*naxes). Returns argc. */
int tn_sweep_point_argv(const tn_sweep_grid *g, long i, char **argv, int cap);
/* The value index of each axis at point i (last axis fastest). */
void tn_sweep_point_indices(const tn_sweep_grid *g, long i, int *idx);
/* The varied flags of point i: "--width 8 --depth 3" (as_flags) or "width=8 depth=3". */
void tn_sweep_varied(const tn_sweep_grid *g, long i, int as_flags, char *buf, size_t cap);
/* Whether grid index i belongs to shard k of n. */
static inline int tn_sweep_in_shard(long i, int k, int n) { return n <= 1 || i % n == k; }

/* Parses point i into c (defaults first). On error, e names the point and its varied flags. */
int tn_sweep_point_config(const tn_sweep_grid *g, long i, tn_config *c, tn_err *e);
/* Parses every point, refuses --resume / --halt-after, and refuses two points with the same id. */
int tn_sweep_validate(const tn_sweep_grid *g, tn_err *e);

/* The run id: 16 hex digits of FNV-1a over the canonical flags (tn_config_to_flags) whose values
 * differ from the defaults, so the same configuration always maps to the same run directory. */
void tn_sweep_run_id(const tn_config *c, char id[17]);

/* The varied flags of point i as JSON members into an open object (key: flag without "--";
 * numbers as numbers, everything else as strings). */
void tn_sweep_varied_json(const tn_sweep_grid *g, long i, tn_json *j);

/* Runs (or, with o->dry_run, prints) the grid. Returns 0 when every run of the shard has a line
 * in results.jsonl, TN_EINPUT/TN_ERUNTIME with e set otherwise. *interrupted is set on Ctrl-C. */
int tn_sweep_run(const tn_sweep_grid *g, const tn_sweep_opts *o, int *interrupted, tn_err *e);

/* CLI entry points (src/cli/main.c). */
int tn_cli_sweep(int argc, char **argv);
int tn_cli_report(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
