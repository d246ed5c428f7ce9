/* The step benchmark: a model on random inputs, timed as the training loop runs it (forward,
 * loss with gradient, backward with the update, the loss read back), replayed from a captured
 * CUDA graph when the backend can capture and --graph is on, as train does. GEMM time is measured
 * by wrapping the backend's gemm entries on an extra eager step, so the share is of the same run,
 * not of a separate one. */
#define _POSIX_C_SOURCE 200809L
#include "taunet/bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "taunet/backend.h"
#include "taunet/model.h"
#include "run/planner.h"
#include "run/step.h"
#include "run/trainer.h"

static int (*g_gemm)(tn_backend *, int, int, int, int, int, float, const float *, int, const float *,
                     int, float, float *, int);
static double g_gemm_s;

static int (*g_gemm_dev)(tn_backend *, int, int, int, int, int, const float *, const float *, int,
                         const float *, int, const float *, float *, int);

/* A GEMM's time, between synchronisations (so queued work before it is not counted): start the
 * clock, then stop it, adding to g_gemm_s. */
static double gemm_clock(tn_backend *be) {
    be->sync(be);
    return tn_now();
}
static int gemm_clocked(tn_backend *be, double t0, int rc) {
    be->sync(be);
    g_gemm_s += tn_now() - t0;
    return rc;
}

static int timed_gemm_dev(tn_backend *be, int ta, int tb, int M, int N, int K, const float *alpha, const float *A,
                          int lda, const float *B, int ldb, const float *beta, float *C, int ldc) {
    double t0 = gemm_clock(be);
    return gemm_clocked(be, t0, g_gemm_dev(be, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc));
}
static int timed_gemm(tn_backend *be, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                      int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    double t0 = gemm_clock(be);
    return gemm_clocked(be, t0, g_gemm(be, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc));
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One step as train runs it (run/step.c: the step, its graph replayed once captured); the loss
 * of the last one is kept (g_loss) and reported, so a replay that did nothing shows. eager: force
 * the eager path (the GEMM-timed step). */
static double g_loss;
static int step(tn_stepper *s, const float *x, const int32_t *y, int n, const tn_config *c, int eager) {
    double out[2];
    if (tn_step(s, x, y, n, (float)c->lr, (float)c->momentum, (float)c->wd, eager, NULL, NULL, out))
        return tn_model_backend(s->m)->err->code;
    g_loss = out[0] / n;
    return 0;
}

/* sgemm alone on the shapes of one step (forward, dH, dW per layer), as GFLOP/s. */
static double sgemm_rate(tn_backend *be, const tn_config *cfg, int p, int n) {
    int w = cfg->width;
    size_t big = (size_t)(p > w ? p : w);
    if (big > 16384) return NAN; /* the scratch would double the memory of the widest runs */
    float *a = be->alloc(be, (size_t)n * big * sizeof(float)), *b = be->alloc(be, big * big * sizeof(float)),
          *c = be->alloc(be, (size_t)n * big * sizeof(float) + big * big * sizeof(float));
    if (!a || !b || !c) return NAN;
    be->fill(be, a, (size_t)n * big, 0.01f);
    be->fill(be, b, big * big, 0.02f);
    int hidden = cfg->depth - 1 < 8 ? cfg->depth - 1 : 8; /* the hidden layers all have the same shapes */
    double best = INFINITY, flops = 0.0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = tn_now();
        flops = 0.0;
        be->gemm(be, 0, 1, n, w, p, 1, a, p, b, p, 0, c, w), flops += 2.0 * n * w * p;
        be->gemm(be, 1, 0, w, p, n, 1, a, w, a, p, 0, c, p), flops += 2.0 * n * w * p;
        for (int l = 0; l < hidden; l++) {
            be->gemm(be, 0, 1, n, w, w, 1, a, w, b, w, 0, c, w);
            be->gemm(be, 0, 0, n, w, w, 1, a, w, b, w, 1, c, w);
            be->gemm(be, 1, 0, w, w, n, 1, a, w, a, w, 0, c, w);
            flops += 6.0 * n * w * w;
        }
        be->sync(be);
        double t = tn_now() - t0;
        if (t < best) best = t;
    }
    be->free(be, a), be->free(be, b), be->free(be, c);
    return flops / best / 1e9;
}

