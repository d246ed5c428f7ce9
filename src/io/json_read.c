/* Reading JSON: a strict validator (RFC 8259 grammar, nesting at most TN_JSON_MAX_DEPTH), member
 * lookup in an object, and string decoding. Used on taunet's own files (results.jsonl,
 * summary.json, config.json), which a crash, a full disk or a hand edit may have damaged: a line
 * is checked before anything is taken from it, so a torn or spliced line is found, never read.
 * Bytes >= 0x80 inside strings are accepted as they are (the writer passes paths through
 * unchanged, and a Linux path need not be UTF-8). */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "taunet/io.h"

typedef struct {
    const char *s, *end, *base;
    int depth;
} reader;

static void skip_ws(reader *r) {
    while (r->s < r->end && (*r->s == ' ' || *r->s == '\t' || *r->s == '\n' || *r->s == '\r')) r->s++;
}

static int hex4(const char *s, const char *end, unsigned *v) {
    if (end - s < 4) return -1;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)s[i], d = isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                                            : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        *v = *v << 4 | (unsigned)d;
    }
    return 0;
}

static int check_string(reader *r) {
    if (r->s >= r->end || *r->s != '"') return -1;
    for (r->s++; r->s < r->end; r->s++) {
        unsigned char c = (unsigned char)*r->s;
        if (c == '"') {
            r->s++;
            return 0;
        }
        if (c < 0x20) return -1;
        if (c != '\\') continue;
        if (++r->s >= r->end) return -1;
        unsigned u;
        switch (*r->s) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
        case 'u':
            if (hex4(r->s + 1, r->end, &u)) return -1;
            r->s += 4;
            break;
        default: return -1;
        }
    }
    return -1;
}

static int check_digits(reader *r) {
    const char *start = r->s;
    while (r->s < r->end && isdigit((unsigned char)*r->s)) r->s++;
    return r->s > start ? 0 : -1;
}

static int check_number(reader *r) {
    if (r->s < r->end && *r->s == '-') r->s++;
    if (r->s < r->end && *r->s == '0') r->s++;
    else if (check_digits(r)) return -1;
    if (r->s < r->end && *r->s == '.') {
        r->s++;
        if (check_digits(r)) return -1;
    }
    if (r->s < r->end && (*r->s == 'e' || *r->s == 'E')) {
        r->s++;
        if (r->s < r->end && (*r->s == '+' || *r->s == '-')) r->s++;
        if (check_digits(r)) return -1;
    }
    return 0;
}

static int check_literal(reader *r, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(r->end - r->s) < n || memcmp(r->s, word, n)) return -1;
    r->s += n;
    return 0;
}

static int check_value(reader *r);

/* '{' [string ':' value (',' string ':' value)*] '}' or the same with '[' values ']' */
static int check_container(reader *r, char close) {
    if (++r->depth > TN_JSON_MAX_DEPTH) return -1;
    r->s++;
    skip_ws(r);
    if (r->s < r->end && *r->s == close) {
        r->s++, r->depth--;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            if (check_string(r)) return -1;
            skip_ws(r);
            if (r->s >= r->end || *r->s != ':') return -1;
            r->s++;
        }
        if (check_value(r)) return -1;
        skip_ws(r);
        if (r->s >= r->end) return -1;
        if (*r->s == close) {
            r->s++, r->depth--;
            return 0;
        }
        if (*r->s != ',') return -1;
        r->s++;
        skip_ws(r);
    }
}

static int check_value(reader *r) {
    skip_ws(r);
    if (r->s >= r->end) return -1;
    switch (*r->s) {
    case '{': return check_container(r, '}');
    case '[': return check_container(r, ']');
    case '"': return check_string(r);
    case 't': return check_literal(r, "true");
    case 'f': return check_literal(r, "false");
    case 'n': return check_literal(r, "null");
    default: return (*r->s == '-' || isdigit((unsigned char)*r->s)) ? check_number(r) : -1;
    }
}

int tn_json_check(const char *text, size_t len, size_t *where) {
    reader r = {text, text + len, text, 0};
    int rc = check_value(&r);
    if (!rc) {
        skip_ws(&r);
        if (r.s != r.end) rc = -1;
    }
    if (where) *where = (size_t)(r.s - r.base);
    return rc;
}

/* The end of the value that starts at s (text already checked, or at worst malformed: the
 * result never passes end). */
