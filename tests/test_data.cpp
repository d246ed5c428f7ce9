// Dataset loaders and preparation: round trips through tiny generated IDX / CIFAR files (raw and
// gzip), one test per class of bad input (code TN_EINPUT, message names the file and the
// problem), synthetic data properties, and the subset / label-noise / preprocessing steps.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "io/rng_host.h"
#include "taunet/data.h"
#include "taunet/error.h"

namespace {

using Bytes = std::vector<unsigned char>;

std::string make_tmpdir() {
    std::string tmpl = ::testing::TempDir() + "taunet_data_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) return {};
    return std::string(buf.data());
}

void put_be32(Bytes &b, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back((unsigned char)(v >> s));
}

Bytes idx_images(uint32_t n, uint32_t rows, uint32_t cols, const Bytes &pix) {
    Bytes b;
    put_be32(b, 0x803);
    put_be32(b, n);
    put_be32(b, rows);
    put_be32(b, cols);
    b.insert(b.end(), pix.begin(), pix.end());
    return b;
}

Bytes idx_labels(uint32_t n, const Bytes &lab) {
    Bytes b;
    put_be32(b, 0x801);
    put_be32(b, n);
    b.insert(b.end(), lab.begin(), lab.end());
    return b;
}

void write_file(const std::string &path, const Bytes &b, bool gz = false) {
    if (gz) {
        gzFile f = gzopen(path.c_str(), "wb");
        ASSERT_NE(f, nullptr) << path;
        if (!b.empty()) {
            ASSERT_EQ(gzwrite(f, b.data(), (unsigned)b.size()), (int)b.size());
        }
        ASSERT_EQ(gzclose(f), Z_OK);
    } else {
        FILE *f = std::fopen(path.c_str(), "wb");
        ASSERT_NE(f, nullptr) << path;
        if (!b.empty()) {
            ASSERT_EQ(std::fwrite(b.data(), 1, b.size(), f), b.size());
        }
        std::fclose(f);
    }
}

Bytes read_raw(const std::string &path) {
    Bytes b;
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) return b;
    int c;
    while ((c = std::fgetc(f)) != EOF) b.push_back((unsigned char)c);
    std::fclose(f);
    return b;
}

// Deterministic test pixels / labels.
Bytes pixels(size_t n, unsigned mul) {
    Bytes b(n);
    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)((i * mul + 7) % 256);
    return b;
}
Bytes labels(size_t n, unsigned mod = 10) {
    Bytes b(n);
    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)((i * 3 + 1) % mod);
    return b;
}

// A complete small MNIST-style directory: 12 train and 5 test images of 4x3.
struct MnistDir {
    std::string dir;
    Bytes trpix, trlab, tepix, telab;
    explicit MnistDir(bool gz_train = false, bool gz_test = true) {
        dir = make_tmpdir();
        trpix = pixels(12 * 12, 37);
        trlab = labels(12);
        tepix = pixels(5 * 12, 11);
        telab = labels(5);
        const std::string a = gz_train ? ".gz" : "", b = gz_test ? ".gz" : "";
        write_file(dir + "/train-images-idx3-ubyte" + a, idx_images(12, 4, 3, trpix), gz_train);
        write_file(dir + "/train-labels-idx1-ubyte" + a, idx_labels(12, trlab), gz_train);
        write_file(dir + "/t10k-images-idx3-ubyte" + b, idx_images(5, 4, 3, tepix), gz_test);
        write_file(dir + "/t10k-labels-idx1-ubyte" + b, idx_labels(5, telab), gz_test);
    }
};

// Loading must fail with TN_EINPUT, leave the output empty, and name `file` and `word`.
void expect_idx_fail(const std::string &img, const std::string &lab, const std::string &file,
                     const std::string &word) {
    tn_err e{};
    tn_dataset ds;
    std::memset(&ds, 0xab, sizeof ds);
    EXPECT_EQ(tn_idx_load_pair(img.c_str(), lab.c_str(), &ds, &e), TN_EINPUT);
    EXPECT_EQ(e.code, TN_EINPUT);
    EXPECT_NE(std::string(e.msg).find(file), std::string::npos) << e.msg;
    EXPECT_NE(std::string(e.msg).find(word), std::string::npos) << e.msg;
    EXPECT_EQ(std::strchr(e.msg, '\n'), nullptr) << "one line: " << e.msg;
    EXPECT_EQ(ds.x, nullptr);
    EXPECT_EQ(ds.y, nullptr);
    EXPECT_EQ(ds.n, 0);
}

}  // namespace

TEST(DataIdx, RoundTripRawAndGz) {
    for (int gz = 0; gz < 2; gz++) {
        std::string d = make_tmpdir(), sfx = gz ? ".gz" : "";
        Bytes pix = pixels(3 * 8, 29), lab = {9, 0, 4};
        write_file(d + "/img" + sfx, idx_images(3, 2, 4, pix), gz);
        write_file(d + "/lab" + sfx, idx_labels(3, lab), gz);
        tn_err e{};
        tn_dataset ds{};
        ASSERT_EQ(tn_idx_load_pair((d + "/img" + sfx).c_str(), (d + "/lab" + sfx).c_str(), &ds, &e), 0) << e.msg;
        EXPECT_EQ(ds.n, 3);
        EXPECT_EQ(ds.p, 8);
        EXPECT_EQ(ds.d, 10);
        for (size_t i = 0; i < pix.size(); i++) EXPECT_EQ(ds.x[i], (float)pix[i]);
        for (int i = 0; i < 3; i++) EXPECT_EQ(ds.y[i], lab[i]);
        tn_dataset_free(&ds);
        EXPECT_EQ(ds.x, nullptr);
    }
}

