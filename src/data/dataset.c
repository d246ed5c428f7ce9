/* The dataset record itself: what every loader fills and every user frees (its own file, so the
 * loaders do not depend on prepare.c, which depends on them). */
#include <stdlib.h>
#include <string.h>

#include "taunet/data.h"

void tn_dataset_free(tn_dataset *ds) {
    if (!ds) return;
    free(ds->x);
    free(ds->y);
    memset(ds, 0, sizeof *ds);
}
