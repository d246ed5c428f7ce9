#!/usr/bin/env bash
# Installs what taunet needs to build and test on Debian 12 (when root), or prints the apt line.
# The CUDA toolkit (nvcc, cuBLAS, cuRAND) must already be installed (NVIDIA's packages).
# --test adds what the full test run needs beyond the build: clang-14 with libFuzzer for the fuzz
# targets (the sanitizer build uses gcc's ASan/UBSan, part of build-essential).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libopenblas-openmp-dev zlib1g-dev libgtest-dev libomp-dev python3 python3-numpy python3-matplotlib)
if [ "${1:-}" = --test ]; then pkgs+=(clang-14 libclang-rt-14-dev); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "taunet: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "taunet: missing packages; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
if ! command -v nvcc >/dev/null && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  echo "taunet: the CUDA toolkit is required to build (nvcc, cuBLAS, cuRAND); install NVIDIA's cuda-toolkit package" >&2
  exit 1
fi