TEST(DataIdx, MnistDirMixedRawAndGz) {
    MnistDir m(false, true);
    tn_err e{};
    tn_dataset tr{}, te{};
    ASSERT_EQ(tn_mnist_load(m.dir.c_str(), &tr, &te, &e), 0) << e.msg;
    ASSERT_EQ(tr.n, 12);
    ASSERT_EQ(te.n, 5);
    EXPECT_EQ(tr.p, 12);
    EXPECT_EQ(te.p, 12);
    for (size_t i = 0; i < m.trpix.size(); i++) ASSERT_EQ(tr.x[i], (float)m.trpix[i]);
    for (size_t i = 0; i < m.tepix.size(); i++) ASSERT_EQ(te.x[i], (float)m.tepix[i]);
    for (int i = 0; i < 12; i++) EXPECT_EQ(tr.y[i], m.trlab[i]);
    for (int i = 0; i < 5; i++) EXPECT_EQ(te.y[i], m.telab[i]);
    tn_dataset_free(&tr);
    tn_dataset_free(&te);
}

TEST(DataIdx, MissingFile) {
    MnistDir m;
    std::remove((m.dir + "/t10k-labels-idx1-ubyte.gz").c_str());
    tn_err e{};
    tn_dataset tr{}, te{};
    EXPECT_EQ(tn_mnist_load(m.dir.c_str(), &tr, &te, &e), TN_EINPUT);
    std::string msg = e.msg;
    EXPECT_NE(msg.find("missing t10k-labels-idx1-ubyte"), std::string::npos) << msg;
    EXPECT_NE(msg.find("data/fetch.sh"), std::string::npos) << msg;
    EXPECT_EQ(tr.x, nullptr);

    tn_err e2{};
    EXPECT_EQ(tn_mnist_load((m.dir + "/nope").c_str(), &tr, &te, &e2), TN_EINPUT);
    EXPECT_NE(std::string(e2.msg).find("no such directory"), std::string::npos) << e2.msg;

    expect_idx_fail(m.dir + "/absent-images", m.dir + "/train-labels-idx1-ubyte", "absent-images", "no such file");
}

TEST(DataIdx, WrongMagic) {
    std::string d = make_tmpdir();
    Bytes html = {'<', '!', 'D', 'O', 'C', 'T', 'Y', 'P', 'E', ' ', 'h', 't', 'm', 'l', '>', '\n', 'x', 'y'};
    write_file(d + "/img", html);
    write_file(d + "/lab", idx_labels(2, {1, 2}));
    expect_idx_fail(d + "/img", d + "/lab", d + "/img", "magic");
    // swapped paths: say so
    write_file(d + "/img2", idx_images(2, 1, 1, {5, 6}));
    expect_idx_fail(d + "/lab", d + "/img2", "swapped", "magic");
}

// A file named .gz that is not gzip (an HTML error page saved under the .gz name): zlib reads it
// as raw bytes, so the message said "bad IDX magic". It says the file is not gzip data, what it
// looks like, and never quotes its bytes.
TEST(DataIdx, NamedGzButNotGzip) {
    std::string d = make_tmpdir();
    std::string page = "<!DOCTYPE html>\n<html><body>404 Not Found</body></html>\n";
    write_file(d + "/img.gz", Bytes(page.begin(), page.end()));
    write_file(d + "/lab.gz", idx_labels(2, {1, 2}), true);
    expect_idx_fail(d + "/img.gz", d + "/lab.gz", d + "/img.gz", "not gzip");
    tn_err e{};
    tn_dataset ds{};
    tn_idx_load_pair((d + "/img.gz").c_str(), (d + "/lab.gz").c_str(), &ds, &e);
    EXPECT_NE(std::string(e.msg).find("HTML"), std::string::npos) << e.msg;
    EXPECT_EQ(std::string(e.msg).find("DOCTYPE"), std::string::npos) << e.msg;
    EXPECT_EQ(std::string(e.msg).find("magic 0x"), std::string::npos) << "not an IDX magic complaint: " << e.msg;
    Bytes bin = {0x00, 0x00, 0x08, 0x03, 0xff, 0x10, 0x7f, 0x00};  // raw IDX bytes under a .gz name
    write_file(d + "/raw.gz", bin);
    expect_idx_fail(d + "/raw.gz", d + "/lab.gz", d + "/raw.gz", "binary data");
}

// Error messages are one line of text: bytes that are not text in a quoted value (a flag read from
// a damaged file, say) appear as \xNN.
TEST(ErrorText, MessagesNeverHoldRawBytes) {
    tn_err e{};
    tn_fail(&e, TN_EINPUT, "value '%s' at %s", "a\x01" "b\nc\xff\xc3\xa9", "caf\xc3\xa9");
    EXPECT_STREQ(e.msg, "value 'a\\x01b\\x0ac\\xff\xc3\xa9' at caf\xc3\xa9");
    char small[12];
    EXPECT_EQ(tn_text_escape("0123456789abcdef", small, sizeof small), 11u);
    EXPECT_STREQ(small, "01234567...");
}

