#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c, clang with ASan + UBSan) into build-fuzz/ and
# runs each for SECONDS (default 20), starting from its seed corpus tests/fuzz/corpus/<name>/ (new
# inputs go to build-fuzz/corpus/<name>/, so the committed seeds stay as they are). Prints, per
# target, the executions and the crashes, and fails when any target found one (its input is in
# build-fuzz/crash-<target>-*). docs/FUZZING.md says how to run them longer.
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
shift || true
export PATH="$PATH:/usr/local/cuda/bin"
cc=$(command -v clang-14 || command -v clang || true)
cxx=$(command -v clang++-14 || command -v clang++ || true)
if [ -z "$cc" ] || [ -z "$cxx" ]; then
  echo "taunet: fuzzing needs clang-14 with libFuzzer: apt-get install clang-14 libclang-rt-14-dev" >&2
  exit 1
fi
mkdir -p build-fuzz
CC=$cc CXX=$cxx cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Release -DTAUNET_FUZZ=ON -DTAUNET_TESTS=OFF \
  >build-fuzz/.cmake.log 2>&1 || { cat build-fuzz/.cmake.log; exit 1; }
cmake --build build-fuzz -j"$(nproc)" >build-fuzz/.build.log 2>&1 || { grep -E "error" build-fuzz/.build.log; exit 1; }
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx cifar checkpoint json flags)
fail=0
printf '%-12s %10s %8s %8s %s\n' target executions exec/s crashes corpus
for t in "${targets[@]}"; do
  work=build-fuzz/corpus/$t
  mkdir -p "$work"
  log=build-fuzz/fuzz_$t.log
  set +e
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    build-fuzz/fuzz_$t "$work" tests/fuzz/corpus/$t -max_total_time="$secs" -max_len=16384 -timeout=20 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=build-fuzz/crash-$t- >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
  rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
  # crash-, leak-, timeout-, oom- (and slow-unit-: an input over 10 s; see its log)
  crashes=$(find build-fuzz -maxdepth 1 -name "crash-$t-*" ! -name "crash-$t-slow-unit-*" | wc -l)
  printf '%-12s %10s %8s %8s %s\n' "$t" "$execs" "$rate" "$crashes" "$(ls "$work" | wc -l) inputs"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    fail=1
    echo "fuzz_$t failed (exit $rc); the end of its log ($log):" >&2
    tail -n 30 "$log" >&2
  fi
done
exit $fail
