// Tests of src/io/fileio.c, src/io/json.c, src/io/json_read.c, src/io/npy.c and src/io/checkpoint.c (the io.h API).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include "taunet/error.h"
#include "taunet/io.h"

namespace fs = std::filesystem;

namespace {

// A fresh directory per test, removed afterwards, so tests do not see each other's files.
class IoTmp : public ::testing::Test {
  protected:
    std::string dir;
    tn_err e{};
    void SetUp() override {
        std::string tmpl = (fs::temp_directory_path() / "taunet_io_XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir = tmpl;
        tn_err_clear(&e);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    std::string path(const std::string &name) const { return dir + "/" + name; }
};

std::string slurp(const std::string &p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

void spit(const std::string &p, const std::string &bytes) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), (std::streamsize)bytes.size());
}

bool have_numpy() { return std::system("python3 -c 'import numpy' >/dev/null 2>&1") == 0; }

}  // namespace

// ---------------------------------------------------------------- JSON

TEST(IoJson, NestingAndCommas) {
    tn_json j;
    tn_json_init(&j);
    tn_json_obj_open(&j, nullptr);
    tn_json_int(&j, "step", 3);
    tn_json_arr_open(&j, "xs");
    tn_json_int(&j, nullptr, 1);
    tn_json_int(&j, nullptr, -2);
    tn_json_obj_open(&j, nullptr);
    tn_json_obj_close(&j);
    tn_json_arr_open(&j, nullptr);
    tn_json_arr_close(&j);
    tn_json_arr_close(&j);
    tn_json_obj_open(&j, "o");
    tn_json_bool(&j, "t", 1);
    tn_json_bool(&j, "f", 0);
    tn_json_null(&j, "n");
    tn_json_obj_close(&j);
    tn_json_obj_close(&j);
    ASSERT_NE(j.s, nullptr);
    EXPECT_STREQ(j.s, "{\"step\":3,\"xs\":[1,-2,{},[]],\"o\":{\"t\":true,\"f\":false,\"n\":null}}");
    EXPECT_EQ(j.len, std::strlen(j.s));
    EXPECT_EQ(j.depth, 0);
    tn_json_free(&j);
}

TEST(IoJson, EscapesStringsAndKeys) {
    tn_json j;
    tn_json_init(&j);
    tn_json_obj_open(&j, nullptr);
    tn_json_str(&j, "a\"b", "q\" s\\ n\n t\t r\r b\b f\f c\x01 d\x1f \xc3\xa9");
    tn_json_str(&j, "nul", nullptr);
    tn_json_obj_close(&j);
    EXPECT_STREQ(j.s, "{\"a\\\"b\":\"q\\\" s\\\\ n\\n t\\t r\\r b\\b f\\f c\\u0001 d\\u001f \xc3\xa9\","
                      "\"nul\":null}");
    // Compact: one object is one JSONL line.
    EXPECT_EQ(std::strchr(j.s, '\n'), nullptr);
    tn_json_free(&j);
}

TEST(IoJson, NumbersAndNonFiniteAsNull) {
    tn_json j;
    tn_json_init(&j);
    tn_json_arr_open(&j, nullptr);
    tn_json_num(&j, nullptr, 0.5);
    tn_json_num(&j, nullptr, 3.0);
    tn_json_num(&j, nullptr, NAN);
    tn_json_num(&j, nullptr, INFINITY);
    tn_json_num(&j, nullptr, -INFINITY);
    tn_json_num(&j, nullptr, 0.1f);  // float -> %.9g keeps all float digits
    tn_json_int(&j, nullptr, -9007199254740993LL);
    tn_json_arr_close(&j);
    EXPECT_STREQ(j.s, "[0.5,3,null,null,null,0.100000001,-9007199254740993]");
    tn_json_free(&j);
}

TEST(IoJson, EmptyWriterAndTooDeepNesting) {
    tn_json j;
    tn_json_init(&j);
    ASSERT_NE(j.s, nullptr);
    EXPECT_STREQ(j.s, "");
    // Deeper than first[] can track: the writer fails safely (s == NULL) instead of overflowing.
    for (int i = 0; i < 100; i++) tn_json_arr_open(&j, nullptr);
    EXPECT_EQ(j.s, nullptr);
    tn_json_int(&j, nullptr, 1);  // no-op in the failed state, must not crash
    EXPECT_EQ(j.s, nullptr);
    tn_json_free(&j);
}

