/* Every setting of a run, resolved from flags (see `taunet help train` and README.md). */
#ifndef TAUNET_CONFIG_H
#define TAUNET_CONFIG_H
#include <stdint.h>
#include "taunet/data.h"
#include "taunet/error.h"
#include "taunet/io.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum { TN_ARCH_PLAIN = 0, TN_ARCH_RESNET, TN_ARCH_RESNET_CIFAR } tn_arch;
typedef enum { TN_TAU_NUMBER = 0, TN_TAU_INV_SQRT_L, TN_TAU_INV_L, TN_TAU_L_M14 } tn_tau_rule;
typedef enum { TN_OPT_GD = 0, TN_OPT_SGD } tn_opt;
typedef enum { TN_SCHED_CONSTANT = 0, TN_SCHED_STEP, TN_SCHED_COSINE } tn_sched;
typedef enum { TN_TRAIN_ALL = 0, TN_TRAIN_HIDDEN, TN_TRAIN_LAST } tn_train_what;
typedef enum { TN_BACKEND_AUTO = 0, TN_BACKEND_CPU, TN_BACKEND_CUDA } tn_backend_kind;

#define TN_MAX_MILESTONES 16

typedef struct tn_config {
    /* model */
    tn_arch arch;
    int width, depth;
    tn_tau_rule tau_rule;
    double tau_value; /* for TN_TAU_NUMBER */
    int bn;
    int tau_learn; /* --tau-learn: 0 off, 1 on, 2 auto (on for resnet-cifar without BN) */
    /* data */
    tn_data_spec data;
    int augment; /* --augment: 0 none, 1 crop-flip (pad 4, random crop, random horizontal flip) */
    int preset;  /* --preset: 0 none, 1 cifar-resnet (values for the flags not given; not canonical) */
    /* training */
    int loss; /* tn_loss_kind */
    tn_opt opt;
    int batch; /* SGD minibatch; GD uses the whole training set */
    double lr, momentum, wd;
    tn_sched sched;
    int milestones[TN_MAX_MILESTONES]; /* step schedule: milestones in epochs */
    int n_milestones;
    double step_gamma;  /* lr factor at each milestone */
    long warmup;        /* warm-up steps: linear, or at warmup_lr when it is > 0 */
    double warmup_lr;   /* > 0: the constant lr of the warm-up (the ResNet-110/1202 recipe) */
    long steps;         /* total steps; -1 when --epochs sets it */
    double epochs;
    long eval_every;
    double target_loss; /* <= 0: none */
    tn_train_what train_what;
    uint64_t seed;
    /* engine */
    tn_backend_kind backend;
    int tf32, graph, gpu, threads;
    char diag[256];
    double sharp_sigma; /* sharpness diagnostic: relative perturbation scale */
    int sharp_draws;    /* sharpness diagnostic: number of draws */
    long ckpt_every;  /* 0: only at the end */
    long halt_after;  /* >0: stop after this many steps in this invocation (time-sliced jobs) */
    /* output */
    char out[1024];
    char resume[1024];
    int restart; /* resume names a run killed before its first checkpoint: start it again from step 0 in place */
} tn_config;

/* The names of things, each list once (src/config/names.c), NULL-terminated: the --arch values
 * (indexed by tn_arch), off/on, and the values of the other choice flags. */
extern const char *const tn_arch_names[], *const tn_onoff_names[], *const tn_label_names[], *const tn_prep_names[],
    *const tn_loss_names[], *const tn_opt_names[], *const tn_train_names[], *const tn_backend_names[],
    *const tn_math_names[], *const tn_data_names[], *const tn_diag_names[], *const tn_tau_learn_names[],
    *const tn_augment_names[], *const tn_preset_names[];
const char *tn_arch_name(int arch);
/* The index of v in names, or -1. */
int tn_name_index(const char *const *names, const char *v);
/* names joined by sep into buf; returns the length. */
size_t tn_names_join(const char *const *names, const char *sep, char *buf, size_t cap);

