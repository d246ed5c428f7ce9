/* Whole-file and line-oriented file output that a crash cannot leave half-written.
 *
 * tn_write_atomic: the data goes to "<path>.tmp.<pid>" in the same directory (rename is only
 * atomic within one file system), is fsynced, renamed over path, and the directory is fsynced
 * so the rename itself survives a power cut. A reader therefore sees the old file or the new
 * one, never a prefix. The pid in the temp name keeps two processes writing the same path
 * from clobbering each other's temporary.
 *
 * tn_append_line: one write() of line+'\n' on an O_APPEND descriptor; a killed process leaves
 * the whole line or none of it, and concurrent appenders do not interleave within a line. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include "taunet/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Write all of buf, retrying on EINTR and short writes. Returns 0 or -1 with errno set. */
static int write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) { /* should not happen for regular files; avoid spinning forever */
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The hint that fits the errno of a failed write: a full disk is the common case. */
static const char *write_hint(int err) {
    if (err == ENOSPC || err == EDQUOT) return "free disk space or write to another directory";
    if (err == EACCES || err == EPERM || err == EROFS)
        return "make the directory writable or write to another directory";
    return "check the file system and try again";
}

/* fsync the directory that holds path so that a rename/create in it is durable. */
static int fsync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash) {
        dir = strdup(".");
    } else if (slash == path) {
        dir = strdup("/");
    } else {
        dir = strndup(path, (size_t)(slash - path));
    }
    if (!dir) {
        errno = ENOMEM;
        return -1;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    /* Some file systems (e.g. certain network or FUSE mounts) refuse fsync on directories;
     * the rename has still happened, so that is not worth failing a run over. */
    if (rc != 0 && (saved == EINVAL || saved == ENOTSUP || saved == EBADF)) return 0;
    errno = saved;
    return rc;
}

int tn_write_atomic(const char *path, const void *data, size_t len, tn_err *e) {
    if (!path || !*path) return tn_fail(e, TN_EINPUT, "write: empty file path; pass a file name");
    size_t tlen = strlen(path) + 32;
    char *tmp = malloc(tlen);
    if (!tmp) return tn_fail(e, TN_ERUNTIME, "%s: out of memory building the temporary name; free memory and retry", path);
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        int err = errno;
        tn_fail(e, TN_ERUNTIME, "cannot create %s: %s; %s", tmp, strerror(err),
                err == ENOENT ? "create the directory first" : write_hint(err));
        free(tmp);
        return TN_ERUNTIME;
    }
    if (write_all(fd, data, len) != 0) {
        int err = errno;
        tn_fail(e, TN_ERUNTIME, "writing %s: %s; %s", tmp, strerror(err), write_hint(err));
        goto fail_open;
    }
    if (fsync(fd) != 0) {
        int err = errno;
        tn_fail(e, TN_ERUNTIME, "fsync of %s failed: %s; %s", tmp, strerror(err), write_hint(err));
        goto fail_open;
    }
    /* close can report deferred write errors (NFS), so it is checked too. */
    if (close(fd) != 0) {
        int err = errno;
        tn_fail(e, TN_ERUNTIME, "closing %s: %s; %s", tmp, strerror(err), write_hint(err));
        goto fail_closed;
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        tn_fail(e, TN_ERUNTIME, "cannot rename %s to %s: %s; %s", tmp, path, strerror(err),
                err == EISDIR ? "remove the directory of that name" : write_hint(err));
        goto fail_closed;
    }
    if (fsync_parent_dir(path) != 0) {
        /* The new content is in place; only its durability across a power cut is unknown.
         * Still reported, since the caller asked for a durable write. */
        int err = errno;
        free(tmp);
        return tn_fail(e, TN_ERUNTIME, "fsync of the directory of %s failed: %s; %s", path,
                       strerror(err), write_hint(err));
    }
    free(tmp);
    return 0;

fail_open:
    close(fd);
fail_closed:
    unlink(tmp);
    free(tmp);
    return TN_ERUNTIME;
}

int tn_append_line(const char *path, const char *line, tn_err *e) {
    if (!path || !*path) return tn_fail(e, TN_EINPUT, "append: empty file path; pass a file name");
    if (!line) line = "";
    size_t n = strlen(line);
    /* One buffer so the line and its newline go out in a single write(). */
    char *buf = malloc(n + 1);
    if (!buf) return tn_fail(e, TN_ERUNTIME, "%s: out of memory building a %zu-byte line; free memory and retry", path, n + 1);
    memcpy(buf, line, n);
    buf[n] = '\n';

    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0) {
        int err = errno;
        free(buf);
        return tn_fail(e, TN_ERUNTIME, "cannot open %s for appending: %s; %s", path, strerror(err),
                       err == ENOENT ? "create the directory first" : write_hint(err));
    }
    ssize_t w;
    do {
        w = write(fd, buf, n + 1);
    } while (w < 0 && errno == EINTR);
    int err = errno;
    free(buf);
    if (w < 0 || (size_t)w != n + 1) {
        close(fd);
        /* A short write leaves a partial line; it cannot be retried without breaking the
         * one-write guarantee, so it is reported instead (it only happens on a full disk). */
        if (w >= 0) err = ENOSPC;
        return tn_fail(e, TN_ERUNTIME, "appending to %s: %s; %s", path, strerror(err), write_hint(err));
    }
    if (fsync(fd) != 0) {
        err = errno;
        close(fd);
        return tn_fail(e, TN_ERUNTIME, "fsync of %s failed: %s; %s", path, strerror(err), write_hint(err));
    }
    if (close(fd) != 0) {
        err = errno;
        return tn_fail(e, TN_ERUNTIME, "closing %s: %s; %s", path, strerror(err), write_hint(err));
    }
    return 0;
}

