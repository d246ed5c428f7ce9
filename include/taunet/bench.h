/* `taunet bench`: time forward + backward + update steps of a configuration (DESIGN.md; issue
 * "Benchmark against PyTorch"). */
#ifndef TAUNET_BENCH_H
#define TAUNET_BENCH_H
#include "taunet/config.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct tn_bench_result {
    double s_per_step;     /* median over repeats */
    double s_min, s_max;   /* fastest / slowest repeat, per step */
    double samples_per_s;
    double gflops;         /* model FLOPs 6 n (p m + (L-1) m^2 + m d) per step / s_per_step */
    double gemm_share;     /* fraction of step time inside GEMM calls */
    double sgemm_gflops;   /* the backend's sgemm alone on the step's GEMM shapes */
    double peak_gib;       /* peak resident memory of the process (cpu) */
    size_t planned_bytes;  /* the memory planner's count for the model and a batch of data */
    double flops_per_step;
    int graph;             /* the timed steps replayed a captured CUDA graph (cuda, --graph on) */
    double last_loss;      /* batch loss of the last step (the same with and without the graph) */
} tn_bench_result;

/* p inputs, d classes, batch from c->batch; warmup steps, then `repeats` timings of `steps` steps. */
int tn_bench_run(const tn_config *c, int p, int d, int warmup, int repeats, int steps,
                 tn_bench_result *r, tn_err *e);

#ifdef __cplusplus
}
#endif
#endif