/* Random inputs and labels for one batch, in backend memory. */
static int random_batch(tn_backend *be, int n, int p, int d, float **x, int32_t **y) {
    float *hx = malloc((size_t)n * p * sizeof(float));
    int32_t *hy = malloc((size_t)n * sizeof(int32_t));
    int rc = !hx || !hy;
    for (size_t i = 0; !rc && i < (size_t)n * p; i++) hx[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
    for (int i = 0; !rc && i < n; i++) hy[i] = i % d;
    *x = rc ? NULL : be->alloc(be, (size_t)n * p * sizeof(float));
    *y = rc ? NULL : be->alloc(be, (size_t)n * sizeof(int32_t));
    rc = rc || !*x || !*y || be->upload(be, *x, hx, (size_t)n * p * sizeof(float)) ||
         be->upload(be, *y, hy, (size_t)n * sizeof(int32_t));
    free(hx), free(hy);
    return rc;
}

/* Warm-up, then `repeats` timings of `steps` steps (median and extremes into r), each followed by
 * one eager step with the GEMM entries wrapped, for the GEMM share. */
static int time_steps(tn_model *m, const float *x, const int32_t *y, int n, const tn_config *c, int warmup,
                      int repeats, int steps, tn_bench_result *r) {
    tn_backend *be = tn_model_backend(m);
    double *times = malloc((size_t)repeats * sizeof(double)), gemm_total = 0.0, all_total = 0.0;
    int rc = times ? 0 : TN_ERUNTIME;
    /* warm-up: the first step of the batch size runs eagerly (it sizes every buffer), the second
     * captures the graph when the backend can; two more steps after (the first replays upload
     * the graph) */
    tn_stepper st;
    tn_stepper_init(&st, m, n, c->graph);
    for (int i = 0; i < (warmup > 2 ? warmup : 2) + 2 && !rc; i++) rc = step(&st, x, y, n, c, 0);
    r->graph = st.graph != NULL;
    g_gemm = be->gemm, g_gemm_dev = be->gemm_dev;
    for (int k = 0; k < repeats && !rc; k++) {
        /* GEMM timing syncs after each call; time a plain repeat and a wrapped one separately so
         * the reported step time is not inflated by the wrapper's synchronisation. */
        double t0 = tn_now();
        for (int i = 0; i < steps && !rc; i++) rc = step(&st, x, y, n, c, 0);
        be->sync(be);
        times[k] = (tn_now() - t0) / steps;
        be->gemm = timed_gemm, be->gemm_dev = timed_gemm_dev;
        g_gemm_s = 0.0;
        be->sync(be);
        t0 = tn_now();
        rc = rc ? rc : step(&st, x, y, n, c, 1);
        be->sync(be);
        all_total += tn_now() - t0;
        gemm_total += g_gemm_s;
        be->gemm = g_gemm, be->gemm_dev = g_gemm_dev;
    }
    tn_stepper_free(&st);
    if (!rc) {
        qsort(times, (size_t)repeats, sizeof *times, cmp);
        r->s_per_step = times[repeats / 2];
        r->s_min = times[0], r->s_max = times[repeats - 1];
        r->gemm_share = gemm_total / all_total;
        r->last_loss = g_loss;
    }
    free(times);
    return rc;
}

int tn_bench_run(const tn_config *c, int p, int d, int warmup, int repeats, int steps,
                 tn_bench_result *r, tn_err *e) {
    tn_err berr = {0};
    tn_backend *be = NULL;
    memset(r, 0, sizeof *r);
    if (c->backend == TN_BACKEND_CUDA || (c->backend == TN_BACKEND_AUTO && tn_cuda_device_count() > 0))
        be = tn_backend_cuda_create(c->gpu, c->tf32, &berr);
    if (!be && c->backend == TN_BACKEND_CUDA) return tn_fail(e, TN_ERUNTIME, "--backend cuda: %s", berr.msg);
    if (!be) tn_err_clear(&berr), be = tn_backend_cpu_create(c->threads, &berr);
    if (!be) return tn_fail(e, TN_ERUNTIME, "%s", berr.msg);
    int n = c->batch, rc = 0;
    tn_model *m = NULL;
    tn_plan *plan = NULL;
    float *x = NULL;
    int32_t *y = NULL;
    tn_shape in = {p, 1, 1};
    if (c->arch == TN_ARCH_RESNET_CIFAR) in = (tn_shape){3, 32, 32}, p = 3 * 32 * 32; /* CIFAR-10 images */
    if (tn_plan_make_shape(c, in, d, &plan, &berr) || !(m = tn_model_create(be, plan, n, tn_run_keep(c), &berr)) ||
        tn_model_init(m, c->seed) || random_batch(be, n, p, d, &x, &y) || time_steps(m, x, y, n, c, warmup, repeats, steps, r)) {
        rc = tn_fail(e, berr.code ? berr.code : TN_ERUNTIME, "bench: %s", berr.msg[0] ? berr.msg : "out of memory");
    } else {
        r->planned_bytes = tn_run_bytes(c, plan, n, n, 0);
        r->flops_per_step = 6.0 * n * tn_plan_macs(plan); /* forward, input and weight gradients */
        r->samples_per_s = n / r->s_per_step;
        r->gflops = r->flops_per_step / r->s_per_step / 1e9;
        /* the conv nets' GEMM ceiling (their im2col shapes) is the conv benchmark's, not this one */
        r->sgemm_gflops = c->arch == TN_ARCH_RESNET_CIFAR ? NAN : sgemm_rate(be, c, p, n);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        r->peak_gib = ru.ru_maxrss / 1048576.0;
    }
    if (x) be->free(be, x);
    if (y) be->free(be, y);
    tn_model_destroy(m);
    tn_plan_free(plan);
    be->destroy(be);
    return rc;
}
