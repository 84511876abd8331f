#!/usr/bin/env bash
# Set up (scripts/setup.sh), check the code (ruff lint and format, import-linter's layer
# contracts), and run the whole test suite, slow end-to-end tests included.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not slow"` for the fast ones.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -n "${VIRTUAL_ENV:-}${CONDA_PREFIX:-}" ] || . .venv/bin/activate
ruff check .
ruff format --check .
lint-imports
python -m pytest -q "$@"
