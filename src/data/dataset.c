/* The dataset record itself: what every loader fills and every user frees (its own file, so the
 * loaders do not depend on prepare.c, which depends on them). */
#include <stdlib.h>
#include <string.h>

#include "taunet/data.h"

tn_data_dims tn_data_spec_dims(const tn_data_spec *s) {
    tn_data_dims d = {s->p, 1, 1, s->d, s->n_train, s->n_test};
    if (s->kind == TN_DATA_MNIST || s->kind == TN_DATA_FASHION) d = (tn_data_dims){1, 28, 28, 10, 60000, 10000};
    else if (s->kind == TN_DATA_CIFAR10) d = (tn_data_dims){3, 32, 32, 10, 50000, 10000};
    else if (s->kind == TN_DATA_CIFAR100) d = (tn_data_dims){3, 32, 32, 100, 50000, 10000};
    else if (s->kind == TN_DATA_CIFAR100_COARSE) d = (tn_data_dims){3, 32, 32, 20, 50000, 10000};
    return d;
}

void tn_dataset_free(tn_dataset *ds) {
    if (!ds) return;
    free(ds->x);
    free(ds->y);
    memset(ds, 0, sizeof *ds);
}
