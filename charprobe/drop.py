"""How much macro-F1 a persona loses from one scaffold to another, with its uncertainty.

For one base and stage, the drop from scaffold A (in distribution: chat) to scaffold B
(chat_email, agentic_email) is macro-F1(A) - macro-F1(B). Its interval resamples units
(`charprobe.resample`: items by default, each with all its rows). Two cells that share
units are resampled with the same draws: chat_email and agentic_email ask about the same
scenarios, and two scorers of one sweep (`report A B`) score the very same rows, so their
difference stays paired; chat's prompts share nothing with the scenarios and are drawn
independently.

The interval (`stats.interval`) is ``t`` (the default) or ``percentile``. Under
``t`` it is the drop +- the t quantile times the standard error of `n_boot` resampled
differences, widened by C / (C - 1) in variance for C units (paired cells: one part over
their shared units; cells apart: two parts, with Welch-Satterthwaite degrees of freedom,
`bootstrap.small_sample_se`), and the one-sided p-value for "B is recognised less than
A" is the t ratio's, from the same draws, so the p and the interval agree; it stops at
the floor 1 / (`n_boot_p` + 1). Under ``percentile`` (the study's) the interval is the
percentile interval of the differences and the p-value is the share of `n_boot_p`
further resampled differences at or below zero, (1 + #{d* <= 0}) / (1 + B) (Efron &
Tibshirani 1993, An Introduction to the Bootstrap, ch. 16). With few units percentile is
too confident (simulated, 10 items: a null drop's 95% interval holds 0 89% of the time
and p < 0.05 in 8% of null drops; t: 95% and 5%). A floor is marked (`resample.p_text`
prints ``p < 1e-4``). The drop is computed under both no-email rules:
the study's (rows without text left out) and strict (they count as wrong). Both sides of
a drop average F1 over one persona set, those with scored rows in both cells
(`n_personas`): under the study's rule a persona with no survivors in one cell leaves
both, rather than leaving that cell's macro-F1 averaged over fewer personas; under strict
every row asked for stays, so the set is whole.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from charprobe.bootstrap import (
    cluster_boot_codes,
    encode,
    interval,
    percentile_ci,
    small_sample_se,
    t_p_greater,
)
from charprobe.metrics import Settings
from charprobe.records import has_label
from charprobe.resample import joint_draws, p_greater
from charprobe.stats import NONE_LABEL, macro_f1

# The drops a sweep over the three scaffolds reports: (from, to).
PAIRS = (("chat", "chat_email"), ("chat_email", "agentic_email"), ("chat", "agentic_email"))


@dataclass(frozen=True)
class CellRows:
    """One cell's rows as the drop needs them: true persona, label (None: none), and the
    resampling unit of each row (`resample.units_of`, made unique per cell for rows)."""

    y_true: Sequence[str]
    y_pred: Sequence[str | None]
    units: Sequence[str]


@dataclass(frozen=True)
class Drop:
    source: str
    target: str
    f1_source: float
    f1_target: float
    drop: float  # f1_source - f1_target
    ci_low: float
    ci_high: float
    p_value: float  # one-sided: the drop is above zero (two-sided: `two_sided`; NaN: untested)
    p_at_floor: bool  # p_value is the bound 1 / (n_boot_p + 1), not a measured value
    n_source: int
    n_target: int
    n_personas: int  # personas with scored rows in both cells: the macro-F1s average them
    level: float
    n_boot: int
    n_boot_p: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def macro_f1_drop(
    source: CellRows,
    target: CellRows,
    personas: Sequence[str],
    *,
    names: tuple[str, str] = ("source", "target"),
    settings: Settings | None = None,
    strict: bool = False,
    test: bool = True,
    two_sided: bool = False,
) -> Drop:
    """The drop from the `source` rows to the `target` rows (each its own cell).

    `strict`: rows without a label count as wrong (else they are left out, or wrong under
    ``no_email=error``). `test` False (a thin cell) leaves the p-value out. `two_sided`:
    p for "the two differ" (two sweeps, `report A B`, where neither side is the source),
    twice the smaller one-sided p, so it does not depend on which is named first."""
    s = settings or Settings()
    keep_all = strict or s.no_email == "error"
    (ta, pa, ua), (tb, pb, ub) = (_scored(c, personas, keep_all) for c in (source, target))
    # One persona set on both sides: a persona whose rows all fell out of one cell (no
    # survivors) would otherwise leave that cell's macro-F1 averaged over fewer personas
    # than the other's. Under strict every row asked for is kept, so the set is whole.
    present = set(ta) & set(tb)
    personas = [p for p in personas if p in present]
    (ta, pa, ua), (tb, pb, ub) = (_of(personas, *c) for c in ((ta, pa, ua), (tb, pb, ub)))
    k = len(personas)
    f_a, f_b = macro_f1(ta, pa, personas), macro_f1(tb, pb, personas)
    ca, cb = encode(ta, pa, personas), encode(tb, pb, personas)

    def boots(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, bool]:
        da, db = joint_draws([ua, ub], n, seed)
        paired = da.weights is db.weights  # one draw over shared units, or two apart
        return cluster_boot_codes(*ca, k, da), cluster_boot_codes(*cb, k, db), paired

    low = high = p = math.nan
    floor = False
    if s.interval == "percentile":
        if s.n_boot > 0:
            a, b, _ = boots(s.n_boot, s.seed)
            low, high = percentile_ci(a - b, s.level)
        if test:
            a, b, _ = boots(s.n_boot_p, s.seed + 1)
            p, floor = p_greater(a - b)
            if two_sided:
                q, q_floor = p_greater(b - a)
                p, floor = min(1.0, 2 * min(p, q)), floor or q_floor
    elif s.n_boot > 0 or (test and s.n_boot_p > 0):
        # t: the interval and the p-value come from one set of draws, so they agree (a p
        # alone, n_boot 0, as the power table asks, takes n_boot_p of them).
        a, b, paired = boots(s.n_boot or s.n_boot_p, s.seed)
        parts = [(a - b, len(set(ua) | set(ub)))] if paired else [
            (a, len(set(ua))), (b, len(set(ub)))]  # fmt: skip
        se_df = small_sample_se(parts)
        if s.n_boot > 0:
            low, high = interval(a - b, f_a - f_b, 0, s.level, "t", (-1.0, 1.0), se_df)
        if test and two_sided:
            p, floor = t_p_greater(abs(f_a - f_b), *se_df, s.n_boot_p)
            p = min(1.0, 2 * p)
        elif test:
            p, floor = t_p_greater(f_a - f_b, *se_df, s.n_boot_p)
    return Drop(
        source=names[0],
        target=names[1],
        f1_source=f_a,
        f1_target=f_b,
        drop=f_a - f_b,
        ci_low=low,
        ci_high=high,
        p_value=p,
        p_at_floor=floor,
        n_source=len(ta),
        n_target=len(tb),
        n_personas=k,
        level=s.level,
        n_boot=s.n_boot,
        n_boot_p=s.n_boot_p if test else 0,
    )


def _of(
    personas: Sequence[str], t: list[str], p: list[str], u: list[str]
) -> tuple[list[str], list[str], list[str]]:
    """The rows whose true persona is in `personas` (a prediction outside them is wrong)."""
    keep = set(personas)
    rows = [r for r in zip(t, p, u, strict=True) if r[0] in keep]
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def _scored(
    cell: CellRows, personas: Sequence[str], keep_all: bool
) -> tuple[list[str], list[str], list[str]]:
    keep = set(personas)
    rows = [
        (str(t), str(p) if has_label(p) else NONE_LABEL, u)
        for t, p, u in zip(cell.y_true, cell.y_pred, cell.units, strict=True)
        if t in keep and (keep_all or has_label(p))
    ]
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
