#!/bin/bash
# A taunet sweep as a Slurm job array: task K of N runs grid indices i with i % N == K on its one
# GPU, and every task appends to the same DIR/results.jsonl (docs/SWEEPS.md). Resubmitting the
# same command continues the sweep: finished runs are skipped, runs cut off are redone.
#
#   sbatch --array=0-7 bench/slurm_sweep.sh runs/sweep1                      # the default grid below
#   sbatch --array=0-3 bench/slurm_sweep.sh runs/sweep2 --width 64,256 --depth 2:30:4 --seeds 3
#   build/taunet report runs/sweep1                                          # when they are done
#
# The --array range sets N (0-7: 8 tasks). Check the grid and its memory first:
#   build/taunet sweep <flags> --dry-run
#SBATCH --job-name=taunet-sweep
#SBATCH --array=0-3
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=4
#SBATCH --mem=32G
#SBATCH --time=24:00:00
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail

DIR=${1:?usage: sbatch --array=0-N-1 bench/slurm_sweep.sh DIR [sweep flags]}
shift
if [ $# -eq 0 ]; then
    # The default experiment: PlainNet vs tau-ResNet over width and depth, 3 seeds.
    set -- --arch plain,resnet --width 64,256,1024 --depth 2,10,30 --tau '1/sqrt(L)' \
        --data fashion:data/fashion-sample --epochs 20 --target-loss 0.05 --seeds 3
fi

# sbatch runs this in the submission directory; TAUNET overrides the binary.
TAUNET=${TAUNET:-./build/taunet}
[ -x "$TAUNET" ] || { echo "slurm_sweep.sh: $TAUNET not found; build first (cmake --build build) or set TAUNET" >&2; exit 2; }

# Shard K/N from the array: K counts from the first task id, so --array=1-8 works as well as 0-7.
if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
    echo "slurm_sweep.sh: not an array task; submit with sbatch --array=0-N-1 (or set SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT)" >&2
    exit 2
fi
MIN=${SLURM_ARRAY_TASK_MIN:-0}
COUNT=${SLURM_ARRAY_TASK_COUNT:-$(( ${SLURM_ARRAY_TASK_MAX:-0} - MIN + 1 ))}
K=$(( SLURM_ARRAY_TASK_ID - MIN ))

# Slurm restricts CUDA_VISIBLE_DEVICES to the task's GPU, which is therefore device 0. Without a
# GPU (a CPU partition) --backend auto falls back to the CPU backend.
exec "$TAUNET" sweep "$@" --shard "$K/$COUNT" --gpu 0 --threads "${SLURM_CPUS_PER_TASK:-1}" --out "$DIR"
