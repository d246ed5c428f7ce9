/* `taunet report SWEEP_DIR|RESULTS|RUN_DIR [--format md|csv] [--figures DIR|none]`: one table row
 * per run of a sweep's results.jsonl (or, for one run directory, its final numbers), then the
 * figures drawn by bench/figures.py (matplotlib). The table needs nothing but this binary;
 * figures are optional, so a missing matplotlib is one line and exit 0, not an error. A results
 * file without one complete line is bad input (exit 2). */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "taunet/io.h"
#include "taunet/sweep.h"

extern char **environ;

typedef struct { const char *s; size_t n; } span;
typedef struct { span id, flags, summary; long index, seq; } row;

#define MAX_COLS 64
static const char *sum_cols[] = {"status", "steps", "steps_to_target", "train_loss", "train_acc", "test_acc", "s_per_step"};
#define NSUM ((int)(sizeof sum_cols / sizeof sum_cols[0]))

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}
static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static span member(span obj, const char *key) {
    span v = {NULL, 0};
    if (obj.s && tn_json_member(obj.s, obj.n, key, &v.s, &v.n)) v.s = NULL, v.n = 0;
    return v;
}

/* A cell's text: strings without quotes, null/absent as `none`, numbers formatted for md. */
static void cell(span v, const char *col, int csv, char *buf, size_t cap) {
    if (!v.s || (v.n == 4 && !strncmp(v.s, "null", 4))) {
        snprintf(buf, cap, "%s", csv ? "" : "-");
        return;
    }
    if (v.s[0] == '"') {
        snprintf(buf, cap, "%.*s", (int)(v.n >= 2 ? v.n - 2 : 0), v.s + 1);
        return;
    }
    double x = strtod(v.s, NULL);
    if (csv || !col) snprintf(buf, cap, "%.*s", (int)v.n, v.s); /* exact, as written */
    else if (!strcmp(col, "train_acc") || !strcmp(col, "test_acc")) snprintf(buf, cap, "%.4f", x);
    else if (!strcmp(col, "train_loss")) snprintf(buf, cap, "%.4g", x);
    else if (!strcmp(col, "s_per_step")) snprintf(buf, cap, "%.3g", x);
    else snprintf(buf, cap, "%.*s", (int)v.n, v.s);
}

static void put_cell(const char *t, int csv, int first) {
    if (csv) {
        fputs(first ? "" : ",", stdout);
        if (strpbrk(t, ",\"\n")) { /* RFC 4180 quoting: schedules like step:30,60 */
            putchar('"');
            for (; *t; t++) {
                if (*t == '"') putchar('"');
                putchar(*t);
            }
            putchar('"');
        } else fputs(t, stdout);
    } else {
        fputs(first ? "| " : " | ", stdout);
        for (; *t; t++) {
            if (*t == '|') putchar('\\');
            putchar(*t);
        }
    }
}

static int cmp_row(const void *a, const void *b) {
    const row *x = a, *y = b;
    if (x->index != y->index) return x->index < y->index ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}
/* By id, then file order: the last line of an id ends its run of equal ids. */
static int cmp_id_seq(const void *a, const void *b) {
    const row *x = a, *y = b;
    size_t n = x->id.n < y->id.n ? x->id.n : y->id.n;
    int c = memcmp(x->id.s, y->id.s, n);
    if (c || x->id.n != y->id.n) return c ? c : (x->id.n < y->id.n ? -1 : 1);
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Python with matplotlib: Debian's /usr/bin/python3 first (a pyenv python3 on PATH often lacks
 * it), then python3 on PATH. */
static const char *find_python(void) {
    static const char *cand[] = {"/usr/bin/python3", "python3"};
    for (int i = 0; i < 2; i++) {
        char *argv[] = {(char *)cand[i], "-c", "import matplotlib", NULL};
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int st = 0;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        int rc = posix_spawnp(&pid, cand[i], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc == 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0) return cand[i];
    }
    return NULL;
}

/* bench/figures.py: $TAUNET_SCRIPTS_DIR, the source tree this was built from, or ../bench next to
 * the binary (build/taunet in a checkout). */
static int find_script(char *buf, size_t cap) {
    struct stat st;
    const char *env = getenv("TAUNET_SCRIPTS_DIR");
    if (env && *env) {
        snprintf(buf, cap, "%s/figures.py", env);
        return stat(buf, &st) == 0 ? 0 : -1;
    }
#ifdef TAUNET_SOURCE_DIR
    snprintf(buf, cap, "%s/bench/figures.py", TAUNET_SOURCE_DIR);
    if (stat(buf, &st) == 0) return 0;
#endif
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        snprintf(buf, cap, "%s/../bench/figures.py", exe);
        if (stat(buf, &st) == 0) return 0;
    }
    snprintf(buf, cap, "bench/figures.py");
    return stat(buf, &st) == 0 ? 0 : -1;
}

