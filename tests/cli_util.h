// Helpers for the CLI tests (tests/test_cli.cpp): run the real taunet binary in a directory and
// capture stdout, stderr and the exit status; fresh temporary directories; small readers for the
// files a run writes (JSON objects and JSON lines, .npy headers, checkpoint.bin).
// Everything here is plain C++20 + POSIX, independent of GoogleTest.
#ifndef TAUNET_TESTS_CLI_UTIL_H
#define TAUNET_TESTS_CLI_UTIL_H

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

extern char **environ;

namespace cli {

namespace fs = std::filesystem;

// ------------------------------------------------------------------ processes

struct Result {
    int code = -1;          // exit status; 128 + signal when killed; -1 when it could not start
    bool timed_out = false; // killed after the timeout
    std::string out, err;   // everything written to stdout / stderr
};

// Runs argv[0] (a path, no PATH search) with argv in directory cwd (empty: the current one),
// stdin from /dev/null, the environment inherited. Kills it after timeout_s seconds.
inline Result run(const std::vector<std::string> &argv, const std::string &cwd = {}, int timeout_s = 120) {
    Result r;
    if (argv.empty()) return r;
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0) return r;
    if (pipe2(pe, O_CLOEXEC) != 0) {
        close(po[0]), close(po[1]);
        return r;
    }
    // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
    std::vector<char *> args;
    for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    const char *dir = cwd.empty() ? nullptr : cwd.c_str();
    pid_t pid = fork();
    if (pid < 0) {
        close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
        return r;
    }
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0) dup2(in, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        if (dir && chdir(dir) != 0) _exit(126);
        execve(args[0], args.data(), environ);
        _exit(127);
    }
    close(po[1]), close(pe[1]);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    std::string *dst[2] = {&r.out, &r.err};
    int open_fds = 2;
    char buf[65536];
    while (open_fds > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            kill(pid, SIGKILL);
            r.timed_out = true;
            break;
        }
        int n = poll(fds, 2, (int)std::min<long long>(left.count(), 1000));
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t got = read(fds[i].fd, buf, sizeof buf);
            if (got > 0) dst[i]->append(buf, (size_t)got);
            else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (auto &f : fds)
        if (f.fd >= 0) close(f.fd);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(st)) r.code = WEXITSTATUS(st);
    else if (WIFSIGNALED(st)) r.code = 128 + WTERMSIG(st);
    return r;
}

// `taunet ARGS...` (the binary of this build) in cwd.
inline Result taunet(const std::vector<std::string> &args, const std::string &cwd = {}, int timeout_s = 120) {
    std::vector<std::string> argv{TAUNET_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, cwd, timeout_s);
}

// The command line as one string, for failure messages.
inline std::string describe(const std::vector<std::string> &args) {
    std::string s = "taunet";
    for (const auto &a : args) s += " " + a;
    return s;
}

// ------------------------------------------------------------------ files

// A fresh directory under the system temp dir, removed with everything in it on destruction
// (kept when TAUNET_KEEP_TMP is set, to look at after a failure).
class TempDir {
  public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "taunet_cli_XXXXXX").string();
        if (mkdtemp(tmpl.data())) path_ = tmpl;
    }
    ~TempDir() {
        if (path_.empty() || std::getenv("TAUNET_KEEP_TMP")) return;
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    bool ok() const { return !path_.empty(); }
    const std::string &path() const { return path_; }
    std::string operator/(const std::string &name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

inline bool exists(const std::string &p) {
    std::error_code ec;
    return fs::exists(p, ec);
}

inline std::string slurp(const std::string &p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

inline bool spit(const std::string &p, const std::string &bytes) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), (std::streamsize)bytes.size());
    return (bool)f;
}

inline bool spit(const std::string &p, const std::vector<unsigned char> &bytes) {
    return spit(p, std::string(bytes.begin(), bytes.end()));
}

// Every regular file below dir (relative path -> bytes); the run directory as a snapshot.
inline std::map<std::string, std::string> snapshot(const std::string &dir) {
    std::map<std::string, std::string> m;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return m;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        if (it->is_regular_file()) m[fs::relative(it->path(), dir).string()] = slurp(it->path().string());
    return m;
}

// Names (not contents) of the entries of dir; empty when it does not exist.
inline std::set<std::string> listing(const std::string &dir) {
    std::set<std::string> s;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return s;
    for (const auto &e : fs::directory_iterator(dir, ec)) s.insert(e.path().filename().string());
    return s;
}

