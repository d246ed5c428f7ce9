#define _POSIX_C_SOURCE 200809L
/* `--resume DIR`: rebuild the configuration stored in DIR/checkpoint.bin and apply the few flags
 * that may change when a run continues. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_dir.h"

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

int tn_resume_config(const char *dir, int argc, char **argv, tn_config *c, tn_err *e) {
    char path[1200], *meta = NULL;
    const char *flags;
    tn_ckpt_state st;
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    if (tn_ckpt_read_meta(path, &meta, e)) return e->code;
    if (tn_ckpt_meta_parse(meta, path, &st, &flags, e)) {
        free(meta);
        return e->code;
    }
    char *buf = strdup(flags);
    char *stored[256];
    int ns = split_lines(buf, stored, 256);
    tn_config base, over;
    tn_config_defaults(&base);
    int rc = tn_config_parse(&base, ns, stored, e);
    if (!rc) {
        over = base;
        rc = tn_config_parse(&over, argc, argv, e);
    }
    if (!rc) {
        /* Copy what may change, then everything else must be equal. */
        tn_config cmp = over;
        base.steps = over.steps, base.epochs = over.epochs, base.halt_after = over.halt_after;
        base.threads = over.threads, base.backend = over.backend, base.gpu = over.gpu;
        base.eval_every = over.eval_every, base.ckpt_every = over.ckpt_every;
        base.target_loss = over.target_loss;
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
            rc = tn_fail(e, TN_EINPUT, "--resume %s: %s cannot change when resuming (only --steps, --epochs, --halt-after, --threads, --backend, --gpu, --eval-every, --ckpt-every, --target-loss can); start a new run with --out instead", dir, flag);
        }
        snprintf(base.resume, sizeof base.resume, "%s", dir);
        *c = base;
    }
    free(buf);
    free(meta);
    return rc;
}
