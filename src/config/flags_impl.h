/* The flag table's rows (src/config/flags.c), private to src/config/: the public tn_flag plus how
 * to parse and write the flag. */
#ifndef TAUNET_CONFIG_FLAGS_IMPL_H
#define TAUNET_CONFIG_FLAGS_IMPL_H
#include <stddef.h>
#include "taunet/config.h"

enum { K_INT, K_LONG, K_DOUBLE, K_CHOICE, K_TEXT, K_SPECIAL };
/* How config.json writes a flag. */
enum { J_NONE, J_INT, J_NUM, J_STR, J_BOOL, J_TAU, J_STEPS, J_EPOCHS, J_SEED, J_DIAG };

typedef struct tn_flag_row {
    tn_flag pub;
    int kind;
    size_t off, size;          /* the field in tn_config (K_INT..K_TEXT) */
    double lo, hi;             /* numbers: the accepted range */
    const char *const *names;  /* K_CHOICE: the values (src/config/names.c), stored as their index */
    int (*parse)(tn_config *c, const char *v, tn_err *e);       /* K_SPECIAL */
    int (*format)(const tn_config *c, char *buf, size_t cap);   /* K_SPECIAL: 0 leaves the flag out */
    int json;
} tn_flag_row;

/* Choice fields are enums stored as int. */
_Static_assert(sizeof(tn_arch) == sizeof(int) && sizeof(tn_opt) == sizeof(int) && sizeof(tn_train_what) == sizeof(int) &&
                   sizeof(tn_backend_kind) == sizeof(int) && sizeof(tn_prep) == sizeof(int) && sizeof(tn_label_rule) == sizeof(int),
               "choice flags are stored as int");

const tn_flag_row *tn_flag_rows(int *n);
const tn_flag_row *tn_flag_row_find(const char *name);
/* The canonical value text; 0 when the flag is left out. */
int tn_flag_value(const tn_flag_row *f, const tn_config *c, char *buf, size_t cap);
void tn_schedule_str(const tn_config *c, char *buf, size_t cap);
void tn_data_str(const tn_config *c, char *buf, size_t cap);
#endif
