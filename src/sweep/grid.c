/* The grid of `taunet sweep`: flag lists and ranges, the cartesian product, per-point validation
 * and run ids. See include/taunet/sweep.h and docs/SWEEPS.md. */
#define _POSIX_C_SOURCE 200809L
#include "taunet/sweep.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taunet/io.h"

/* The list syntax of a flag, from the flag table: values that contain commas (step:30,60;
 * norms,margins; paths) separate their lists with ';'; integer flags also take ranges. */
char tn_sweep_separator(const char *flag) {
    const tn_flag *f = tn_flag_find(flag);
    return f && (f->props & TN_FLAG_SEMI) ? ';' : ',';
}

static int is_int_flag(const char *flag) {
    const tn_flag *f = tn_flag_find(flag);
    return f && (f->props & TN_FLAG_RANGES);
}

void tn_sweep_free_values(char **vals, int n) {
    for (int i = 0; i < n && vals; i++) free(vals[i]);
    free(vals);
}

static int push_value(char ***vals, int *n, const char *v, size_t len, const char *flag, tn_err *e) {
    if (*n >= TN_SWEEP_MAX_VALUES)
        return tn_fail(e, TN_EINPUT, "%s: more than %d values; split the sweep", flag, TN_SWEEP_MAX_VALUES);
    char **nv = *vals;
    if ((*n & (*n - 1)) == 0) { /* capacity doubles at each power of two: linear, not quadratic */
        nv = realloc(*vals, (size_t)(*n ? 2 * *n : 1) * sizeof *nv);
        if (!nv) return tn_fail(e, TN_ERUNTIME, "out of memory");
        *vals = nv;
    }
    if (!(nv[*n] = strndup(v, len))) return tn_fail(e, TN_ERUNTIME, "out of memory");
    (*n)++;
    return 0;
}

/* Parses "a:b" or "a:b:s" (all integers, s != 0, and s's sign going from a towards b). The
 * numbers are bounded by 2^40 (the largest any integer flag takes), so the count below cannot
 * overflow. */
#define RANGE_BOUND (1L << 40)
static int parse_range(const char *flag, const char *v, long r[3], tn_err *e) {
    int k = 0;
    const char *s = v;
    r[2] = 1;
    for (; k < 3; k++) {
        char *end;
        errno = 0;
        long x = strtol(s, &end, 10);
        if (end == s || errno || x > RANGE_BOUND || x < -RANGE_BOUND) break;
        r[k] = x;
        if (*end != ':') {
            s = end;
            k++;
            break;
        }
        s = end + 1;
    }
    if (k < 2 || *s || r[2] == 0 || (r[1] - r[0]) / r[2] < 0)
        return tn_fail(e, TN_EINPUT, "%s: '%s' is not a range a:b or a:b:s (inclusive integers up to 2^40, step s reaching b from a)", flag, v);
    return 0;
}

int tn_sweep_split_values(const char *flag, const char *text, char ***vals, int *n, tn_err *e) {
    char sep = tn_sweep_separator(flag);
    int ints = is_int_flag(flag);
    *vals = NULL;
    *n = 0;
    const char *s = text;
    for (;;) {
        const char *end = strchr(s, sep);
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len == 0) {
            tn_fail(e, TN_EINPUT, "%s: empty value in the list '%s' (lists are separated by '%c')", flag, text, sep);
            goto fail;
        }
        char item[256];
        if (ints && len < sizeof item && memchr(s, ':', len)) {
            long r[3];
            memcpy(item, s, len);
            item[len] = '\0';
            if (parse_range(flag, item, r, e)) goto fail;
            if ((r[1] - r[0]) / r[2] >= TN_SWEEP_MAX_VALUES) {
                tn_fail(e, TN_EINPUT, "%s: the range '%s' has more than %d values", flag, item, TN_SWEEP_MAX_VALUES);
                goto fail;
            }
            for (long i = 0, count = (r[1] - r[0]) / r[2] + 1; i < count; i++) {
                char num[32];
                int nl = snprintf(num, sizeof num, "%ld", r[0] + i * r[2]);
                if (push_value(vals, n, num, (size_t)nl, flag, e)) goto fail;
            }
        } else if (push_value(vals, n, s, len, flag, e))
            goto fail;
        if (!end) break;
        s = end + 1;
    }
    return 0;
fail:
    tn_sweep_free_values(*vals, *n);
    *vals = NULL;
    *n = 0;
    return e->code;
}

