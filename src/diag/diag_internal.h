/* Shared between diag.c and linalg.c. */
#ifndef TAUNET_DIAG_INTERNAL_H
#define TAUNET_DIAG_INTERNAL_H
#include <stdint.h>
#include "taunet/diag.h"

double tn_diag_norm(tn_backend *be, const float *x, size_t n, float *scal);
/* Largest singular value of the composition of the plan's linear maps maps[0], maps[1], ...
 * (applied in that order), by power iteration through tn_model_map_apply. */
double tn_diag_spectral(tn_model *m, const int *maps, int count, float *va, float *vb, uint64_t seed);
/* ||(A - M)^T||_{2,1} of linear map `map`: the sum of the Euclidean norms of the rows of W, times
 * tau for a residual map (A - M = tau W, M = I). */
double tn_diag_norm21(tn_model *m, int map, float *rn, float *host);
#endif
