/* `taunet export RUN_DIR`: the checkpoint's weights as one .npy per tensor, named like the
 * state_dict keys of the PyTorch peers (docs/FORMATS.md). */
#ifndef TAUNET_EXPORT_H
#define TAUNET_EXPORT_H
#include "taunet/error.h"
#ifdef __cplusplus
extern "C" {
#endif
/* out_dir NULL: RUN_DIR/export. Returns the number of files written through *nfiles. */
int tn_export(const char *run_dir, const char *out_dir, int *nfiles, tn_err *e);
#ifdef __cplusplus
}
#endif
#endif
