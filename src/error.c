/* tn_err helpers: keep the first failure, since later ones are usually consequences. */
#include "taunet/error.h"
#include <stdarg.h>
#include <stdio.h>

int tn_fail(tn_err *e, int code, const char *fmt, ...) {
    if (e && e->code == TN_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

void tn_err_clear(tn_err *e) {
    e->code = TN_OK;
    e->msg[0] = '\0';
}
