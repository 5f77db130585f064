#!/bin/bash
# Grade a large class as a Slurm job array: task K grades shard K of N.
#
#   CLASS=/path/to/class RESULTS=/scratch/$USER/grading SHARDS=8 \
#     sbatch --array=0-7 --export=ALL recipes/slurm/grade-array.sh
#   sbatch --dependency=afterok:<array job id> --export=ALL recipes/slurm/merge.sh
#
# Run it from the course folder (with tests/grading/), or set AUTOGRADER_COURSE.  A failed task
# is resubmitted alone (sbatch --array=K ...): it resumes from what it had graded.
# Runs without Slurm too: SLURM_ARRAY_TASK_ID=0 SHARDS=1 CLASS=... bash grade-array.sh
#SBATCH --job-name=autograder
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=04:00:00
#SBATCH --output=autograder-%A_%a.log
set -euo pipefail

: "${CLASS:?set CLASS to the class folder (<student>/<assignment>.ipynb)}"
: "${SLURM_ARRAY_TASK_ID:?not a job array task: submit with sbatch --array=0-N-1}"
RESULTS="${RESULTS:-autograder-shards}"
SHARDS="${SHARDS:-${SLURM_ARRAY_TASK_COUNT:?set SHARDS to N}}"

# shellcheck disable=SC2086  # AUTOGRADER_OPTIONS is a list of options, e.g. "--sandbox required"
exec autograder grade "$CLASS" --shard "$SLURM_ARRAY_TASK_ID/$SHARDS" \
    --out "$RESULTS/shard-$SLURM_ARRAY_TASK_ID" -j "${SLURM_CPUS_PER_TASK:-1}" -q ${AUTOGRADER_OPTIONS:-}
