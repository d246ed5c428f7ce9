/* libFuzzer target: the JSON reader (src/io/json_read.c) used by sweep (results.jsonl, summary.json),
 * report and resume (config.json). Oracles: tn_json_check accepts exactly what a reference
 * recursive walk can traverse; on accepted text every member is found again by key and every
 * string decodes; then the input serves as DIR/config.json and DIR/metrics.jsonl of a run
 * without a checkpoint, the path --resume takes to restart it (refused or accepted, one line). */
#include "fuzz_common.h"
#include "run/run_dir.h"
#include "taunet/io.h"

static void walk(const char *obj, size_t len, int depth) {
    if (depth > TN_JSON_MAX_DEPTH || !len || obj[0] != '{') return;
    size_t pos = 0, kl, vl;
    const char *k, *v;
    char out[4096], key[512];
    while (!tn_json_next_member(obj, len, &pos, &k, &kl, &v, &vl)) {
        if (v < obj || v + vl > obj + len || k + kl > obj + len) abort(); /* stays inside */
        if (v[0] == '"' && !tn_json_get_string(v, vl, out, sizeof out) && strlen(out) > vl)
            abort(); /* decoding never grows the text */
        if (kl + 2 < sizeof key && !memchr(k, '\\', kl)) {
            memcpy(key, k, kl);
            key[kl] = '\0';
            const char *v2;
            size_t vl2;
            if (tn_json_member(obj, len, key, &v2, &vl2)) abort(); /* a member is found by its key */
        }
        walk(v, vl, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    const char *text = (const char *)data;
    size_t where = 0;
    if (!tn_json_check(text, n, &where)) {
        size_t s = 0;
        while (s < n && (text[s] == ' ' || text[s] == '\n' || text[s] == '\t' || text[s] == '\r')) s++;
        walk(text + s, n - s, 0);
    } else if (where > n) {
        abort();
    }
    char p[300];
    fz_path(p, sizeof p, "checkpoint.bin"), unlink(p);
    fz_path(p, sizeof p, "config.json"), fz_write(p, data, n);
    fz_path(p, sizeof p, "metrics.jsonl"), fz_write(p, data, n);
    tn_err e = {0};
    tn_config c;
    fz_check_refusal(&e, tn_resume_config(fz_dir(), 0, NULL, &c, &e));
    return 0;
}
