#!/usr/bin/env bash
# Set up (scripts/setup.sh), check the code (ruff lint and format, import-linter's layer
# contracts), and run the whole test suite, slow end-to-end tests included.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"` for the fast ones.
# The tests run on every core (pytest-xdist; a module's tests stay on one worker, so its
# fixtures are built once); CHARPROBE_TEST_WORKERS=1 runs them in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -n "${VIRTUAL_ENV:-}${CONDA_PREFIX:-}" ] || . .venv/bin/activate
ruff check .
ruff format --check .
lint-imports
workers="${CHARPROBE_TEST_WORKERS:-auto}"
if [ "$workers" = "1" ]; then dist=(); else dist=(-n "$workers" --dist loadscope); fi
python -m pytest -q --durations=25 ${dist[@]+"${dist[@]}"} "$@"
