#!/usr/bin/env bash
# The training, experiment and parity suites again under other OpenBLAS kernels: a verdict that
# flips with the GEMM kernel's summation order measures rounding, not the science. Runs on an
# existing build/ (scripts/test.sh builds it), under each OPENBLAS_CORETYPE given ("default":
# unset, OpenBLAS picks for the CPU), or by default under default, Haswell and SkylakeX (Zen when
# the CPU lacks AVX-512) except the one the environment already sets, which the main test run
# covered: two kernels besides it. Kernels the CPU cannot run are skipped with a line.
#   bash scripts/kernels.sh [CORETYPE...]
set -euo pipefail
cd "$(dirname "$0")/.."
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has() { [[ " $flags " == *" $1 "* ]]; }
types=("$@")
if [ ${#types[@]} -eq 0 ]; then
  types=(default Haswell)
  if has avx512f; then types+=(SkylakeX); else types+=(Zen); fi
fi
suites='^(Training|Experiment|KernelEmu|GpuEmu|Ops|GradCheck|CliDeterminism|CliResume)\.'
export OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=30000
for t in "${types[@]}"; do
  case $t in
    default) need=fpu ;;
    SkylakeX) need=avx512f ;;
    Cooperlake) need=avx512_bf16 ;;
    *) need=avx2 ;;
  esac
  if ! has "$need"; then echo "kernels: OPENBLAS_CORETYPE=$t skipped: this CPU lacks $need"; continue; fi
  if [ "${OPENBLAS_CORETYPE:-default}" = "$t" ]; then echo "kernels: OPENBLAS_CORETYPE=$t is the environment's, already tested"; continue; fi
  echo "kernels: OPENBLAS_CORETYPE=$t: $suites"
  if [ "$t" = default ]; then
    env -u OPENBLAS_CORETYPE ctest --test-dir build --output-on-failure -j2 -R "$suites"
  else
    OPENBLAS_CORETYPE=$t ctest --test-dir build --output-on-failure -j2 -R "$suites"
  fi
done