/* bench/figures.py on a sweep (results.jsonl) or, with run, on one run directory. */
static int figures(const char *results, const char *figdir, int csv, int run) {
    FILE *msg = csv ? stderr : stdout; /* never mix messages into a CSV on stdout */
    char script[1200];
    const char *py = find_python();
    if (!py) {
        fprintf(msg, "figures skipped: no python3 with matplotlib; install it with: apt-get install python3-matplotlib\n");
        return 0;
    }
    if (find_script(script, sizeof script)) {
        fprintf(msg, "figures skipped: bench/figures.py not found; set TAUNET_SCRIPTS_DIR to the folder that holds it\n");
        return 0;
    }
    char *argv[] = {(char *)py, script, (char *)results, "--out", (char *)figdir, run ? "--run" : NULL, NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st = 0;
    fflush(stdout);
    posix_spawn_file_actions_init(&fa);
    if (csv) posix_spawn_file_actions_adddup2(&fa, 2, 1);
    int rc = posix_spawnp(&pid, py, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "taunet: report: cannot start %s: %s; the table above is complete\n", py, strerror(rc));
        return 1;
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "taunet: report: %s %s failed (%s %d); the table above is complete\n", py, script,
                WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        return 1;
    }
    return 0;
}

/* The rows of results.jsonl: complete lines that parse (a half-written last line and damaged
 * lines are skipped, with a warning on stderr), the last line of an id winning. */
static int load_rows(const char *results, char *data, size_t len, row **out, size_t *n_out) {
    size_t nr = 0, cap = 0;
    row *rows = NULL;
    long bad = 0, lineno = 0;
    for (char *line = data; line < data + len;) {
        char *nl = memchr(line, '\n', (size_t)(data + len - line));
        lineno++;
        if (!nl) {
            fprintf(stderr, "taunet: report: the last line of %s is incomplete (a sweep still writing, or one killed mid-line); skipped\n", results);
            break;
        }
        span obj = {line, (size_t)(nl - line)};
        line = nl + 1;
        if (obj.n == 0) continue;
        row r = {member(obj, "id"), member(obj, "flags"), member(obj, "summary"), 0, (long)nr};
        if (tn_json_check(obj.s, obj.n, NULL) || !r.id.s || r.id.s[0] != '"' || !r.summary.s || r.summary.s[0] != '{') {
            if (bad++ < 3) fprintf(stderr, "taunet: report: line %ld of %s is not a complete result line; skipped\n", lineno, results);
            continue;
        }
        span ix = member(obj, "index");
        r.index = ix.s ? strtol(ix.s, NULL, 10) : 0;
        if (nr == cap) {
            cap = cap ? 2 * cap : 64;
            row *nrw = realloc(rows, cap * sizeof *rows);
            if (!nrw) {
                free(rows);
                fprintf(stderr, "taunet: out of memory\n");
                return 1;
            }
            rows = nrw;
        }
        rows[nr++] = r;
    }
    if (bad > 3) fprintf(stderr, "taunet: report: %ld lines of %s skipped in all\n", bad, results);
    if (!nr) {
        fprintf(stderr, "taunet: report: %s has no complete result line%s; run the sweep (taunet sweep ... --out DIR) or pass its directory\n",
                results, bad ? " (every line is damaged)" : "");
        free(rows);
        return 2;
    }
    /* One row per id (a rerun after a damaged line, or a hand-merged file): keep its last line. */
    qsort(rows, nr, sizeof *rows, cmp_id_seq);
    size_t kept = 0;
    for (size_t i = 0; i < nr; i++)
        if (i + 1 == nr || rows[i].id.n != rows[i + 1].id.n || memcmp(rows[i].id.s, rows[i + 1].id.s, rows[i].id.n))
            rows[kept++] = rows[i];
    qsort(rows, kept, sizeof *rows, cmp_row);
    *out = rows, *n_out = kept;
    return 0;
}

/* The table: one row per run, the varied flags as columns (in the order the rows name them). */
static void print_table(const row *rows, size_t nr, int csv) {
    span cols[MAX_COLS];
    int nc = 0;
    for (size_t i = 0; i < nr; i++) {
        size_t pos = 0, kl, vl;
        const char *k, *v;
        while (rows[i].flags.s && !tn_json_next_member(rows[i].flags.s, rows[i].flags.n, &pos, &k, &kl, &v, &vl)) {
            int c = 0;
            while (c < nc && !(cols[c].n == kl && !memcmp(cols[c].s, k, kl))) c++;
            if (c == nc && nc < MAX_COLS) cols[nc++] = (span){k, kl};
        }
    }
    char head[128], t[1100];
    put_cell("index", csv, 1);
    for (int c = 0; c < nc; c++) snprintf(head, sizeof head, "%.*s", (int)cols[c].n, cols[c].s), put_cell(head, csv, 0);
    for (int c = 0; c < NSUM; c++) put_cell(sum_cols[c], csv, 0);
    puts(csv ? "" : " |");
    if (!csv) {
        for (int c = 0; c < 1 + nc + NSUM; c++) fputs(c < 1 + nc ? "| --- " : "| ---: ", stdout);
        puts("|");
    }
    long failed = 0;
    for (size_t i = 0; i < nr; i++) {
        snprintf(t, sizeof t, "%ld", rows[i].index);
        put_cell(t, csv, 1);
        for (int c = 0; c < nc; c++) {
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)cols[c].n, cols[c].s);
            cell(member(rows[i].flags, key), NULL, csv, t, sizeof t);
            put_cell(t, csv, 0);
        }
        for (int c = 0; c < NSUM; c++) {
            cell(member(rows[i].summary, sum_cols[c]), sum_cols[c], csv, t, sizeof t);
            put_cell(t, csv, 0);
            if (c == 0 && !strcmp(t, "failed")) failed++;
        }
        puts(csv ? "" : " |");
    }
    if (!csv && failed) { /* why they failed: the reason is in the summary */
        printf("\nfailed runs:\n");
        for (size_t i = 0; i < nr; i++) {
            span st = member(rows[i].summary, "status"), re = member(rows[i].summary, "reason");
            if (st.s && !strncmp(st.s, "\"failed\"", st.n) && re.s)
                printf("- index %ld (%.*s): %.*s\n", rows[i].index, (int)rows[i].id.n - 2, rows[i].id.s + 1, (int)re.n - 2, re.s + 1);
        }
    }
    fflush(stdout);
}

