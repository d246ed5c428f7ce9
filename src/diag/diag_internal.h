/* Shared between diag.c and diag_linalg.c. */
#ifndef TAUNET_DIAG_INTERNAL_H
#define TAUNET_DIAG_INTERNAL_H
#include <stdint.h>
#include "taunet/diag.h"

typedef struct tn_diag_layer {
    const float *W; /* [out, in] */
    int out, in;
    int residual;   /* map is I + tau W */
    float tau;
} tn_diag_layer;

double tn_diag_norm(tn_backend *be, const float *x, size_t n, float *scal);
double tn_diag_spectral(tn_model *m, const tn_diag_layer *layers, int count, float *va, float *vb,
                        uint64_t seed);
double tn_diag_norm21(tn_model *m, const tn_diag_layer *L, float *rn, float *host);
#endif
