#!/usr/bin/env bash
# One SLURM job per base model: its stages and scaffolds run in one process, so the base's
# weights load once and every adapter of a stage shares it. Submit the study as
#
#   for m in llama qwen gemma; do sbatch launch/slurm.sh model=$m; done
#
# Extra arguments are Hydra overrides (e.g. `experiment=study`, `scaffold=agentic_email`,
# `scaffold.scenarios=/data/scenarios`). Each job writes its own multirun folder and W&B
# group; compare them in W&B by grouping on model, stage and scaffold (see README).
# Adjust the #SBATCH lines to your cluster.
#SBATCH --job-name=charprobe
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --mem=64G
#SBATCH --time=24:00:00
#SBATCH --output=slurm-%x-%j.out
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}"
[ -n "${VIRTUAL_ENV:-}${CONDA_PREFIX:-}" ] || . .venv/bin/activate
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-0}"
python -m charprobe -m stage=base,distillation,full "$@"
