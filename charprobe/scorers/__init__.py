"""Scorers: map a text to a probability over the persona labels.

`load_scorer` is the one entry the job runner uses; heavy imports (torch, transformers)
happen only when a ModernBERT scorer is actually asked for, so tfidf-only or
scorer-less runs start fast.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from charprobe.personas import LABELS
from charprobe.scorers.base import LabelOrderError, Scorer, ScorerError

KINDS = ("modernbert", "tfidf", "none")

__all__ = ["KINDS", "LabelOrderError", "Scorer", "ScorerError", "load_scorer"]


def load_scorer(
    kind: str, path: str | None, labels: Sequence[str] = LABELS, **kw: Any
) -> Scorer | None:
    """Build the scorer `kind` from `path` (hub id or folder); `none` gives None (no scoring).

    `kw` goes to the scorer (ModernBERT: max_length, batch_size, device, dtype, progress).
    """
    if kind == "none":
        return None
    if kind not in KINDS:
        raise ScorerError(f"unknown scorer kind '{kind}' (known: {', '.join(KINDS)})")
    if not path:
        raise ScorerError(f"scorer '{kind}' needs a path (a hub id or a local folder)")
    if kind == "modernbert":
        from charprobe.scorers.modernbert import ModernBertScorer

        return ModernBertScorer(path, labels=labels, **kw)
    from charprobe.scorers.tfidf import TfidfScorer

    # the runner passes the scorer group's generic options; they mean nothing to tfidf
    extra = sorted(set(kw) - {"max_length", "batch_size", "device", "dtype", "progress"})
    if extra:
        warnings.warn(f"tfidf scorer ignores options {extra}", stacklevel=2)
    return TfidfScorer.load(path, labels=labels)