int tn_read_file(const char *path, char **data, size_t *len, tn_err *e) {
    *data = NULL;
    *len = 0;
    if (!path || !*path) return tn_fail(e, TN_EINPUT, "read: empty file path; pass a file name");
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        /* The path came from the user, so a missing or unreadable file is an input error. */
        int err = errno;
        return tn_fail(e, TN_EINPUT, "cannot open %s: %s; check the path and its permissions",
                       path, strerror(err));
    }
    struct stat st;
    memset(&st, 0, sizeof st);
    if (fstat(fd, &st) != 0) st.st_size = 0; /* size is only a first guess below */
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return tn_fail(e, TN_EINPUT, "%s is a directory, not a file; pass the path of a file", path);
    }
    /* Start from the size fstat reports but keep reading to EOF, in case the file grows. */
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return tn_fail(e, TN_ERUNTIME, "%s: out of memory reading %zu bytes; free memory and retry", path, cap);
    }
    for (;;) {
        if (n + 1 >= cap) {
            size_t ncap = cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                close(fd);
                return tn_fail(e, TN_ERUNTIME, "%s: out of memory reading %zu bytes; free memory and retry", path, ncap);
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            free(buf);
            close(fd);
            return tn_fail(e, TN_ERUNTIME, "reading %s: %s; check the disk and try again", path, strerror(err));
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

/* mkdir one component; an existing directory is fine, anything else of that name is not. */
static int mkdir_one(const char *dir, const char *full, tn_err *e) {
    if (mkdir(dir, 0777) == 0) return 0; /* 0777: the umask decides, as with mkdir -p */
    int err = errno;
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return 0;
        return tn_fail(e, TN_EINPUT, "cannot create directory %s: %s exists and is not a directory; "
                       "remove it or choose another path", full, dir);
    }
    return tn_fail(e, TN_ERUNTIME, "cannot create directory %s: %s; %s", dir, strerror(err),
                   write_hint(err));
}

int tn_mkdir_p(const char *path, tn_err *e) {
    if (!path || !*path) return tn_fail(e, TN_EINPUT, "mkdir: empty directory path; pass a directory name");
    char *p = strdup(path);
    if (!p) return tn_fail(e, TN_ERUNTIME, "%s: out of memory; free memory and retry", path);
    /* Create each prefix ending before a '/', skipping the root and repeated slashes. */
    for (char *s = p + 1; *s; s++) {
        if (*s != '/' || s[-1] == '/') continue;
        *s = '\0';
        int rc = mkdir_one(p, path, e);
        *s = '/';
        if (rc) {
            free(p);
            return rc;
        }
    }
    int rc = mkdir_one(p, path, e);
    free(p);
    return rc;
}

/* "<name>.tmp.<pid>": the pid of its writer, or 0 when the name is not such a temporary. */
static long temp_writer(const char *name) {
    const char *t = strstr(name, ".tmp.");
    while (t && strstr(t + 1, ".tmp.")) t = strstr(t + 1, ".tmp."); /* the last one */
    if (!t || t == name || !t[5] || strspn(t + 5, "0123456789") != strlen(t + 5) || strlen(t + 5) > 9) return 0;
    return strtol(t + 5, NULL, 10);
}

/* Whether process pid still runs: it exists (kill succeeds, or it is not ours to signal) and is
 * not a zombie (a killed writer whose parent has not reaped it yet is dead all the same). */
static int process_alive(long pid) {
    if (kill((pid_t)pid, 0) != 0 && errno != EPERM) return 0;
    char p[64], buf[256];
    snprintf(p, sizeof p, "/proc/%ld/stat", pid);
    FILE *f = fopen(p, "r");
    if (!f) return 1; /* no /proc: trust kill */
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')'); /* "pid (comm) state ..." */
    return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

int tn_remove_stale_temps(const char *dir, int *removed, tn_err *e) {
    if (removed) *removed = 0;
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : tn_fail(e, TN_ERUNTIME, "cannot list %s: %s; check its permissions", dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) && !rc) {
        long pid = temp_writer(de->d_name);
        if (pid <= 0 || pid == (long)getpid() || process_alive(pid)) continue; /* a write may be in flight */
        char *p = malloc(strlen(dir) + strlen(de->d_name) + 2);
        if (!p) {
            rc = tn_fail(e, TN_ERUNTIME, "out of memory");
            break;
        }
        sprintf(p, "%s/%s", dir, de->d_name);
        if (unlink(p) == 0) {
            if (removed) (*removed)++;
        } else if (errno != ENOENT) {
            rc = tn_fail(e, TN_ERUNTIME, "cannot remove the stale temporary %s: %s; remove it by hand", p, strerror(errno));
        }
        free(p);
    }
    closedir(d);
    return rc;
}
