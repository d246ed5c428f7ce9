/* The training loop and what it writes (DESIGN.md §4): config.json, metrics.jsonl, summary.json,
 * checkpoint.bin in the run directory. */
#ifndef TAUNET_TRAIN_H
#define TAUNET_TRAIN_H
#include <stdint.h>
#include "taunet/config.h"
#include "taunet/error.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum { TN_STATUS_FINISHED = 0, TN_STATUS_CONVERGED, TN_STATUS_DIVERGED, TN_STATUS_HALTED,
               TN_STATUS_INTERRUPTED, TN_STATUS_FAILED } tn_status;
const char *tn_status_name(tn_status s);

/* Learning rate at step t (0-based) of `total`, with warm-up and the schedule. */
double tn_lr_at(const tn_config *c, long t, long total, long steps_per_epoch);
/* The training rows of epoch `epoch` in order: a seeded Fisher-Yates shuffle that depends only on
 * (seed, epoch), so a resumed run sees the same batches without saving RNG state. */
void tn_epoch_order(uint64_t seed, long epoch, int n, int32_t *perm);
/* --augment crop-flip: each training example's shift and flip for epoch `epoch`
 * (tn_augment_code), from (seed, epoch, example) alone: resume sees the same images. */
void tn_augment_codes(uint64_t seed, long epoch, int n, int32_t *code);

typedef struct tn_train_summary {
    tn_status status;
    long steps_done;
    long diverged_step;         /* -1 unless diverged */
    long steps_to_target;       /* -1 unless the target was reached */
    double final_train_loss, final_train_acc, final_test_loss, final_test_acc;
    double final_val_loss, final_val_acc; /* --val N; NaN without */
    double best_train_loss, best_test_acc;
    double seconds, s_per_step;
    long graph_steps;           /* steps this process ran by replaying a captured CUDA graph */
    char run_dir[1100];
    char reason[512];
} tn_train_summary;

/* Runs `taunet train` with a parsed configuration: loads data, builds the model on the chosen
 * backend, trains, writes the run directory. Returns 0 (a diverged run is a result) or an error
 * code with e set. quiet suppresses the progress lines. */
int tn_train(const tn_config *c, int quiet, tn_train_summary *out, tn_err *e);

#ifdef __cplusplus
}
#endif
#endif