TEST(DataIdx, Truncated) {
    std::string d = make_tmpdir();
    Bytes full = idx_images(4, 2, 2, pixels(16, 3));
    Bytes cut(full.begin(), full.end() - 5);
    write_file(d + "/img", cut);
    write_file(d + "/lab", idx_labels(4, labels(4)));
    expect_idx_fail(d + "/img", d + "/lab", d + "/img", "truncated");
    // header itself cut off
    write_file(d + "/short", Bytes(full.begin(), full.begin() + 10));
    expect_idx_fail(d + "/short", d + "/lab", d + "/short", "truncated");
    // labels shorter than their header says
    write_file(d + "/img_ok", full);
    write_file(d + "/lab_cut", Bytes{0, 0, 8, 1, 0, 0, 0, 4, 1, 2});
    expect_idx_fail(d + "/img_ok", d + "/lab_cut", d + "/lab_cut", "truncated");
    // a gzip stream cut in the middle (interrupted download of the .gz)
    write_file(d + "/big.gz", idx_images(40, 28, 28, pixels(40 * 784, 131)), true);
    Bytes gz = read_raw(d + "/big.gz");
    ASSERT_GT(gz.size(), 100u);
    write_file(d + "/bigcut.gz", Bytes(gz.begin(), gz.begin() + gz.size() / 2));
    write_file(d + "/lab40", idx_labels(40, labels(40)));
    expect_idx_fail(d + "/bigcut.gz", d + "/lab40", d + "/bigcut.gz", "truncated");
}

TEST(DataIdx, TrailingBytes) {
    std::string d = make_tmpdir();
    Bytes img = idx_images(2, 2, 2, pixels(8, 5));
    img.push_back(0);
    write_file(d + "/img", img);
    write_file(d + "/lab", idx_labels(2, {1, 2}));
    expect_idx_fail(d + "/img", d + "/lab", d + "/img", "trailing");
}

TEST(DataIdx, CountMismatch) {
    std::string d = make_tmpdir();
    write_file(d + "/img", idx_images(3, 2, 2, pixels(12, 5)));
    write_file(d + "/lab", idx_labels(4, labels(4)));
    expect_idx_fail(d + "/img", d + "/lab", d + "/lab", "mismatch");
}

TEST(DataIdx, BadLabel) {
    std::string d = make_tmpdir();
    write_file(d + "/img", idx_images(3, 2, 2, pixels(12, 5)));
    write_file(d + "/lab", idx_labels(3, {1, 10, 2}));
    expect_idx_fail(d + "/img", d + "/lab", d + "/lab", "label 10");
}

TEST(DataIdx, CorruptGzip) {
    std::string d = make_tmpdir();
    write_file(d + "/img.gz", idx_images(4, 8, 8, pixels(256, 3)), true);
    Bytes gz = read_raw(d + "/img.gz");
    for (size_t i = 12; i < gz.size() - 8; i++) gz[i] ^= 0x5a;
    write_file(d + "/bad.gz", gz);
    write_file(d + "/lab", idx_labels(4, labels(4)));
    tn_err e{};
    tn_dataset ds{};
    EXPECT_EQ(tn_idx_load_pair((d + "/bad.gz").c_str(), (d + "/lab").c_str(), &ds, &e), TN_EINPUT);
    EXPECT_NE(std::string(e.msg).find("bad.gz"), std::string::npos) << e.msg;
    EXPECT_EQ(ds.x, nullptr);
}

namespace {

Bytes cifar_records(int n, int salt) {
    Bytes b;
    for (int r = 0; r < n; r++) {
        b.push_back((unsigned char)((r + salt) % 10));
        for (int j = 0; j < 3072; j++) b.push_back((unsigned char)((j * 7 + r * 13 + salt) % 256));
    }
    return b;
}

std::string cifar_dir(const int counts[6], bool gz_test = true) {
    std::string d = make_tmpdir();
    for (int i = 0; i < 5; i++)
        write_file(d + "/data_batch_" + std::to_string(i + 1) + ".bin", cifar_records(counts[i], i));
    write_file(d + "/test_batch.bin" + std::string(gz_test ? ".gz" : ""), cifar_records(counts[5], 50), gz_test);
    return d;
}

void expect_cifar_fail(const std::string &dir, const std::string &file, const std::string &word) {
    tn_err e{};
    tn_dataset tr{}, te{};
    EXPECT_EQ(tn_cifar10_load(dir.c_str(), &tr, &te, &e), TN_EINPUT);
    EXPECT_NE(std::string(e.msg).find(file), std::string::npos) << e.msg;
    EXPECT_NE(std::string(e.msg).find(word), std::string::npos) << e.msg;
    EXPECT_EQ(tr.x, nullptr);
    EXPECT_EQ(te.x, nullptr);
    EXPECT_EQ(tr.n, 0);
}

}  // namespace