inline std::vector<std::string> lines(const std::string &text) {
    std::vector<std::string> v;
    size_t a = 0;
    while (a < text.size()) {
        size_t nl = text.find('\n', a);
        if (nl == std::string::npos) nl = text.size();
        v.push_back(text.substr(a, nl - a));
        a = nl + 1;
    }
    return v;
}

// ------------------------------------------------------------------ JSON, textually

// The top-level members of one JSON object, in order, as (key, raw value text): numbers exactly
// as printed, strings with their quotes, nested objects/arrays as their whole text. Returns
// nullopt on anything that is not a well-formed object (enough JSON for taunet's outputs).
using Fields = std::vector<std::pair<std::string, std::string>>;

namespace detail {
inline void skip_ws(const std::string &s, size_t &i) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
}
// Scans a string starting at s[i] == '"'; i ends past the closing quote.
inline bool scan_string(const std::string &s, size_t &i) {
    if (i >= s.size() || s[i] != '"') return false;
    for (i++; i < s.size(); i++) {
        if (s[i] == '\\') i++;
        else if (s[i] == '"') {
            i++;
            return true;
        }
    }
    return false;
}
// Scans any value; i ends past it.
inline bool scan_value(const std::string &s, size_t &i) {
    skip_ws(s, i);
    if (i >= s.size()) return false;
    if (s[i] == '"') return scan_string(s, i);
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        while (i < s.size()) {
            char c = s[i];
            if (c == '"') {
                if (!scan_string(s, i)) return false;
                continue;
            }
            if (c == '{' || c == '[') depth++;
            if (c == '}' || c == ']') depth--;
            i++;
            if (depth == 0) return true;
        }
        return false;
    }
    size_t a = i;
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n') i++;
    return i > a;
}
}  // namespace detail

inline std::optional<Fields> json_fields(const std::string &s) {
    Fields f;
    size_t i = 0;
    detail::skip_ws(s, i);
    if (i >= s.size() || s[i] != '{') return std::nullopt;
    i++;
    detail::skip_ws(s, i);
    if (i < s.size() && s[i] == '}') return f;
    for (;;) {
        detail::skip_ws(s, i);
        size_t k = i;
        if (!detail::scan_string(s, i)) return std::nullopt;
        std::string key = s.substr(k + 1, i - k - 2);
        detail::skip_ws(s, i);
        if (i >= s.size() || s[i] != ':') return std::nullopt;
        i++;
        detail::skip_ws(s, i);
        size_t v = i;
        if (!detail::scan_value(s, i)) return std::nullopt;
        f.emplace_back(key, s.substr(v, i - v));
        detail::skip_ws(s, i);
        if (i >= s.size()) return std::nullopt;
        if (s[i] == '}') break;
        if (s[i] != ',') return std::nullopt;
        i++;
    }
    i++;
    detail::skip_ws(s, i);
    return i == s.size() ? std::optional<Fields>(f) : std::nullopt;
}

// The raw value of key in a top-level object (nullopt: absent or not an object).
inline std::optional<std::string> json_get(const std::string &obj, const std::string &key) {
    auto f = json_fields(obj);
    if (!f) return std::nullopt;
    for (const auto &[k, v] : *f)
        if (k == key) return v;
    return std::nullopt;
}

// A raw JSON string value without its quotes (taunet writes no escapes in the values we read).
inline std::string unquote(const std::string &raw) {
    if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') return raw.substr(1, raw.size() - 2);
    return raw;
}

// metrics.jsonl with the fields named in drop removed, one canonical line per record
// ("key=value;..."), so two runs compare as strings. An unparsable line is kept as "!<line>".
inline std::vector<std::string> metrics_without(const std::string &text, const std::set<std::string> &drop) {
    std::vector<std::string> out;
    for (const auto &line : lines(text)) {
        auto f = json_fields(line);
        if (!f) {
            out.push_back("!" + line);
            continue;
        }
        std::string s;
        for (const auto &[k, v] : *f)
            if (!drop.count(k)) s += k + "=" + v + ";";
        out.push_back(s);
    }
    return out;
}

// ------------------------------------------------------------------ .npy

struct NpyInfo {
    bool ok = false;
    std::string why;          // what is wrong when !ok
    int major = 0;
    std::string header;       // the header dict text
    std::string descr;        // e.g. "<f4"
    bool fortran_order = true;
    std::vector<long long> shape;
    size_t data_offset = 0;   // where the array data starts
};

