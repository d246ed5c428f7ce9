/* libFuzzer target: the checkpoint reader and what --resume builds from it. The first byte picks
 * the form: even, the rest is the whole file; odd, the rest is the body and the target writes the
 * 32-byte header with its length and CRC-32, so mutations reach the meta text and the tensor
 * table behind the checksum. That becomes DIR/checkpoint.bin; tn_resume_config reads its meta text and re-parses the stored flags (the
 * flag parser on text from a file), then tn_ckpt_load looks for the tensors a model of that
 * configuration would ask for. Oracles: a refusal is one line of text naming the file or the
 * flag; a checkpoint that loads gives the counts asked for. */
#include "fuzz_common.h"
#include "run/run_dir.h"
#include "taunet/io.h"

#include <zlib.h>

static void put_le(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    char path[300];
    if (n < 1) return 0;
    fz_path(path, sizeof path, "checkpoint.bin");
    if (data[0] & 1) {
        uint8_t *file = malloc(32 + n - 1);
        if (!file) abort();
        memset(file, 0, 32);
        memcpy(file, "TAUNETCK", 8);
        put_le(file + 8, 1, 4);
        put_le(file + 16, n - 1, 8);
        put_le(file + 24, crc32(crc32(0L, Z_NULL, 0), data + 1, (uInt)(n - 1)), 4);
        memcpy(file + 32, data + 1, n - 1);
        fz_write(path, file, 32 + n - 1);
        free(file);
    } else {
        fz_write(path, data + 1, n - 1);
    }
    tn_err e = {0};
    tn_config c;
    int rc = tn_resume_config(fz_dir(), 0, NULL, &c, &e);
    fz_check_refusal(&e, rc);
    static float buf[4096];
    tn_tensor_ref refs[2] = {{"w", buf, 1000}, {"bn", buf + 1000, 24}};
    tn_err e2 = {0};
    char *meta = NULL;
    int lrc = tn_ckpt_load(path, &meta, refs, 2, &e2);
    fz_check_refusal(&e2, lrc);
    if (lrc && !strstr(e2.msg, path)) {
        fprintf(stderr, "fuzz: the message does not name the checkpoint: %s\n", e2.msg);
        abort();
    }
    if (!lrc) {
        tn_ckpt_state st;
        const char *flags;
        tn_err e3 = {0};
        fz_check_refusal(&e3, tn_ckpt_meta_parse(meta, path, &st, &flags, &e3));
    }
    free(meta);
    return 0;
}
