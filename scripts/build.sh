#!/usr/bin/env bash
# Configures and builds taunet into build/ (Release).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/cuda/bin"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >build/.cmake.log 2>&1 || { mkdir -p build; cmake -S . -B build -DCMAKE_BUILD_TYPE=Release; }
cmake --build build -j"$(nproc)" 2>&1 | tee build/.build.log | grep -E "error|warning|Built target" || true
test -x build/taunet || { echo "taunet: build failed; see build/.build.log" >&2; exit 1; }
