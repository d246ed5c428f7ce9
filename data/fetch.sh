#!/usr/bin/env bash
# Put a dataset where taunet's loaders expect it.
#
#   data/fetch.sh fashion [DIR]   Fashion-MNIST from Debian's dataset-fashion-mnist package
#                                 (no internet needed); default DIR data/fashion-mnist
#   data/fetch.sh mnist   [DIR]   MNIST, downloaded (needs internet); default DIR data/mnist
#   data/fetch.sh cifar10 [DIR]   CIFAR-10 binary version, downloaded (needs internet, 162 MB);
#                                 default DIR data/cifar-10
#   data/fetch.sh cifar100 [DIR]  CIFAR-100 binary version (train.bin, test.bin; coarse and fine
#                                 labels), downloaded (needs internet, 161 MB); default DIR
#                                 data/cifar-100
#
# Downloads are checked against the published MD5 sums and written through a .part file, so an
# interrupted transfer never leaves a file that looks complete. Files already present are kept.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
what="${1:-}"

usage() {
    echo "usage: $0 fashion|mnist|cifar10|cifar100 [DIR]" >&2
    exit 2
}

# download URL DEST MD5: fetch into DEST.part, verify, then rename.
download() {
    local url="$1" dest="$2" md5="$3"
    if [[ -s "$dest" ]]; then
        echo "fetch: $dest already present, keeping it"
        return 0
    fi
    echo "fetch: $url -> $dest (this needs internet access)"
    if command -v curl >/dev/null 2>&1; then
        curl -fL --retry 3 --connect-timeout 20 -o "$dest.part" "$url" || {
            echo "fetch: download of $url failed; this needs internet access (e.g. a lab machine)" >&2
            exit 1
        }
    elif command -v wget >/dev/null 2>&1; then
        wget -q --tries=3 --timeout=20 -O "$dest.part" "$url" || {
            echo "fetch: download of $url failed; this needs internet access (e.g. a lab machine)" >&2
            exit 1
        }
    else
        echo "fetch: neither curl nor wget is installed; sudo apt-get install curl" >&2
        exit 1
    fi
    if command -v md5sum >/dev/null 2>&1; then
        local got
        got="$(md5sum "$dest.part" | cut -d' ' -f1)"
        if [[ "$got" != "$md5" ]]; then
            echo "fetch: $dest.part: MD5 $got, expected $md5; the download is corrupt, delete it and retry" >&2
            exit 1
        fi
    fi
    mv -f "$dest.part" "$dest"
}

case "$what" in
fashion)
    dir="${2:-$here/fashion-mnist}"
    src=/usr/share/datasets/fashion-mnist
    if [[ ! -d "$src" ]]; then
        echo "fetch: $src not found; install Fashion-MNIST with:" >&2
        echo "  sudo apt-get install dataset-fashion-mnist" >&2
        echo "then rerun: $0 fashion${2:+ $2}" >&2
        exit 1
    fi
    mkdir -p "$dir"
    for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
             t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
        # a symlink costs no space; fall back to a copy where links are not possible
        ln -sf "$src/$f" "$dir/$f" 2>/dev/null || cp -f "$src/$f" "$dir/$f"
    done
    echo "fetch: Fashion-MNIST (60000 train + 10000 test) ready in $dir"
    ;;
mnist)
    dir="${2:-$here/mnist}"
    mkdir -p "$dir"
    base=https://ossci-datasets.s3.amazonaws.com/mnist
    download "$base/train-images-idx3-ubyte.gz" "$dir/train-images-idx3-ubyte.gz" f68b3c2dcbeaaa9fbdd348bbdeb94873
    download "$base/train-labels-idx1-ubyte.gz" "$dir/train-labels-idx1-ubyte.gz" d53e105ee54ea40749a09fcbcd1e9432
    download "$base/t10k-images-idx3-ubyte.gz" "$dir/t10k-images-idx3-ubyte.gz" 9fb629c4189551a2d022fa330f9573f3
    download "$base/t10k-labels-idx1-ubyte.gz" "$dir/t10k-labels-idx1-ubyte.gz" ec29112dd5afa0611ce80d1b7f02629c
    echo "fetch: MNIST (60000 train + 10000 test) ready in $dir"
    ;;
cifar10)
    dir="${2:-$here/cifar-10}"
    mkdir -p "$dir"
    tgz="$dir/cifar-10-binary.tar.gz"
    download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz "$tgz" c32a1d4ab5d03f1284b67883e8d87530
    # the archive holds cifar-10-batches-bin/*.bin: extract only the six batches, flat into DIR
    members=()
    for f in data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin; do
        members+=("cifar-10-batches-bin/$f")
    done
    tar -xzf "$tgz" -C "$dir" --strip-components=1 "${members[@]}"
    rm -f "$tgz"
    echo "fetch: CIFAR-10 (50000 train + 10000 test) ready in $dir"
    ;;
cifar100)
    dir="${2:-$here/cifar-100}"
    mkdir -p "$dir"
    tgz="$dir/cifar-100-binary.tar.gz"
    download https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz "$tgz" 03b5dce01913d631647c71ecec9e9cb8
    # the archive holds cifar-100-binary/{train,test}.bin and the label names: flat into DIR
    tar -xzf "$tgz" -C "$dir" --strip-components=1 cifar-100-binary/train.bin cifar-100-binary/test.bin \
        cifar-100-binary/coarse_label_names.txt cifar-100-binary/fine_label_names.txt
    rm -f "$tgz"
    echo "fetch: CIFAR-100 (50000 train + 10000 test) ready in $dir"
    ;;
*)
    usage
    ;;
esac