// The reader: every value the writer can produce checks; each way a line can be damaged (cut,
// spliced, garbled) fails, at the offset of the first wrong byte.
TEST(IoJsonRead, CheckAcceptsTheWritersOutput) {
    tn_json j;
    tn_json_init(&j);
    tn_json_obj_open(&j, nullptr);
    tn_json_str(&j, "s", "tab\there \"quoted\" back\\ \x01 caf\xc3\xa9 \xff");
    tn_json_num(&j, "x", -1.5e-7);
    tn_json_num(&j, "nan", NAN);
    tn_json_int(&j, "i", -42);
    tn_json_bool(&j, "b", 0);
    tn_json_arr_open(&j, "a");
    tn_json_obj_open(&j, nullptr);
    tn_json_obj_close(&j);
    tn_json_arr_open(&j, nullptr);
    tn_json_arr_close(&j);
    tn_json_arr_close(&j);
    tn_json_obj_close(&j);
    ASSERT_NE(j.s, nullptr);
    size_t where = 99;
    EXPECT_EQ(tn_json_check(j.s, j.len, &where), 0) << j.s << " at " << where;
    const char *v;
    size_t vl;
    char out[64];
    ASSERT_EQ(tn_json_member(j.s, j.len, "s", &v, &vl), 0);
    ASSERT_EQ(tn_json_get_string(v, vl, out, sizeof out), 0);
    EXPECT_STREQ(out, "tab\there \"quoted\" back\\ \x01 caf\xc3\xa9 \xff");
    EXPECT_EQ(tn_json_get_string(v, vl, out, 8), -1);  // does not fit
    ASSERT_EQ(tn_json_member(j.s, j.len, "i", &v, &vl), 0);
    EXPECT_EQ(std::string(v, vl), "-42");
    EXPECT_EQ(tn_json_get_string(v, vl, out, sizeof out), -1);  // not a string
    EXPECT_NE(tn_json_member(j.s, j.len, "absent", &v, &vl), 0);
    tn_json_free(&j);
}

TEST(IoJsonRead, CheckRefusesDamagedText) {
    struct Case { const char *text; size_t where; } bad[] = {
        {"{\"a\":1", 6},                  // cut after a value
        {"{\"a\":1}{\"b\":2}", 7},         // two objects spliced on one line
        {"{\"a\":}", 5},                  // missing value
        {"{\"a\" 1}", 5},                 // missing colon
        {"{\"a\":1,}", 7},                // trailing comma
        {"{\"a\":01}", 6},                // leading zero
        {"{\"a\":1.}", 7},                // no fraction digits
        {"{\"a\":\"x\ny\"}", 7},           // raw newline in a string
        {"{\"a\":\"\\q\"}", 7},            // bad escape
        {"{\"a\":\"\\u12g4\"}", 7},        // bad \\u
        {"{\"a\":tru}", 5},               // cut literal
        {"{\"a\":nan}", 5},               // not JSON
        {"", 0},
        {"   ", 3},
    };
    for (const auto &c : bad) {
        size_t where = 999;
        EXPECT_EQ(tn_json_check(c.text, strlen(c.text), &where), -1) << c.text;
        EXPECT_EQ(where, c.where) << c.text;
    }
    std::string deep(TN_JSON_MAX_DEPTH + 1, '['), shut(TN_JSON_MAX_DEPTH + 1, ']');
    EXPECT_EQ(tn_json_check((deep + shut).c_str(), 2 * deep.size(), nullptr), -1);
    EXPECT_EQ(tn_json_check((deep.substr(1) + shut.substr(1)).c_str(), 2 * deep.size() - 2, nullptr), 0);
    EXPECT_EQ(tn_json_check(" {\"a\" : [1, 2.5e+3, -0, true, null]}\n", 36, nullptr), 0);
}

