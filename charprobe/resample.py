"""Resampling units: the bootstrap draws items (or scenario families), not rows.

Rows of a cell are not independent: every item is answered by every persona (at stage
base one text is copied into all of them), a rollout has several turns, and scenarios
come in families. An interval that resamples rows treats 600 rows as 600 independent
observations when they are 60 items' worth, and comes out too narrow (or, at stage base,
too wide). Here the unit of resampling is chosen per analysis (`stats.cluster`):

- ``item``: the item id (a chat prompt, a scenario), with all its personas, samples
  and turns together (the default);
- ``family``: the scenario's family (its id without the ``_v<n>`` variant suffix, the
  situation kind the reference study and charprobe's suite group scenarios by);
- ``row``: each row on its own (the reference study's bootstrap, kept for comparison).

A bootstrap resample is a vector of weights, one per unit: how often that unit was drawn
in C draws with replacement from the C units (a multinomial). A statistic that is a sum
over rows (confusion counts, sums of probabilities) is then ``weights @ per-unit sums``,
so 10,000 resamples cost one matrix product. Cells that share units (chat_email and
agentic_email share scenario ids; two scorers of the same rows share everything) are
drawn *jointly*: one set of draws over the union of their units, so a paired difference
keeps its pairing. Cells with no unit in common are drawn independently.

p-values from a bootstrap have a floor: with B resamples none can be below 1 / (B + 1).
`p_text` prints a p-value at that floor as ``p < bound``, never as a number that looks
measured; `holm` adjusts a family of p-values (Holm 1979, Scand. J. Statist. 6:65-70).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Cluster = Literal["item", "family", "row"]
CLUSTERS: tuple[str, ...] = ("item", "family", "row")
# How an interval is made from resampled values (`bootstrap.interval`).
Method = Literal["t", "percentile"]
METHODS: tuple[str, ...] = ("t", "percentile")

# Weights are drawn in chunks of at most this many (resamples x units), so memory stays
# bounded; the chunking depends on the number of units only, so a seed gives one answer.
_CHUNK_CELLS = 1 << 22
_VARIANT = re.compile(r"_v\d+$")


def family_of(item_id: str) -> str:
    """A scenario's family: its id without the ``_v<n>`` suffix (other ids are their own)."""
    return _VARIANT.sub("", str(item_id))


def units_of(item_ids: Sequence[str | None], cluster: str = "item") -> list[str]:
    """The resampling unit of each row. A row without an item id is its own unit."""
    if cluster not in CLUSTERS:
        raise ValueError(f"cluster must be one of {', '.join(CLUSTERS)}, got {cluster!r}")
    out = []
    for i, item in enumerate(item_ids):
        if cluster == "row" or item is None or item != item:  # None or NaN
            out.append(f"\0row{i}")
        else:
            out.append(family_of(item) if cluster == "family" else str(item))
    return out


@dataclass(frozen=True)
class Draws:
    """Bootstrap draws for one set of rows: `weights` (resamples, units) says how often each
    unit was drawn; `index` (rows,) is each row's unit column."""

    weights: np.ndarray
    index: np.ndarray

    @property
    def n_units(self) -> int:
        return self.weights.shape[1]

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Resampled sums over rows of `values` (rows, ...) -> (resamples, ...)."""
        values = np.asarray(values, dtype=float)
        flat = values.reshape(len(values), int(np.prod(values.shape[1:])))  # also 0 rows
        per_unit = np.zeros((self.n_units, flat.shape[1]))
        np.add.at(per_unit, self.index, flat)
        return (self.weights @ per_unit).reshape((len(self.weights), *values.shape[1:]))

    def means(self, values: Sequence[float]) -> np.ndarray:
        """Resampled means of `values` (rows,) -> (resamples,); NaN where nothing was drawn."""
        v = np.asarray(values, dtype=float)
        total = self.sums(v)
        count = self.sums(np.ones_like(v))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1e-300), np.nan)


def joint_draws(row_units: Sequence[Sequence[str]], n_boot: int, seed: int) -> list[Draws]:
    """Draws for several sets of rows at once: sets that share a unit are resampled with the
    same draws over the union of their units; sets with none in common independently."""
    groups = _components([set(u) for u in row_units])
    out: list[Draws | None] = [None] * len(row_units)
    for g, members in enumerate(groups):
        union = sorted(set().union(*(row_units[i] for i in members)))
        col = {u: j for j, u in enumerate(union)}
        weights = _multinomial_weights(len(union), n_boot, np.random.default_rng([seed, g]))
        for i in members:
            out[i] = Draws(weights, np.fromiter((col[u] for u in row_units[i]), dtype=np.int64,
                                                count=len(row_units[i])))  # fmt: skip
    return [d for d in out if d is not None]


def draws(units: Sequence[str], n_boot: int, seed: int) -> Draws:
    """Draws for one set of rows."""
    return joint_draws([units], n_boot, seed)[0]


def _multinomial_weights(c: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    if c == 0 or n_boot <= 0:
        return np.zeros((max(n_boot, 0), c))
    out = np.empty((n_boot, c))
    chunk = max(1, min(n_boot, _CHUNK_CELLS // c))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        out[start : start + b] = rng.multinomial(c, np.full(c, 1.0 / c), size=b)
    return out


def _components(sets: list[set[str]]) -> list[list[int]]:
    """Indices of `sets` grouped so that sets sharing an element are in one group."""
    groups: list[tuple[set[str], list[int]]] = []
    for i, s in enumerate(sets):
        merged_units, merged = set(s), [i]
        rest = []
        for units, members in groups:
            if units & merged_units:
                merged_units |= units
                merged = members + merged
            else:
                rest.append((units, members))
        groups = [*rest, (merged_units, sorted(merged))]
    return sorted((m for _, m in groups), key=lambda m: m[0])


# --------------------------------------------------------------------------- p-values


def p_greater(diffs: np.ndarray) -> tuple[float, bool]:
    """One-sided bootstrap p-value that the statistic is above 0, (1 + #{d* <= 0}) / (1 + B)
    (Efron & Tibshirani 1993, ch. 16), and whether it sits at its floor 1 / (1 + B)."""
    valid = np.asarray(diffs, dtype=float)
    valid = valid[~np.isnan(valid)]
    if not valid.size:
        return math.nan, False
    hits = int((valid <= 0).sum())
    return float((1 + hits) / (1 + valid.size)), hits == 0


def p_text(p: float, at_floor: bool = False) -> str:
    """A p-value for people: ``p < 1e-4`` at the bootstrap's floor, else 3 significant
    digits; ``-`` where there is none."""
    if p is None or p != p:
        return "-"
    if at_floor:
        return f"< {_round_up(p):.0e}".replace("e-0", "e-")
    return f"{p:.3g}"


def _round_up(p: float) -> float:
    """The floor 1/(B+1) shown as the next power of ten up (1/10001 -> 1e-4)."""
    return 10.0 ** math.ceil(math.log10(p))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (NaN stay NaN, not counted)."""
    p = np.asarray(p_values, dtype=float)
    ok = np.flatnonzero(~np.isnan(p))
    out = np.full(len(p), np.nan)
    m = len(ok)
    running = 0.0
    for rank, i in enumerate(ok[np.argsort(p[ok], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()