/* The diagnostics (--diag), bit i named tn_diag_names[i]; formulas in docs/DIAGNOSTICS.md. */
enum {
    TN_DIAG_NORMS = 1,       /* per-layer mean ||h_l|| over the evaluation rows */
    TN_DIAG_DIST = 2,        /* per-layer ||W_l - W_l(0)||_F / ||W_l(0)||_F */
    TN_DIAG_SPECTRAL = 4,    /* per-layer ||W_l||_2 by power iteration */
    TN_DIAG_CHAIN = 8,       /* ||prod_l (I + tau W_l)||_2 (PlainNet: ||prod_l W_l||_2) */
    TN_DIAG_GRAD = 16,       /* per-layer and total gradient norms of the last step */
    TN_DIAG_MARGINS = 32,    /* quantiles of f(x)_y - max_{j!=y} f(x)_j over the training set */
    TN_DIAG_COMPLEXITY = 64, /* Bartlett et al. 2017 spectral complexity R_A, margins / R_A */
    TN_DIAG_SHARPNESS = 128, /* E[L(W + eps)] - L(W), eps ~ N(0, (sigma |w|)^2) */
    TN_DIAG_ALL = 255,
};
#define TN_DIAG_INVALID 0x80000000u
/* Parses a comma list of tn_diag_names, or "all", or ""/"none". */
unsigned tn_diag_mask(const char *list, tn_err *e);
/* The diagnostics that apply to the family: chain and complexity are products over a chain of
 * FC maps and have no definition for the conv ResNet (docs/DIAGNOSTICS.md), so "all" leaves them
 * out for resnet-cifar (and tn_config_validate refuses them by name). */
#define TN_DIAG_NOT_CONV (TN_DIAG_CHAIN | TN_DIAG_COMPLEXITY)
unsigned tn_config_diags(const tn_config *c);

/* The flags of `taunet train`, one table (src/config/flags.c): the parser, `taunet help train`,
 * the canonical writer, config.json, resume's rules and sweep's list syntax all read it. */
enum {
    TN_FLAG_CANON = 1,     /* part of the run's configuration: in the canonical flags (checkpoints) */
    TN_FLAG_RESUMABLE = 2, /* may change when a run resumes */
    TN_FLAG_RANGES = 4,    /* an integer: sweep lists also take ranges a:b[:s] */
    TN_FLAG_SEMI = 8,      /* its values contain commas: sweep lists separate them with ';' */
    TN_FLAG_IF_SET = 16,   /* in the canonical flags only when not at its default (flags added after
                              0.1.0: the identities and checkpoints of earlier runs stay valid) */
};
typedef struct tn_flag {
    const char *name;     /* "--width" */
    const char *metavar;  /* "M" */
    const char *section;  /* of `taunet help train` */
    const char *help;     /* one line */
    unsigned props;
    const char *json;     /* the config.json key, NULL: not written there */
} tn_flag;
/* The table, in help and canonical order; n flags. */
const tn_flag *tn_flags(int *n);
const tn_flag *tn_flag_find(const char *name);

void tn_config_defaults(tn_config *c);
/* Parses train flags argv[0..argc). Unknown flag, bad value, or inconsistent combination:
 * TN_EINPUT with one line naming the flag and what it accepts. */
int tn_config_parse(tn_config *c, int argc, char **argv, tn_err *e);
/* Checks the combination (called by parse, again after resume overrides). */
int tn_config_validate(const tn_config *c, tn_err *e);
/* tau resolved from the rule and L (FC: the depth; resnet-cifar: the blocks, (depth - 2) / 2). */
double tn_config_tau(const tn_config *c);
/* Whether tau is a trained parameter (resnet-cifar without BN, unless --tau-learn off). */
int tn_config_tau_learns(const tn_config *c);
/* The canonical flag string that reproduces this configuration (stored in checkpoints). */
int tn_config_to_flags(const tn_config *c, char *buf, size_t cap);
void tn_config_to_json(const tn_config *c, tn_json *j);

/* The flags a resumed run may change (TN_FLAG_RESUMABLE: the budget and the engine), copied from
 * src to dst; tn_resumable_names lists them for messages ("--steps, --epochs, ..."). */
void tn_config_copy_resumable(tn_config *dst, const tn_config *src);
const char *tn_resumable_names(void);
/* A run's identity: FNV-1a 64 of the canonical flags with the resumable ones at their defaults,
 * so it stays the same across resumes; the seed is among the flags. Stored in config.json, the
 * checkpoint and every metrics line (docs/FORMATS.md), and compared on resume. */
uint64_t tn_config_identity(const tn_config *c);
/* The identity as 16 hex digits. */
void tn_config_identity_hex(const tn_config *c, char hex[17]);
/* FNV-1a 64-bit. */
uint64_t tn_fnv1a64(const void *data, size_t len);
const char *tn_tau_rule_name(const tn_config *c, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