TEST(IoJsonRead, StringEscapesDecodeToUtf8) {
    char out[32];
    const char *lit = "\"\\u00e9\\ud83d\\ude00\\u0041\\/\"";
    ASSERT_EQ(tn_json_get_string(lit, strlen(lit), out, sizeof out), 0);
    EXPECT_STREQ(out, "\xc3\xa9\xf0\x9f\x98\x80" "A/");
    const char *nul = "\"a\\u0000b\"";
    EXPECT_EQ(tn_json_get_string(nul, strlen(nul), out, sizeof out), -1);
    const char *lone = "\"\\ud800x\"";
    ASSERT_EQ(tn_json_get_string(lone, strlen(lone), out, sizeof out), 0);
    EXPECT_STREQ(out, "\xef\xbf\xbdx");
}

// ---------------------------------------------------------------- files

using IoFile = IoTmp;

TEST_F(IoFile, AtomicWriteReplacesContentAndLeavesNoTemp) {
    std::string p = path("out.txt");
    ASSERT_EQ(tn_write_atomic(p.c_str(), "first version", 13, &e), 0) << e.msg;
    EXPECT_EQ(slurp(p), "first version");
    ASSERT_EQ(tn_write_atomic(p.c_str(), "2nd", 3, &e), 0) << e.msg;
    EXPECT_EQ(slurp(p), "2nd");
    int n = 0;
    for (auto &ent : fs::directory_iterator(dir)) {
        n++;
        EXPECT_EQ(ent.path().filename().string(), "out.txt");
    }
    EXPECT_EQ(n, 1);
}

TEST_F(IoFile, AtomicWriteIntoMissingDirectoryIsRuntimeError) {
    std::string p = path("nope/out.txt");
    EXPECT_EQ(tn_write_atomic(p.c_str(), "x", 1, &e), TN_ERUNTIME);
    EXPECT_EQ(e.code, TN_ERUNTIME);
    EXPECT_NE(std::strstr(e.msg, "nope/out.txt.tmp."), nullptr) << e.msg;
    EXPECT_EQ(std::strchr(e.msg, '\n'), nullptr);
}

TEST_F(IoFile, AppendLineAddsWholeLines) {
    std::string p = path("log.jsonl");
    ASSERT_EQ(tn_append_line(p.c_str(), "{\"a\":1}", &e), 0) << e.msg;
    ASSERT_EQ(tn_append_line(p.c_str(), "{\"b\":2}", &e), 0) << e.msg;
    ASSERT_EQ(tn_append_line(p.c_str(), "", &e), 0) << e.msg;
    EXPECT_EQ(slurp(p), "{\"a\":1}\n{\"b\":2}\n\n");
}

TEST_F(IoFile, ReadFileIsNulTerminated) {
    std::string p = path("r.bin");
    spit(p, std::string("ab\0cd", 5));
    char *data = nullptr;
    size_t len = 0;
    ASSERT_EQ(tn_read_file(p.c_str(), &data, &len, &e), 0) << e.msg;
    EXPECT_EQ(len, 5u);
    EXPECT_EQ(std::string(data, len), std::string("ab\0cd", 5));
    EXPECT_EQ(data[5], '\0');
    std::free(data);
    // Empty file: a valid empty string.
    spit(p, "");
    ASSERT_EQ(tn_read_file(p.c_str(), &data, &len, &e), 0) << e.msg;
    EXPECT_EQ(len, 0u);
    EXPECT_STREQ(data, "");
    std::free(data);
}

TEST_F(IoFile, ReadMissingFileIsInputError) {
    std::string p = path("missing.bin");
    char *data = nullptr;
    size_t len = 0;
    EXPECT_EQ(tn_read_file(p.c_str(), &data, &len, &e), TN_EINPUT);
    EXPECT_EQ(data, nullptr);
    EXPECT_NE(std::strstr(e.msg, "missing.bin"), nullptr) << e.msg;
}

