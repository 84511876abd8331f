"""Macro-F1 resampled: the row bootstrap, the cluster bootstrap and the permutation null.

All three count confusion tables for many resamples at once and apply the macro-F1 rule
of `charprobe.stats` to each (`batch_macro_f1`, held to scikit-learn's by
tests/test_stats.py):

- `bootstrap_macro_f1`: rows drawn with replacement (the reference study's bootstrap;
  `stats.cluster=row`). One `bincount` over (resample, true, pred) codes per chunk.
- `cluster_boot_codes`: units (items, families; `charprobe.resample`) drawn with
  replacement, each with all its rows: the resampled table is ``weights @ per-unit tables``.
- `interval`: the interval from resampled values. ``t`` (`stats.interval=t`) is the estimate
  +- t(C - 1) times the bootstrap's spread widened by sqrt(C / (C - 1)), for C units; a
  percentile interval (``percentile``, the reference study's) is too narrow with few
  units, since the bootstrap's spread falls short of the estimator's by about
  sqrt((C - 1) / C), and its tails are not t-shaped. ``t`` is the default.
- `permutation_macro_f1`: the predictions shuffled across the cell's rows, which keeps
  how often each label is true and how often it is predicted and breaks only their
  pairing. The mean of these macro-F1s is the cell's chance level; it is 1 / k only when
  predictions are spread evenly, and can be far from it (a scorer that names one persona
  for everything scores 1 / k^2-ish; one whose predictions mirror the true spread more).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as _st

from charprobe.resample import METHODS, Draws, Method

# Index draws are made in chunks of at most this many cells (rows x resamples), so memory
# stays bounded on large cells. The chunking depends on n only: a seed gives one answer.
_BOOT_CHUNK_CELLS = 1 << 22


def check_true(y_true: Sequence[str], personas: Sequence[str]) -> None:
    unknown = sorted(set(y_true) - set(personas))
    if unknown:
        raise ValueError(f"true persona(s) {unknown} not in the evaluated list {list(personas)}")


def encode(
    y_true: Sequence[str], y_pred: Sequence[str], personas: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes: true in [0, K); pred in [0, K], where K means "outside the list"."""
    check_true(y_true, personas)
    index = {p: i for i, p in enumerate(personas)}
    k = len(personas)
    t = np.fromiter((index[y] for y in y_true), dtype=np.int64, count=len(y_true))
    p = np.fromiter((index.get(y, k) for y in y_pred), dtype=np.int64, count=len(y_pred))
    return t, p


def batch_macro_f1(conf: np.ndarray) -> np.ndarray:
    """Macro-F1 of each count table in `conf` (..., K true, K+1 pred; the last: outside).

    F1 = 2tp / (n_true + n_pred), and a persona with n_true + n_pred = 0 (so tp = 0) is
    left out of the mean (the rule of `charprobe.stats`)."""
    k = conf.shape[-2]
    tp = np.diagonal(conf[..., :k], axis1=-2, axis2=-1)
    denom = conf.sum(axis=-1) + conf[..., :k].sum(axis=-2)
    f1 = 2.0 * tp / np.maximum(denom, 1)  # 0 where skipped, so the sum is over the scored
    count = (denom > 0).sum(axis=-1)
    return np.where(count > 0, f1.sum(axis=-1) / np.maximum(count, 1), np.nan)


