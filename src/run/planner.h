/* The memory planner (src/run/planner.c). Internal to the library. */
#ifndef TAUNET_RUN_PLANNER_H
#define TAUNET_RUN_PLANNER_H
#include <stddef.h>
#include "taunet/config.h"
#include "taunet/model.h"
#ifdef __cplusplus
extern "C" {
#endif

/* What the model must keep for this configuration: gradients and velocity with momentum, the
 * diagnostics' buffers, gradients for the grad diagnostic. */
unsigned tn_run_keep(const tn_config *c);
/* Bytes a run of c allocates on its backend: the model of plan for batch capacity nb, its
 * diagnostics, n_train training examples (the --val ones among them) and n_test test examples,
 * the epoch's order and the augmentation codes. */
size_t tn_run_bytes(const tn_config *c, const tn_plan *plan, int nb, long n_train, long n_test);

/* The largest batch below c->batch that fits in avail bytes; 0 when none does. */
int tn_run_batch_that_fits(const tn_config *c, const tn_plan *plan, size_t avail, long n_train, long n_test);

#ifdef __cplusplus
}
#endif
#endif