void tn_sweep_grid_free(tn_sweep_grid *g) {
    for (int a = 0; a < g->naxes; a++) tn_sweep_free_values(g->axes[a].vals, g->axes[a].nvals);
    g->naxes = 0;
    g->npoints = 0;
}

static int find_axis(const tn_sweep_grid *g, const char *flag) {
    for (int a = 0; a < g->naxes; a++)
        if (!strcmp(g->axes[a].flag, flag)) return a;
    return -1;
}

/* The --seeds K placeholder becomes the --seed axis base..base+K-1 (base from a single --seed). */
static int make_seed_axis(tn_sweep_grid *g, int pos, long k, tn_err *e) {
    unsigned long long base = 0;
    int s = find_axis(g, "--seed");
    if (s >= 0) {
        char *end;
        if (g->axes[s].nvals != 1)
            return tn_fail(e, TN_EINPUT, "--seeds with a list of --seed values: give one of them (--seed S --seeds K runs S..S+K-1)");
        errno = 0;
        base = strtoull(g->axes[s].vals[0], &end, 10);
        if (errno || *end || end == g->axes[s].vals[0] || g->axes[s].vals[0][0] == '-')
            return tn_fail(e, TN_EINPUT, "--seed: '%s' is not a non-negative integer", g->axes[s].vals[0]);
        tn_sweep_free_values(g->axes[s].vals, g->axes[s].nvals);
        memmove(&g->axes[s], &g->axes[s + 1], (size_t)(g->naxes - s - 1) * sizeof g->axes[0]);
        g->naxes--;
        if (s < pos) pos--;
    }
    tn_sweep_axis *ax = &g->axes[pos];
    snprintf(ax->flag, sizeof ax->flag, "--seed");
    for (long i = 0; i < k; i++) {
        char num[32];
        int nl = snprintf(num, sizeof num, "%llu", base + (unsigned long long)i);
        if (push_value(&ax->vals, &ax->nvals, num, (size_t)nl, "--seeds", e)) return e->code;
    }
    return 0;
}

int tn_sweep_parse(int argc, char **argv, tn_sweep_grid *g, tn_sweep_opts *o, tn_err *e) {
    memset(g, 0, sizeof *g);
    memset(o, 0, sizeof *o);
    o->shard_n = 1;
    int seeds_pos = -1;
    long seeds = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val, *eq = strchr(a, '=');
        char flag[64];
        size_t fl = eq ? (size_t)(eq - a) : strlen(a);
        if (strncmp(a, "--", 2) != 0)
            return tn_fail(e, TN_EINPUT, "sweep: unexpected argument '%s'; flags look like --width 64,256", a);
        if (fl >= sizeof flag) return tn_fail(e, TN_EINPUT, "sweep: unknown flag '%s'", a);
        memcpy(flag, a, fl);
        flag[fl] = '\0';
        if (!strcmp(flag, "--dry-run")) {
            if (eq) return tn_fail(e, TN_EINPUT, "--dry-run takes no value");
            o->dry_run = 1;
            continue;
        }
        if (eq) val = eq + 1;
        else if (i + 1 < argc) val = argv[++i];
        else return tn_fail(e, TN_EINPUT, "%s needs a value; see 'taunet help sweep'", flag);
        if (!strcmp(flag, "--out")) {
            if (strlen(val) >= sizeof o->out - 64) return tn_fail(e, TN_EINPUT, "--out: path too long");
            snprintf(o->out, sizeof o->out, "%s", val);
        } else if (!strcmp(flag, "--seeds")) {
            char *end;
            seeds = strtol(val, &end, 10);
            if (end == val || *end || seeds < 1 || seeds > TN_SWEEP_MAX_VALUES)
                return tn_fail(e, TN_EINPUT, "--seeds: '%s' is not a count in [1, %d]", val, TN_SWEEP_MAX_VALUES);
            if (seeds_pos >= 0) return tn_fail(e, TN_EINPUT, "--seeds given twice");
            if (g->naxes >= TN_SWEEP_MAX_AXES) return tn_fail(e, TN_EINPUT, "sweep: too many flags");
            seeds_pos = g->naxes++; /* placeholder, filled once --seed is known */
        } else if (!strcmp(flag, "--shard")) {
            int k, n, used = 0;
            if (sscanf(val, "%d/%d%n", &k, &n, &used) != 2 || val[used] || n < 1 || k < 0 || k >= n)
                return tn_fail(e, TN_EINPUT, "--shard: '%s' should be K/N with 0 <= K < N (e.g. --shard 0/4)", val);
            o->shard_k = k, o->shard_n = n;
        } else if (!strcmp(flag, "--resume")) {
            return tn_fail(e, TN_EINPUT, "sweep: --resume is not a sweep flag; rerunning the same sweep command continues it");
        } else if (!strcmp(flag, "--halt-after")) {
            return tn_fail(e, TN_EINPUT, "sweep: --halt-after is not supported; a sweep runs each point to its end (rerun the command to continue a killed sweep)");
        } else {
            if (find_axis(g, flag) >= 0)
                return tn_fail(e, TN_EINPUT, "%s given twice; give one list of values", flag);
            if (g->naxes >= TN_SWEEP_MAX_AXES) return tn_fail(e, TN_EINPUT, "sweep: too many flags");
            tn_sweep_axis *ax = &g->axes[g->naxes];
            snprintf(ax->flag, sizeof ax->flag, "%s", flag);
            if (tn_sweep_split_values(flag, val, &ax->vals, &ax->nvals, e)) return e->code;
            g->naxes++;
            /* refused as soon as the product is too large, before more lists are expanded */
            double points = 1;
            for (int a = 0; a < g->naxes; a++) points *= g->axes[a].nvals > 0 ? g->axes[a].nvals : 1;
            if (points > TN_SWEEP_MAX_POINTS)
                return tn_fail(e, TN_EINPUT, "sweep: the grid has more than %ld points; split it into several sweeps", TN_SWEEP_MAX_POINTS);
        }
    }
    if (seeds_pos >= 0 && make_seed_axis(g, seeds_pos, seeds, e)) return e->code;
    g->npoints = 1;
    for (int a = 0; a < g->naxes; a++) {
        g->npoints *= g->axes[a].nvals;
        if (g->npoints > TN_SWEEP_MAX_POINTS)
            return tn_fail(e, TN_EINPUT, "sweep: the grid has more than %ld points; split it into several sweeps", TN_SWEEP_MAX_POINTS);
    }
    return 0;
}

