/* Datasets on the host: features as float rows, labels as int32 classes.
 * Loaders return raw values (image bytes as 0..255 floats, synthetic points as drawn);
 * tn_data_prepare then applies subset, label noise and preprocessing. */
#ifndef TAUNET_DATA_H
#define TAUNET_DATA_H
#include <stdint.h>
#include "taunet/error.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct tn_dataset {
    int n;      /* examples */
    int p;      /* features per example (784 for MNIST, 3072 for CIFAR-10: CHW order) */
    int d;      /* number of classes */
    int c, h, w; /* an example's shape, c*h*w == p (images CHW: 1x28x28, 3x32x32; vectors p x 1 x 1) */
    float *x;   /* n*p, row-major, owned */
    int32_t *y; /* n labels in [0, d), owned */
} tn_dataset;

void tn_dataset_free(tn_dataset *ds);

/* CIFAR-100: fine labels (100 classes) or, cifar100-coarse, the 20 superclasses */
typedef enum { TN_DATA_SYNTHETIC = 0, TN_DATA_MNIST, TN_DATA_FASHION, TN_DATA_CIFAR10, TN_DATA_CIFAR100, TN_DATA_CIFAR100_COARSE } tn_data_kind;
/* CHANNEL: per-channel mean and std over the training set's pixels (the usual CIFAR normalisation,
 * computed rather than quoted); STANDARDIZE: per feature (pixel) */
typedef enum { TN_PREP_DEFAULT = 0, TN_PREP_NONE, TN_PREP_SCALE, TN_PREP_STANDARDIZE, TN_PREP_UNITNORM, TN_PREP_CHANNEL } tn_prep;
typedef enum { TN_LABELS_UNIFORM = 0, TN_LABELS_TEACHER } tn_label_rule;

typedef struct tn_data_spec {
    tn_data_kind kind;
    char dir[1024];        /* directory for mnist/fashion/cifar10/cifar100 */
    /* synthetic only */
    int n_train;           /* points in the training split (--n) */
    int n_test;            /* points in the test split */
    int p;                 /* input dimension */
    int d;                 /* classes */
    tn_label_rule labels;  /* uniform random labels or argmax of a random teacher net */
    /* all kinds */
    int subset;            /* >0: keep the first `subset` training examples in file order */
    int val;               /* >0: the last `val` of those are held out as the validation set */
    double label_noise;    /* fraction of training labels replaced by uniform random ones */
    tn_prep prep;          /* DEFAULT: unitnorm for synthetic, scale for images */
    uint64_t seed;
} tn_data_spec;

/* Loaders. Image loaders accept the standard file names in `dir`, raw or with .gz appended. */
int tn_idx_load_pair(const char *images_path, const char *labels_path, tn_dataset *out, tn_err *e);
int tn_mnist_load(const char *dir, tn_dataset *train, tn_dataset *test, tn_err *e); /* also Fashion */
int tn_cifar10_load(const char *dir, tn_dataset *train, tn_dataset *test, tn_err *e);
/* CIFAR-100 binary version (train.bin, test.bin): coarse != 0 takes the 20 superclass labels. */
int tn_cifar100_load(const char *dir, int coarse, tn_dataset *train, tn_dataset *test, tn_err *e);
int tn_synthetic_make(const tn_data_spec *spec, tn_dataset *train, tn_dataset *test, tn_err *e);

/* What a spec's data will be without loading it: an example's shape, the classes and the full
 * training and test sizes of the standard files (synthetic: as the spec says). */
typedef struct tn_data_dims {
    int c, h, w, d;
    long n_train, n_test;
} tn_data_dims;
tn_data_dims tn_data_spec_dims(const tn_data_spec *spec);

/* Load according to spec and apply subset, label noise (train only) and preprocessing
 * (statistics from the training split, applied to both). */
int tn_data_load(const tn_data_spec *spec, tn_dataset *train, tn_dataset *test, tn_err *e);
/* The same with --val: after the subset, the last spec->val training examples move to val
 * (untouched by label noise, preprocessed with the training statistics); val may be NULL when
 * spec->val is 0. */
int tn_data_load_val(const tn_data_spec *spec, tn_dataset *train, tn_dataset *val, tn_dataset *test, tn_err *e);

#ifdef __cplusplus
}
#endif
#endif
