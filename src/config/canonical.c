/* Writing a configuration back out, from the flag table: the canonical flags (one "--flag\nvalue"
 * pair per line, so paths with spaces survive; checkpoints store this and resume re-parses it),
 * config.json, and the run's identity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/flags_impl.h"

int tn_config_to_flags(const tn_config *c, char *buf, size_t cap) {
    int n;
    const tn_flag_row *rows = tn_flag_rows(&n);
    size_t o = 0;
    char v[1200], dv[1200];
    tn_config d;
    tn_config_defaults(&d);
    for (int i = 0; i < n; i++) {
        if (!(rows[i].pub.props & TN_FLAG_CANON) || !tn_flag_value(&rows[i], c, v, sizeof v)) continue;
        if ((rows[i].pub.props & TN_FLAG_IF_SET) && tn_flag_value(&rows[i], &d, dv, sizeof dv) && !strcmp(v, dv)) continue;
        int w = snprintf(buf + o, o < cap ? cap - o : 0, "%s%s\n%s", o ? "\n" : "", rows[i].pub.name, v);
        if (w < 0 || o + (size_t)w >= cap) return -1;
        o += (size_t)w;
    }
    return 0;
}

void tn_config_to_json(const tn_config *c, tn_json *j) {
    int n;
    const tn_flag_row *rows = tn_flag_rows(&n);
    char id[17], v[1200];
    tn_config_identity_hex(c, id);
    tn_json_str(j, "run_id", id);
    for (int i = 0; i < n; i++) {
        const tn_flag_row *f = &rows[i];
        const char *key = f->pub.json;
        switch (f->json) {
        case J_INT: tn_flag_value(f, c, v, sizeof v), tn_json_int(j, key, strtoll(v, NULL, 10)); break;
        case J_NUM: tn_json_num(j, key, *(const double *)((const char *)c + f->off)); break;
        case J_STR: tn_flag_value(f, c, v, sizeof v), tn_json_str(j, key, v); break;
        case J_BOOL: tn_json_bool(j, key, *(const int *)((const char *)c + f->off)); break;
        case J_TAU:
            tn_json_str(j, key, tn_tau_rule_name(c, v, sizeof v));
            tn_json_num(j, "tau", tn_config_tau(c));
            break;
        case J_STEPS: tn_json_int(j, key, c->steps); break;
        case J_EPOCHS: tn_json_num(j, key, c->epochs); break;
        case J_SEED: tn_json_int(j, key, (long long)c->seed); break;
        case J_DIAG: tn_json_str(j, key, c->diag); break;
        default: break;
        }
    }
}

uint64_t tn_fnv1a64(const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t tn_config_identity(const tn_config *c) {
    tn_config n = *c, d;
    char flags[8192];
    tn_config_defaults(&d);
    tn_config_copy_resumable(&n, &d);
    if (tn_config_to_flags(&n, flags, sizeof flags)) flags[sizeof flags - 1] = '\0'; /* cannot happen: < 3 KiB */
    return tn_fnv1a64(flags, strlen(flags));
}

void tn_config_identity_hex(const tn_config *c, char hex[17]) {
    snprintf(hex, 17, "%016llx", (unsigned long long)tn_config_identity(c));
}