void tn_sweep_point_indices(const tn_sweep_grid *g, long i, int *idx) {
    for (int a = g->naxes - 1; a >= 0; a--) {
        idx[a] = (int)(i % g->axes[a].nvals);
        i /= g->axes[a].nvals;
    }
}

int tn_sweep_point_argv(const tn_sweep_grid *g, long i, char **argv, int cap) {
    int idx[TN_SWEEP_MAX_AXES], n = 0;
    tn_sweep_point_indices(g, i, idx);
    for (int a = 0; a < g->naxes && n + 2 <= cap; a++) {
        argv[n++] = (char *)g->axes[a].flag;
        argv[n++] = g->axes[a].vals[idx[a]];
    }
    return n;
}

/* The varied flags of point i: "--width 8 --depth 3" (as_flags, for messages) or "width=8 depth=3"
 * (progress and dry-run lines). */
void tn_sweep_varied(const tn_sweep_grid *g, long i, int as_flags, char *buf, size_t cap) {
    int idx[TN_SWEEP_MAX_AXES];
    size_t o = 0;
    buf[0] = '\0';
    tn_sweep_point_indices(g, i, idx);
    for (int a = 0; a < g->naxes && o < cap; a++)
        if (g->axes[a].nvals > 1)
            o += (size_t)snprintf(buf + o, cap - o, as_flags ? "%s%s %s" : "%s%s=%s", o ? " " : "",
                                  g->axes[a].flag + (as_flags ? 0 : 2), g->axes[a].vals[idx[a]]);
    if (!o && as_flags) snprintf(buf, cap, "the only point");
}

int tn_sweep_point_config(const tn_sweep_grid *g, long i, tn_config *c, tn_err *e) {
    char *argv[2 * TN_SWEEP_MAX_AXES];
    int argc = tn_sweep_point_argv(g, i, argv, 2 * TN_SWEEP_MAX_AXES);
    tn_err pe = {0};
    tn_config_defaults(c);
    if (tn_config_parse(c, argc, argv, &pe)) {
        char what[512];
        tn_sweep_varied(g, i, 1, what, sizeof what);
        return tn_fail(e, pe.code, "sweep: grid point %ld (%s): %s", i, what, pe.msg);
    }
    return 0;
}

