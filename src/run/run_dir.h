/* The run directory: its creation, config.json, metrics.jsonl, summary.json and the checkpoint's
 * meta text. Internal to the library. */
#ifndef TAUNET_RUN_DIR_H
#define TAUNET_RUN_DIR_H
#include "taunet/config.h"
#include "taunet/train.h"
#ifdef __cplusplus
extern "C" {
#endif

/* Picks (default runs/<time>-<arch>-m<W>-L<D>-s<seed>) and creates the directory. A directory
 * that already holds a run is refused unless resuming, so no result is overwritten. */
int tn_run_dir_create(const tn_config *c, char *dir, size_t cap, tn_err *e);
int tn_run_dir_write_config(const char *dir, const tn_config *resolved, long long params,
                            size_t mem_bytes, const char *backend, tn_err *e);
struct tn_diag;
int tn_run_dir_write_summary(const char *dir, const tn_config *c, const tn_train_summary *s,
                             const struct tn_diag *d, tn_err *e);
/* On resume: keep only the metrics lines with step <= `step` (atomically); *last_time gets the
 * "time" of the last kept line (the clock continues from there; checkpoints hold no wall-clock
 * time so that identical runs write identical checkpoint bytes). */
int tn_run_dir_truncate_metrics(const char *dir, long step, double *last_time, tn_err *e);
/* A restart in place (a run killed before its first checkpoint): metrics.jsonl emptied and
 * summary.json removed, so nothing of the killed attempt remains. */
int tn_run_dir_clear_outputs(const char *dir, tn_err *e);

/* What a checkpoint carries besides tensors. */
typedef struct tn_ckpt_state {
    long step;
    double first_loss, best_train_loss, best_test_acc;
    long steps_to_target;
    double seconds; /* training time so far (not stored: recovered from metrics.jsonl) */
    int p, d;       /* input dimension and classes (shapes of A and B) */
    int c, h, w;    /* an input's shape (c*h*w == p; "shape" line only for images, h*w > 1) */
    char run_id[17]; /* the run's identity (tn_config_identity_hex); "" in older checkpoints */
} tn_ckpt_state;
/* meta = state lines + "flags\n" + canonical flags */
int tn_ckpt_meta_build(const tn_config *c, const tn_ckpt_state *s, char **meta, tn_err *e);
int tn_ckpt_meta_parse(const char *meta, const char *path, tn_ckpt_state *s, const char **flags, tn_err *e);

/* `taunet train --resume DIR [overrides]`: the stored configuration plus the flags that may change
 * on resume (--steps, --epochs, --halt-after, --threads, --backend, --gpu, --eval-every,
 * --ckpt-every, --target-loss); any other changed flag is refused. */
int tn_resume_config(const char *dir, int argc, char **argv, tn_config *c, tn_err *e);
#ifdef __cplusplus
}
#endif
#endif
