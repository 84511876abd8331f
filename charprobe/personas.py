"""Persona labels and persona sets.

The label order is the one of the published per-base classifiers (OpenCharacterTraining,
ids 0-10); every scorer and statistic indexes labels in this order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

LABELS: tuple[str, ...] = (
    "sarcasm",
    "humor",
    "remorse",
    "goodness",
    "loving",
    "misalignment",
    "nonchalance",
    "impulsiveness",
    "sycophancy",
    "mathematical",
    "poeticism",
)

# The published study evaluates all but misalignment (its full-stage adapter is gated).
PAPER: tuple[str, ...] = tuple(p for p in LABELS if p != "misalignment")


class UnknownPersonaError(ValueError):
    pass


def validate(names: Iterable[str]) -> list[str]:
    """Return `names` as a list, or fail with one line naming the unknown persona."""
    out = list(names)
    for name in out:
        if name not in LABELS:
            raise UnknownPersonaError(f"unknown persona '{name}' (known: {', '.join(LABELS)})")
    if len(set(out)) != len(out):
        raise UnknownPersonaError(f"persona set lists a persona twice: {out}")
    if not out:
        raise UnknownPersonaError("persona set is empty")
    return out


def label_index(labels: Sequence[str] = LABELS) -> dict[str, int]:
    return {name: i for i, name in enumerate(labels)}
