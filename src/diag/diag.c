/* Theory diagnostics (--diag): per-layer output norms, distance from initialization, spectral
 * norms, the residual chain, gradient norms, margins, Bartlett spectral complexity, sharpness.
 * Formulas: docs/DIAGNOSTICS.md. All device work goes through the backend table. */
#include "taunet/diag.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag/diag_internal.h"

unsigned tn_diag_keep(unsigned mask) {
    if (!mask) return 0;
    return TN_KEEP_DIAG | ((mask & TN_DIAG_DIST) ? TN_KEEP_W0 : 0) | ((mask & TN_DIAG_SHARPNESS) ? TN_KEEP_SHARP : 0) |
           ((mask & TN_DIAG_GRAD) ? TN_KEEP_GRADS : 0);
}

/* The buffers tn_plan_bytes counts under TN_KEEP_DIAG, W0 and SHARP. */
int tn_diag_open(tn_diag *d, tn_model *m, const tn_config *c, tn_err *e) {
    tn_backend *be = tn_model_backend(m);
    const tn_plan *p = tn_model_plan(m);
    memset(d, 0, sizeof *d);
    d->mask = tn_config_diags(c);
    if (d->mask == TN_DIAG_INVALID) return e->code;
    if (!d->mask) return 0;
    size_t v = (size_t)tn_plan_max_width(p), nb = (size_t)tn_model_capacity(m), nw = tn_plan_arena_len(p, TN_ARENA_W);
    if (nb > v) v = nb;
    d->host_n = v + nb * (size_t)tn_plan_outputs(p) + 16;
    d->host = malloc(d->host_n * sizeof(float));
    d->va = be->alloc(be, (v + 2) * sizeof(float));
    d->vb = be->alloc(be, (v + 2) * sizeof(float));
    d->rn = be->alloc(be, (v + 2) * sizeof(float));
    if (!d->host || !d->va || !d->vb || !d->rn) return tn_fail(e, TN_ERUNTIME, "diagnostics: out of memory");
    if (d->mask & (TN_DIAG_DIST)) {
        if (!(d->w0 = be->alloc(be, nw * sizeof(float))) || tn_model_init_weights(m, c->seed, d->w0))
            return tn_fail(e, TN_ERUNTIME, "diagnostics: cannot rebuild W(0): %s", be->err->msg);
    }
    if (d->mask & TN_DIAG_SHARPNESS) {
        if (!(d->wsave = be->alloc(be, nw * sizeof(float))) || !(d->eps = be->alloc(be, (nw + 2) * sizeof(float))))
            return tn_fail(e, TN_ERUNTIME, "diagnostics: out of memory for sharpness (2 weight copies)");
    }
    return 0;
}

void tn_diag_close(tn_diag *d, tn_model *m) {
    tn_backend *be = m ? tn_model_backend(m) : NULL;
    float *p[] = {d->w0, d->va, d->vb, d->rn, d->wsave, d->eps};
    for (size_t i = 0; be && i < sizeof p / sizeof p[0]; i++)
        if (p[i]) be->free(be, p[i]);
    free(d->host);
    memset(d, 0, sizeof *d);
}

/* The weight tensors of the plan, in layer order (A, W_1 .. W_{L-1}, B for FC): the entries of
 * the per-layer diagnostics dist_init, grad_norms, spectral. */
