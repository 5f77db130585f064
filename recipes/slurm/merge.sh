#!/bin/bash
# Merge the shards of recipes/slurm/grade-array.sh into one gradebook (after the array finished):
#
#   sbatch --dependency=afterok:<array job id> --export=ALL recipes/slurm/merge.sh
#
# REPORT_OPTIONS: e.g. "--deadline 2026-12-01T23:59 --late-policy per-day:10 --roster roster.csv",
# or "--allow-missing" for a partial gradebook while a shard is being regraded.
#SBATCH --job-name=autograder-merge
#SBATCH --cpus-per-task=1
#SBATCH --time=01:00:00
#SBATCH --output=autograder-merge-%j.log
set -euo pipefail

RESULTS="${RESULTS:-autograder-shards}"
OUT="${OUT:-autograder-results}"

# shellcheck disable=SC2086
exec autograder merge "$RESULTS"/shard-* --out "$OUT" ${REPORT_OPTIONS:-}