TEST_F(IoFile, MkdirP) {
    std::string p = path("a/b//c/");
    ASSERT_EQ(tn_mkdir_p(p.c_str(), &e), 0) << e.msg;
    EXPECT_TRUE(fs::is_directory(path("a/b/c")));
    ASSERT_EQ(tn_mkdir_p(p.c_str(), &e), 0) << e.msg;  // already there: fine
    spit(path("a/file"), "x");
    EXPECT_EQ(tn_mkdir_p(path("a/file").c_str(), &e), TN_EINPUT);
    EXPECT_NE(std::strstr(e.msg, "not a directory"), nullptr) << e.msg;
    tn_err_clear(&e);
    EXPECT_EQ(tn_mkdir_p(path("a/file/sub").c_str(), &e), TN_EINPUT);
    EXPECT_NE(std::strstr(e.msg, "not a directory"), nullptr) << e.msg;
}

// ---------------------------------------------------------------- .npy

using IoNpy = IoTmp;

TEST_F(IoNpy, RoundTrip1dAnd2dWithAlignedHeader) {
    std::vector<float> v = {0.5f, -1.25f, 3.0f, 1e-30f, -0.0f, 65504.0f};
    struct Case { int ndim; int64_t shape[2]; const char *text; } cases[] = {
        {1, {6, 0}, "'shape': (6,), }"},
        {2, {2, 3}, "'shape': (2, 3), }"},
    };
    for (auto &c : cases) {
        std::string p = path("t" + std::to_string(c.ndim) + ".npy");
        ASSERT_EQ(tn_npy_write(p.c_str(), v.data(), c.ndim, c.shape, &e), 0) << e.msg;
        std::string b = slurp(p);
        ASSERT_GE(b.size(), 10u);
        EXPECT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
        size_t hlen = (unsigned char)b[8] | (size_t)(unsigned char)b[9] << 8;
        EXPECT_EQ((10 + hlen) % 64, 0u);
        EXPECT_EQ(b[10 + hlen - 1], '\n');
        std::string header = b.substr(10, hlen);
        EXPECT_EQ(header.rfind("{'descr': '<f4', 'fortran_order': False, ", 0), 0u) << header;
        EXPECT_NE(header.find(c.text), std::string::npos) << header;
        EXPECT_EQ(b.size(), 10 + hlen + v.size() * 4);

        float *data = nullptr;
        int nd = -1;
        int64_t shape[8] = {0};
        ASSERT_EQ(tn_npy_read(p.c_str(), &data, &nd, shape, &e), 0) << e.msg;
        EXPECT_EQ(nd, c.ndim);
        for (int i = 0; i < c.ndim; i++) EXPECT_EQ(shape[i], c.shape[i]);
        EXPECT_EQ(std::memcmp(data, v.data(), v.size() * 4), 0);
        std::free(data);
    }
}

TEST_F(IoNpy, ReadsVersion2HeaderAndRejectsOtherLayouts) {
    auto make = [](int major, const std::string &dict, size_t nvals) {
        std::string h = dict + "\n";
        std::string b("\x93NUMPY", 6);
        b += (char)major;
        b += '\0';
        size_t n = h.size();
        for (int i = 0; i < (major == 1 ? 2 : 4); i++) b += (char)(n >> (8 * i));
        b += h;
        b += std::string(nvals * 4, '\0');
        return b;
    };
    std::string p = path("v.npy");
    float *data = nullptr;
    int nd = 0;
    int64_t shape[8];
    spit(p, make(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 4));
    ASSERT_EQ(tn_npy_read(p.c_str(), &data, &nd, shape, &e), 0) << e.msg;
    EXPECT_EQ(nd, 2);
    EXPECT_EQ(shape[0], 2);
    std::free(data);

    struct Bad { std::string bytes; const char *word; } bad[] = {
        {make(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 4), "float32"},
        {make(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 4), "Fortran"},
        {make(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 3), "truncated"},
        {make(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 2), "version"},
        {"not numpy at all", "not a .npy"},
    };
    for (auto &b : bad) {
        spit(p, b.bytes);
        tn_err_clear(&e);
        data = nullptr;
        EXPECT_EQ(tn_npy_read(p.c_str(), &data, &nd, shape, &e), TN_EINPUT) << b.word;
        EXPECT_EQ(data, nullptr);
        EXPECT_NE(std::strstr(e.msg, b.word), nullptr) << e.msg;
    }
}

