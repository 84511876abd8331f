#!/usr/bin/env bash
# Generation benchmark at real scale on one CUDA GPU, with no network.
#
# What it measures: for each base (Llama-3.1-8B-Instruct, Qwen2.5-7B-Instruct and the
# Gemma-3-4B-IT text tower, rebuilt with random weights from their published configs by
# benchmarks/random_models.py) with $PERSONAS rank-64 LoRA persona adapters, the throughput
# of charprobe's two engines (Hugging Face transformers+peft and vLLM) at bfloat16 on the
# same work: 200 chat rows and 64 agentic rollouts, 256 new tokens per completion (lengths
# pinned, so random weights do not matter). `python -m charprobe.bench` writes the CSVs and
# PNGs under $WORK/results/<model>/.
#
# Expected time (H200-class GPU, unmeasured estimate): writing the models takes a few
# minutes (~48 GB to disk at bf16: 16 + 15 + 7.8 GB of bases plus ~3 GB of adapters per
# model; a rerun skips what is there); the benchmark itself depends on charprobe.bench,
# roughly 10-30 minutes per model, most of it in the HF engine.
#
# Run from the repo root, with charprobe and vllm installed in the active environment:
#     bash benchmarks/gpu.sh
#     MODELS=gemma bash benchmarks/gpu.sh             # a subset
#     MODELS="llama qwen" PERSONAS=4 WORK=/scratch/bench bash benchmarks/gpu.sh
# Environment: WORK (default /tmp/charprobe-gpu-bench), MODELS (default "llama qwen gemma"),
# PERSONAS (default 10). Needs ~50 GB free under $WORK for all three models.
set -euo pipefail

WORK="${WORK:-/tmp/charprobe-gpu-bench}"
MODELS="${MODELS:-llama qwen gemma}"
PERSONAS="${PERSONAS:-10}"
PYTHON="${PYTHON:-python}"

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 WANDB_MODE=offline

if ! nvidia-smi >/dev/null 2>&1; then
    echo "error: nvidia-smi failed: this benchmark needs a CUDA GPU" >&2
    exit 2
fi
if ! "$PYTHON" -c "import vllm" >/dev/null 2>&1; then
    echo "error: '$PYTHON -c \"import vllm\"' failed: install vllm (and charprobe) in the active environment" >&2
    exit 2
fi

read -r -a models <<<"$MODELS"
if [ "${#models[@]}" -eq 0 ]; then
    echo "error: MODELS is empty (choose from: llama qwen gemma)" >&2
    exit 2
fi
model_list="$(IFS=,; echo "${models[*]}")"

echo "== writing random-weight models ($model_list, $PERSONAS adapters each) to $WORK/models"
"$PYTHON" benchmarks/random_models.py --out "$WORK/models" --models "$model_list" \
    --personas "$PERSONAS" --scale full

for m in "${models[@]}"; do
    echo "== benchmarking $m"
    "$PYTHON" -m charprobe.bench --base "$WORK/models/$m/base" \
        --adapters "$WORK/models/$m/adapters" --engines hf,vllm --dtype bfloat16 \
        --rows 200 --max-tokens 256 --rollouts 64 --out "$WORK/results/$m"
done

echo "== done; results (CSVs and PNGs):"
for m in "${models[@]}"; do
    echo "  $m: $WORK/results/$m/"
    find "$WORK/results/$m" -maxdepth 2 -type f \( -name '*.csv' -o -name '*.png' \) \
        -printf '    %p\n' 2>/dev/null | sort || true
done