TEST(DataCifar, RoundTrip) {
    const int counts[6] = {1, 2, 1, 1, 3, 2};
    std::string d = cifar_dir(counts);
    tn_err e{};
    tn_dataset tr{}, te{};
    ASSERT_EQ(tn_cifar10_load(d.c_str(), &tr, &te, &e), 0) << e.msg;
    ASSERT_EQ(tr.n, 8);
    ASSERT_EQ(te.n, 2);
    EXPECT_EQ(tr.p, 3072);
    EXPECT_EQ(te.d, 10);
    int row = 0;
    for (int f = 0; f < 5; f++)
        for (int r = 0; r < counts[f]; r++, row++) {
            EXPECT_EQ(tr.y[row], (r + f) % 10);
            for (int j = 0; j < 3072; j += 97)
                ASSERT_EQ(tr.x[(size_t)row * 3072 + j], (float)((j * 7 + r * 13 + f) % 256));
        }
    EXPECT_EQ(te.y[1], (1 + 50) % 10);
    EXPECT_EQ(te.x[3072 + 3071], (float)((3071 * 7 + 13 + 50) % 256));
    tn_dataset_free(&tr);
    tn_dataset_free(&te);
}

// CIFAR-100: 2 label bytes (coarse, then fine) per record; fine labels by default, coarse on
// request; a CIFAR-10 file (3073-byte records) and a missing file are refused by name.
std::vector<unsigned char> cifar100_records(int n, int salt) {
    std::vector<unsigned char> b;
    for (int r = 0; r < n; r++) {
        b.push_back((unsigned char)((r + salt) % 20));
        b.push_back((unsigned char)((r * 3 + salt) % 100));
        for (int j = 0; j < 3072; j++) b.push_back((unsigned char)((j * 5 + r * 11 + salt) % 256));
    }
    return b;
}
TEST(DataCifar, Cifar100FineAndCoarse) {
    std::string d = make_tmpdir();
    write_file(d + "/train.bin", cifar100_records(5, 1));
    write_file(d + "/test.bin.gz", cifar100_records(3, 7), true);
    for (int coarse : {0, 1}) {
        tn_err e{};
        tn_dataset tr{}, te{};
        ASSERT_EQ(tn_cifar100_load(d.c_str(), coarse, &tr, &te, &e), 0) << e.msg;
        ASSERT_EQ(tr.n, 5);
        ASSERT_EQ(te.n, 3);
        EXPECT_EQ(tr.d, coarse ? 20 : 100);
        EXPECT_EQ(tr.c * tr.h * tr.w, 3072);
        for (int r = 0; r < 5; r++) {
            EXPECT_EQ(tr.y[r], coarse ? (r + 1) % 20 : (r * 3 + 1) % 100) << r;
            EXPECT_EQ(tr.x[(size_t)r * 3072 + 3071], (float)((3071 * 5 + r * 11 + 1) % 256));
        }
        EXPECT_EQ(te.y[2], coarse ? (2 + 7) % 20 : (6 + 7) % 100);
        tn_dataset_free(&tr);
        tn_dataset_free(&te);
    }
    write_file(d + "/train.bin", cifar_records(4, 0));  // CIFAR-10 records: 3073 bytes each
    tn_err e{};
    tn_dataset tr{}, te{};
    EXPECT_EQ(tn_cifar100_load(d.c_str(), 0, &tr, &te, &e), TN_EINPUT);
    EXPECT_NE(std::string(e.msg).find("3074-byte record"), std::string::npos) << e.msg;
    std::remove((d + "/train.bin").c_str());
    tn_err e2{};
    EXPECT_EQ(tn_cifar100_load(d.c_str(), 0, &tr, &te, &e2), TN_EINPUT);
    EXPECT_NE(std::string(e2.msg).find("missing train.bin"), std::string::npos) << e2.msg;
    EXPECT_NE(std::string(e2.msg).find("fetch.sh cifar100"), std::string::npos) << e2.msg;
}

TEST(DataCifar, MissingFile) {
    const int counts[6] = {1, 1, 1, 1, 1, 1};
    std::string d = cifar_dir(counts);
    std::remove((d + "/data_batch_3.bin").c_str());
    expect_cifar_fail(d, "data_batch_3.bin", "missing");
    tn_err e{};
    tn_dataset tr{}, te{};
    EXPECT_EQ(tn_cifar10_load((d + "/nope").c_str(), &tr, &te, &e), TN_EINPUT);
    EXPECT_NE(std::string(e.msg).find("fetch.sh cifar10"), std::string::npos) << e.msg;
}

TEST(DataCifar, SizeNotMultipleOfRecord) {
    const int counts[6] = {1, 1, 1, 1, 1, 1};
    std::string d = cifar_dir(counts);
    Bytes b = cifar_records(2, 0);
    b.erase(b.end() - 100, b.end());
    write_file(d + "/data_batch_2.bin", b);
    expect_cifar_fail(d, "data_batch_2.bin", "not a multiple of the 3073-byte record");
}

TEST(DataCifar, BadLabel) {
    const int counts[6] = {1, 1, 1, 1, 1, 1};
    std::string d = cifar_dir(counts);
    Bytes b = cifar_records(3, 0);
    b[2 * 3073] = 42;
    write_file(d + "/test_batch.bin.gz", b, true);
    expect_cifar_fail(d, "test_batch.bin.gz", "label 42");
}

TEST(DataCifar, EmptyFile) {
    const int counts[6] = {1, 1, 1, 1, 1, 1};
    std::string d = cifar_dir(counts);
    write_file(d + "/data_batch_5.bin", Bytes{});
    expect_cifar_fail(d, "data_batch_5.bin", "empty");
}