typedef struct { uint64_t id; long index; } id_index;
static int cmp_id(const void *a, const void *b) {
    const id_index *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

int tn_sweep_validate(const tn_sweep_grid *g, tn_err *e) {
    id_index *ids = malloc((size_t)g->npoints * sizeof *ids);
    if (!ids) return tn_fail(e, TN_ERUNTIME, "out of memory");
    for (long i = 0; i < g->npoints; i++) {
        tn_config c;
        char id[17];
        if (tn_sweep_point_config(g, i, &c, e)) {
            free(ids);
            return e->code;
        }
        tn_sweep_run_id(&c, id);
        ids[i] = (id_index){strtoull(id, NULL, 16), i};
    }
    qsort(ids, (size_t)g->npoints, sizeof *ids, cmp_id);
    for (long i = 1; i < g->npoints; i++)
        if (ids[i].id == ids[i - 1].id) {
            char a[512], b[512];
            tn_sweep_varied(g, ids[i - 1].index, 1, a, sizeof a);
            tn_sweep_varied(g, ids[i].index, 1, b, sizeof b);
            long x = ids[i - 1].index, y = ids[i].index;
            free(ids);
            return tn_fail(e, TN_EINPUT, "sweep: grid points %ld (%s) and %ld (%s) are the same run (--threads, --gpu and --backend are not part of a run's configuration); give such flags one value", x, a, y, b);
        }
    free(ids);
    return 0;
}

/* The value of `flag` in canonical flags text ("--flag\nvalue\n..."), or NULL. */
static const char *canon_value(const char *text, const char *flag, size_t fl, size_t *vl) {
    for (const char *s = text; *s;) {
        const char *nl = strchr(s, '\n');
        if (!nl) return NULL;
        const char *v = nl + 1, *ve = strchr(v, '\n');
        if (!ve) ve = v + strlen(v);
        if ((size_t)(nl - s) == fl && !memcmp(s, flag, fl)) {
            *vl = (size_t)(ve - v);
            return v;
        }
        s = *ve ? ve + 1 : ve;
    }
    return NULL;
}

/* Only the flags that differ from the defaults enter the hash: a later taunet that adds a setting
 * (at its default) keeps every existing id, so an old sweep still resumes. */
void tn_sweep_run_id(const tn_config *c, char id[17]) {
    char defaults[8192], flags[8192];
    tn_config d;
    tn_config_defaults(&d);
    if (tn_config_to_flags(&d, defaults, sizeof defaults)) defaults[0] = '\0';
    if (tn_config_to_flags(c, flags, sizeof flags)) flags[sizeof flags - 1] = '\0'; /* cannot happen: < 3 KiB */
    uint64_t h = tn_fnv1a64("", 0);
    for (const char *s = flags; *s;) {
        const char *nl = strchr(s, '\n'), *v, *ve;
        if (!nl) break;
        v = nl + 1;
        ve = strchr(v, '\n');
        if (!ve) ve = v + strlen(v);
        size_t dl, vl = (size_t)(ve - v);
        const char *dv = canon_value(defaults, s, (size_t)(nl - s), &dl);
        if (!dv || dl != vl || memcmp(dv, v, vl)) { /* hash "--flag\nvalue\n" */
            for (const char *p = s; p < ve; p++) h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
            h = (h ^ '\n') * 0x100000001b3ULL;
        }
        s = *ve ? ve + 1 : ve;
    }
    snprintf(id, 17, "%016llx", (unsigned long long)h);
}

/* An integer literal ("64", "-3") stays exact as a JSON integer; other numbers go through %.9g. */
static int is_int_literal(const char *v) {
    const char *s = v + (*v == '-');
    if (!*s || strlen(s) > 18) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

void tn_sweep_varied_json(const tn_sweep_grid *g, long i, tn_json *j) {
    int idx[TN_SWEEP_MAX_AXES];
    tn_sweep_point_indices(g, i, idx);
    for (int a = 0; a < g->naxes; a++) {
        if (g->axes[a].nvals < 2) continue;
        const char *key = g->axes[a].flag + 2, *v = g->axes[a].vals[idx[a]];
        char *end;
        double x = strtod(v, &end);
        if (is_int_literal(v)) tn_json_int(j, key, strtoll(v, NULL, 10));
        else if (end != v && !*end && isfinite(x) && (isdigit((unsigned char)*v) || *v == '.' || *v == '-'))
            tn_json_num(j, key, x);
        else tn_json_str(j, key, v);
    }
}

