"""Scorers: map a text to a probability over the persona labels.

`scorer=<name>` picks `conf/scorer/<name>.yaml`, whose schema (`charprobe.config`) names
the scorer's class or factory in `_target_`; `make_scorer` calls it with the folder, the
label order and the option's own fields. Heavy imports (torch, transformers) happen only
when a ModernBERT scorer is actually asked for, so tfidf-only runs start fast.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any

from charprobe.config import SCORER_COMMON
from charprobe.scorers.base import LabelOrderError, Scorer, ScorerError, Scores

__all__ = ["LabelOrderError", "Scorer", "ScorerError", "Scores", "make_scorer"]


def make_scorer(cfg: Any) -> Scorer | None:
    """The scorer of one `scorer` config (a schema or DictConfig); None for `scorer=none`."""
    from hydra.utils import get_object
    from omegaconf import OmegaConf

    options = asdict(cfg) if is_dataclass(cfg) else OmegaConf.to_container(cfg, resolve=True)
    target = options.get("_target_")
    if target is None:
        return None
    if not options.get("path"):
        raise ScorerError(f"scorer={options['name']} needs scorer.path (a hub id or a folder)")
    own = {k: v for k, v in options.items() if k not in SCORER_COMMON}
    return get_object(target)(str(options["path"]), labels=list(options["labels"]), **own)
