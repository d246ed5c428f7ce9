/* Running a sweep: one in-process tn_train per grid point of this shard, one line per finished run
 * appended to DIR/results.jsonl. The results file is the only record of what is done, so a killed
 * sweep loses at most the runs in flight, and rerunning the same command continues it:
 *   - ids with a complete line in results.jsonl are skipped;
 *   - a run directory with a final summary.json but no line (killed between the two writes) is
 *     recorded from that summary without training again; a damaged summary.json (it does not
 *     parse) is never copied into results.jsonl: the run is removed and redone;
 *   - every line is checked to parse before it is appended, and a line that does not parse
 *     (cut by hand or by a full disk) does not count as done;
 *   - any other run directory (killed mid-run, or interrupted) is removed and the run redone.
 * Shards own disjoint grid indices, so two processes never touch the same run directory; they
 * share results.jsonl through single O_APPEND writes (tn_append_line). */
#define _XOPEN_SOURCE 700
#include "taunet/sweep.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "taunet/backend.h"
#include "taunet/io.h"
#include "taunet/model.h"
#include "taunet/train.h"
#include "run/planner.h"
#include "run/trainer.h"

/* ---------------------------------------------------------------- ids already in results.jsonl */

typedef struct { uint64_t *v; size_t n, cap; } id_set;

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}
static int id_set_has(const id_set *s, uint64_t id) {
    return s->n && bsearch(&id, s->v, s->n, sizeof id, cmp_u64) != NULL;
}

/* The "id" of every complete line; a torn last line (no '\n') is ignored. *torn tells whether the
 * file ends without a newline, so the caller can end that fragment before appending after it. */
static int load_done(const char *path, id_set *s, int *torn, tn_err *e) {
    struct stat st;
    char *data = NULL;
    size_t len = 0;
    memset(s, 0, sizeof *s);
    *torn = 0;
    if (stat(path, &st) != 0) return 0;
    if (tn_read_file(path, &data, &len, e)) return e->code;
    *torn = len > 0 && data[len - 1] != '\n';
    for (char *line = data; line < data + len;) {
        char *nl = memchr(line, '\n', (size_t)(data + len - line));
        if (!nl) break;
        const char *v;
        size_t vl, ll = (size_t)(nl - line);
        /* only a line that parses records a run: a damaged one is redone (and its new line wins) */
        if (!tn_json_check(line, ll, NULL) && !tn_json_member(line, ll, "id", &v, &vl) && vl == 18 && v[0] == '"') {
            if (s->n == s->cap) {
                size_t cap = s->cap ? 2 * s->cap : 256;
                uint64_t *nv = realloc(s->v, cap * sizeof *nv);
                if (!nv) {
                    free(data);
                    return tn_fail(e, TN_ERUNTIME, "out of memory");
                }
                s->v = nv, s->cap = cap;
            }
            s->v[s->n++] = strtoull(v + 1, NULL, 16);
        }
        line = nl + 1;
    }
    free(data);
    qsort(s->v, s->n, sizeof *s->v, cmp_u64);
    return 0;
}

/* ---------------------------------------------------------------- memory estimate (dry run) */

/* What the trainer will need (the planner's count, the same function train uses), without
 * loading data: image sets have known shapes; their training size is the full set (60000 /
 * 50000) unless --subset says less, an upper bound for the samples. */
static size_t estimate_bytes(const tn_config *c, long long *params) {
    tn_data_dims dd = tn_data_spec_dims(&c->data);
    long n = dd.n_train, nt = dd.n_test;
    if (c->data.subset > 0 && c->data.subset < n) n = c->data.subset;
    long nb = c->opt == TN_OPT_GD ? n : (c->batch < n ? c->batch : n);
    tn_plan *plan;
    tn_err e = {0};
    *params = 0;
    if (tn_plan_make_shape(c, (tn_shape){dd.c, dd.h, dd.w}, dd.d, &plan, &e)) return 0;
    *params = tn_plan_params(plan);
    size_t bytes = tn_run_bytes(c, plan, (int)nb, n, nt);
    tn_plan_free(plan);
    return bytes;
}

/* The dry run knows host memory only (it starts no device); a CUDA run is checked against the
 * device's free memory by the trainer itself. */
