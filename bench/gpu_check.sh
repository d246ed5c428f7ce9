#!/usr/bin/env bash
# The GPU check of the CUDA backend (docs/CUDA.md), for a machine with an NVIDIA GPU:
#   1. configures and builds a separate Release build for sm_90 plus this GPU's own architecture
#      (build/gpu-check unless --build-dir), keeping nvcc's -Xptxas -v register/spill report;
#   2. runs the GPU test suite (taunet_gpu_tests: per-op parity, identical init, 50-step training
#      parity, TF32) and the kernel emulation tests;
#   3. trains a few configurations with --backend cuda and --backend cpu and tabulates s/step
#      (from each run's summary.json; includes the evaluations at step 0 and at the end).
#   4. runs the performance benchmark (bench/compare.py: taunet vs PyTorch eager and CUDA-graphed
#      when torch with CUDA is importable), the wide configurations, and the largest width at depth 4.
# Writes OUTDIR/table.md (the short table), OUTDIR/bench.md and bench.json, OUTDIR/build.log,
# OUTDIR/tests.log, OUTDIR/train.log, OUTDIR/ptxas.txt, and the run directories under OUTDIR/runs. Meant to finish in well under 8 minutes.
# Without a GPU (no nvidia-smi, or taunet sees no device) it says why and exits 0 after the build.
#
# usage: bench/gpu_check.sh [--dry-run] [--reuse-build DIR] [--build-dir DIR] OUTDIR
#   --dry-run          stop after the build check and the device probe, even on a GPU machine
#   --reuse-build DIR  skip configure/build and use the taunet binaries already in DIR
#   --build-dir DIR    where to configure and build (default build/gpu-check)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 1
export PATH="$PATH:/usr/local/cuda/bin"
export OMP_WAIT_POLICY=passive

dry=0 reuse="" bdir="$ROOT/build/gpu-check" out=""
while (($#)); do
  case "$1" in
    --dry-run) dry=1 ;;
    --reuse-build) reuse="${2:?--reuse-build needs a directory}"; shift ;;
    --build-dir) bdir="${2:?--build-dir needs a directory}"; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "gpu_check: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) out="$1" ;;
  esac
  shift
done
[ -n "$out" ] || { echo "usage: bench/gpu_check.sh [--dry-run] [--reuse-build DIR] [--build-dir DIR] OUTDIR" >&2; exit 2; }
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)            # paths relative to where we were called from
[ -z "$reuse" ] || reuse=$(cd "$reuse" && pwd) || { echo "gpu_check: --reuse-build: no such directory" >&2; exit 1; }
if [ -z "$reuse" ]; then mkdir -p "$bdir" && bdir=$(cd "$bdir" && pwd) || exit 1; fi
cd "$ROOT" || exit 1
t0=$(date +%s)
say() { echo "gpu_check: $*"; }
# One deadline for the whole check (a lent GPU's command limit is 10 minutes): each step gets the
# time that is left, capped, and is skipped when under 30 s remain.
deadline=$((t0 + ${GPU_CHECK_SECONDS:-450}))
left() { local l=$((deadline - $(date +%s))); [ "$l" -lt "${1:-100000}" ] && echo "$l" || echo "${1:-100000}"; }
enough() { [ "$(left)" -ge 30 ]; }

# ---- 1. build -----------------------------------------------------------------------------
archs="90-real"
have_smi=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  have_smi=1
  cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
  if [ -n "$cc" ] && [ "$cc" != "90" ]; then archs="90-real;${cc}-real"; fi
fi
if [ -n "$reuse" ]; then
  bdir=$reuse
  say "reusing the build in $bdir"
  : >"$out/build.log"
else
  say "configuring $bdir for CUDA architectures $archs"
  { cmake -S "$ROOT" -B "$bdir" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CUDA_ARCHITECTURES=$archs" &&
    timeout "$(left 300)" cmake --build "$bdir" -j"$(nproc)"; } >"$out/build.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    tail -30 "$out/build.log"
    say "build FAILED (full log: $out/build.log)"
    exit 1
  fi
  grep -E "Compiling entry function|registers|spill" "$out/build.log" >"$out/ptxas.txt" || true
  say "build ok in $(($(date +%s) - t0)) s (ptxas report: $out/ptxas.txt)"
fi
bin="$bdir/taunet"
[ -x "$bin" ] || { say "no taunet binary in $bdir"; exit 1; }

# ---- device probe -------------------------------------------------------------------------
if [ $have_smi -eq 0 ]; then
  say "no GPU here (nvidia-smi is missing or lists no device): stopping after the build check"
  exit 0
fi
rm -rf "$out/runs/probe"
if ! probe=$("$bin" train --backend cuda --steps 1 --width 8 --depth 2 --n 16 --n-test 8 --out "$out/runs/probe" 2>&1); then
  say "taunet cannot use the GPU: $(echo "$probe" | tail -1)"
  say "nvidia-smi sees a GPU but taunet cannot use it: FAILED (exit 3)"
  exit 3
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu_check: GPU: /'
if [ $dry -eq 1 ]; then
  say "--dry-run: a GPU is usable; stopping before the tests"
  exit 0
fi

# ---- 2. tests -----------------------------------------------------------------------------
fail=0
say "GPU tests"
# a GPU is present, so a test that cannot create the CUDA backend fails instead of skipping
if ! TAUNET_REQUIRE_GPU=1 timeout "$(left 240)" "$bdir/taunet_gpu_tests" >"$out/tests.log" 2>&1; then fail=1; fi
tail -3 "$out/tests.log"
if [ -x "$bdir/taunet_tests" ]; then
  enough && { timeout "$(left 120)" "$bdir/taunet_tests" --gtest_filter='KernelEmu.*:CudaBackend.*' >>"$out/tests.log" 2>&1 || fail=1; }
