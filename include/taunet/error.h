/* Error reporting inside the library: a code and one line of text.
 * The library never exits; the CLI prints msg and exits with code. */
#ifndef TAUNET_ERROR_H
#define TAUNET_ERROR_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif

enum { TN_OK = 0, TN_ERUNTIME = 1, TN_EINPUT = 2 };

typedef struct tn_err {
    int code;       /* TN_OK, TN_ERUNTIME (device, I/O) or TN_EINPUT (bad usage/input) */
    char msg[1024]; /* one line: what is wrong and how to fix it */
} tn_err;

/* Record an error (first one wins) and return its code, so callers can `return tn_fail(...)`.
 * The message is stored escaped (tn_text_escape): one line of text, whatever it quotes. */
int tn_fail(tn_err *e, int code, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void tn_err_clear(tn_err *e);
/* src as text into dst (cap bytes, NUL-terminated): printable ASCII and valid UTF-8 as they are,
 * every other byte (control characters, newlines, bytes that are not UTF-8) as \xNN; cut with
 * "..." when it does not fit. Returns the length written. */
size_t tn_text_escape(const char *src, char *dst, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
