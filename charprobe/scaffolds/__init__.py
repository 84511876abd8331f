"""Scaffolds: how text is elicited (chat, chat_email, agentic_email).

`scaffold=<name>` picks `conf/scaffold/<name>.yaml`, whose schema (`charprobe.config`)
names the class in `_target_`: a new scaffold is one module plus one YAML and schema.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any

from charprobe.scaffolds.base import Item, Scaffold, Unit


def make_scaffold(cfg: Any) -> Scaffold:
    """The scaffold `cfg._target_` names, built from the option's other fields but `name`
    and `trace` (which the scoring reads)."""
    from hydra.utils import get_object
    from omegaconf import OmegaConf

    options = asdict(cfg) if is_dataclass(cfg) else OmegaConf.to_container(cfg, resolve=True)
    target = options.pop("_target_")
    options.pop("name")
    options.pop("trace", None)
    # Enum choices (pick) arrive as plain strings, as a scaffold's own arguments take them.
    options = {k: v.value if hasattr(v, "value") else v for k, v in options.items()}
    return get_object(target)(**options)


__all__ = ["Item", "Scaffold", "Unit", "make_scaffold"]
