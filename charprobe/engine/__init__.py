"""Text generation: one base model per process, persona adapters mixed in one batch.

`engine=hf|vllm|scripted` picks the engine (`conf/engine/`); `make_engine` builds the one
a config names. Scaffolds, scorers and the job runner see only the `Engine` protocol.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from charprobe.engine.types import Completion, Engine, GenerationParams, Message, Request

# Fields every engine config has that are not options of the engine itself.
_NOT_OPTIONS = ("_target_", "name", "loads_weights")


def make_engine(cfg: Mapping[str, Any], model: Any, stage: Any, personas: Sequence[str]) -> Engine:
    """The engine `cfg._target_` names, over `model` and the adapters of `stage`."""
    from hydra.utils import get_object

    options = {k: v for k, v in dict(cfg).items() if k not in _NOT_OPTIONS}
    return get_object(cfg["_target_"])(model, stage, list(personas), **options)


__all__ = ["Completion", "Engine", "GenerationParams", "Message", "Request", "make_engine"]
