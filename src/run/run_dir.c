/* Run directory files. Whole files are written atomically; metrics lines are appended whole. */
#define _POSIX_C_SOURCE 200809L
#include "run/run_dir.h"

#include "taunet/diag.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int dir_has_run(const char *dir) {
    char p[1200];
    struct stat st;
    const char *files[] = {"config.json", "metrics.jsonl", "summary.json", "checkpoint.bin"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        if (stat(p, &st) == 0) return 1;
    }
    return 0;
}

int tn_run_dir_create(const tn_config *c, char *dir, size_t cap, tn_err *e) {
    if (c->resume[0]) {
        snprintf(dir, cap, "%s", c->resume);
        return tn_remove_stale_temps(dir, NULL, e); /* e.g. a checkpoint whose write was killed */
    }
    if (c->out[0]) {
        snprintf(dir, cap, "%s", c->out);
        if (dir_has_run(dir))
            return tn_fail(e, TN_EINPUT, "--out %s already holds a run; choose another directory, or continue it with --resume %s", dir, dir);
        if (tn_remove_stale_temps(dir, NULL, e)) return e->code;
    } else {
            char stamp[32];
        time_t t = time(NULL);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        for (int k = 0; k < 1000; k++) {
            snprintf(dir, cap, k ? "runs/%s-%s-m%d-L%d-s%llu-%d" : "runs/%s-%s-m%d-L%d-s%llu", stamp,
                     tn_arch_name(c->arch), c->width, c->depth, (unsigned long long)c->seed, k);
            struct stat st;
            if (stat(dir, &st) != 0) break;
        }
    }
    return tn_mkdir_p(dir, e);
}

static int write_json_file(const char *dir, const char *name, tn_json *j, tn_err *e) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    size_t len = j->len;
    char *buf = malloc(len + 2);
    if (!buf) return tn_fail(e, TN_ERUNTIME, "out of memory writing %s", p);
    memcpy(buf, j->s, len);
    buf[len] = '\n';
    int st = tn_write_atomic(p, buf, len + 1, e);
    free(buf);
    return st;
}

int tn_run_dir_write_config(const char *dir, const tn_config *c, long long params, size_t mem_bytes,
                            const char *backend, tn_err *e) {
    tn_json j;
    tn_json_init(&j);
    tn_json_obj_open(&j, NULL);
    tn_json_str(&j, "taunet_version", TAUNET_VERSION);
    tn_config_to_json(c, &j);
    tn_json_str(&j, "backend_used", backend);
    /* the canonical flags: what restarts a run killed before its first checkpoint */
    char flags[8192];
    if (tn_config_to_flags(c, flags, sizeof flags) == 0) tn_json_str(&j, "flags", flags);
    tn_json_int(&j, "params", params);
    tn_json_num(&j, "memory_estimate_gib", mem_bytes / 1073741824.0);
    tn_json_int(&j, "memory_estimate_bytes", (long long)mem_bytes);
    tn_json_obj_close(&j);
    int st = write_json_file(dir, "config.json", &j, e);
    tn_json_free(&j);
    return st;
}

int tn_run_dir_write_summary(const char *dir, const tn_config *c, const tn_train_summary *s,
                             const struct tn_diag *d, tn_err *e) {
    tn_json j;
    tn_json_init(&j);
    tn_json_obj_open(&j, NULL);
    tn_json_str(&j, "status", tn_status_name(s->status));
    if (s->reason[0]) tn_json_str(&j, "reason", s->reason);
    tn_json_int(&j, "steps", s->steps_done);
    if (s->status == TN_STATUS_DIVERGED) tn_json_int(&j, "diverged_step", s->diverged_step);
    if (s->steps_to_target >= 0) tn_json_int(&j, "steps_to_target", s->steps_to_target);
    else tn_json_null(&j, "steps_to_target");
    tn_json_num(&j, "train_loss", s->final_train_loss);
    tn_json_num(&j, "train_acc", s->final_train_acc);
    tn_json_num(&j, "test_loss", s->final_test_loss);
    tn_json_num(&j, "test_acc", s->final_test_acc);
    if (c->data.val > 0) tn_json_num(&j, "val_loss", s->final_val_loss), tn_json_num(&j, "val_acc", s->final_val_acc);
    tn_json_num(&j, "best_train_loss", s->best_train_loss);
    tn_json_num(&j, "best_test_acc", s->best_test_acc);
    tn_json_num(&j, "seconds", s->seconds);
    tn_json_num(&j, "s_per_step", s->s_per_step);
    tn_json_int(&j, "graph_steps", s->graph_steps);
    if (d) tn_diag_summary(d, &j);
    tn_json_obj_open(&j, "config");
    tn_config_to_json(c, &j);
    tn_json_obj_close(&j);
    tn_json_obj_close(&j);
    int st = write_json_file(dir, "summary.json", &j, e);
    tn_json_free(&j);
    return st;
}

