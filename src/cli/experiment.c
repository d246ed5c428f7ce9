/* `taunet experiment NAME [--scale ci|full] [--out DIR] [--threads T] [--backend B] [--data DIR]
 * [--dry-run]` and `taunet experiment list`: the seed's claims as named experiments
 * (docs/EXPERIMENTS.md). The experiments live in bench/experiments.py (Python: it runs `taunet
 * sweep`, reads the results, checks the claim, writes claim.json, REPORT.md and a figure); this
 * file finds a python3 and that script and execs it with this binary's own path, so the script
 * drives the same taunet. The script's exit code is the command's: 0 claim supported, 3 not
 * supported by the data, 2 bad usage, 1 failure. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXP_USAGE "usage: taunet experiment NAME|list [--scale ci|full] [--out DIR] [--threads T] [--backend B] [--data DIR] [--dry-run]"

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The folder of this source file's tree when __FILE__ is absolute (CMake compiles with absolute
 * paths): the library is not given TAUNET_SOURCE_DIR, and a build directory outside the checkout
 * (cmake -B /tmp/x) has no ../bench next to the binary. */
static int source_tree_script(char *buf, size_t cap) {
#ifdef TAUNET_SOURCE_DIR
    snprintf(buf, cap, "%s/bench/experiments.py", TAUNET_SOURCE_DIR);
    if (is_file(buf)) return 0;
#endif
    const char *f = __FILE__;
    const char *tail = strstr(f, "/src/cli/experiment.c");
    if (f[0] != '/' || !tail) return -1;
    snprintf(buf, cap, "%.*s/bench/experiments.py", (int)(tail - f), f);
    return is_file(buf) ? 0 : -1;
}

/* bench/experiments.py: $TAUNET_SCRIPTS_DIR (an explicit choice wins, as for `taunet report`),
 * the source tree this binary was built from, ../bench next to the binary, then ./bench. */
static int find_script(const char *exe_dir, char *buf, size_t cap) {
    const char *env = getenv("TAUNET_SCRIPTS_DIR");
    if (env && *env) {
        snprintf(buf, cap, "%s/experiments.py", env);
        return is_file(buf) ? 0 : -1;
    }
    if (!source_tree_script(buf, cap)) return 0;
    if (exe_dir) {
        snprintf(buf, cap, "%s/../bench/experiments.py", exe_dir);
        if (is_file(buf)) return 0;
    }
    snprintf(buf, cap, "bench/experiments.py");
    return is_file(buf) ? 0 : -1;
}

int tn_cli_experiment(int argc, char **argv) {
    if (argc < 1 || !strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
        fprintf(argc < 1 ? stderr : stdout, "%s\n  experiments: taunet experiment list; docs/EXPERIMENTS.md\n", EXP_USAGE);
        return argc < 1 ? 2 : 0;
    }
    if (argv[0][0] == '-') {
        fprintf(stderr, "taunet: experiment: the experiment's NAME comes first (got '%s'); %s\n", argv[0], EXP_USAGE);
        return 2;
    }
    char exe[1024], exe_dir[1024], script[1200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        fprintf(stderr, "taunet: experiment: cannot find this binary's path (/proc/self/exe): %s\n", strerror(errno));
        return 1;
    }
    exe[n] = '\0';
    snprintf(exe_dir, sizeof exe_dir, "%s", exe);
    char *slash = strrchr(exe_dir, '/');
    if (slash) *slash = '\0';
    if (find_script(exe_dir, script, sizeof script)) {
        fprintf(stderr, "taunet: experiment: bench/experiments.py not found; set TAUNET_SCRIPTS_DIR to the folder that holds it (the checkout's bench/)\n");
        return 1;
    }
    /* python3 script TAUNET_EXE NAME FLAGS...; Debian's /usr/bin/python3 first (it has
     * python3-matplotlib; a pyenv python3 on PATH often lacks it), then python3 on PATH. */
    char **args = calloc((size_t)argc + 4, sizeof *args);
    if (!args) {
        fprintf(stderr, "taunet: out of memory\n");
        return 1;
    }
    args[0] = "python3";
    args[1] = script;
    args[2] = exe;
    for (int i = 0; i < argc; i++) args[3 + i] = argv[i];
    args[argc + 3] = NULL;
    fflush(stdout);
    fflush(stderr);
    if (access("/usr/bin/python3", X_OK) == 0) execv("/usr/bin/python3", args);
    execvp("python3", args);
    fprintf(stderr, "taunet: experiment: cannot run python3 (%s); install it with: apt-get install python3 python3-matplotlib\n", strerror(errno));
    free(args);
    return 1;
}