static int uses_cpu(const tn_config *c) {
    return c->backend == TN_BACKEND_CPU || (c->backend == TN_BACKEND_AUTO && tn_cuda_device_count() <= 0);
}


static int dry_run(const tn_sweep_grid *g, const tn_sweep_opts *o, const id_set *done, tn_err *e) {
    size_t avail = tn_host_mem_available();
    long mine = 0, refused = 0;
    for (long i = 0; i < g->npoints; i++) mine += tn_sweep_in_shard(i, o->shard_k, o->shard_n);
    printf("sweep: %ld grid points", g->npoints);
    if (o->shard_n > 1) printf(", %ld in shard %d/%d", mine, o->shard_k, o->shard_n);
    printf(" | host memory available %.2f GiB\n", avail / 1073741824.0);
    printf("%6s  %-16s  %12s  %10s  %14s  %s\n", "index", "id", "params", "mem GiB", "mem bytes", "flags");
    for (long i = 0; i < g->npoints; i++) {
        if (!tn_sweep_in_shard(i, o->shard_k, o->shard_n)) continue;
        tn_config c;
        char id[17], what[1024];
        long long params;
        if (tn_sweep_point_config(g, i, &c, e)) return e->code;
        tn_sweep_run_id(&c, id);
        tn_sweep_varied(g, i, 0, what, sizeof what);
        size_t bytes = estimate_bytes(&c, &params);
        int refuse = uses_cpu(&c) && avail && bytes > avail;
        refused += refuse;
        printf("%6ld  %s  %12lld  %10.4g  %14zu  %s%s%s\n", i, id, params, bytes / 1073741824.0, bytes, what,
               refuse ? "  REFUSED (more than the available memory)" : "",
               id_set_has(done, strtoull(id, NULL, 16)) ? "  done" : "");
    }
    if (refused) printf("sweep: %ld run%s would be refused for memory (recorded as failed if run)\n", refused, refused == 1 ? "" : "s");
    return 0;
}

/* ---------------------------------------------------------------- one run */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    return remove(path);
}

/* Removes DIR/runs/<id> (FTW_PHYS: a symbolic link is removed, never followed). */
static int remove_run_dir(const char *dir, tn_err *e) {
    if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        return tn_fail(e, TN_ERUNTIME, "sweep: cannot remove the unfinished run %s (%s); remove it by hand and rerun", dir, strerror(errno));
    return 0;
}

/* summary.json of a run as one line (the writer's output is compact; newlines become spaces),
 * checked: a JSON object whose "status" is a string. NULL with e set (TN_EINPUT: the file is
 * missing or damaged, so the line must not be written from it). */
