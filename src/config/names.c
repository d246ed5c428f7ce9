/* The names of things, each list once: architectures, the values of the choice flags, and the
 * diagnostics. The flag parser, the canonical writer, config.json, `taunet help` and the run
 * directory's default name all read these. */
#include <string.h>

#include "taunet/config.h"

const char *const tn_arch_names[] = {"plain", "resnet", "resnet-cifar", NULL};
const char *const tn_onoff_names[] = {"off", "on", NULL};
const char *const tn_tau_learn_names[] = {"off", "on", "auto", NULL};
const char *const tn_augment_names[] = {"none", "crop-flip", NULL};
const char *const tn_preset_names[] = {"none", "cifar-resnet", NULL};
const char *const tn_label_names[] = {"uniform", "teacher", NULL};
const char *const tn_prep_names[] = {"default", "none", "scale", "standardize", "unitnorm", "channel", NULL};
const char *const tn_loss_names[] = {"mse", "xent", NULL};
const char *const tn_opt_names[] = {"gd", "sgd", NULL};
const char *const tn_train_names[] = {"all", "hidden", "last", NULL};
const char *const tn_backend_names[] = {"auto", "cpu", "cuda", NULL};
const char *const tn_math_names[] = {"fp32", "tf32", NULL};
const char *const tn_data_names[] = {"synthetic", "mnist", "fashion", "cifar10", "cifar100", "cifar100-coarse", NULL};
/* In the order of the TN_DIAG_* bits (bit i is tn_diag_names[i]). */
const char *const tn_diag_names[] = {"norms", "dist", "spectral", "chain", "grad", "margins", "complexity", "sharpness", NULL};

const char *tn_arch_name(int arch) { return arch >= 0 && arch <= TN_ARCH_RESNET_CIFAR ? tn_arch_names[arch] : "?"; }

int tn_name_index(const char *const *names, const char *v) {
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], v)) return i;
    return -1;
}

size_t tn_names_join(const char *const *names, const char *sep, char *buf, size_t cap) {
    size_t o = 0;
    if (cap) buf[0] = '\0';
    for (int i = 0; names[i] && o + 1 < cap; i++) {
        size_t n = strlen(names[i]) + (i ? strlen(sep) : 0);
        if (o + n >= cap) break;
        if (i) strcpy(buf + o, sep), o += strlen(sep);
        strcpy(buf + o, names[i]), o += strlen(names[i]);
    }
    return o;
}

unsigned tn_diag_mask(const char *list, tn_err *e) {
    unsigned mask = 0;
    if (!list || !*list || !strcmp(list, "none")) return 0;
    if (!strcmp(list, "all")) return TN_DIAG_ALL;
    const char *s = list;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        int found = 0;
        for (int i = 0; tn_diag_names[i]; i++)
            if (strlen(tn_diag_names[i]) == len && !strncmp(tn_diag_names[i], s, len)) mask |= 1u << i, found = 1;
        if (!found) {
            char all[256];
            tn_names_join(tn_diag_names, ", ", all, sizeof all);
            tn_fail(e, TN_EINPUT, "--diag: '%.*s' is not a diagnostic; use a comma list of %s, or all", (int)len, s, all);
            return TN_DIAG_INVALID;
        }
        s = comma ? comma + 1 : s + len;
    }
    return mask;
}
