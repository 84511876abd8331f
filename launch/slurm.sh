#!/usr/bin/env bash
# One SLURM job per base model: its stages and scaffolds run in one process, so the base's
# weights load once and every adapter of a stage shares it. Submit the study as
#
#   for m in llama qwen gemma; do sbatch launch/slurm.sh model=$m experiment=study; done
#
# Extra arguments are Hydra overrides (e.g. `experiment=study`, `scaffold=agentic_email`,
# `scaffold.scenarios=/data/scenarios`). Each job writes its own sweep folder,
# multirun/slurm-<job id>, which is also its W&B group.
#
# Requeue: 5 minutes before the time limit SLURM signals this script (USR1), which
# requeues the job; SLURM then stops it and runs it again under the same job id, so into
# the same sweep folder, where every cell keeps the rows it already wrote: finished cells
# are only scored again, the interrupted one continues, nothing is generated twice.
# `--requeue` also lets SLURM requeue the job after a preemption or a node failure.
#
# One SLURM job (and one GPU) per cell instead, through Hydra's submitit launcher:
#   python -m charprobe -m hydra/launcher=slurm_gpu experiment=study \
#       model=llama,qwen,gemma stage=base,distillation,full
# (conf/hydra/launcher/slurm_gpu.yaml). Adjust the #SBATCH lines to your cluster.
#SBATCH --job-name=charprobe
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --mem=64G
#SBATCH --time=24:00:00
#SBATCH --signal=B:USR1@300
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=slurm-%x-%j.out
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}"
[ -n "${VIRTUAL_ENV:-}${CONDA_PREFIX:-}" ] || . .venv/bin/activate
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-0}"

requeue() {
    echo "charprobe: time limit near: requeueing job ${SLURM_JOB_ID}" >&2
    scontrol requeue "${SLURM_JOB_ID}"
}
trap requeue USR1

# In the background, so the trap runs as soon as the signal arrives (bash runs traps only
# between commands); `wait` returns early for each trapped signal, hence the loop.
python -m charprobe -m stage=base,distillation,full \
    "hydra.sweep.dir=multirun/slurm-${SLURM_JOB_ID:-$$}" "$@" &
pid=$!
while :; do
    wait "$pid" && exit 0
    rc=$?
    kill -0 "$pid" 2>/dev/null || exit "$rc"
done
