#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/) from a built taunet:
# small valid inputs of each format, from which libFuzzer mutates. Rerun after a format changes:
#   bash tests/fuzz/make_corpus.sh build/taunet
set -euo pipefail
bin=$(realpath "${1:-build/taunet}")
here=$(cd "$(dirname "$0")" && pwd)
out="$here/corpus"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
mkdir -p "$out"/{idx,cifar,checkpoint,json,flags}
cd "$work"
"$bin" train --width 4 --depth 2 --n 8 --n-test 4 --input-dim 4 --classes 2 --steps 2 --threads 1 --out plain >/dev/null
"$bin" train --width 4 --depth 3 --bn on --momentum 0.9 --n 8 --n-test 4 --input-dim 3 --classes 2 --steps 2 \
  --batch 4 --threads 1 --diag norms --out bn >/dev/null
"$bin" sweep --width 4,5 --depth 2 --n 8 --n-test 4 --input-dim 3 --steps 1 --threads 1 --out sw >/dev/null
# checkpoint target: first byte 0 = the file as it is, 1 = its body (the target adds header and CRC)
for r in plain bn; do
  { printf '\0'; cat $r/checkpoint.bin; } > "$out/checkpoint/$r-file.bin"
  { printf '\1'; tail -c +33 $r/checkpoint.bin; } > "$out/checkpoint/$r-body.bin"
done
cp plain/config.json "$out/json/config.json"
cp bn/summary.json "$out/json/summary.json"
tail -n 1 bn/metrics.jsonl > "$out/json/metrics-line.json"
head -n 1 sw/results.jsonl > "$out/json/results-line.json"
python3 - "$out" <<'PY'
import gzip, os, sys
out = sys.argv[1]
def w(d, name, b):
    open(os.path.join(out, d, name), "wb").write(b)
def be32(*v): return b"".join(x.to_bytes(4, "big") for x in v)
images = be32(0x803, 2, 2, 2) + bytes([1, 2, 3, 4, 5, 6, 7, 8])
labels = be32(0x801, 2) + bytes([3, 9])
w("idx", "images-raw", bytes([0, 0]) + images)
w("idx", "labels-raw", bytes([1, 0]) + labels)
w("idx", "images-gz", bytes([2, 0]) + gzip.compress(images, mtime=0))
w("idx", "both", bytes([3, 255 * len(images) // (len(images) + len(labels))]) + images + labels)
rec = bytes([7]) + bytes((i * 13) % 256 for i in range(3072))
w("cifar", "one-record", bytes([0]) + rec)
w("cifar", "two-records-gz", bytes([1]) + gzip.compress(rec + rec, mtime=0))
args = [["--width", "8", "--depth", "3", "--arch", "plain"],
        ["--arch", "resnet", "--bn", "on", "--tau", "1/sqrt(L)", "--schedule", "step:1,2", "--momentum", "0.9"],
        ["--data=fashion:data/fashion-sample", "--epochs", "2.5", "--diag", "norms,dist", "--loss", "mse"],
        ["--width", "8,16", "--depth", "2:10:4", "--seeds", "2", "--shard", "0/2", "--dry-run", "--out", "x"]]
for i, a in enumerate(args):
    w("flags", "args-%d" % i, b"\0".join(s.encode() for s in a))
PY
echo "corpora written to $out: $(find "$out" -type f | wc -l) files"