/* `taunet report RUN_DIR`: one run's final numbers and its curves (figures.py --run). */
static int report_run(const char *dir, const char *fig) {
    char p[1200], *s = NULL, status[64] = "no summary.json: running, or killed";
    size_t len = 0;
    tn_err e = {0};
    snprintf(p, sizeof p, "%s/summary.json", dir);
    double tl = NAN, ta = NAN, vl = NAN, va = NAN;
    if (!tn_read_file(p, &s, &len, &e) && !tn_json_check(s, len, NULL)) {
        span obj = {s, len};
        span v = member(obj, "status");
        if (v.s && tn_json_get_string(v.s, v.n, status, sizeof status)) status[0] = '\0';
        span f[4] = {member(obj, "train_loss"), member(obj, "train_acc"), member(obj, "test_loss"), member(obj, "test_acc")};
        double *dst[4] = {&tl, &ta, &vl, &va};
        for (int k = 0; k < 4; k++)
            if (f[k].s && f[k].s[0] != 'n') *dst[k] = strtod(f[k].s, NULL);
    }
    free(s);
    printf("run %s: %s | train loss %.5g acc %.4f | test loss %.5g acc %.4f\n", dir, status, tl, ta, vl, va);
    if (fig && !strcmp(fig, "none")) return 0;
    char figdir[1300];
    snprintf(figdir, sizeof figdir, "%s", fig ? fig : "");
    if (!fig) snprintf(figdir, sizeof figdir, "%s/figures", dir);
    return figures(dir, figdir, 0, 1);
}

int tn_cli_report(int argc, char **argv) {
    const char *in = NULL, *fig = NULL;
    int csv = 0;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--format") && v) {
            if (strcmp(v, "md") && strcmp(v, "csv")) {
                fprintf(stderr, "taunet: report --format: '%s' is not one of md, csv\n", v);
                return 2;
            }
            csv = !strcmp(v, "csv"), i++;
        } else if (!strcmp(argv[i], "--figures") && v) fig = v, i++;
        else if (argv[i][0] != '-' && !in) in = argv[i];
        else {
            fprintf(stderr, "taunet: report: unexpected '%s'; usage: taunet report SWEEP_DIR|RESULTS|RUN_DIR [--format md|csv] [--figures DIR|none]\n", argv[i]);
            return 2;
        }
    }
    if (!in) {
        fprintf(stderr, "taunet: report needs a sweep directory, its results.jsonl, or a run directory: taunet report DIR\n");
        return 2;
    }
    char results[1200], dir[1200], figdir[1300], probe[1300];
    if (is_dir(in)) {
        snprintf(results, sizeof results, "%s/results.jsonl", in), snprintf(dir, sizeof dir, "%s", in);
        snprintf(probe, sizeof probe, "%s/metrics.jsonl", in);
        if (!file_exists(results) && file_exists(probe)) return report_run(in, fig); /* one run */
    } else {
        snprintf(results, sizeof results, "%s", in);
        snprintf(dir, sizeof dir, "%s", in);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        else snprintf(dir, sizeof dir, ".");
    }
    tn_err e = {0};
    char *data = NULL;
    size_t len = 0, nr = 0;
    row *rows = NULL;
    if (tn_read_file(results, &data, &len, &e)) {
        fprintf(stderr, "taunet: report: cannot read %s; pass a sweep directory (with results.jsonl), the file, or a run directory (with metrics.jsonl)\n", results);
        return 2;
    }
    int rc = load_rows(results, data, len, &rows, &nr);
    if (!rc) print_table(rows, nr, csv);
    free(rows);
    free(data);
    if (rc || (fig && !strcmp(fig, "none"))) return rc;
    snprintf(figdir, sizeof figdir, "%s", fig ? fig : "");
    if (!fig) snprintf(figdir, sizeof figdir, "%s/figures", dir);
    return figures(results, figdir, csv, 0);
}
