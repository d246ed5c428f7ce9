#!/usr/bin/env bash
# Writes the golden run outputs that tests compare byte for byte (tests/test_golden.cpp):
#   ckpt/<case>/checkpoint.bin and ckpt/<case>/export/*.npy   by the taunet of the given build
#   release-0.1.0/halted/                                     a run directory of taunet 0.1.0
#                                                             (946090e), halted, to be resumed
# They were made by: bash tests/data/golden/make_golden.sh build/taunet /tmp/rel/build/taunet
# with build/taunet the model before it became a plan of units (cc934d0) and the second binary
# taunet 0.1.0 as released (946090e). Rerun only when a format change is intended.
# The bytes of a run follow the GEMM kernel OpenBLAS picks for the CPU, so they are written, and
# compared, under one kernel every x86-64 CPU with AVX2 runs: Haswell (test_golden.cpp sets it too).
# The ckpt/ cases were rewritten so on 2026-12-07 by the taunet of 3a3858a, on an AMD EPYC
# (AVX2, no AVX-512), after 3a3858a had matched the SkylakeX-kernel bytes of cc934d0 on Intel.
set -euo pipefail
export OPENBLAS_CORETYPE=Haswell
new=$(realpath "$1")
old=""; [ -z "${2:-}" ] || old=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
tiny=(--width 6 --depth 3 --n 16 --n-test 8 --input-dim 5 --classes 3 --steps 4 --eval-every 2 --threads 1)
declare -A cases=(
  [plain-gd-mse]="--arch plain --opt gd --loss mse --lr 0.2"
  [resnet-bn-momentum]="--arch resnet --bn on --batch 8 --momentum 0.9 --wd 1e-3"
  [resnet-hidden]="--arch resnet --train hidden --batch 8"
  [plain-bn-last]="--arch plain --bn on --train last --batch 8"
)
rm -rf "$here/ckpt"
for c in "${!cases[@]}"; do
  # shellcheck disable=SC2086
  "$new" train "${tiny[@]}" ${cases[$c]} --out "$here/ckpt/$c" >/dev/null
  "$new" export "$here/ckpt/$c" >/dev/null
  (cd "$here/ckpt/$c" && rm -f config.json metrics.jsonl summary.json)
  printf '%s\n' "${tiny[*]} ${cases[$c]}" > "$here/ckpt/$c/flags"
done
if [ -n "$old" ]; then
  rm -rf "$here/release-0.1.0"
  "$old" train "${tiny[@]}" --arch resnet --bn on --batch 8 --momentum 0.9 --steps 8 --halt-after 3 \
    --out "$here/release-0.1.0/halted" >/dev/null
fi
