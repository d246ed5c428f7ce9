#!/usr/bin/env bash
# Builds the test suite with AddressSanitizer + UndefinedBehaviorSanitizer (gcc; host code, the
# CUDA backend through its CPU emulation) into build-asan/ and runs it. Tests that take long at
# full size read TAUNET_TEST_SMALL=1 and run smaller (a depth-1202 test at depth 302, say); the
# ci-scale experiments (Experiment.*) drive the same binary through Python for minutes, so they run
# in the ordinary build only. Any sanitizer report fails its test.
#   bash scripts/sanitize.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/cuda/bin"
mkdir -p build-asan
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Release -DTAUNET_SANITIZE=ON >build-asan/.cmake.log 2>&1 ||
  { cat build-asan/.cmake.log; exit 1; }
cmake --build build-asan -j"$(nproc)" >build-asan/.build.log 2>&1 || { grep -E "error" build-asan/.build.log; exit 1; }
export TAUNET_TEST_SMALL=1 OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=30000
# detect_leaks: the suite checks leaks too; halt_on_error: a report is a failure, not a warning
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j2 -E '^Experiment\.' "$@"
