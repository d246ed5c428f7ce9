#!/usr/bin/env python3
"""Build data/fashion-sample/: a small, committed Fashion-MNIST sample for tests and quick runs.

Takes the FIRST 2000 training and the FIRST 500 test images+labels (file order, no shuffling)
from Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist) and writes them
as valid IDX files with the standard names, gzip-compressed. Standard library only.

    python3 data/make_sample.py [SRC_DIR [OUT_DIR]]

The gzip header's mtime is fixed to 0 and no file name is stored, so rerunning gives
byte-identical files (no spurious diffs in git).
"""
import gzip
import os
import struct
import sys

N_TRAIN, N_TEST = 2000, 500
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801


def read_idx(path, want_magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic != want_magic:
        sys.exit(f"make_sample: {path}: magic 0x{magic:08x}, expected 0x{want_magic:08x}")
    if magic == IMAGES_MAGIC:
        rows, cols = struct.unpack(">II", data[8:16])
        body, dims = data[16:], (rows, cols)
    else:
        body, dims = data[8:], ()
    per = 1
    for d in dims:
        per *= d
    if len(body) != n * per:
        sys.exit(f"make_sample: {path}: header says {n} items of {per} bytes, file holds {len(body)}")
    return n, dims, per, body


def write_idx(path, magic, n, dims, body):
    header = struct.pack(">II", magic, n) + b"".join(struct.pack(">I", d) for d in dims)
    tmp = path + ".tmp"
    with open(tmp, "wb") as raw:
        # filename="" and mtime=0: reproducible bytes
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as f:
            f.write(header + body)
    os.replace(tmp, path)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "fashion-sample")
    if not os.path.isdir(src):
        sys.exit(f"make_sample: {src}: not found; install it with: sudo apt-get install dataset-fashion-mnist")
    os.makedirs(out, exist_ok=True)
    for split, keep in (("train", N_TRAIN), ("t10k", N_TEST)):
        n, dims, per, img = read_idx(os.path.join(src, f"{split}-images-idx3-ubyte.gz"), IMAGES_MAGIC)
        nl, _, _, lab = read_idx(os.path.join(src, f"{split}-labels-idx1-ubyte.gz"), LABELS_MAGIC)
        if n != nl or n < keep:
            sys.exit(f"make_sample: {src}: {split} has {n} images and {nl} labels, need {keep} of each")
        write_idx(os.path.join(out, f"{split}-images-idx3-ubyte.gz"), IMAGES_MAGIC, keep, dims,
                  img[: keep * per])
        write_idx(os.path.join(out, f"{split}-labels-idx1-ubyte.gz"), LABELS_MAGIC, keep, (), lab[:keep])
        print(f"{out}: {split}: {keep} of {n} images of {dims[0]}x{dims[1]}")


if __name__ == "__main__":
    main()
