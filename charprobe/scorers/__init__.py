"""Scorers: map a text to a probability over the persona labels.

`scorer=<name>` picks `conf/scorer/<name>.yaml`, whose schema (`charprobe.config`) names
the scorer's class or factory in `_target_`; `make_scorer` calls it with the folder, the
label order and the option's own fields. What charprobe asks of an option before anything
loads (its checks, what it must train) is the class's own (`Scorer` hooks), found from
`_target_` by `scorer_class`, never from the option's name. Heavy imports (torch,
transformers, scikit-learn) happen only when a scorer is built.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any

from charprobe.config import SCORER_COMMON
from charprobe.scorers.base import LabelOrderError, Scorer, ScorerError, Scores

__all__ = ["LabelOrderError", "Scorer", "ScorerError", "Scores", "make_scorer", "scorer_class"]


def _options(cfg: Any) -> dict[str, Any]:
    from omegaconf import OmegaConf

    return asdict(cfg) if is_dataclass(cfg) else OmegaConf.to_container(cfg, resolve=True)


def scorer_class(cfg: Any) -> type[Scorer] | None:
    """The `Scorer` class a scorer option's `_target_` names (the class, or the class of a
    classmethod it names); None for `scorer=none` and for a plain factory function, whose
    scorer checks itself when it is built."""
    from hydra.utils import get_object

    target = cfg.get("_target_") if hasattr(cfg, "get") else getattr(cfg, "_target_", None)
    if target is None:
        return None
    try:
        obj = get_object(str(target))
    except Exception as e:  # a typo in a user's own option: one line, not a traceback
        name = cfg.get("name") if hasattr(cfg, "get") else getattr(cfg, "name", "?")
        raise ScorerError(
            f"scorer={name}: cannot import its _target_ {target} ({type(e).__name__}); "
            "name a class or function on the Python path"
        ) from None
    owner = obj if isinstance(obj, type) else getattr(obj, "__self__", None)
    return owner if isinstance(owner, type) and issubclass(owner, Scorer) else None


def make_scorer(cfg: Any) -> Scorer | None:
    """The scorer of one `scorer` config (a schema or DictConfig); None for `scorer=none`."""
    from hydra.utils import get_object

    options = _options(cfg)
    target = options.get("_target_")
    if target is None:
        return None
    if not options.get("path"):
        raise ScorerError(f"scorer={options['name']} needs scorer.path (a hub id or a folder)")
    own = {k: v for k, v in options.items() if k not in SCORER_COMMON}
    named = get_object(target)  # a class is opened by its own rule, a factory called
    build = named.open if isinstance(named, type) and issubclass(named, Scorer) else named
    return build(str(options["path"]), labels=list(options["labels"]), **own)
