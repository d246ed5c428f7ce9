/* `taunet sweep`: parse the grid, validate every point up front (one bad point: one line, exit 2,
 * nothing run), then run this shard's points (src/sweep/sweep.c). */
#include <stdio.h>

#include "taunet/sweep.h"

int tn_cli_sweep(int argc, char **argv) {
    tn_sweep_grid g;
    tn_sweep_opts o;
    tn_err e = {0};
    int interrupted = 0, rc;
    if (tn_sweep_parse(argc, argv, &g, &o, &e)) goto fail;
    if (!o.dry_run && !o.out[0]) {
        tn_fail(&e, TN_EINPUT, "sweep needs --out DIR (results.jsonl and runs/ go there; rerunning with the same DIR continues the sweep)");
        goto fail;
    }
    if (tn_sweep_run(&g, &o, &interrupted, &e)) goto fail;
    tn_sweep_grid_free(&g);
    if (interrupted) {
        /* The interrupted run has no line, so the same command redoes it and continues. */
        fprintf(stderr, "taunet: sweep interrupted; rerun the same command to continue\n");
        return 130;
    }
    return 0;
fail:
    tn_sweep_grid_free(&g);
    fprintf(stderr, "taunet: %s\n", e.msg);
    fflush(stdout);
    rc = e.code ? e.code : 1;
    return rc;
}