namespace {

tn_data_spec synth_spec(int n, int nt, int p, int d, uint64_t seed, tn_label_rule rule = TN_LABELS_UNIFORM) {
    tn_data_spec s{};
    s.kind = TN_DATA_SYNTHETIC;
    s.n_train = n;
    s.n_test = nt;
    s.p = p;
    s.d = d;
    s.labels = rule;
    s.seed = seed;
    return s;
}

struct Split {
    tn_dataset tr{}, te{};
    ~Split() {
        tn_dataset_free(&tr);
        tn_dataset_free(&te);
    }
};

double row_norm(const tn_dataset &ds, int i) {
    double s = 0;
    for (int j = 0; j < ds.p; j++) s += (double)ds.x[(size_t)i * ds.p + j] * ds.x[(size_t)i * ds.p + j];
    return std::sqrt(s);
}

}  // namespace

TEST(DataSynthetic, UnitNormsAndShapes) {
    tn_data_spec s = synth_spec(200, 50, 17, 4, 1);
    Split a;
    tn_err e{};
    ASSERT_EQ(tn_synthetic_make(&s, &a.tr, &a.te, &e), 0) << e.msg;
    ASSERT_EQ(a.tr.n, 200);
    ASSERT_EQ(a.te.n, 50);
    EXPECT_EQ(a.tr.p, 17);
    EXPECT_EQ(a.te.d, 4);
    for (int i = 0; i < a.tr.n; i++) EXPECT_NEAR(row_norm(a.tr, i), 1.0, 1e-5);
    for (int i = 0; i < a.te.n; i++) EXPECT_NEAR(row_norm(a.te, i), 1.0, 1e-5);
    // isotropic: coordinate means near 0 (sd of each mean ~ 1/sqrt(200*17) ~ 0.017)
    for (int j = 0; j < 17; j++) {
        double m = 0;
        for (int i = 0; i < 200; i++) m += a.tr.x[(size_t)i * 17 + j];
        EXPECT_LT(std::fabs(m / 200), 0.1);
    }
}

TEST(DataSynthetic, DeterministicPerSeed) {
    tn_data_spec s = synth_spec(64, 16, 9, 3, 42);
    Split a, b, c;
    tn_err e{};
    ASSERT_EQ(tn_synthetic_make(&s, &a.tr, &a.te, &e), 0);
    ASSERT_EQ(tn_synthetic_make(&s, &b.tr, &b.te, &e), 0);
    s.seed = 43;
    ASSERT_EQ(tn_synthetic_make(&s, &c.tr, &c.te, &e), 0);
    EXPECT_EQ(std::memcmp(a.tr.x, b.tr.x, 64 * 9 * sizeof(float)), 0);
    EXPECT_EQ(std::memcmp(a.tr.y, b.tr.y, 64 * sizeof(int32_t)), 0);
    EXPECT_EQ(std::memcmp(a.te.x, b.te.x, 16 * 9 * sizeof(float)), 0);
    EXPECT_NE(std::memcmp(a.tr.x, c.tr.x, 64 * 9 * sizeof(float)), 0);
    EXPECT_NE(std::memcmp(a.tr.y, c.tr.y, 64 * sizeof(int32_t)), 0);
    // train and test are different points of one stream
    EXPECT_NE(std::memcmp(a.tr.x, a.te.x, 16 * 9 * sizeof(float)), 0);
}

TEST(DataSynthetic, UniformLabelRange) {
    tn_data_spec s = synth_spec(1000, 0, 5, 7, 3);
    Split a;
    tn_err e{};
    ASSERT_EQ(tn_synthetic_make(&s, &a.tr, &a.te, &e), 0);
    EXPECT_EQ(a.te.n, 0);
    std::vector<int> count(7, 0);
    for (int i = 0; i < a.tr.n; i++) {
        ASSERT_GE(a.tr.y[i], 0);
        ASSERT_LT(a.tr.y[i], 7);
        count[a.tr.y[i]]++;
    }
    for (int c : count) EXPECT_GT(c, 80);  // expected 143 each
}

TEST(DataSynthetic, TeacherLabels) {
    tn_data_spec s = synth_spec(500, 100, 10, 5, 7, TN_LABELS_TEACHER);
    Split a, b;
    tn_err e{};
    ASSERT_EQ(tn_synthetic_make(&s, &a.tr, &a.te, &e), 0) << e.msg;
    std::set<int> seen;
    for (int i = 0; i < a.tr.n; i++) {
        ASSERT_GE(a.tr.y[i], 0);
        ASSERT_LT(a.tr.y[i], 5);
        seen.insert(a.tr.y[i]);
    }
    EXPECT_GE(seen.size(), 2u);
    // same points as the uniform rule with the same seed: only the labels depend on the rule
    s.labels = TN_LABELS_UNIFORM;
    ASSERT_EQ(tn_synthetic_make(&s, &b.tr, &b.te, &e), 0);
    EXPECT_EQ(std::memcmp(a.tr.x, b.tr.x, 500 * 10 * sizeof(float)), 0);
    // a teacher is a function of the point: identical points get identical labels across splits
    Split c;
    tn_data_spec s2 = synth_spec(600, 0, 10, 5, 7, TN_LABELS_TEACHER);
    ASSERT_EQ(tn_synthetic_make(&s2, &c.tr, &c.te, &e), 0);
    EXPECT_EQ(std::memcmp(c.tr.y, a.tr.y, 500 * sizeof(int32_t)), 0);
    EXPECT_EQ(std::memcmp(c.tr.y + 500, a.te.y, 100 * sizeof(int32_t)), 0);
}

