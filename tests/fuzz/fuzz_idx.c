/* libFuzzer target: the IDX reader behind --data mnist|fashion, through the gzip reader (zlib reads
 * raw and .gz files alike). The first byte picks which file the rest becomes: 0 the images file
 * (raw), 1 the labels file (raw), 2 the images file named .gz (gzip data or not), 3 both, split at
 * the second byte's fraction of the input. The other file is a valid one of 2 images/labels. */
#include "fuzz_common.h"
#include "taunet/data.h"

static const uint8_t valid_images[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t valid_labels[] = {0, 0, 8, 1, 0, 0, 0, 2, 3, 9};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (n < 2) return 0;
    char img[300], lab[300];
    int mode = data[0] % 4;
    fz_path(img, sizeof img, mode == 2 ? "images.gz" : "images");
    fz_path(lab, sizeof lab, "labels");
    const uint8_t *rest = data + 2;
    size_t rn = n - 2, cut = rn * data[1] / 255;
    if (mode == 0 || mode == 2) fz_write(img, rest, rn), fz_write(lab, valid_labels, sizeof valid_labels);
    if (mode == 1) fz_write(img, valid_images, sizeof valid_images), fz_write(lab, rest, rn);
    if (mode == 3) fz_write(img, rest, cut), fz_write(lab, rest + cut, rn - cut);
    tn_err e = {0};
    tn_dataset ds;
    int rc = tn_idx_load_pair(img, lab, &ds, &e);
    fz_check_refusal(&e, rc);
    if (rc && !strstr(e.msg, "/images") && !strstr(e.msg, "/labels")) {
        fprintf(stderr, "fuzz: the message names no file: %s\n", e.msg);
        abort();
    }
    if (!rc) {
        for (int i = 0; i < ds.n; i++)
            if (ds.y[i] < 0 || ds.y[i] > 9) abort();
        tn_dataset_free(&ds);
    }
    return 0;
}
