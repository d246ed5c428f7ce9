/* libFuzzer target: the flag parser of taunet train (and of taunet sweep on the same arguments).
 * The input is split at NUL bytes into argv. Oracles: a refusal is one line of text; an accepted
 * configuration round-trips: its canonical flags parse back to the same canonical flags and the
 * same run identity (what checkpoints and resume rely on). */
#include "fuzz_common.h"
#include "taunet/config.h"
#include "taunet/sweep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (n > 4096) return 0;
    static char buf[4097];
    char *argv[512];
    int argc = 0;
    memcpy(buf, data, n);
    buf[n] = '\0';
    for (size_t i = 0; i <= n && argc < 512;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    if (n == 0) argc = 0;
    tn_config c;
    tn_err e = {0};
    tn_config_defaults(&c);
    int rc = tn_config_parse(&c, argc, argv, &e);
    fz_check_refusal(&e, rc);
    if (!rc) {
        static char a[8192], b[8192], copy[8192];
        char *av[256];
        if (tn_config_to_flags(&c, a, sizeof a)) abort();
        strcpy(copy, a);
        int ac = 0;
        for (char *s = copy; *s && ac < 256;) {
            av[ac++] = s;
            char *nl = strchr(s, '\n');
            if (!nl) break;
            *nl = '\0';
            s = nl + 1;
        }
        tn_config d;
        tn_err e2 = {0};
        tn_config_defaults(&d);
        if (tn_config_parse(&d, ac, av, &e2)) {
            fprintf(stderr, "fuzz: canonical flags refused: %s\n%s\n", e2.msg, a);
            abort();
        }
        if (tn_config_to_flags(&d, b, sizeof b) || strcmp(a, b) || tn_config_identity(&c) != tn_config_identity(&d)) {
            fprintf(stderr, "fuzz: canonical flags do not round-trip:\n%s\n---\n%s\n", a, b);
            abort();
        }
    }
    tn_sweep_grid g;
    tn_sweep_opts o;
    tn_err e3 = {0};
    memset(&g, 0, sizeof g);
    int src = tn_sweep_parse(argc, argv, &g, &o, &e3);
    fz_check_refusal(&e3, src);
    tn_sweep_grid_free(&g);
    return 0;
}
