#!/usr/bin/env bash
# README command 2: install what is missing, build, and run every test:
#   1. the CTest + GoogleTest suites (the CUDA backend through its CPU emulation; GPU tests skip
#      without a device, saying why);
#   2. the training, experiment and parity suites again under two other OpenBLAS kernels
#      (scripts/kernels.sh), so no verdict depends on the GEMM kernel's rounding;
#   3. the suites under AddressSanitizer + UndefinedBehaviorSanitizer (scripts/sanitize.sh);
#   4. every fuzz target for 20 s (scripts/fuzz.sh; TAUNET_FUZZ_SECONDS changes it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test
# numpy lets the .npy tests check our files with numpy itself (they skip, saying so, without it).
python3 -c 'import numpy' 2>/dev/null || python3 -m pip install -q numpy 2>/dev/null || true
mkdir -p build
bash scripts/build.sh
export OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=30000  # sleep soon when ctest runs two tests at once
echo "== tests (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-default})"
ctest --test-dir build --output-on-failure -j2
echo "== the same claims under other OpenBLAS kernels"
bash scripts/kernels.sh
echo "== sanitizers"
bash scripts/sanitize.sh
echo "== fuzzing"
bash scripts/fuzz.sh "${TAUNET_FUZZ_SECONDS:-20}"
echo "== all tests passed"