def bootstrap_macro_f1(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    personas: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """`n_boot` macro-F1s, each on a resample (with replacement) of the rows."""
    t, p = encode(y_true, y_pred, personas)
    return bootstrap_codes(t, p, len(personas), n_boot, seed)


def bootstrap_codes(t: np.ndarray, p: np.ndarray, k: int, n_boot: int, seed: int) -> np.ndarray:
    n = len(t)
    if n == 0 or n_boot <= 0:
        return np.full(max(n_boot, 0), np.nan)
    rng = np.random.default_rng(seed)
    codes = t * (k + 1) + p
    chunk = max(1, min(n_boot, _BOOT_CHUNK_CELLS // n))
    out = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        out[start : start + b] = _tables_macro_f1(codes[rng.integers(0, n, size=(b, n))], k)
    return out


def cluster_boot_codes(t: np.ndarray, p: np.ndarray, k: int, draws: Draws) -> np.ndarray:
    """Macro-F1 of each resample of `draws` (units with all their rows)."""
    if len(t) == 0:
        return np.full(len(draws.weights), np.nan)
    onehot = np.zeros((len(t), k * (k + 1)))
    onehot[np.arange(len(t)), t * (k + 1) + p] = 1.0
    conf = draws.sums(onehot).reshape(-1, k, k + 1)
    return batch_macro_f1(conf)


def permutation_macro_f1(
    t: np.ndarray, p: np.ndarray, k: int, n_perm: int, seed: int
) -> np.ndarray:
    """Macro-F1 of `n_perm` shuffles of the predictions across the rows (the null of no
    link between text and persona, with both label spreads kept)."""
    n = len(t)
    if n == 0 or n_perm <= 0:
        return np.full(max(n_perm, 0), np.nan)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_perm, _BOOT_CHUNK_CELLS // n))
    out = np.empty(n_perm)
    for start in range(0, n_perm, chunk):
        b = min(chunk, n_perm - start)
        shuffled = rng.permuted(np.broadcast_to(p, (b, n)), axis=1)
        out[start : start + b] = _tables_macro_f1(t[None, :] * (k + 1) + shuffled, k)
    return out


def _tables_macro_f1(codes: np.ndarray, k: int) -> np.ndarray:
    """Macro-F1 of each row of `codes` (resamples, rows of true * (k + 1) + pred): one
    `bincount` counts every resample's table at once."""
    b, width = len(codes), k * (k + 1)
    flat = codes + (np.arange(b) * width)[:, None]
    conf = np.bincount(flat.ravel(), minlength=b * width).reshape(b, k, k + 1)
    return batch_macro_f1(conf)


def percentile_ci(boot: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap values (resamples with no value, NaN or an
    infinite ratio, ignored)."""
    if not 0 < level < 1:
        raise ValueError(f"CI level must be in (0, 1), got {level}")
    vals = boot[np.isfinite(boot)]
    if vals.size == 0:
        return math.nan, math.nan
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(vals, [tail, 100 - tail])
    return float(low), float(high)


def small_sample_se(parts: Sequence[tuple[np.ndarray, int]]) -> tuple[float, float]:
    """Standard error and degrees of freedom of a sum of independent bootstrapped parts.

    Each part is (resampled values, C units it resampled). A part's bootstrap variance is
    widened by C / (C - 1) (the plug-in variance of a mean of C units is (C - 1) / C of the
    unbiased one); parts add, with Welch-Satterthwaite degrees of freedom (one part: C - 1).
    NaN where a part has fewer than 2 units or no finite value."""
    var, den = 0.0, 0.0
    for boot, c in parts:
        vals = np.asarray(boot, dtype=float)
        vals = vals[np.isfinite(vals)]
        if c < 2 or vals.size < 2:
            return math.nan, math.nan
        v = float(vals.var(ddof=1)) * c / (c - 1)
        var += v
        den += v * v / (c - 1)
    if var == 0.0:
        return 0.0, float(min(c for _, c in parts) - 1)
    return math.sqrt(var), var * var / den


def interval(
    boot: np.ndarray,
    estimate: float,
    n_units: int,
    level: float = 0.95,
    method: Method = "t",
    bounds: tuple[float, float] = (-math.inf, math.inf),
    se_df: tuple[float, float] | None = None,
) -> tuple[float, float]:
    """The interval of a bootstrapped statistic: `method` ``t`` (estimate +- t quantile x
    small-sample SE, inside `bounds`, so it always holds its estimate) or ``percentile``.
    `se_df` gives SE and degrees of freedom where the resampled values are a combination
    of independent parts (`small_sample_se`); else they come from `boot` and `n_units`."""
    if method == "percentile":
        return percentile_ci(boot, level)
    if method != "t":
        raise ValueError(f"interval method must be one of {', '.join(METHODS)}, got {method!r}")
    if not 0 < level < 1:
        raise ValueError(f"CI level must be in (0, 1), got {level}")
    se, df = se_df if se_df is not None else small_sample_se([(boot, n_units)])
    if not (math.isfinite(se) and math.isfinite(estimate)):
        return math.nan, math.nan
    half = float(_st.t.ppf(1 - (1 - level) / 2, df)) * se if se > 0 else 0.0
    return max(bounds[0], estimate - half), min(bounds[1], estimate + half)


def t_p_greater(estimate: float, se: float, df: float, floor_n: int) -> tuple[float, bool]:
    """One-sided p that the statistic is above 0 from its t ratio, and whether it is a
    floor rather than a measured value. A t tail far out says more than resampling can
    check, so p stops at the floor a percentile p of `floor_n` resamples would have,
    1 / (floor_n + 1), and is marked there (also where the resamples have no spread)."""
    if not (math.isfinite(estimate) and math.isfinite(se)):
        return math.nan, False
    floor = 1.0 / (floor_n + 1)
    p = float(_st.t.sf(estimate / se, df)) if se > 0 else (0.0 if estimate > 0 else 1.0)
    return (floor, True) if p <= floor else (p, False)
