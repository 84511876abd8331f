#!/usr/bin/env bash
# Set up charprobe (scripts/setup.sh: charprobe alone, no vLLM, no test tools) and run the
# demo sweep on the offline toy models: toy_llama x 3 stages x 3 scaffolds = 9 jobs side by
# side on the cores (hydra/launcher=local), scored by the toy base's own classifier
# (trained once before the jobs), reported under multirun/<date>/<time>/report/, logged to W&B
# (offline without credentials); then the same sweep scored again by persona vectors
# (fitted on first use) into <sweep>-persona_vector/, whether the adapters still push the
# model while it writes (<sweep>/report/push.csv, push.png), and the two scorers compared
# cell by cell (<sweep>/report/compare.csv). No GPU and no network needed.
# Extra arguments are Hydra overrides, e.g. `bash scripts/demo.sh model=toy_gemma`.
set -euo pipefail
cd "$(dirname "$0")/.."
# The demo needs neither vLLM (engine=hf) nor pytest; scripts/test.sh installs them.
CHARPROBE_VLLM="${CHARPROBE_VLLM:-0}" CHARPROBE_EXTRAS="${CHARPROBE_EXTRAS-}" bash scripts/setup.sh
[ -n "${VIRTUAL_ENV:-}${CONDA_PREFIX:-}" ] || . .venv/bin/activate
python -m charprobe.toy --family llama   # toy_llama, built once (~1.5 CPU minutes), then cached
sweep="multirun/demo-$(date +%Y-%m-%d_%H-%M-%S)"
python -m charprobe -m experiment=demo hydra.sweep.dir="$sweep" "$@"
# Is the adapter still pushing? (-> $sweep/report/push.csv, push.png), one stage per core;
# it fits the persona vectors (one stage per core too), which the re-score then reads.
python -m charprobe.push "$sweep" --jobs -1
python -m charprobe.rescore "$sweep" --into "$sweep-persona_vector" scorer=persona_vector
python -m charprobe.report "$sweep" "$sweep-persona_vector"
python scripts/demo_table.py "$sweep"    # the README's demo table, from this run
