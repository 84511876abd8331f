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


def _named(cfg: Any) -> Any:
    """What a scorer option's `_target_` names (None for `scorer=none`), or one line
    saying it cannot be imported (a typo in a user's own option, not a traceback)."""
    from hydra.utils import get_object

    get = cfg.get if hasattr(cfg, "get") else lambda k, d=None: getattr(cfg, k, d)
    target = get("_target_")
    if target is None:
        return None
    try:
        return get_object(str(target))
    except Exception as e:
        raise ScorerError(
            f"scorer={get('name', '?')}: cannot import its _target_ {target} "
            f"({type(e).__name__}); name a class or function on the Python path"
        ) from None


def scorer_class(cfg: Any) -> type[Scorer] | None:
    """The `Scorer` class a scorer option's `_target_` names (the class, or the class of a
    classmethod it names); None for `scorer=none` and for a plain factory function, whose
    scorer checks itself when it is built."""
    obj = _named(cfg)
    owner = obj if isinstance(obj, type) else getattr(obj, "__self__", None)
    return owner if isinstance(owner, type) and issubclass(owner, Scorer) else None


def make_scorer(cfg: Any) -> Scorer | None:
    """The scorer of one `scorer` config (a schema or DictConfig); None for `scorer=none`."""
    from omegaconf import OmegaConf

    options = asdict(cfg) if is_dataclass(cfg) else OmegaConf.to_container(cfg, resolve=True)
    named = _named(cfg)
    if named is None:
        return None
    if not options.get("path"):
        raise ScorerError(f"scorer={options['name']} needs scorer.path (a hub id or a folder)")
    own = {k: v for k, v in options.items() if k not in SCORER_COMMON}
    # A Scorer class is opened by its own rule; a factory (or a classmethod) is called.
    build = named.open if isinstance(named, type) and issubclass(named, Scorer) else named
    return build(str(options["path"]), labels=list(options["labels"]), **own)