static char *read_summary(const char *run_dir, tn_err *e) {
    char p[1200], *s = NULL, status[32];
    size_t len = 0, where = 0;
    const char *v;
    size_t vl;
    snprintf(p, sizeof p, "%s/summary.json", run_dir);
    if (tn_read_file(p, &s, &len, e)) return NULL;
    while (len && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\r')) s[--len] = '\0';
    for (size_t k = 0; k < len; k++)
        if (s[k] == '\n' || s[k] == '\r') s[k] = ' ';
    if (tn_json_check(s, len, &where) || s[0] != '{' || tn_json_member(s, len, "status", &v, &vl) ||
        tn_json_get_string(v, vl, status, sizeof status)) {
        tn_fail(e, TN_EINPUT, "%s is damaged (%s at byte %zu of %zu)", p,
                where < len || s[0] != '{' ? "not a JSON object" : "no status", where, len);
        free(s);
        return NULL;
    }
    return s;
}

/* A summary whose run reached its end (not interrupted or halted, which a rerun redoes). */
static int summary_final(const char *s) {
    const char *v;
    size_t vl;
    if (tn_json_member(s, strlen(s), "status", &v, &vl)) return 0;
    return !strncmp(v, "\"finished\"", vl) || !strncmp(v, "\"converged\"", vl) || !strncmp(v, "\"diverged\"", vl);
}

/* {"id":..,"index":..,"flags":{..},"run_dir":"runs/<id>","summary":<summary>} */
static int append_result(const char *results, const tn_sweep_grid *g, long i, const char *id,
                         const char *summary, tn_err *e) {
    tn_json j;
    char rel[32];
    snprintf(rel, sizeof rel, "runs/%s", id);
    tn_json_init(&j);
    tn_json_obj_open(&j, NULL);
    tn_json_str(&j, "id", id);
    tn_json_int(&j, "index", i);
    tn_json_obj_open(&j, "flags");
    tn_sweep_varied_json(g, i, &j);
    tn_json_obj_close(&j);
    tn_json_str(&j, "run_dir", rel);
    tn_json_obj_close(&j);
    if (!j.s) return tn_fail(e, TN_ERUNTIME, "out of memory");
    size_t head = j.len - 1, sl = strlen(summary); /* drop the closing '}' and add the summary */
    char *line = malloc(head + sl + 16);
    if (!line) {
        tn_json_free(&j);
        return tn_fail(e, TN_ERUNTIME, "out of memory");
    }
    memcpy(line, j.s, head);
    snprintf(line + head, sl + 16, ",\"summary\":%s}", summary);
    tn_json_free(&j);
    size_t where;
    int rc = tn_json_check(line, strlen(line), &where)
                 ? tn_fail(e, TN_ERUNTIME, "sweep: the results line of run %s does not parse (byte %zu); nothing appended", id, where)
                 : tn_append_line(results, line, e);
    free(line);
    return rc;
}

static char *failed_summary(const char *reason) {
    tn_json j;
    tn_json_init(&j);
    tn_json_obj_open(&j, NULL);
    tn_json_str(&j, "status", "failed");
    tn_json_str(&j, "reason", reason);
    tn_json_obj_close(&j);
    return j.s; /* owned by the caller */
}

/* A number from the summary text for the progress line (NaN when absent or null). */
static double summary_num(const char *s, const char *key) {
    const char *v;
    size_t vl;
    if (tn_json_member(s, strlen(s), key, &v, &vl) || !strncmp(v, "null", 4)) return 0.0 / 0.0;
    return strtod(v, NULL);
}

/* Image data directories are checked up front: a typo would otherwise fail every run, and failed
 * runs are results that a rerun skips. */
static int check_data_dirs(const tn_sweep_grid *g, tn_err *e) {
    for (long i = 0; i < g->npoints; i++) {
        tn_config c;
        struct stat st;
        if (tn_sweep_point_config(g, i, &c, e)) return e->code;
        if (c.data.kind != TN_DATA_SYNTHETIC && (stat(c.data.dir, &st) != 0 || !S_ISDIR(st.st_mode)))
            return tn_fail(e, TN_EINPUT, "--data: '%s' is not a directory; fetch the data (data/fetch.sh) or fix the path", c.data.dir);
    }
    return 0;
}

/* What one pass over the grid shares between its points: where results go, what is already done,
 * and the running counts for the progress lines and the closing summary. */
typedef struct {
    const tn_sweep_grid *g;
    const char *results, *runs;
    const id_set *done;
    long total, skipped, failed;
    int *interrupted;
} sweep_ctx;

/* The progress line of a point whose result line was appended; reason is the failure message. */
static void print_progress(long k, long total, long i, const char *id, const char *what, const char *how,
                           const char *summary, const char *reason) {
    const char *sv;
    size_t sl;
    char status[32] = "?";
    if (!tn_json_member(summary, strlen(summary), "status", &sv, &sl) && sl >= 2 && sl < sizeof status)
        snprintf(status, sizeof status, "%.*s", (int)sl - 2, sv + 1);
    if (!strcmp(status, "failed"))
        printf("[%ld/%ld] #%ld %s failed    %s  (%s)\n", k, total, i, id, what, reason);
    else
        printf("[%ld/%ld] #%ld %s %-9s train loss %.5g test acc %.4f %.3gs  %s%s\n", k, total, i, id,
               status, summary_num(summary, "train_loss"), summary_num(summary, "test_acc"),
               summary_num(summary, "seconds"), what, how);
    fflush(stdout);
}

/* Grid point i, the k-th of this shard: skip it if done, recover it from a final summary.json, or
 * (re)run it; then append its result line and print its progress line. Nonzero stops the sweep,
 * and so does *x->interrupted. */
static int run_point(sweep_ctx *x, long i, long k, tn_err *e) {
    tn_config c;
    tn_train_summary s;
    tn_err te = {0};
    char id[17], dir[1200], what[1024], *summary = NULL;
    struct stat st;
    int rc;
    if ((rc = tn_sweep_point_config(x->g, i, &c, e))) return rc;
    tn_sweep_run_id(&c, id);
    if (id_set_has(x->done, strtoull(id, NULL, 16))) {
        x->skipped++;
        return 0;
    }
    snprintf(dir, sizeof dir, "%s/%s", x->runs, id);
    tn_sweep_varied(x->g, i, 0, what, sizeof what);
    const char *how = "";
    if (stat(dir, &st) == 0) {
        summary = read_summary(dir, &te);
        if (summary && summary_final(summary)) how = " (recovered from its summary.json)";
        else {
            /* unfinished, or its summary damaged: never spliced into results.jsonl, run again */
            if (!summary && strstr(te.msg, " is damaged ("))
                printf("sweep: #%ld %s: %s; running it again\n", i, id, te.msg);
            free(summary);
            summary = NULL;
            tn_err_clear(&te);
            if ((rc = remove_run_dir(dir, e))) return rc;
        }
    }
    if (!summary) {
        if (snprintf(c.out, sizeof c.out, "%s", dir) >= (int)sizeof c.out)
            return tn_fail(e, TN_EINPUT, "--out: path too long");
        if (tn_train(&c, 1, &s, &te)) {
            summary = failed_summary(te.msg);
            x->failed++;
        } else if (s.status == TN_STATUS_INTERRUPTED) {
            *x->interrupted = 1;
            return 0;
        } else if (!(summary = read_summary(dir, &te))) {
            /* the run ended but its summary cannot be read back: a failed run, with the reason */
            summary = failed_summary(te.msg);
            x->failed++;
        }
    }
    if (!summary) return tn_fail(e, TN_ERUNTIME, "out of memory");
    rc = append_result(x->results, x->g, i, id, summary, e);
    if (!rc) print_progress(k, x->total, i, id, what, how, summary, te.msg);
    free(summary);
    return rc;
}

int tn_sweep_run(const tn_sweep_grid *g, const tn_sweep_opts *o, int *interrupted, tn_err *e) {
    char results[1100], runs[1100];
    id_set done;
    int torn = 0, rc = 0;
    *interrupted = 0;
    snprintf(results, sizeof results, "%s/results.jsonl", o->out);
    snprintf(runs, sizeof runs, "%s/runs", o->out);
    if (tn_sweep_validate(g, e)) return e->code;
    if (o->out[0] && load_done(results, &done, &torn, e)) return e->code;
    if (!o->out[0]) memset(&done, 0, sizeof done);
    if (o->dry_run) {
        rc = dry_run(g, o, &done, e);
        free(done.v);
        return rc;
    }
    if (check_data_dirs(g, e) || tn_mkdir_p(runs, e)) goto out;
    /* A torn fragment (e.g. a line cut by hand) gets its newline, so our line starts fresh. */
    if (torn && tn_append_line(results, "", e)) goto out;

    sweep_ctx x = {g, results, runs, &done, 0, 0, 0, interrupted};
    long k = 0;
    for (long i = 0; i < g->npoints; i++) x.total += tn_sweep_in_shard(i, o->shard_k, o->shard_n);
    printf("sweep: %ld grid point%s", g->npoints, g->npoints == 1 ? "" : "s");
    if (o->shard_n > 1) printf(", %ld in shard %d/%d", x.total, o->shard_k, o->shard_n);
    printf(" -> %s\n", results);
    fflush(stdout);
    for (long i = 0; i < g->npoints && !rc && !*interrupted; i++) {
        if (!tn_sweep_in_shard(i, o->shard_k, o->shard_n)) continue;
        k++;
        rc = run_point(&x, i, k, e);
    }
    if (!rc && !*interrupted)
        printf("sweep: ran %ld, skipped %ld already in results.jsonl, %ld failed; results in %s\n",
               x.total - x.skipped, x.skipped, x.failed, results);
out:
    free(done.v);
    return rc ? rc : e->code;
}
