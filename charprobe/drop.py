"""How much macro-F1 a persona loses from one scaffold to another, with its uncertainty.

For one base and stage, the drop from scaffold A (in distribution: chat) to scaffold B
(chat_email, agentic_email) is macro-F1(A) - macro-F1(B). Its interval resamples the rows
of A and of B independently (two different sets of texts, not pairs), `n_boot` times,
and takes the percentile interval of the differences. The one-sided p-value for "B is
recognised less than A" is the bootstrap share of differences at or below zero,
(1 + #{d* <= 0}) / (1 + B) (Efron & Tibshirani 1993, An Introduction to the Bootstrap,
ch. 16: a test read off the bootstrap distribution of the statistic).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from charprobe.stats import NoEmail, bootstrap_macro_f1, macro_f1, percentile_ci, scored_labels

# The drops a sweep over the three scaffolds reports: (from, to).
PAIRS = (("chat", "chat_email"), ("chat_email", "agentic_email"), ("chat", "agentic_email"))


@dataclass(frozen=True)
class Drop:
    source: str
    target: str
    f1_source: float
    f1_target: float
    drop: float  # f1_source - f1_target
    ci_low: float
    ci_high: float
    p_value: float  # one-sided: the drop is above zero
    n_source: int
    n_target: int
    level: float
    n_boot: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


Rows = tuple[Sequence[str], Sequence[str | None]]  # (true personas, predictions)


def macro_f1_drop(
    source: Rows,
    target: Rows,
    personas: Sequence[str],
    *,
    names: tuple[str, str] = ("source", "target"),
    no_email: NoEmail = "drop",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Drop:
    """The drop from the `source` rows to the `target` rows (each its own cell)."""
    ta, pa = scored_labels(*source, personas, no_email)
    tb, pb = scored_labels(*target, personas, no_email)
    f_a, f_b = macro_f1(ta, pa, personas), macro_f1(tb, pb, personas)
    # Two seeds: the two cells' resamples must not share their row draws.
    diffs = bootstrap_macro_f1(ta, pa, personas, n_boot, seed) - bootstrap_macro_f1(
        tb, pb, personas, n_boot, seed + 1
    )
    low, high = percentile_ci(diffs, level) if n_boot > 0 else (math.nan, math.nan)
    valid = diffs[~np.isnan(diffs)]
    p = float((1 + (valid <= 0).sum()) / (1 + valid.size)) if valid.size else math.nan
    return Drop(
        source=names[0],
        target=names[1],
        f1_source=f_a,
        f1_target=f_b,
        drop=f_a - f_b,
        ci_low=low,
        ci_high=high,
        p_value=p,
        n_source=len(ta),
        n_target=len(tb),
        level=level,
        n_boot=n_boot,
    )
