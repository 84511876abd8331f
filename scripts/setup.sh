#!/usr/bin/env bash
# Set up charprobe in .venv (or in the virtualenv/conda env that is already active).
#   - torch: kept if importable; else the CUDA build where a GPU is present, the CPU build
#     (no CUDA packages) where none is. Never replaces a torch the user already has.
#   - then charprobe itself, editable, with the extras named in $CHARPROBE_EXTRAS.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ] && [ -z "${CONDA_PREFIX:-}" ]; then
  [ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
pip_install() { python -m pip install -q --disable-pip-version-check "$@"; }
if python -c "import torch" 2>/dev/null; then
  echo "setup: keeping torch $(python -c 'import torch; print(torch.__version__)')"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "setup: GPU found, installing torch (CUDA build)"
  pip_install torch
else
  # The CPU build lives on PyTorch's own index; PyPI's Linux wheel pulls CUDA (several GB).
  spec="${CHARPROBE_TORCH_CPU:-torch==2.13.0+cpu}"
  echo "setup: no GPU, installing the CPU build ($spec)"
  pip_install --retries 1 --timeout 20 "$spec" --extra-index-url https://download.pytorch.org/whl/cpu
fi
pip_install -e ".[${CHARPROBE_EXTRAS:-dev}]"
echo "setup: ready ($(python -c 'import sys; print(sys.prefix)'))"
