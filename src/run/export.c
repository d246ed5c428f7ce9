/* Export of a run's checkpoint to .npy files, one per tensor of the plan's tensor table, named by
 * its PyTorch state_dict key (A.weight [m, p], W.<i>.weight [m, m] for the hidden layers
 * i = 0..L-2, B.weight [d, m]; with BN bn.<i>.{weight,bias,running_mean,running_var} [m]). */
#include "taunet/export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/run_dir.h"
#include "taunet/io.h"
#include "taunet/model.h"

int tn_export(const char *run_dir, const char *out_dir, int *nfiles, tn_err *e) {
    char path[1200], dir[1200], *meta = NULL;
    const char *flags;
    tn_ckpt_state st;
    tn_config c;
    tn_plan *plan = NULL;
    float *arena[TN_ARENAS] = {0};
    tn_tensor_ref refs[TN_ARENAS];
    int nr = 0, rc;
    *nfiles = 0;
    snprintf(path, sizeof path, "%s/checkpoint.bin", run_dir);
    rc = tn_ckpt_read_meta(path, &meta, e) || tn_ckpt_meta_parse(meta, path, &st, &flags, e) ||
         tn_resume_config(run_dir, 0, NULL, &c, e) || tn_plan_make_shape(&c, (tn_shape){st.c, st.h, st.w}, st.d, &plan, e);
    free(meta);
    if (rc) return e->code;
    for (int a = 0; a < TN_ARENAS && !rc; a++) {
        size_t len = tn_plan_arena_len(plan, a);
        if (!len) continue;
        if (!(arena[a] = malloc(len * sizeof(float)))) rc = tn_fail(e, TN_ERUNTIME, "export: out of memory");
        refs[nr++] = (tn_tensor_ref){tn_arena_name(a), arena[a], len};
    }
    if (!rc) rc = tn_ckpt_load(path, NULL, refs, nr, e);
    snprintf(dir, sizeof dir, "%s", out_dir ? out_dir : "");
    if (!out_dir) snprintf(dir, sizeof dir, "%s/export", run_dir);
    if (!rc) rc = tn_mkdir_p(dir, e);
    const tn_tensor *t;
    int nt = tn_plan_tensors(plan, &t);
    for (int i = 0; i < nt && !rc; i++) {
        char file[1400];
        snprintf(file, sizeof file, "%s/%s.npy", dir, t[i].name);
        if (!(rc = tn_npy_write(file, arena[t[i].arena] + t[i].off, t[i].ndim, t[i].shape, e))) (*nfiles)++;
    }
    for (int a = 0; a < TN_ARENAS; a++) free(arena[a]);
    tn_plan_free(plan);
    return rc ? e->code : 0;
}