TEST(DataSynthetic, ValidationNamesFlag) {
    struct Case {
        int n, nt, p, d;
        const char *flag;
    } cases[] = {{0, 5, 3, 2, "--n"}, {10, 5, 0, 2, "--input-dim"}, {10, 5, 3, 1, "--classes"}, {10, -1, 3, 2, "test"}};
    for (const Case &c : cases) {
        tn_data_spec s = synth_spec(c.n, c.nt, c.p, c.d, 1);
        tn_err e{};
        tn_dataset tr{}, te{};
        EXPECT_EQ(tn_synthetic_make(&s, &tr, &te, &e), TN_EINPUT) << c.flag;
        EXPECT_NE(std::string(e.msg).find(c.flag), std::string::npos) << e.msg;
        EXPECT_EQ(tr.x, nullptr);
    }
}

TEST(DataSynthetic, HostRngBasics) {
    tn_rng a, b;
    tn_rng_seed(&a, 5);
    tn_rng_seed(&b, 5);
    for (int i = 0; i < 100; i++) ASSERT_EQ(tn_rng_u64(&a), tn_rng_u64(&b));
    double m = 0, m2 = 0;
    for (int i = 0; i < 20000; i++) {
        const double u = tn_rng_uniform(&a);
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
        ASSERT_LT(tn_rng_below(&a, 3), 3u);
        const double z = tn_rng_normal(&a);
        m += z;
        m2 += z * z;
    }
    EXPECT_NEAR(m / 20000, 0.0, 0.05);
    EXPECT_NEAR(m2 / 20000, 1.0, 0.05);
    std::vector<int32_t> idx(50);
    for (int i = 0; i < 50; i++) idx[i] = i;
    tn_rng_shuffle_i32(&a, idx.data(), 50);
    std::set<int32_t> all(idx.begin(), idx.end());
    EXPECT_EQ(all.size(), 50u);
}

TEST(DataPrepare, SubsetKeepsFirst) {
    MnistDir m;
    tn_data_spec s{};
    s.kind = TN_DATA_FASHION;
    std::snprintf(s.dir, sizeof s.dir, "%s", m.dir.c_str());
    s.subset = 5;
    s.prep = TN_PREP_NONE;
    Split a;
    tn_err e{};
    ASSERT_EQ(tn_data_load(&s, &a.tr, &a.te, &e), 0) << e.msg;
    ASSERT_EQ(a.tr.n, 5);
    EXPECT_EQ(a.te.n, 5);  // the test split is never subset
    for (int i = 0; i < 5 * 12; i++) ASSERT_EQ(a.tr.x[i], (float)m.trpix[i]);
    for (int i = 0; i < 5; i++) EXPECT_EQ(a.tr.y[i], m.trlab[i]);
}

TEST(DataPrepare, SubsetTooLarge) {
    MnistDir m;
    tn_data_spec s{};
    s.kind = TN_DATA_MNIST;
    std::snprintf(s.dir, sizeof s.dir, "%s", m.dir.c_str());
    s.subset = 13;
    Split a;
    tn_err e{};
    EXPECT_EQ(tn_data_load(&s, &a.tr, &a.te, &e), TN_EINPUT);
    EXPECT_NE(std::string(e.msg).find("--subset 13"), std::string::npos) << e.msg;
    EXPECT_NE(std::string(e.msg).find(" 12 "), std::string::npos) << e.msg;
    EXPECT_EQ(a.tr.x, nullptr);
    EXPECT_EQ(a.te.x, nullptr);
}

TEST(DataPrepare, LabelNoiseCount) {
    // Many classes: a replaced label almost never equals the original, so the number of changed
    // labels pins the number of candidates round(f*n) (expected collisions 300/1000 = 0.3).
    for (int d : {1000, 10}) {
        tn_data_spec s = synth_spec(1000, 100, 3, d, 11);
        Split clean, noisy;
        tn_err e{};
        ASSERT_EQ(tn_data_load(&s, &clean.tr, &clean.te, &e), 0);
        s.label_noise = 0.3;
        ASSERT_EQ(tn_data_load(&s, &noisy.tr, &noisy.te, &e), 0) << e.msg;
        int changed = 0;
        for (int i = 0; i < 1000; i++) {
            ASSERT_GE(noisy.tr.y[i], 0);
            ASSERT_LT(noisy.tr.y[i], d);
            changed += noisy.tr.y[i] != clean.tr.y[i];
        }
        EXPECT_LE(changed, 300);
        if (d == 1000) EXPECT_GE(changed, 297);
        else EXPECT_NEAR(changed, 270, 30);  // 300 * (1 - 1/10)
        // test labels and all features untouched
        EXPECT_EQ(std::memcmp(clean.te.y, noisy.te.y, 100 * sizeof(int32_t)), 0);
        EXPECT_EQ(std::memcmp(clean.tr.x, noisy.tr.x, 1000 * 3 * sizeof(float)), 0);
    }
    tn_data_spec s = synth_spec(10, 0, 3, 2, 1);
    s.label_noise = 1.5;
    Split a;
    tn_err e{};
    EXPECT_EQ(tn_data_load(&s, &a.tr, &a.te, &e), TN_EINPUT);
    EXPECT_NE(std::string(e.msg).find("--label-noise"), std::string::npos) << e.msg;
}

