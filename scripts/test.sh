#!/usr/bin/env bash
# README command 2: install what is missing, build, and run every test (CTest over GoogleTest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# numpy lets the .npy tests check our files with numpy itself (they skip, saying so, without it).
python3 -c 'import numpy' 2>/dev/null || python3 -m pip install -q numpy 2>/dev/null || true
mkdir -p build
bash scripts/build.sh
export OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=30000  # sleep soon when ctest runs two tests at once
ctest --test-dir build --output-on-failure -j2