static const char *value_end(const char *s, const char *end) {
    int depth = 0;
    while (s < end) {
        char c = *s;
        if (c == '"') {
            for (s++; s < end && *s != '"'; s++)
                if (*s == '\\' && s + 1 < end) s++;
            if (s < end) s++;
            if (depth == 0) return s;
            continue;
        }
        if (c == '{' || c == '[') depth++;
        else if (c == '}' || c == ']') {
            if (depth == 0) return s;
            if (--depth == 0) return s + 1;
        } else if (depth == 0 && (c == ',' || isspace((unsigned char)c))) return s;
        s++;
    }
    return end;
}

int tn_json_next_member(const char *obj, size_t len, size_t *pos, const char **key, size_t *klen,
                        const char **val, size_t *vlen) {
    const char *end = obj + len, *s = obj + (*pos < len ? *pos : len);
    if (*pos == 0) {
        while (s < end && isspace((unsigned char)*s)) s++;
        if (s >= end || *s != '{') return -1;
        s++;
    }
    while (s < end && (isspace((unsigned char)*s) || *s == ',')) s++;
    if (s >= end || *s != '"') return -1; /* '}' (the end) or malformed */
    const char *ke = value_end(s, end);
    if (ke - s < 2 || ke[-1] != '"') return -1;
    const char *k = s + 1;
    s = ke;
    while (s < end && isspace((unsigned char)*s)) s++;
    if (s >= end || *s != ':') return -1;
    s++;
    while (s < end && isspace((unsigned char)*s)) s++;
    const char *ve = value_end(s, end);
    if (ve == s) return -1;
    *key = k, *klen = (size_t)(ke - 1 - k), *val = s, *vlen = (size_t)(ve - s);
    *pos = (size_t)(ve - obj);
    return 0;
}

int tn_json_member(const char *obj, size_t len, const char *key, const char **val, size_t *vlen) {
    size_t pos = 0, kl = strlen(key), l;
    const char *k;
    while (!tn_json_next_member(obj, len, &pos, &k, &l, val, vlen))
        if (l == kl && !memcmp(k, key, kl)) return 0;
    return -1;
}

/* UTF-8 of code point u into out; bytes written. */
static size_t put_utf8(unsigned u, char *out) {
    if (u < 0x80) return out[0] = (char)u, 1;
    if (u < 0x800) return out[0] = (char)(0xc0 | u >> 6), out[1] = (char)(0x80 | (u & 0x3f)), 2;
    if (u < 0x10000) {
        out[0] = (char)(0xe0 | u >> 12), out[1] = (char)(0x80 | ((u >> 6) & 0x3f)), out[2] = (char)(0x80 | (u & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | u >> 18), out[1] = (char)(0x80 | ((u >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((u >> 6) & 0x3f)), out[3] = (char)(0x80 | (u & 0x3f));
    return 4;
}

int tn_json_get_string(const char *val, size_t vlen, char *out, size_t cap) {
    reader r = {val, val + vlen, val, 0};
    if (!cap || check_string(&r) || r.s != r.end) return -1;
    size_t n = 0;
    for (const char *s = val + 1; s < val + vlen - 1; s++) {
        char buf[4];
        size_t k = 1;
        buf[0] = *s;
        if (*s == '\\') {
            s++;
            switch (*s) {
            case 'b': buf[0] = '\b'; break;
            case 'f': buf[0] = '\f'; break;
            case 'n': buf[0] = '\n'; break;
            case 'r': buf[0] = '\r'; break;
            case 't': buf[0] = '\t'; break;
            case 'u': {
                unsigned u = 0, lo = 0;
                hex4(s + 1, val + vlen, &u);
                s += 4;
                /* a surrogate pair; a lone surrogate becomes U+FFFD */
                if (u >= 0xd800 && u < 0xdc00 && s + 6 < val + vlen && s[1] == '\\' && s[2] == 'u' &&
                    !hex4(s + 3, val + vlen, &lo) && lo >= 0xdc00 && lo < 0xe000) {
                    u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                    s += 6;
                } else if (u >= 0xd800 && u < 0xe000) {
                    u = 0xfffd;
                }
                if (u == 0) return -1; /* a C string cannot hold it */
                k = put_utf8(u, buf);
                break;
            }
            default: buf[0] = *s; /* " \ / */
            }
        }
        if (n + k >= cap) return -1;
        memcpy(out + n, buf, k);
        n += k;
    }
    out[n] = '\0';
    return 0;
}
