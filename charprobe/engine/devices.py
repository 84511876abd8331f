"""Which device and dtype a model loads on: one rule for the engines and the scorers."""

from __future__ import annotations

import re
from typing import Any

DTYPES = ("bfloat16", "float16", "float32")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def is_device(name: Any) -> bool:
    """Whether `name` is a device an option may name: auto, cpu, mps, cuda or cuda:N."""
    return bool(_DEVICE.match(str(name)))


def resolve_device(name: Any) -> Any:
    """`auto`: the first GPU when there is one, else the CPU; anything else as torch reads it."""
    import torch

    if isinstance(name, torch.device):
        return name
    if str(name) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(str(name))


def auto_dtype(name: Any, on_gpu: bool, gpu_dtype: Any) -> str:
    """The dtype's name: `auto` is `gpu_dtype` on a GPU and float32 elsewhere (bf16 matmuls
    crawl on a CPU); a named dtype is kept. No torch needed (vLLM takes the name)."""
    name = str(name)
    if name == "auto":
        return str(gpu_dtype) if on_gpu else "float32"
    if name not in DTYPES:
        raise ValueError(f"unknown dtype '{name}' (use auto, {', '.join(DTYPES)})")
    return name


def resolve_dtype(name: Any, device: Any, gpu_dtype: Any) -> Any:
    """The torch dtype of `auto_dtype` for a model on `device`."""
    import torch

    if isinstance(name, torch.dtype):
        return name
    on_gpu = device.type == "cuda" and (
        str(gpu_dtype) != "bfloat16" or torch.cuda.is_bf16_supported()
    )
    return getattr(torch, auto_dtype(name, on_gpu, gpu_dtype))
