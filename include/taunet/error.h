/* Error reporting inside the library: a code and one line of text.
 * The library never exits; the CLI prints msg and exits with code. */
#ifndef TAUNET_ERROR_H
#define TAUNET_ERROR_H
#ifdef __cplusplus
extern "C" {
#endif

enum { TN_OK = 0, TN_ERUNTIME = 1, TN_EINPUT = 2 };

typedef struct tn_err {
    int code;       /* TN_OK, TN_ERUNTIME (device, I/O) or TN_EINPUT (bad usage/input) */
    char msg[1024]; /* one line: what is wrong and how to fix it */
} tn_err;

/* Record an error (first one wins) and return its code, so callers can `return tn_fail(...)`. */
int tn_fail(tn_err *e, int code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void tn_err_clear(tn_err *e);

#ifdef __cplusplus
}
#endif
#endif
