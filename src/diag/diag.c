/* Theory diagnostics (--diag): per-layer output norms, distance from initialization, spectral
 * norms, the residual chain, gradient norms, margins, Bartlett spectral complexity, sharpness.
 * Formulas: docs/DIAGNOSTICS.md. All device work goes through the backend table. */
#include "taunet/diag.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag/diag_internal.h"

static const char *names[] = {"norms", "dist", "spectral", "chain", "grad", "margins", "complexity", "sharpness"};

unsigned tn_diag_mask(const char *list, tn_err *e) {
    unsigned mask = 0;
    if (!list || !*list || !strcmp(list, "none")) return 0;
    if (!strcmp(list, "all")) return TN_DIAG_ALL;
    const char *s = list;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        int found = 0;
        for (int i = 0; i < 8; i++)
            if (strlen(names[i]) == len && !strncmp(names[i], s, len)) mask |= 1u << i, found = 1;
        if (!found) {
            tn_fail(e, TN_EINPUT, "--diag: '%.*s' is not a diagnostic; use a comma list of norms, dist, spectral, chain, grad, margins, complexity, sharpness, or all", (int)len, s);
            return TN_DIAG_INVALID;
        }
        s = comma ? comma + 1 : s + len;
    }
    return mask;
}

size_t tn_diag_bytes(const tn_config *c, int p, int d, int nb) {
    unsigned mask = tn_diag_mask(c->diag, NULL);
    size_t m = (size_t)c->width, L = (size_t)c->depth;
    size_t nw = m * p + (L - 1) * m * m + (size_t)d * m, v = m + p + d + nb;
    size_t copies = ((mask & TN_DIAG_DIST) ? 1 : 0) + ((mask & TN_DIAG_SHARPNESS) ? 2 : 0);
    return mask ? (copies * nw + 3 * v) * sizeof(float) : 0;
}

int tn_diag_open(tn_diag *d, tn_model *m, const tn_config *c, tn_err *e) {
    tn_backend *be = m->be;
    memset(d, 0, sizeof *d);
    d->mask = tn_diag_mask(c->diag, e);
    if (d->mask == TN_DIAG_INVALID) return e->code;
    if (!d->mask) return 0;
    size_t v = (size_t)(m->m > m->p ? m->m : m->p);
    if ((size_t)m->d > v) v = (size_t)m->d;
    if ((size_t)m->nb > v) v = (size_t)m->nb;
    d->host_n = v + (size_t)m->nb * m->d + 16;
    d->host = malloc(d->host_n * sizeof(float));
    d->va = be->alloc(be, (v + 2) * sizeof(float));
    d->vb = be->alloc(be, (v + 2) * sizeof(float));
    d->rn = be->alloc(be, (v + 2) * sizeof(float));
    if (!d->host || !d->va || !d->vb || !d->rn) return tn_fail(e, TN_ERUNTIME, "diagnostics: out of memory");
    if (d->mask & (TN_DIAG_DIST)) {
        if (!(d->w0 = be->alloc(be, m->nw * sizeof(float))) || tn_model_init_weights(m, c->seed, d->w0))
            return tn_fail(e, TN_ERUNTIME, "diagnostics: cannot rebuild W(0): %s", be->err->msg);
    }
    if (d->mask & TN_DIAG_SHARPNESS) {
        if (!(d->wsave = be->alloc(be, m->nw * sizeof(float))) || !(d->eps = be->alloc(be, (m->nw + 2) * sizeof(float))))
            return tn_fail(e, TN_ERUNTIME, "diagnostics: out of memory for sharpness (2 weight copies)");
    }
    return 0;
}

void tn_diag_close(tn_diag *d, tn_model *m) {
    tn_backend *be = m->be;
    float *p[] = {d->w0, d->va, d->vb, d->rn, d->wsave, d->eps};
    for (size_t i = 0; be && i < sizeof p / sizeof p[0]; i++)
        if (p[i]) be->free(be, p[i]);
    free(d->host);
    memset(d, 0, sizeof *d);
}

