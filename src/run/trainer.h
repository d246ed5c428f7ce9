/* The state of one training run, shared by train.c (the loop) and trainer.c (setup, logging,
 * checkpoints). Internal to the library. */
#ifndef TAUNET_TRAINER_H
#define TAUNET_TRAINER_H
#include "run/run_dir.h"
#include "run/step.h"
#include "taunet/backend.h"
#include "taunet/data.h"
#include "taunet/diag.h"
#include "taunet/model.h"
#include "taunet/train.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct tn_trainer {
    tn_config rc;          /* resolved configuration (steps, eval-every filled in) */
    tn_backend *be;
    tn_err be_err;         /* backend ops record here */
    tn_plan *plan;
    tn_model *mdl;
    size_t bytes;                /* the planner's count (config.json: memory_estimate_bytes) */
    tn_diag diag;
    tn_dataset train, test, val; /* val: --val N held-out training examples (n 0 without) */
    double val_loss, val_acc;    /* at the last evaluation */
    float *train_x, *test_x, *val_x; /* dev copies of the data */
    int32_t *train_y, *test_y, *val_y;
    int32_t *perm;               /* host: this epoch's order */
    int32_t *perm_dev;           /* dev copy, uploaded once per epoch: a step uploads nothing */
    int32_t *aug, *aug_dev;      /* --augment: this epoch's codes by example (host, dev), with perm */
    long perm_epoch;
    long total, spe;             /* step budget, steps per epoch */
    float lr;                    /* lr of the last step */
    tn_stepper step;             /* the step and its CUDA graph (run/step.h) */
    tn_ckpt_state st;
    char dir[1100];
    char run_id[17];             /* tn_config_identity_hex, in every metrics line */
    int quiet, tty;
} tn_trainer;

double tn_now(void);
int tn_trainer_open(tn_trainer *t, const tn_config *c, int quiet, tn_err *e);
void tn_trainer_close(tn_trainer *t);
/* split 0: the training set, 1: the test set, 2: the --val set */
int tn_trainer_eval(tn_trainer *t, int split, double *loss, double *acc);
/* One metrics.jsonl line plus the progress line. batch_* are NaN at step 0. */
int tn_trainer_log(tn_trainer *t, long step, double tl, double ta, double vl, double va, double bl,
                   double ba, double samples_per_s, double seconds);
int tn_trainer_save(tn_trainer *t);
void tn_trainer_report(tn_trainer *t, const tn_train_summary *s);
#ifdef __cplusplus
}
#endif
#endif