namespace {

tn_data_spec image_spec(const std::string &dir, tn_prep prep) {
    tn_data_spec s{};
    s.kind = TN_DATA_MNIST;
    std::snprintf(s.dir, sizeof s.dir, "%s", dir.c_str());
    s.prep = prep;
    return s;
}

}  // namespace

TEST(DataPrepare, DefaultScalesImages) {
    MnistDir m;
    for (tn_prep prep : {TN_PREP_DEFAULT, TN_PREP_SCALE, TN_PREP_NONE}) {
        tn_data_spec s = image_spec(m.dir, prep);
        Split a;
        tn_err e{};
        ASSERT_EQ(tn_data_load(&s, &a.tr, &a.te, &e), 0) << e.msg;
        const float k = prep == TN_PREP_NONE ? 1.0f : 1.0f / 255.0f;
        for (int i = 0; i < 12 * 12; i++) ASSERT_FLOAT_EQ(a.tr.x[i], m.trpix[i] * k);
        for (int i = 0; i < 5 * 12; i++) ASSERT_FLOAT_EQ(a.te.x[i], m.tepix[i] * k);
    }
}

TEST(DataPrepare, StandardizeTrainStats) {
    MnistDir m;
    // make feature 0 constant in train to check the std < 1e-6 rule
    Bytes pix = m.trpix;
    for (int i = 0; i < 12; i++) pix[(size_t)i * 12] = 77;
    write_file(m.dir + "/train-images-idx3-ubyte", idx_images(12, 4, 3, pix));
    tn_data_spec s = image_spec(m.dir, TN_PREP_STANDARDIZE);
    Split a;
    tn_err e{};
    ASSERT_EQ(tn_data_load(&s, &a.tr, &a.te, &e), 0) << e.msg;
    for (int j = 0; j < 12; j++) {
        double mu = 0, var = 0;
        for (int i = 0; i < 12; i++) mu += a.tr.x[i * 12 + j];
        mu /= 12;
        for (int i = 0; i < 12; i++) var += (a.tr.x[i * 12 + j] - mu) * (a.tr.x[i * 12 + j] - mu);
        EXPECT_NEAR(mu, 0.0, 1e-5) << j;
        if (j == 0) EXPECT_NEAR(var, 0.0, 1e-9);
        else EXPECT_NEAR(std::sqrt(var / 12), 1.0, 1e-4) << j;
    }
    // test uses the training statistics: feature 0 is (t - 77) / 255 (std treated as 1)
    for (int i = 0; i < 5; i++) EXPECT_NEAR(a.te.x[i * 12], (m.tepix[(size_t)i * 12] - 77) / 255.0, 1e-6);
}

TEST(DataPrepare, UnitNormRows) {
    MnistDir m;
    Bytes pix = m.tepix;
    for (int j = 0; j < 12; j++) pix[12 + j] = 0;  // test row 1 all zero: stays zero
    write_file(m.dir + "/t10k-images-idx3-ubyte.gz", idx_images(5, 4, 3, pix), true);
    tn_data_spec s = image_spec(m.dir, TN_PREP_UNITNORM);
    Split a;
    tn_err e{};
    ASSERT_EQ(tn_data_load(&s, &a.tr, &a.te, &e), 0) << e.msg;
    for (int i = 0; i < a.tr.n; i++) EXPECT_NEAR(row_norm(a.tr, i), 1.0, 1e-5);
    for (int i = 0; i < a.te.n; i++) EXPECT_NEAR(row_norm(a.te, i), i == 1 ? 0.0 : 1.0, 1e-5);
    // direction preserved
    EXPECT_NEAR(a.tr.x[1] / a.tr.x[2], (double)m.trpix[1] / m.trpix[2], 1e-4);
    // synthetic default is unitnorm as well
    tn_data_spec ss = synth_spec(20, 5, 4, 3, 9);
    Split b;
    ASSERT_EQ(tn_data_load(&ss, &b.tr, &b.te, &e), 0);
    for (int i = 0; i < 20; i++) EXPECT_NEAR(row_norm(b.tr, i), 1.0, 1e-5);
}

TEST(DataPrepare, CifarThroughLoad) {
    const int counts[6] = {2, 1, 1, 1, 1, 1};
    std::string d = cifar_dir(counts);
    tn_data_spec s{};
    s.kind = TN_DATA_CIFAR10;
    std::snprintf(s.dir, sizeof s.dir, "%s", d.c_str());
    s.subset = 4;
    Split a;
    tn_err e{};
    ASSERT_EQ(tn_data_load(&s, &a.tr, &a.te, &e), 0) << e.msg;
    EXPECT_EQ(a.tr.n, 4);
    EXPECT_EQ(a.te.n, 1);
    EXPECT_FLOAT_EQ(a.tr.x[5], (5 * 7) / 255.0f);
}

