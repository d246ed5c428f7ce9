/* libFuzzer target: the CIFAR-10 binary reader (--data cifar10:DIR): the input becomes
 * data_batch_3.bin (raw, or .gz when the first byte is odd: gzip data or not) beside five valid
 * one-record files, and the whole directory is loaded. */
#include "fuzz_common.h"
#include "taunet/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    static int ready;
    char p[300];
    static const char *names[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    if (!ready) {
        static uint8_t rec[3073];
        for (int i = 0; i < 3073; i++) rec[i] = (uint8_t)(i * 7);
        rec[0] = 3;
        for (int f = 0; f < 5; f++) fz_path(p, sizeof p, names[f]), fz_write(p, rec, sizeof rec);
        ready = 1;
    }
    if (n < 1) return 0;
    int gz = data[0] & 1;
    fz_path(p, sizeof p, "data_batch_3.bin"), unlink(p);
    fz_path(p, sizeof p, "data_batch_3.bin.gz"), unlink(p);
    fz_path(p, sizeof p, gz ? "data_batch_3.bin.gz" : "data_batch_3.bin");
    fz_write(p, data + 1, n - 1);
    tn_err e = {0};
    tn_dataset tr, te;
    int rc = tn_cifar10_load(fz_dir(), &tr, &te, &e);
    fz_check_refusal(&e, rc);
    if (rc && !strstr(e.msg, "data_batch_3.bin")) {
        fprintf(stderr, "fuzz: the message does not name the bad file: %s\n", e.msg);
        abort();
    }
    if (!rc) {
        if (tr.p != 3072 || tr.n < 4) abort();
        for (int i = 0; i < tr.n; i++)
            if (tr.y[i] < 0 || tr.y[i] > 9) abort();
        tn_dataset_free(&tr);
        tn_dataset_free(&te);
    }
    return 0;
}
