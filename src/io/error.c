/* tn_err helpers: keep the first failure, since later ones are usually consequences.
 * A message is one line of text whatever it quotes: values and paths that came from a file or
 * the command line may hold control characters or bytes that are not UTF-8 (a damaged
 * checkpoint, a binary file passed as text), so those are written as \xNN, never raw. */
#include "taunet/error.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static int utf8_len(const unsigned char *s) {
    int n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
    if (!n || s[0] > 0xf4 || (n == 2 && s[0] < 0xc2)) return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
        (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))
        return 0; /* overlong, surrogate, beyond U+10FFFF */
    return n;
}

size_t tn_text_escape(const char *src, char *dst, size_t cap) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0;
    if (cap <= 3) {
        if (cap) dst[0] = '\0';
        return 0;
    }
    /* invariant: o + 3 < cap, so "..." and the NUL always fit */
    while (*s) {
        int n = *s >= 0x20 && *s < 0x7f ? 1 : *s >= 0x80 ? utf8_len(s) : 0;
        size_t need = n ? (size_t)n : 4;
        if (o + need + 3 >= cap) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        if (n) {
            memcpy(dst + o, s, (size_t)n);
            s += n;
        } else {
            dst[o] = '\\', dst[o + 1] = 'x', dst[o + 2] = hex[*s >> 4], dst[o + 3] = hex[*s & 15];
            s++;
        }
        o += need;
    }
    dst[o] = '\0';
    return o;
}

int tn_fail(tn_err *e, int code, const char *fmt, ...) {
    if (e && e->code == TN_OK) {
        char raw[sizeof e->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        tn_text_escape(raw, e->msg, sizeof e->msg);
        e->code = code;
    }
    return code;
}

void tn_err_clear(tn_err *e) {
    e->code = TN_OK;
    e->msg[0] = '\0';
}