static int weights(const tn_plan *p, int *idx, int cap) {
    const tn_tensor *t;
    int nt = tn_plan_tensors(p, &t), n = 0;
    for (int i = 0; i < nt && n < cap; i++)
        if (t[i].weight) idx[n++] = i;
    return n;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantiles (nearest rank) of v[0..n) written as an object {"min","q10","q25","median","q75","q90","max","mean"}. */
static double quantiles(tn_json *j, const char *key, double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    static const double q[] = {0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0};
    static const char *qn[] = {"min", "q10", "q25", "median", "q75", "q90", "max"};
    double mean = 0.0;
    for (int i = 0; i < n; i++) mean += v[i];
    tn_json_obj_open(j, key);
    for (int k = 0; k < 7; k++) tn_json_num(j, qn[k], v[(int)(q[k] * (n - 1) + 0.5)]);
    tn_json_num(j, "mean", mean / n);
    tn_json_obj_close(j);
    return v[(int)(0.5 * (n - 1) + 0.5)];
}

/* What one evaluation's diagnostics share: the rows, the per-layer spectral norms (spectral and
 * complexity), the margins (margins and complexity). */
typedef struct {
    tn_diag *d;
    tn_model *m;
    const tn_config *c;
    const float *x;
    const int32_t *y;
    int n, rows, have_grad;
    int nw, *widx; /* the weight tensors in layer order */
    double *sig, *mg;
    tn_json *j;
} ctx;

static int fail_oom(ctx *k) { return tn_fail(tn_model_backend(k->m)->err, TN_ERUNTIME, "diagnostics: out of memory"); }

static const tn_tensor *tensor(const ctx *k, int i) {
    const tn_tensor *t;
    tn_plan_tensors(tn_model_plan(k->m), &t);
    return &t[k->widx[i]];
}

static int eval_norms(ctx *k) {
    tn_model *m = k->m;
    tn_backend *be = tn_model_backend(m);
    const tn_plan *p = tn_model_plan(m);
    tn_diag *d = k->d;
    if (tn_model_forward(m, k->x, k->rows, 0)) return be->err->code;
    tn_json_arr_open(k->j, "layer_norms");
    for (int l = 0; l < tn_plan_taps(p); l++) {
        if (be->row_norms(be, k->rows, tn_plan_tap_width(p, l), tn_model_tap(m, l), d->rn) ||
            be->download(be, d->host, d->rn, (size_t)k->rows * sizeof(float)))
            return be->err->code;
        double s = 0.0;
        for (int i = 0; i < k->rows; i++) s += d->host[i];
        tn_json_num(k->j, NULL, s / k->rows);
        d->last_norm = s / k->rows;
    }
    tn_json_arr_close(k->j);
    return 0;
}

static int eval_dist(ctx *k) {
    tn_backend *be = tn_model_backend(k->m);
    const float *w = tn_model_arena(k->m, TN_ARENA_W, TN_COPY_VALUE);
    float *scal = tn_model_scratch(k->m);
    tn_json_arr_open(k->j, "dist_init");
    for (int i = 0; i < k->nw; i++) {
        size_t off = tensor(k, i)->off, len = tensor(k, i)->len;
        float num, den;
        if (be->diffsq(be, len, w + off, k->d->w0 + off, scal) || be->download(be, &num, scal, 4) ||
            be->sumsq(be, len, k->d->w0 + off, scal) || be->download(be, &den, scal, 4))
            return be->err->code;
        tn_json_num(k->j, NULL, sqrt((double)num) / sqrt((double)den));
    }
    tn_json_arr_close(k->j);
    return 0;
}

/* Per-map spectral norms, kept for complexity; written when spectral is asked for. */
static int eval_spectral(ctx *k) {
    const tn_map *maps;
    int nm = tn_plan_maps(tn_model_plan(k->m), &maps);
    if (!(k->sig = malloc((size_t)nm * sizeof(double)))) return fail_oom(k);
    for (int i = 0; i < nm; i++) k->sig[i] = tn_diag_spectral(k->m, &i, 1, k->d->va, k->d->vb, 7 + (uint64_t)i);
    if (!(k->d->mask & TN_DIAG_SPECTRAL)) return 0;
    tn_json_arr_open(k->j, "spectral");
    for (int i = 0; i < nm; i++) tn_json_num(k->j, NULL, k->sig[i]);
    tn_json_arr_close(k->j);
    return 0;
}

static int eval_chain(ctx *k) {
    const tn_map *maps;
    int nm = tn_plan_maps(tn_model_plan(k->m), &maps), nc = 0;
    int *chain = malloc((size_t)nm * sizeof(int));
    if (!chain) return fail_oom(k);
    for (int i = 0; i < nm; i++)
        if (maps[i].chain) chain[nc++] = i;
    if (nc) {
        k->d->chain = tn_diag_spectral(k->m, chain, nc, k->d->va, k->d->vb, 99);
        tn_json_num(k->j, "chain", k->d->chain);
    }
    free(chain);
    return 0;
}

static int eval_grad(ctx *k) {
    tn_backend *be = tn_model_backend(k->m);
    const float *g = tn_model_arena(k->m, TN_ARENA_W, TN_COPY_GRAD);
    if (!k->have_grad || !g) return 0;
    double tot = 0.0;
    tn_json_arr_open(k->j, "grad_norms");
    for (int i = 0; i < k->nw; i++) {
        const tn_tensor *t = tensor(k, i);
        double v = t->trains ? tn_diag_norm(be, g + t->off, t->len, tn_model_scratch(k->m)) : 0.0;
        tot += v * v;
        tn_json_num(k->j, NULL, v);
    }
    tn_json_arr_close(k->j);
    k->d->grad_norm = sqrt(tot);
    tn_json_num(k->j, "grad_norm", k->d->grad_norm);
    return 0;
}

/* Margins over all n training rows, kept for complexity; their quantiles when margins is asked. */
static int eval_margins(ctx *k) {
    tn_model *m = k->m;
    tn_backend *be = tn_model_backend(m);
    int nb = tn_model_capacity(m), d = tn_plan_outputs(tn_model_plan(m)), p = tn_plan_inputs(tn_model_plan(m));
    int32_t *yh = malloc((size_t)nb * sizeof(int32_t));
    float *f = k->d->host + k->d->host_n - (size_t)nb * d - 8;
    if (!(k->mg = malloc((size_t)k->n * sizeof(double))) || !yh) return free(yh), fail_oom(k);
    for (int r = 0; r < k->n; r += nb) {
        int rows = k->n - r < nb ? k->n - r : nb;
        if (tn_model_forward(m, k->x + (size_t)r * p, rows, 0) ||
            be->download(be, f, tn_model_logits(m), (size_t)rows * d * sizeof(float)) ||
            be->download(be, yh, k->y + r, (size_t)rows * sizeof(int32_t)))
            return free(yh), be->err->code;
        for (int i = 0; i < rows; i++) {
            const float *fi = f + (size_t)i * d;
            double other = -INFINITY;
            for (int c = 0; c < d; c++)
                if (c != yh[i] && fi[c] > other) other = fi[c];
            k->mg[r + i] = fi[yh[i]] - other;
        }
    }
    free(yh);
    if (k->d->mask & TN_DIAG_MARGINS) {
        double *cp = malloc((size_t)k->n * sizeof(double));
        if (cp) memcpy(cp, k->mg, (size_t)k->n * sizeof(double)), k->d->margin_median = quantiles(k->j, "margins", cp, k->n);
        free(cp);
    }
    return 0;
}

/* log R_A = sum log s_i + 3/2 log sum (||.||_{2,1} / s_i)^{2/3}, in double logs so that a product
 * over 1202 layers neither overflows nor underflows; then the normalized margins. */
static int eval_complexity(ctx *k) {
    const tn_map *maps;
    int nm = tn_plan_maps(tn_model_plan(k->m), &maps);
    double logprod = 0.0, sum = 0.0;
    for (int i = 0; i < nm; i++) {
        double n21 = tn_diag_norm21(k->m, i, k->d->rn, k->d->host);
        logprod += log(k->sig[i]);
        sum += pow(n21 / k->sig[i], 2.0 / 3.0);
    }
    double logra = logprod + 1.5 * log(sum);
    k->d->log10_ra = logra / log(10.0);
    tn_json_num(k->j, "log10_spectral_complexity", k->d->log10_ra);
    for (int i = 0; i < k->n; i++) k->mg[i] = k->mg[i] * exp(-logra);
    k->d->nmargin_median = quantiles(k->j, "normalized_margins", k->mg, k->n);
    return 0;
}

static int eval_sharpness(ctx *k) {
    tn_model *m = k->m;
    tn_backend *be = tn_model_backend(m);
    const tn_config *c = k->c;
    tn_diag *d = k->d;
    float *w = tn_model_arena(m, TN_ARENA_W, TN_COPY_VALUE);
    size_t nw = tn_plan_arena_len(tn_model_plan(m), TN_ARENA_W);
    int rows = k->rows;
    double base[2], pert[2], acc = 0.0, v = NAN;
    if (tn_model_forward(m, k->x, rows, 0) || tn_model_loss(m, k->y, rows, 0, base) ||
        be->copy(be, d->wsave, w, nw * sizeof(float)))
        goto out;
    for (int i = 0; i < c->sharp_draws; i++) {
        if (tn_draw_normal(be, d->eps, nw + (nw & 1), 1.0f, /* even: no padded scratch */ c->seed ^ 0x5348415250ULL,
                           (uint64_t)i * (nw + 2)) ||
            be->perturb(be, nw, w, d->eps, (float)c->sharp_sigma) || tn_model_forward(m, k->x, rows, 0) ||
            tn_model_loss(m, k->y, rows, 0, pert) || be->copy(be, w, d->wsave, nw * sizeof(float)))
            goto out;
        acc += pert[0] / rows;
    }
    v = acc / c->sharp_draws - base[0] / rows;
out:
    d->sharpness = v;
    tn_json_obj_open(k->j, "sharpness");
    tn_json_num(k->j, "value", d->sharpness);
    tn_json_num(k->j, "sigma", c->sharp_sigma);
    tn_json_int(k->j, "draws", c->sharp_draws);
    tn_json_int(k->j, "rows", rows);
    tn_json_obj_close(k->j);
    return 0;
}

/* The diagnostics in evaluation order: a row runs when the mask has any bit of `runs` (spectral
 * norms and margins also feed complexity), and writes its own entry only for its own bit. */
static const struct {
    unsigned runs;
    int (*eval)(ctx *k);
} rows[] = {
    {TN_DIAG_NORMS, eval_norms},
    {TN_DIAG_DIST, eval_dist},
    {TN_DIAG_SPECTRAL | TN_DIAG_COMPLEXITY, eval_spectral},
    {TN_DIAG_CHAIN, eval_chain},
    {TN_DIAG_GRAD, eval_grad},
    {TN_DIAG_MARGINS | TN_DIAG_COMPLEXITY, eval_margins},
    {TN_DIAG_COMPLEXITY, eval_complexity},
    {TN_DIAG_SHARPNESS, eval_sharpness},
};

int tn_diag_eval(tn_diag *d, tn_model *m, const tn_config *c, const float *x, const int32_t *y, int n,
                 int have_grad, tn_json *j) {
    if (!d->mask) return 0;
    const tn_tensor *t;
    int nt = tn_plan_tensors(tn_model_plan(m), &t);
    ctx k = {d, m, c, x, y, n, n < tn_model_capacity(m) ? n : tn_model_capacity(m), have_grad, 0, NULL, NULL, NULL, j};
    if (!(k.widx = malloc((size_t)(nt ? nt : 1) * sizeof(int)))) return fail_oom(&k);
    k.nw = weights(tn_model_plan(m), k.widx, nt);
    int st = 0;
    tn_json_obj_open(j, "diag");
    for (size_t r = 0; r < sizeof rows / sizeof rows[0] && !st; r++)
        if (d->mask & rows[r].runs) st = rows[r].eval(&k);
    free(k.sig), free(k.mg), free(k.widx);
    tn_json_obj_close(j);
    return st ? st : tn_model_backend(m)->err->code;
}

void tn_diag_summary(const tn_diag *d, tn_json *j) {
    if (!d->mask) return;
    tn_json_obj_open(j, "diag");
    if (d->mask & TN_DIAG_NORMS) tn_json_num(j, "last_layer_norm", d->last_norm);
    if (d->mask & TN_DIAG_CHAIN) tn_json_num(j, "chain", d->chain);
    if (d->mask & TN_DIAG_GRAD) tn_json_num(j, "grad_norm", d->grad_norm);
    if (d->mask & TN_DIAG_MARGINS) tn_json_num(j, "margin_median", d->margin_median);
    if (d->mask & TN_DIAG_COMPLEXITY) {
        tn_json_num(j, "log10_spectral_complexity", d->log10_ra);
        tn_json_num(j, "normalized_margin_median", d->nmargin_median);
    }
    if (d->mask & TN_DIAG_SHARPNESS) tn_json_num(j, "sharpness", d->sharpness);
    tn_json_obj_close(j);
}
