/* Reading dataset files: the whole (decompressed) content of a file, raw or gzip'd (zlib's gzread
 * reads both), and locating dir/name or dir/name.gz. Shared by the IDX and CIFAR-10 readers. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "data/files.h"

/* A file named .gz must be gzip data: zlib would read anything else as raw bytes, and a saved
 * HTML error page would then be reported as a bad IDX magic. Says what the file starts with,
 * without quoting its bytes. */
static int not_gzip(const char *path, const char *hint, tn_err *e) {
    size_t pl = strlen(path);
    if (pl < 3 || strcmp(path + pl - 3, ".gz") != 0) return 0;
    unsigned char b[64];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, sizeof b, f) : 0;
    if (f) fclose(f);
    if (n == 0 || (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)) return 0; /* empty: the reader says so */
    size_t text = 0;
    for (size_t i = 0; i < n; i++) text += (b[i] >= 0x20 && b[i] < 0x7f) || b[i] == '\n' || b[i] == '\r' || b[i] == '\t';
    int html = n >= 5 && (memchr(b, '<', n) != NULL) && text == n;
    return tn_fail(e, TN_EINPUT, "data: %s: named .gz but not gzip data (offset 0 holds 0x%02x%02x, gzip starts with 0x1f8b): it starts with %s; %s",
                   path, b[0], n > 1 ? b[1] : 0, html ? "text that looks like HTML (an error page saved by a failed download?)"
                                                 : text == n ? "plain text" : "binary data of another format",
                   hint);
}

/* Whole (decompressed) content of `path` into a malloc'd buffer. Reading everything first,
 * rather than trusting the header, lets us report exactly how many bytes the file holds and
 * never allocate what a corrupt header claims. */
int tn_data_read_all(const char *path, const char *hint, unsigned char **out, size_t *out_len, tn_err *e) {
    *out = NULL;
    *out_len = 0;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return tn_fail(e, TN_EINPUT, "data: %s: no such file; %s", path, hint);
        return tn_fail(e, TN_ERUNTIME, "data: %s: cannot stat (%s); check the path and permissions",
                       path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        return tn_fail(e, TN_EINPUT, "data: %s: is a directory, expected a data file", path);
    if (not_gzip(path, hint, e)) return e->code;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return tn_fail(e, TN_ERUNTIME, "data: %s: cannot open (%s); check permissions", path,
                       errno ? strerror(errno) : "out of memory");
    gzbuffer(f, 1u << 18);
    size_t cap = 1u << 20, len = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        gzclose(f);
        return tn_fail(e, TN_ERUNTIME, "data: %s: out of memory", path);
    }
    for (;;) {
        if (len == cap) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                gzclose(f);
                return tn_fail(e, TN_ERUNTIME, "data: %s: out of memory after %zu bytes", path, len);
            }
            buf = nb;
            cap *= 2;
        }
        size_t want = cap - len;
        if (want > (1u << 30)) want = 1u << 30; /* gzread takes an unsigned int */
        int got = gzread(f, buf + len, (unsigned)want);
        const int sys_errno = errno; /* before anything else can overwrite it */
        if (got > 0) {
            len += (size_t)got;
            continue;
        }
        int zerr = Z_OK;
        char zmsg[128]; /* gzerror's text lives in the gzFile: copy it before gzclose */
        const char *zm = gzerror(f, &zerr);
        const size_t pl = strlen(path); /* zlib prefixes "path: "; we print the path already */
        if (strncmp(zm, path, pl) == 0 && zm[pl] == ':' && zm[pl + 1] == ' ') zm += pl + 2;
        snprintf(zmsg, sizeof zmsg, "%s", zm);
        if (got == 0 && zerr == Z_OK) break; /* clean end of file */
        int code = (zerr == Z_ERRNO || zerr == Z_MEM_ERROR) ? TN_ERUNTIME : TN_EINPUT;
        free(buf);
        gzclose(f);
        if (zerr == Z_BUF_ERROR) /* zlib's "unexpected end of file": compressed stream cut off */
            return tn_fail(e, TN_EINPUT, "data: %s: truncated gzip stream after %zu bytes; %s",
                           path, len, hint);
        if (code == TN_ERUNTIME)
            return tn_fail(e, code, "data: %s: read error (%s); check the disk and retry", path,
                           zerr == Z_ERRNO ? strerror(sys_errno) : zmsg);
        return tn_fail(e, code, "data: %s: corrupt gzip data (%s); %s", path, zmsg, hint);
    }
    gzclose(f);
    *out = buf;
    *out_len = len;
    return 0;
}

/* dir/name or dir/name.gz (raw preferred when both exist). */
int tn_data_find_file(const char *dir, const char *name, char *path, size_t cap) {
    struct stat st;
    snprintf(path, cap, "%s/%s", dir, name);
    if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) return 1;
    snprintf(path, cap, "%s/%s.gz", dir, name);
    if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) return 1;
    return 0;
}