/* The model's layers as linear maps: A, the hidden maps, B. */
static tn_diag_layer layer(const tn_model *m, int i) {
    tn_diag_layer L = {0};
    if (i == 0) L = (tn_diag_layer){tn_model_A(m), m->m, m->p, 0, 1.0f};
    else if (i == m->L) L = (tn_diag_layer){tn_model_B(m), m->d, m->m, 0, 1.0f};
    else L = (tn_diag_layer){tn_model_W(m, i), m->m, m->m, m->resnet, m->tau};
    return L;
}
static size_t layer_off(const tn_model *m, int i) {
    return i == 0 ? 0 : i == m->L ? m->off_B : m->off_W + (size_t)(i - 1) * m->m * m->m;
}
static size_t layer_len(const tn_model *m, int i) {
    return i == 0 ? (size_t)m->m * m->p : i == m->L ? (size_t)m->d * m->m : (size_t)m->m * m->m;
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

static int eval_norms(tn_diag *d, tn_model *m, const float *x, int rows, tn_json *j) {
    tn_backend *be = m->be;
    if (tn_model_forward(m, x, rows, 0)) return be->err->code;
    tn_json_arr_open(j, "layer_norms");
    for (int l = 0; l < m->L; l++) {
        if (be->row_norms(be, rows, m->m, tn_model_h(m, l), d->rn) ||
            be->download(be, d->host, d->rn, (size_t)rows * sizeof(float)))
            return be->err->code;
        double s = 0.0;
        for (int i = 0; i < rows; i++) s += d->host[i];
        tn_json_num(j, NULL, s / rows);
        d->last_norm = s / rows;
    }
    tn_json_arr_close(j);
    return 0;
}

/* Margins over all n training rows; returns them (malloc'd) through *out. */
static int eval_margins(tn_diag *d, tn_model *m, const float *x, const int32_t *y, int n, double **out) {
    tn_backend *be = m->be;
    double *mg = malloc((size_t)n * sizeof(double));
    int32_t *yh = malloc((size_t)m->nb * sizeof(int32_t));
    float *f = d->host + d->host_n - (size_t)m->nb * m->d - 8;
    if (!mg || !yh) return free(mg), free(yh), tn_fail(be->err, TN_ERUNTIME, "diagnostics: out of memory");
    for (int r = 0; r < n; r += m->nb) {
        int rows = n - r < m->nb ? n - r : m->nb;
        if (tn_model_forward(m, x + (size_t)r * m->p, rows, 0) ||
            be->download(be, f, m->logits, (size_t)rows * m->d * sizeof(float)) ||
            be->download(be, yh, y + r, (size_t)rows * sizeof(int32_t)))
            return free(mg), free(yh), be->err->code;
        for (int i = 0; i < rows; i++) {
            const float *fi = f + (size_t)i * m->d;
            double other = -INFINITY;
            for (int k = 0; k < m->d; k++)
                if (k != yh[i] && fi[k] > other) other = fi[k];
            mg[r + i] = fi[yh[i]] - other;
        }
    }
    free(yh);
    *out = mg;
    return 0;
}

static double sharpness(tn_diag *d, tn_model *m, const tn_config *c, const float *x, const int32_t *y, int rows) {
    tn_backend *be = m->be;
    double base[2], pert[2], acc = 0.0;
    if (tn_model_forward(m, x, rows, 0) || tn_model_loss(m, y, rows, 0, base)) return NAN;
    if (be->copy(be, d->wsave, m->w, m->nw * sizeof(float))) return NAN;
    for (int k = 0; k < c->sharp_draws; k++) {
        if (tn_draw_normal(be, d->eps, m->nw + (m->nw & 1), 1.0f, /* even: no padded scratch */ c->seed ^ 0x5348415250ULL, (uint64_t)k * (m->nw + 2)) ||
            be->perturb(be, m->nw, m->w, d->eps, (float)c->sharp_sigma) ||
            tn_model_forward(m, x, rows, 0) || tn_model_loss(m, y, rows, 0, pert) ||
            be->copy(be, m->w, d->wsave, m->nw * sizeof(float)))
            return NAN;
        acc += pert[0] / rows;
    }
    return acc / c->sharp_draws - base[0] / rows;
}

int tn_diag_eval(tn_diag *d, tn_model *m, const tn_config *c, const float *x, const int32_t *y, int n,
                 int have_grad, tn_json *j) {
    tn_backend *be = m->be;
    int rows = n < m->nb ? n : m->nb, nl = m->L + 1, st = 0;
    if (!d->mask) return 0;
    tn_json_obj_open(j, "diag");
    if ((d->mask & TN_DIAG_NORMS) && (st = eval_norms(d, m, x, rows, j))) return st;
    if (d->mask & TN_DIAG_DIST) {
        tn_json_arr_open(j, "dist_init");
        for (int i = 0; i < nl; i++) {
            size_t off = layer_off(m, i), len = layer_len(m, i);
            float num, den;
            if (be->diffsq(be, len, m->w + off, d->w0 + off, m->scal) || be->download(be, &num, m->scal, 4) ||
                be->sumsq(be, len, d->w0 + off, m->scal) || be->download(be, &den, m->scal, 4))
                return be->err->code;
            tn_json_num(j, NULL, sqrt((double)num) / sqrt((double)den));
        }
        tn_json_arr_close(j);
    }
    double *sig = NULL;
    if (d->mask & (TN_DIAG_SPECTRAL | TN_DIAG_COMPLEXITY)) {
        sig = malloc((size_t)nl * sizeof(double));
        if (!sig) return tn_fail(be->err, TN_ERUNTIME, "diagnostics: out of memory");
        for (int i = 0; i < nl; i++) {
            tn_diag_layer L = layer(m, i);
            sig[i] = tn_diag_spectral(m, &L, 1, d->va, d->vb, 7 + (uint64_t)i);
        }
        if (d->mask & TN_DIAG_SPECTRAL) {
            tn_json_arr_open(j, "spectral");
            for (int i = 0; i < nl; i++) tn_json_num(j, NULL, sig[i]);
            tn_json_arr_close(j);
        }
    }
    if ((d->mask & TN_DIAG_CHAIN) && m->L > 1) {
        tn_diag_layer *ls = malloc((size_t)(m->L - 1) * sizeof *ls);
        if (!ls) return free(sig), tn_fail(be->err, TN_ERUNTIME, "diagnostics: out of memory");
        for (int l = 1; l < m->L; l++) ls[l - 1] = layer(m, l);
        d->chain = tn_diag_spectral(m, ls, m->L - 1, d->va, d->vb, 99);
        free(ls);
        tn_json_num(j, "chain", d->chain);
    }
    if ((d->mask & TN_DIAG_GRAD) && have_grad && m->gw) {
        double tot = 0.0;
        tn_json_arr_open(j, "grad_norms");
        for (int i = 0; i < nl; i++) {
            size_t off = layer_off(m, i);
            int trains = off >= m->train_lo && off < m->train_hi;
            double g = trains ? tn_diag_norm(be, m->gw + off, layer_len(m, i), m->scal) : 0.0;
            tot += g * g;
            tn_json_num(j, NULL, g);
        }
        tn_json_arr_close(j);
        d->grad_norm = sqrt(tot);
        tn_json_num(j, "grad_norm", d->grad_norm);
    }
    if (d->mask & (TN_DIAG_MARGINS | TN_DIAG_COMPLEXITY)) {
        double *mg = NULL;
        if ((st = eval_margins(d, m, x, y, n, &mg))) return free(sig), st;
        if (d->mask & TN_DIAG_MARGINS) {
            double *cp = malloc((size_t)n * sizeof(double));
            if (cp) memcpy(cp, mg, (size_t)n * sizeof(double)), d->margin_median = quantiles(j, "margins", cp, n);
            free(cp);
        }
        if (d->mask & TN_DIAG_COMPLEXITY) {
            /* log R_A = sum log s_i + 3/2 log sum (||.||_{2,1} / s_i)^{2/3}, in double logs so
             * that a product over 1202 layers neither overflows nor underflows */
            double logprod = 0.0, sum = 0.0;
            for (int i = 0; i < nl; i++) {
                tn_diag_layer L = layer(m, i);
                double n21 = tn_diag_norm21(m, &L, d->rn, d->host);
                logprod += log(sig[i]);
                sum += pow(n21 / sig[i], 2.0 / 3.0);
            }
            double logra = logprod + 1.5 * log(sum);
            d->log10_ra = logra / log(10.0);
            tn_json_num(j, "log10_spectral_complexity", d->log10_ra);
            for (int i = 0; i < n; i++) mg[i] = mg[i] * exp(-logra);
            d->nmargin_median = quantiles(j, "normalized_margins", mg, n);
        }
        free(mg);
    }
    free(sig);
    if (d->mask & TN_DIAG_SHARPNESS) {
        d->sharpness = sharpness(d, m, c, x, y, rows);
        tn_json_obj_open(j, "sharpness");
        tn_json_num(j, "value", d->sharpness);
        tn_json_num(j, "sigma", c->sharp_sigma);
        tn_json_int(j, "draws", c->sharp_draws);
        tn_json_int(j, "rows", rows);
        tn_json_obj_close(j);
    }
    tn_json_obj_close(j);
    return be->err->code;
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