inline NpyInfo npy_info(const std::string &b) {
    NpyInfo n;
    if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0) {
        n.why = "no \\x93NUMPY magic";
        return n;
    }
    n.major = (unsigned char)b[6];
    size_t hl, at;
    if (n.major == 1) hl = (unsigned char)b[8] | (size_t)(unsigned char)b[9] << 8, at = 10;
    else {
        if (b.size() < 12) return n.why = "short", n;
        hl = 0;
        for (int i = 3; i >= 0; i--) hl = hl << 8 | (unsigned char)b[8 + i];
        at = 12;
    }
    if (at + hl > b.size()) return n.why = "header runs past the end", n;
    n.header = b.substr(at, hl);
    n.data_offset = at + hl;
    auto get = [&](const std::string &key) -> std::string {
        size_t k = n.header.find("'" + key + "':");
        if (k == std::string::npos) return {};
        k += key.size() + 3;
        while (k < n.header.size() && n.header[k] == ' ') k++;
        size_t e = k;
        if (n.header[k] == '(') e = n.header.find(')', k) + 1;
        else if (n.header[k] == '\'') e = n.header.find('\'', k + 1) + 1;
        else
            while (e < n.header.size() && n.header[e] != ',' && n.header[e] != '}') e++;
        return n.header.substr(k, e - k);
    };
    std::string descr = get("descr"), fo = get("fortran_order"), shape = get("shape");
    if (descr.size() < 2 || fo.empty() || shape.size() < 2) return n.why = "header lacks a key: " + n.header, n;
    n.descr = descr.substr(1, descr.size() - 2);
    n.fortran_order = fo != "False";
    for (size_t i = 1; i + 1 < shape.size();) {
        while (i < shape.size() && (shape[i] == ' ' || shape[i] == ',')) i++;
        if (i + 1 >= shape.size()) break;
        char *end;
        long long v = std::strtoll(shape.c_str() + i, &end, 10);
        if (end == shape.c_str() + i) return n.why = "bad shape " + shape, n;
        n.shape.push_back(v);
        i = (size_t)(end - shape.c_str());
    }
    n.ok = true;
    return n;
}

// ------------------------------------------------------------------ checkpoint.bin

// docs/FORMATS.md "Checkpoint": a 32-byte header, then meta text and named float32 tensors.
struct Ckpt {
    bool ok = false;
    std::string why;
    uint32_t version = 0;
    std::string meta;
    std::map<std::string, std::string> tensors; // name -> raw little-endian bytes
};

inline Ckpt read_ckpt(const std::string &b) {
    Ckpt c;
    auto u32 = [&](size_t p) {
        uint32_t v = 0;
        for (int i = 3; i >= 0; i--) v = v << 8 | (unsigned char)b[p + i];
        return v;
    };
    auto u64 = [&](size_t p) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--) v = v << 8 | (unsigned char)b[p + i];
        return v;
    };
    if (b.size() < 32 || b.compare(0, 8, "TAUNETCK") != 0) return c.why = "no TAUNETCK header", c;
    c.version = u32(8);
    if (u64(16) != b.size() - 32) return c.why = "body length does not match the file size", c;
    size_t p = 32;
    if (p + 4 > b.size()) return c.why = "short", c;
    uint32_t ml = u32(p);
    p += 4;
    if (p + ml + 4 > b.size()) return c.why = "meta runs past the end", c;
    c.meta = b.substr(p, ml);
    p += ml;
    uint32_t nt = u32(p);
    p += 4;
    for (uint32_t i = 0; i < nt; i++) {
        if (p + 2 > b.size()) return c.why = "tensor table runs past the end", c;
        size_t nl = (unsigned char)b[p] | (size_t)(unsigned char)b[p + 1] << 8;
        if (p + 2 + nl + 8 > b.size()) return c.why = "tensor table runs past the end", c;
        std::string name = b.substr(p + 2, nl);
        p += 2 + nl;
        uint64_t n = u64(p);
        p += 8;
        if (n > (b.size() - p) / 4) return c.why = "tensor data runs past the end", c;
        c.tensors[name] = b.substr(p, (size_t)n * 4);
        p += (size_t)n * 4;
    }
    if (p != b.size()) return c.why = "bytes after the last tensor", c;
    c.ok = true;
    return c;
}

// The meta text without the lines starting with one of the given prefixes (e.g. "seconds ").
inline std::string meta_without(const std::string &meta, const std::vector<std::string> &prefixes) {
    std::string out;
    for (const auto &l : lines(meta)) {
        bool drop = false;
        for (const auto &p : prefixes) drop = drop || l.rfind(p, 0) == 0;
        if (!drop) out += l + "\n";
    }
    return out;
}

}  // namespace cli

#endif
