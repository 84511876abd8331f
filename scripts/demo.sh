#!/usr/bin/env bash
# Set up charprobe (scripts/setup.sh) and run the demo sweep on the offline toy models:
# toy_llama x 3 stages x 3 scaffolds = 9 jobs, scored by the toy base's own classifier
# (trained on first use), reported under multirun/<date>/<time>/report/, logged to W&B
# (offline without credentials); then the same sweep scored again by persona vectors
# (fitted on first use) into <sweep>-persona_vector/, whether the adapters still push the
# model while it writes (<sweep>/report/push.csv, push.png), and the two scorers compared
# cell by cell (<sweep>/report/compare.csv). No GPU and no network needed.
# Extra arguments are Hydra overrides, e.g. `bash scripts/demo.sh model=toy_gemma`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -n "${VIRTUAL_ENV:-}${CONDA_PREFIX:-}" ] || . .venv/bin/activate
python -m charprobe.toy          # build the toy world once (~3 CPU minutes), then cached
sweep="multirun/demo-$(date +%Y-%m-%d_%H-%M-%S)"
python -m charprobe -m experiment=demo hydra.sweep.dir="$sweep" "$@"
python -m charprobe.rescore "$sweep" --into "$sweep-persona_vector" scorer=persona_vector
python -m charprobe.push "$sweep"      # is the adapter still pushing? -> $sweep/report/push.csv, push.png
python -m charprobe.report "$sweep" "$sweep-persona_vector"
python scripts/demo_table.py "$sweep"    # the README's demo table, from this run
