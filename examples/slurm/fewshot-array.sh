#!/bin/bash
# A `dept fewshot` grid (tasks × k × seeds) spread over a Slurm job array: one array task per shard, every task
# writing into one grid folder on a file system all nodes see. Array task i runs the cells whose grid index is
# i modulo SHARDS; finished cells are skipped and an interrupted cell resumes from its checkpoint. With a search
# (DEPT_RECIPE=recipes/paper/fewshot-superglue-search.yaml) the runs are the sub-runs, cells × settings of them:
# task i runs the sub-runs whose index is i modulo SHARDS, and the task that finishes a cell's last one selects it.
#
#   cd dept-ts && mkdir -p logs                      # Slurm does not create the log folder (a task fails without it)
#   DEPT_OUT=/shared/runs/fewshot-superglue sbatch examples/slurm/fewshot-array.sh
#   sbatch --array=3 examples/slurm/fewshot-array.sh # re-run failed task 3 (same DEPT_* environment), or:
#   scontrol requeue <array job id>_3                # while Slurm still knows the job
#   npx dept report /shared/runs/fewshot-superglue   # merge: the tables and plots of every finished cell
#
# The grid's number of shards is SHARDS, the size of the array of the first submission. Keep the two in step: on its
# first start the grid folder records that array in <out>/.shards/slurm-array.json, and dept refuses (exit 2, one
# line) an array or a --shards that does not fit it. A re-run of some tasks (`--array=3`, `--array=1,5`) takes each
# task's shard from that record, by its id.
#
# Tested on a one-node Slurm 22.05 cluster by test/slurm/array.test.ts (with a random tiny model).
#SBATCH --job-name=dept-fewshot
#SBATCH --array=0-11
#SBATCH --cpus-per-task=4
#SBATCH --mem=12G
#SBATCH --time=24:00:00
#SBATCH --output=logs/%x-%A_%a.log
#SBATCH --open-mode=append
#SBATCH --requeue
# %x job name, %A array job id, %a array task id. --open-mode=append: a requeued task (same %A_%a) adds to its log
# instead of truncating it; a re-submission is a new %A, so a new log.

set -euo pipefail

SHARDS="${DEPT_SHARDS:-12}"
RECIPE="${DEPT_RECIPE:-recipes/paper/fewshot-superglue.yaml}"
OUT="${DEPT_OUT:-runs/fewshot-superglue}"
# One wasm thread per CPU Slurm gave the task (without cgroups, the node's core count would be used).
export DEPT_WASM_THREADS="${DEPT_WASM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}"
# How to start dept (word-split): the checkout's `npx --no-install dept` by default.
read -r -a DEPT_CMD <<< "${DEPT:-npx --no-install dept}"

echo "dept-array: job ${SLURM_ARRAY_JOB_ID:-?}_${SLURM_ARRAY_TASK_ID:-?} restart ${SLURM_RESTART_COUNT:-0} on $(hostname) at $(date -Is)"
exec "${DEPT_CMD[@]}" fewshot "$RECIPE" --out "$OUT" --shards "$SHARDS"