TEST_F(IoNpy, NumpyLoadsOurFiles) {
    if (!have_numpy()) GTEST_SKIP() << "python3 with numpy is not installed; cross-check with numpy skipped";
    std::vector<float> v(6);
    for (int i = 0; i < 6; i++) v[i] = (float)i * 0.25f - 1.0f;
    int64_t s2[2] = {2, 3}, s1[1] = {6};
    std::string p2 = path("a2.npy"), p1 = path("a1.npy");
    ASSERT_EQ(tn_npy_write(p2.c_str(), v.data(), 2, s2, &e), 0) << e.msg;
    ASSERT_EQ(tn_npy_write(p1.c_str(), v.data(), 1, s1, &e), 0) << e.msg;
    std::string cmd = "python3 -c \"import numpy as np, sys; "
                      "w = np.arange(6, dtype=np.float32) * np.float32(0.25) - np.float32(1); "
                      "a = np.load(sys.argv[1]); b = np.load(sys.argv[2]); "
                      "assert a.dtype == np.float32 and a.shape == (2, 3) and (a == w.reshape(2, 3)).all(), a; "
                      "assert b.dtype == np.float32 and b.shape == (6,) and (b == w).all(), b\" '" +
                      p2 + "' '" + p1 + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

TEST_F(IoNpy, WeLoadNumpyFiles) {
    if (!have_numpy()) GTEST_SKIP() << "python3 with numpy is not installed; cross-check with numpy skipped";
    std::string p = path("np.npy");
    std::string cmd = "python3 -c \"import numpy as np, sys; "
                      "np.save(sys.argv[1], (np.arange(12, dtype=np.float32) / 8).reshape(3, 4))\" '" + p + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    float *data = nullptr;
    int nd = 0;
    int64_t shape[8];
    ASSERT_EQ(tn_npy_read(p.c_str(), &data, &nd, shape, &e), 0) << e.msg;
    ASSERT_EQ(nd, 2);
    EXPECT_EQ(shape[0], 3);
    EXPECT_EQ(shape[1], 4);
    for (int i = 0; i < 12; i++) EXPECT_EQ(data[i], (float)i / 8);
    std::free(data);
}

// ---------------------------------------------------------------- checkpoints

class IoCheckpoint : public IoTmp {
  protected:
    std::vector<float> w = std::vector<float>(4096), b = std::vector<float>(64);
    std::string ck;
    void SetUp() override {
        IoTmp::SetUp();
        for (size_t i = 0; i < w.size(); i++) w[i] = std::sin((float)i);
        for (size_t i = 0; i < b.size(); i++) b[i] = (float)i - 0.5f;
        ck = path("checkpoint.bin");
        tn_tensor_ref t[2] = {{"W.3.weight", w.data(), w.size()}, {"W.3.bias", b.data(), b.size()}};
        ASSERT_EQ(tn_ckpt_save(ck.c_str(), "--width 64\nstep 7", t, 2, &e), 0) << e.msg;
    }
    // Load into fresh buffers and expect an input error whose message contains `word`.
    void expect_bad(const char *word, size_t wcount = 4096, const char *wname = "W.3.weight") {
        std::vector<float> w2(wcount, 42.0f), b2(64, 42.0f);
        tn_tensor_ref t[2] = {{wname, w2.data(), w2.size()}, {"W.3.bias", b2.data(), b2.size()}};
        char *meta = nullptr;
        tn_err_clear(&e);
        EXPECT_EQ(tn_ckpt_load(ck.c_str(), &meta, t, 2, &e), TN_EINPUT);
        EXPECT_EQ(e.code, TN_EINPUT);
        EXPECT_EQ(meta, nullptr);
        EXPECT_NE(std::strstr(e.msg, word), nullptr) << e.msg;
        EXPECT_NE(std::strstr(e.msg, ck.c_str()), nullptr) << e.msg;
        EXPECT_EQ(std::strchr(e.msg, '\n'), nullptr) << e.msg;
        // All-or-nothing: a failed load leaves the model's buffers untouched.
        for (float x : w2) ASSERT_EQ(x, 42.0f);
        for (float x : b2) ASSERT_EQ(x, 42.0f);
    }
    void patch(size_t off, unsigned char x) {
        std::string s = slurp(ck);
        ASSERT_LT(off, s.size());
        s[off] = (char)x;
        spit(ck, s);
    }
};

TEST_F(IoCheckpoint, RoundTripInAnyOrder) {
    std::vector<float> w2(4096), b2(64);
    tn_tensor_ref t[2] = {{"W.3.bias", b2.data(), b2.size()}, {"W.3.weight", w2.data(), w2.size()}};
    char *meta = nullptr;
    ASSERT_EQ(tn_ckpt_load(ck.c_str(), &meta, t, 2, &e), 0) << e.msg;
    EXPECT_STREQ(meta, "--width 64\nstep 7");
    EXPECT_EQ(std::memcmp(w2.data(), w.data(), w.size() * 4), 0);
    EXPECT_EQ(std::memcmp(b2.data(), b.data(), b.size() * 4), 0);
    std::free(meta);
    // A subset, and no meta wanted.
    std::vector<float> b3(64);
    tn_tensor_ref t1 = {"W.3.bias", b3.data(), b3.size()};
    ASSERT_EQ(tn_ckpt_load(ck.c_str(), nullptr, &t1, 1, &e), 0) << e.msg;
    EXPECT_EQ(b3, b);
    EXPECT_EQ(slurp(ck).substr(0, 8), "TAUNETCK");
}

TEST_F(IoCheckpoint, ReadMetaOnly) {
    char *meta = nullptr;
    ASSERT_EQ(tn_ckpt_read_meta(ck.c_str(), &meta, &e), 0) << e.msg;
    EXPECT_STREQ(meta, "--width 64\nstep 7");
    std::free(meta);
    patch(100, (unsigned char)(slurp(ck)[100] ^ 0x10));
    EXPECT_EQ(tn_ckpt_read_meta(ck.c_str(), &meta, &e), TN_EINPUT);
    EXPECT_EQ(meta, nullptr);
    EXPECT_NE(std::strstr(e.msg, "checksum mismatch"), nullptr) << e.msg;
}

TEST_F(IoCheckpoint, EmptyCheckpoint) {
    std::string p = path("empty.bin");
    ASSERT_EQ(tn_ckpt_save(p.c_str(), nullptr, nullptr, 0, &e), 0) << e.msg;
    char *meta = nullptr;
    ASSERT_EQ(tn_ckpt_load(p.c_str(), &meta, nullptr, 0, &e), 0) << e.msg;
    EXPECT_STREQ(meta, "");
    std::free(meta);
}

TEST_F(IoCheckpoint, Truncated) {
    std::string s = slurp(ck);
    spit(ck, s.substr(0, s.size() / 2));
    expect_bad("truncated");
    spit(ck, s.substr(0, 20));  // shorter than the fixed header
    expect_bad("truncated");
}

TEST_F(IoCheckpoint, WrongMagic) {
    patch(0, 'X');
    expect_bad("not a taunet checkpoint");
    spit(ck, "hello");
    expect_bad("not a taunet checkpoint");
}

TEST_F(IoCheckpoint, WrongVersion) {
    patch(8, 2);
    expect_bad("version 2");
}

TEST_F(IoCheckpoint, ChecksumMismatch) {
    std::string s = slurp(ck);
    patch(s.size() - 100, (unsigned char)(s[s.size() - 100] ^ 1));  // inside W.3.bias's payload
    expect_bad("checksum mismatch");
}

TEST_F(IoCheckpoint, MissingTensor) { expect_bad("'W.4.weight' is missing", 4096, "W.4.weight"); }

TEST_F(IoCheckpoint, WrongCount) {
    expect_bad("tensor 'W.3.weight' has 4096 values, the configuration needs 16384", 16384);
}

TEST_F(IoCheckpoint, MissingFile) {
    ck = path("nonexistent.bin");
    expect_bad("nonexistent.bin");
}

TEST_F(IoCheckpoint, SaveRejectsDuplicateNames) {
    tn_tensor_ref t[2] = {{"a", w.data(), 1}, {"a", b.data(), 1}};
    EXPECT_EQ(tn_ckpt_save(path("dup.bin").c_str(), "", t, 2, &e), TN_EINPUT);
    EXPECT_NE(std::strstr(e.msg, "twice"), nullptr) << e.msg;
    EXPECT_FALSE(fs::exists(path("dup.bin")));
}