// --val N: after --subset, the last N training examples are the validation set, untouched by
// label noise, standardized with the statistics of the remaining training rows only.
TEST(DataPrepare, ValidationHoldsOutTheLastExamples) {
    MnistDir m;
    tn_data_spec s = image_spec(m.dir, TN_PREP_STANDARDIZE);
    s.subset = 10, s.val = 3, s.label_noise = 1.0, s.seed = 4;
    tn_dataset tr{}, va{}, te{};
    tn_err e{};
    ASSERT_EQ(tn_data_load_val(&s, &tr, &va, &te, &e), 0) << e.msg;
    ASSERT_EQ(tr.n, 7);
    ASSERT_EQ(va.n, 3);
    EXPECT_EQ(te.n, 5);
    for (int i = 0; i < 3; i++) EXPECT_EQ(va.y[i], m.trlab[7 + i]) << "no label noise on validation rows";
    for (int j = 1; j < 12; j++) {
        double mu = 0, var = 0;
        for (int i = 0; i < 7; i++) mu += m.trpix[(size_t)i * 12 + j] / 255.0;
        mu /= 7;
        for (int i = 0; i < 7; i++) var += std::pow(m.trpix[(size_t)i * 12 + j] / 255.0 - mu, 2);
        double sd = std::sqrt(var / 7), want = sd < 1e-6 ? m.trpix[8 * 12 + j] / 255.0 - mu : (m.trpix[8 * 12 + j] / 255.0 - mu) / sd;
        EXPECT_NEAR(va.x[12 + j], want, 1e-4) << j;
    }
    tn_dataset_free(&tr), tn_dataset_free(&va), tn_dataset_free(&te);
    s.val = 10;
    tn_err e2{};
    EXPECT_EQ(tn_data_load_val(&s, &tr, &va, &te, &e2), TN_EINPUT);
    EXPECT_NE(std::string(e2.msg).find("--val 10 leaves no training examples"), std::string::npos) << e2.msg;
}

// --preprocess channel on CIFAR records: each of the 3 channels of the training set has mean 0
// and std 1 over all its pixels; the test set uses the training statistics (an independent
// double computation from the raw bytes).
TEST(DataPrepare, PerChannelFromTrainingSet) {
    const int counts[6] = {2, 1, 1, 1, 1, 2};
    std::string d = cifar_dir(counts);
    tn_data_spec s{};
    s.kind = TN_DATA_CIFAR10;
    s.prep = TN_PREP_CHANNEL;
    std::snprintf(s.dir, sizeof s.dir, "%s", d.c_str());
    Split a;
    tn_err e{};
    ASSERT_EQ(tn_data_load(&s, &a.tr, &a.te, &e), 0) << e.msg;
    ASSERT_EQ(a.tr.n, 6);
    std::vector<unsigned char> raw;
    for (int f = 0; f < 5; f++) {
        auto r = cifar_records(counts[f], f);
        raw.insert(raw.end(), r.begin(), r.end());
    }
    auto test_raw = cifar_records(counts[5], 50);
    for (int ch = 0; ch < 3; ch++) {
        double m = 0, v = 0, got_m = 0, got_v = 0;
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 1024; j++) m += raw[(size_t)i * 3073 + 1 + ch * 1024 + j] / 255.0;
        m /= 6 * 1024;
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 1024; j++) {
                double x = raw[(size_t)i * 3073 + 1 + ch * 1024 + j] / 255.0 - m;
                v += x * x;
                got_m += a.tr.x[(size_t)i * 3072 + ch * 1024 + j];
            }
        double sd = std::sqrt(v / (6 * 1024));
        got_m /= 6 * 1024;
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 1024; j++) got_v += std::pow(a.tr.x[(size_t)i * 3072 + ch * 1024 + j] - got_m, 2);
        EXPECT_NEAR(got_m, 0.0, 1e-5) << ch;
        EXPECT_NEAR(std::sqrt(got_v / (6 * 1024)), 1.0, 1e-4) << ch;
        double want = (test_raw[3073 + 1 + ch * 1024 + 17] / 255.0 - m) / sd;
        EXPECT_NEAR(a.te.x[3072 + ch * 1024 + 17], want, 1e-5) << ch;
    }
}

#ifdef TAUNET_SOURCE_DIR
// The committed Fashion-MNIST sample (data/fashion-sample, made by data/make_sample.py).
TEST(DataPrepare, FashionSample) {
    tn_data_spec s{};
    s.kind = TN_DATA_FASHION;
    std::snprintf(s.dir, sizeof s.dir, "%s/data/fashion-sample", TAUNET_SOURCE_DIR);
    Split a;
    tn_err e{};
    ASSERT_EQ(tn_data_load(&s, &a.tr, &a.te, &e), 0) << e.msg;
    EXPECT_EQ(a.tr.n, 2000);
    EXPECT_EQ(a.te.n, 500);
    EXPECT_EQ(a.tr.p, 784);
    std::set<int> seen(a.tr.y, a.tr.y + a.tr.n);
    EXPECT_EQ(seen.size(), 10u);
    float mx = 0;
    for (size_t i = 0; i < (size_t)a.tr.n * 784; i++) mx = std::max(mx, a.tr.x[i]);
    EXPECT_LE(mx, 1.0f);
    EXPECT_GT(mx, 0.9f);
}
#endif
