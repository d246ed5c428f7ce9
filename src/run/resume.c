#define _POSIX_C_SOURCE 200809L
/* `--resume DIR`: rebuild the configuration of the run in DIR and apply the few flags that may
 * change when a run continues (the resumable flags of the flag table).
 *
 * The configuration comes from DIR/checkpoint.bin. A run is one identity (tn_config_identity),
 * stored in config.json, in the checkpoint and in every metrics line; a checkpoint copied in from
 * another run, or metrics lines of another run, are refused before anything is written, so two
 * runs are never spliced. A run killed before its first checkpoint has only config.json (with
 * its canonical flags): it is restarted cleanly, from step 0, in place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "run/run_dir.h"

/* Splits the stored "--flag\nvalue\n..." text into an argv (pointers into buf). */
static int split_lines(char *buf, char **argv, int cap) {
    int n = 0;
    char *s = buf;
    while (*s && n < cap) {
        argv[n++] = s;
        char *nl = strchr(s, '\n');
        if (!nl) break;
        *nl = '\0';
        s = nl + 1;
    }
    return n;
}

static int exists(const char *dir, const char *name) {
    char p[1200];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

/* The stored flags parsed over the defaults. */
static int parse_stored(const char *flags, const char *what, tn_config *c, tn_err *e) {
    char *buf = strdup(flags), *argv[256];
    if (!buf) return tn_fail(e, TN_ERUNTIME, "out of memory");
    tn_config_defaults(c);
    tn_err pe = {0};
    int rc = tn_config_parse(c, split_lines(buf, argv, 256), argv, &pe);
    free(buf);
    if (rc) return tn_fail(e, TN_EINPUT, "%s holds a configuration this taunet refuses (%s); start a new run with --out", what, pe.msg);
    return 0;
}

/* The stored configuration with the command line's overrides; anything but the resumable flags
 * must stay as it was. */
static int apply_overrides(const char *dir, const tn_config *stored, int argc, char **argv, tn_config *c,
                           tn_err *e) {
    tn_config base = *stored, over = *stored;
    if (tn_config_parse(&over, argc, argv, e)) return e->code;
    /* Copy what may change, then everything else must be equal. */
    tn_config cmp = over;
    tn_config_copy_resumable(&base, &over);
    memset(cmp.resume, 0, sizeof cmp.resume);
    memset(cmp.out, 0, sizeof cmp.out);
    char a[8192], b[8192];
    tn_config_to_flags(&base, a, sizeof a);
    tn_config_to_flags(&cmp, b, sizeof b);
    if (strcmp(a, b) != 0) {
        /* Name the first differing flag. */
        char *pa = a, *pb = b, *flag = a;
        while (*pa && *pa == *pb) {
            if (*pa == '\n' && pa[1] == '-' && pa[2] == '-') flag = pa + 1;
            pa++, pb++;
        }
        char *end = strchr(flag, '\n');
        if (end) *end = '\0';
        return tn_fail(e, TN_EINPUT, "--resume %s: %s cannot change when resuming (only %s can); start a new run with --out instead", dir, flag, tn_resumable_names());
    }
    snprintf(base.resume, sizeof base.resume, "%s", dir);
    *c = base;
    return 0;
}

/* DIR/name read and checked as JSON (one object per line for .jsonl: only complete lines).
 * *data is NULL when the file does not exist. */
static int read_json_file(const char *dir, const char *name, char **data, size_t *len, tn_err *e) {
    char p[1200];
    *data = NULL, *len = 0;
    if (!exists(dir, name)) return 0;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return tn_read_file(p, data, len, e);
}

/* A string member of checked JSON text into out ("" when absent). */
static void member_str(const char *obj, size_t len, const char *key, char *out, size_t cap) {
    const char *v;
    size_t vl;
    if (tn_json_member(obj, len, key, &v, &vl) || tn_json_get_string(v, vl, out, cap)) out[0] = '\0';
}

static long long member_int(const char *obj, size_t len, const char *key) {
    const char *v;
    size_t vl;
    return tn_json_member(obj, len, key, &v, &vl) ? -1 : strtoll(v, NULL, 10);
}

/* config.json of DIR: checked; its run id and seed (id "" when the file or the member is absent,
 * as in run directories of taunet before identities). */
static int config_json(const char *dir, char **data, size_t *len, char id[17], long long *seed, tn_err *e) {
    size_t where;
    id[0] = '\0', *seed = -1;
    if (read_json_file(dir, "config.json", data, len, e)) return e->code;
    if (!*data) return 0;
    if (tn_json_check(*data, *len, &where))
        return tn_fail(e, TN_EINPUT, "--resume %s: %s/config.json is damaged (not JSON at byte %zu); restore it, or remove it to resume from checkpoint.bin alone", dir, dir, where);
    member_str(*data, *len, "run_id", id, 17);
    *seed = member_int(*data, *len, "seed");
    return 0;
}

/* Every complete metrics line must be of run `id` (lines without a run id: older taunet). */
static int check_metrics(const char *dir, const char *id, long long seed, tn_err *e) {
    char *data, lid[17];
    size_t len;
    if (read_json_file(dir, "metrics.jsonl", &data, &len, e)) return e->code;
    long n = 0;
    int rc = 0;
    for (char *line = data; data && line < data + len && !rc; n++) {
        char *nl = memchr(line, '\n', (size_t)(data + len - line));
        if (!nl) break; /* a torn last line is dropped on resume */
        size_t ll = (size_t)(nl - line);
        if (!tn_json_check(line, ll, NULL)) {
            member_str(line, ll, "run_id", lid, sizeof lid);
            if (lid[0] && strcmp(lid, id))
                rc = tn_fail(e, TN_EINPUT, "--resume %s: metrics.jsonl line %ld is of run %s, the checkpoint of run %s (seed %lld): the directory mixes two runs; move the other run's files out, or start a new run with --out", dir, n + 1, lid, id, seed);
        }
        line = nl + 1;
    }
    free(data);
    return rc;
}

/* A run killed before its first checkpoint: its config.json alone tells the run. It restarts
 * from step 0 in place, unless it had ended (a diverged run keeps its result). */
static int restart_config(const char *dir, int argc, char **argv, tn_config *c, tn_err *e) {
    char *cfg = NULL, *sum = NULL, id[17], flags[8192], status[32], mine[17];
    size_t clen, slen;
    long long seed;
    tn_config stored;
    int rc = config_json(dir, &cfg, &clen, id, &seed, e);
    if (!rc && !cfg)
        rc = tn_fail(e, TN_EINPUT, "--resume %s: no checkpoint.bin and no config.json there: not a taunet run directory; pass a directory that taunet train wrote, or start a new run with --out", dir);
    if (!rc && (!id[0] || tn_json_member(cfg, clen, "flags", &(const char *){0}, &(size_t){0})))
        rc = tn_fail(e, TN_EINPUT, "--resume %s: no checkpoint.bin, and its config.json predates restartable runs; remove %s and start the run again with --out %s", dir, dir, dir);
    if (!rc) {
        member_str(cfg, clen, "flags", flags, sizeof flags);
        if (!flags[0]) rc = tn_fail(e, TN_EINPUT, "--resume %s: config.json has a damaged \"flags\" member; remove %s and start the run again", dir, dir);
    }
    if (!rc && !read_json_file(dir, "summary.json", &sum, &slen, e) && sum && !tn_json_check(sum, slen, NULL)) {
        member_str(sum, slen, "status", status, sizeof status);
        if (!strcmp(status, "finished") || !strcmp(status, "converged") || !strcmp(status, "diverged"))
            rc = tn_fail(e, TN_EINPUT, "--resume %s: the run ended (%s) and left no checkpoint to continue from; start a new run with --out", dir, status);
    }
    if (!rc) rc = e->code;
    if (!rc) rc = parse_stored(flags, "config.json", &stored, e);
    if (!rc) {
        tn_config_identity_hex(&stored, mine);
        if (strcmp(mine, id))
            rc = tn_fail(e, TN_EINPUT, "--resume %s: config.json says run %s but its flags are run %s (the file was edited); remove %s and start the run again", dir, id, mine, dir);
    }
    if (!rc) rc = check_metrics(dir, id, seed, e);
    if (!rc) rc = apply_overrides(dir, &stored, argc, argv, c, e);
    if (!rc) c->restart = 1;
    free(cfg);
    free(sum);
    return rc;
}

int tn_resume_config(const char *dir, int argc, char **argv, tn_config *c, tn_err *e) {
    char path[1200], *meta = NULL, *cfg = NULL, id[17], cfg_id[17];
    const char *flags;
    long long cfg_seed;
    size_t clen;
    tn_ckpt_state st;
    tn_config stored;
    if (!exists(dir, "checkpoint.bin")) return restart_config(dir, argc, argv, c, e);
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    int rc = tn_ckpt_read_meta(path, &meta, e);
    if (!rc) rc = tn_ckpt_meta_parse(meta, path, &st, &flags, e);
    if (!rc) rc = parse_stored(flags, path, &stored, e);
    if (!rc) {
        tn_config_identity_hex(&stored, id);
        if (st.run_id[0] && strcmp(st.run_id, id))
            rc = tn_fail(e, TN_EINPUT, "--resume %s: checkpoint.bin says run %s but its flags are run %s (the file was edited); resume from another checkpoint or start again", dir, st.run_id, id);
    }
    if (!rc) rc = config_json(dir, &cfg, &clen, cfg_id, &cfg_seed, e);
    if (!rc && cfg_id[0] && strcmp(cfg_id, id))
        rc = tn_fail(e, TN_EINPUT, "--resume %s: checkpoint.bin is run %s (seed %llu) but config.json is run %s (seed %lld): the checkpoint belongs to another run; put this run's own checkpoint.bin back, or resume the run it came from",
                     dir, id, (unsigned long long)stored.seed, cfg_id, cfg_seed);
    if (!rc) rc = check_metrics(dir, id, (long long)stored.seed, e);
    if (!rc) rc = apply_overrides(dir, &stored, argc, argv, c, e);
    free(cfg);
    free(meta);
    return rc;
}