int tn_run_dir_truncate_metrics(const char *dir, long step, double *last_time, tn_err *e) {
    char p[1200];
    char *data = NULL;
    size_t len = 0;
    snprintf(p, sizeof p, "%s/metrics.jsonl", dir);
    struct stat st;
    if (stat(p, &st) != 0) return 0;
    if (tn_read_file(p, &data, &len, e)) return e->code;
    size_t keep = 0;
    char *line = data;
    while (line < data + len) {
        char *nl = memchr(line, '\n', (size_t)(data + len - line));
        if (!nl) break; /* a torn last line is dropped */
        const char *s = strstr(line, "\"step\":");
        if (!s || s > nl || strtol(s + 7, NULL, 10) > step) break;
        const char *tm = strstr(line, "\"time\":");
        if (tm && tm < nl) *last_time = strtod(tm + 7, NULL);
        keep = (size_t)(nl + 1 - data);
        line = nl + 1;
    }
    int rc = keep == len ? 0 : tn_write_atomic(p, data, keep, e);
    free(data);
    return rc;
}

int tn_run_dir_clear_outputs(const char *dir, tn_err *e) {
    char p[1200];
    double unused = 0.0;
    if (tn_run_dir_truncate_metrics(dir, -1, &unused, e)) return e->code;
    snprintf(p, sizeof p, "%s/summary.json", dir);
    if (remove(p) != 0 && errno != ENOENT)
        return tn_fail(e, TN_ERUNTIME, "cannot remove %s (%s); remove it by hand and retry", p, strerror(errno));
    return 0;
}

int tn_ckpt_meta_build(const tn_config *c, const tn_ckpt_state *s, char **meta, tn_err *e) {
    size_t cap = 16384;
    char *m = malloc(cap);
    if (!m) return tn_fail(e, TN_ERUNTIME, "out of memory");
    char id[17], shape[64] = "";
    tn_config_identity_hex(c, id);
    if (s->h * s->w > 1) snprintf(shape, sizeof shape, "shape %d %d %d\n", s->c, s->h, s->w);
    int n = snprintf(m, cap,
                     "taunet-checkpoint\nstep %ld\nfirst_loss %.17g\nbest_train_loss %.17g\n"
                     "best_test_acc %.17g\nsteps_to_target %ld\ndims %d %d\n%srun %s\nflags\n",
                     s->step, s->first_loss, s->best_train_loss, s->best_test_acc, s->steps_to_target,
                     s->p, s->d, shape, id);
    if (n < 0 || tn_config_to_flags(c, m + n, cap - (size_t)n)) {
        free(m);
        return tn_fail(e, TN_ERUNTIME, "checkpoint: configuration too long to store");
    }
    *meta = m;
    return 0;
}

int tn_ckpt_meta_parse(const char *meta, const char *path, tn_ckpt_state *s, const char **flags, tn_err *e) {
    int got = sscanf(meta,
                     "taunet-checkpoint\nstep %ld\nfirst_loss %lg\nbest_train_loss %lg\n"
                     "best_test_acc %lg\nsteps_to_target %ld\ndims %d %d\n",
                     &s->step, &s->first_loss, &s->best_train_loss, &s->best_test_acc,
                     &s->steps_to_target, &s->p, &s->d);
    const char *f = strstr(meta, "\nflags\n"), *r = strstr(meta, "\nrun ");
    if (got != 7 || !f)
        return tn_fail(e, TN_EINPUT, "checkpoint %s: its header text is not taunet's; resume from a run directory written by taunet train", path);
    /* an image's shape (absent for vectors and in checkpoints before conv nets: p x 1 x 1) */
    const char *sh = strstr(meta, "\nshape ");
    s->c = s->p, s->h = s->w = 1;
    if (sh && sh < f && (sscanf(sh + 7, "%d %d %d", &s->c, &s->h, &s->w) != 3 || s->c < 1 || s->h < 1 || s->w < 1 ||
                         (long long)s->c * s->h * s->w != s->p))
        return tn_fail(e, TN_EINPUT, "checkpoint %s: its shape line does not match its %d input features; resume from a run directory written by taunet train", path, s->p);
    /* the run's identity (absent in checkpoints of taunet 0.1.0 before identities) */
    s->run_id[0] = '\0';
    if (r && r < f && strspn(r + 5, "0123456789abcdef") == 16 && r[21] == '\n') {
        memcpy(s->run_id, r + 5, 16);
        s->run_id[16] = '\0';
    }
    *flags = f + 7;
    return 0;
}