fi
grep -E "^\[  (FAILED|PASSED|SKIPPED) " "$out/tests.log" | sort | uniq -c | sed 's/^/gpu_check: /'

# ---- 3. timings ---------------------------------------------------------------------------
# name | flags | steps on cuda | steps on cpu (the cpu gets fewer: s/step is what we compare)
configs=(
  "resnet-w128-L100-sgd|--arch resnet --width 128 --depth 100 --data fashion:$ROOT/data/fashion-sample --opt sgd --batch 128 --lr 0.05|100|10"
  "resnet-w512-L50-bn-sgd|--arch resnet --width 512 --depth 50 --bn on --data synthetic --n 4096 --opt sgd --batch 256 --lr 0.05|100|5"
  "plain-w2048-L4-gd|--arch plain --width 2048 --depth 4 --data synthetic --n 4096 --input-dim 256 --opt gd --lr 0.1 --loss mse|50|3"
  "resnet-w128-L1202-sgd|--arch resnet --width 128 --depth 1202 --data synthetic --n 1024 --opt sgd --batch 128 --lr 0.05|20|2"
)
sps() { grep -o '"s_per_step":[0-9.eE+-]*' "$1/summary.json" 2>/dev/null | cut -d: -f2; }
{
  echo "| configuration | cuda s/step | cuda tf32 s/step | cpu s/step | cpu/cuda |"
  echo "| --- | ---: | ---: | ---: | ---: |"
} >"$out/table.md"
: >"$out/train.log"
for row in "${configs[@]}"; do
  IFS='|' read -r name flags gsteps csteps <<<"$row"
  res=()
  for be in cuda cuda-tf32 cpu; do
    steps=$gsteps extra=(--backend cuda)
    [ $be = cuda-tf32 ] && extra=(--backend cuda --math tf32)
    [ $be = cpu ] && steps=$csteps extra=(--backend cpu)
    dir="$out/runs/$name-$be"
    rm -rf "$dir"
    echo "== $name $be: taunet train $flags ${extra[*]} --steps $steps" >>"$out/train.log"
    enough || { res+=("skipped"); continue; }
    # shellcheck disable=SC2086
    timeout "$(left 60)" "$bin" train $flags "${extra[@]}" --steps "$steps" --eval-every "$steps" --seed 1 \
      --out "$dir" >>"$out/train.log" 2>&1 || echo "(exit $?)" >>"$out/train.log"
    v=$(sps "$dir")
    res+=("${v:-failed}")
  done
  ratio=$(awk -v g="${res[0]}" -v c="${res[2]}" 'BEGIN { if (g + 0 > 0 && c + 0 > 0) printf "%.1fx", c / g; else print "-" }')
  echo "| $name | ${res[0]} | ${res[1]} | ${res[2]} | $ratio |" >>"$out/table.md"
  say "$name: cuda ${res[0]} tf32 ${res[1]} cpu ${res[2]} s/step"
done
echo >>"$out/table.md"
echo "s/step from summary.json (includes the evaluations at step 0 and at the end); $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1); $(nproc) CPU cores" >>"$out/table.md"
cat "$out/table.md"

# ---- 4. the performance benchmark: taunet bench presets side by side with PyTorch on the GPU
# (eager and CUDA-graphed) when torch with CUDA is importable, else taunet alone; then the wide
# configurations (non-GEMM share) and the largest width at depth 4.
PY=python3
if $PY -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
  say "benchmark: taunet vs PyTorch (eager and CUDA graphs) on the GPU"
  enough && timeout "$(left 200)" $PY bench/compare.py --taunet "$bin" --python "$(command -v $PY)" --backend cuda \
    --torch-device cuda --cuda-graph --threads "$(nproc)" --rounds 1 --repeats 5 --out "$out/bench.json" \
    --md "$out/bench.md" --presets plain-m128-L10,resnet-m128-L1202,resnet-bn-m128-L1202,plain-m4096-L4 \
    >>"$out/train.log" 2>&1 || say "compare.py failed (see train.log)"
else
  say "benchmark: torch with CUDA is not importable; taunet alone"
  enough && timeout "$(left 120)" "$bin" bench --preset all --backend cuda --json "$out/bench.json" >"$out/bench.md" 2>&1 ||
    say "taunet bench failed (see bench.md)"
fi
for w in 8192 16384; do
  enough && timeout "$(left 60)" "$bin" bench --backend cuda --arch plain --width $w --depth 4 --repeats 3 >>"$out/bench.md" 2>&1
  enough && timeout "$(left 60)" "$bin" bench --backend cuda --math tf32 --arch plain --width $w --depth 4 --repeats 3 >>"$out/bench.md" 2>&1
done
echo "largest width at depth 4 (fp32, plain SGD):" >>"$out/bench.md"
for w in 32768 65536 81920; do
  enough && timeout "$(left 90)" "$bin" bench --backend cuda --arch plain --width $w --depth 4 --warmup 1 --repeats 1 \
    --steps-per-repeat 1 >>"$out/bench.md" 2>&1 || echo "width $w: did not run (exit $?)" >>"$out/bench.md"
done
cat "$out/bench.md"
# keep OUTDIR small enough to bring back (checkpoints of the timing runs are not needed)
find "$out/runs" -name checkpoint.bin -delete 2>/dev/null
verdict="passed"
[ $fail -eq 0 ] || verdict="FAILED, see $out/tests.log"
say "done in $(($(date +%s) - t0)) s; tests $verdict"
exit $fail
