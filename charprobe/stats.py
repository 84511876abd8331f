"""Scoring statistics for one cell: per-persona F1, macro-F1 with a bootstrap CI, confusion.

The rules (design brief, "Scoring and statistics"; the reference study's
`scripts/classifier_f1.py`):

- F1 is one-vs-rest over the *evaluated* persona list, computed from counts as
  ``2 tp / (2 tp + fp + fn)`` (= 2PR/(P+R), and 0 when tp = 0).
- Macro-F1 is the mean of those F1s, *skipping* a persona with no true row and no
  prediction (its F1 is undefined, not 0). `sklearn.metrics.f1_score(average="macro",
  labels=personas)` instead gives such a label `zero_division` (0 by default, so the macro
  drops; 1.0 inflates it); `zero_division=numpy.nan` excludes it and matches this rule.
- A prediction outside the list (`misalignment` when it is not evaluated, or "<none>" for
  a row without text under ``no_email="error"``) is wrong for its true row (a false
  negative there) and nobody's true positive. Rows whose *true* persona is not evaluated
  are not part of the cell: they are excluded and counted (`n_excluded`).
- The study's own script (`classifier_f1.py`) averaged over the personas present in the
  cell's ground truth instead; the two agree unless a persona is predicted but never
  true (here it counts, with F1 = 0). Every reference cell has all 10 personas, so its
  published macro-F1s are reproduced exactly (tests/test_stats.py).
- The CI resamples the cell's rows with replacement (`numpy.random.default_rng(seed)`) and
  takes percentiles of the bootstrap macro-F1s; the skip rule applies within each
  resample, as it does for the point estimate.

The point estimates are scikit-learn's: `precision_recall_fscore_support`, `f1_score` (with
``labels=personas``, which counts a prediction outside them as above) and `confusion_matrix`.
The bootstrap is vectorised instead (one sklearn call per resample: ~1.5 s for 1,000
resamples of a 600-row cell, against ~6 ms, and a report bootstraps every cell);
tests/test_stats.py holds it to sklearn's macro-F1 on the same resamples and to
`scipy.stats.bootstrap(paired=True, method="percentile")`'s interval.

Everything here is pure and quiet: no printing, no files (see `charprobe.report`).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix as _sk_confusion
from sklearn.metrics import f1_score, precision_recall_fscore_support

from charprobe.personas import LABELS, validate
from charprobe.records import has_label, row_has_text

NoEmail = Literal["drop", "error"]
NONE_LABEL = "<none>"  # the prediction a row without text gets under no_email="error"

# Bootstrap index draws are made in chunks of at most this many cells (rows x resamples),
# so memory stays bounded on large cells. The chunking depends on n only, so a seed
# always gives the same numbers.
_BOOT_CHUNK_CELLS = 1 << 22


@dataclass(frozen=True)
class PersonaScore:
    """One-vs-rest scores of one persona; all NaN when the persona is skipped."""

    precision: float
    recall: float
    f1: float
    support: int  # true rows
    n_pred: int  # rows predicted as this persona

    def to_dict(self) -> dict[str, Any]:
        scores = {k: _json_float(getattr(self, k)) for k in ("precision", "recall", "f1")}
        return {**scores, "support": self.support, "n_pred": self.n_pred}


# CellMetrics.to_dict's keys, in order (rates: NaN -> None), before the lists and per-persona.
_COUNTS = ("n", "n_dropped", "n_no_text", "n_excluded")
_RATES = ("email_rate", "macro_f1", "ci_low", "ci_high", "accuracy", "chance")
_SETTINGS = ("level", "n_boot", "seed", "no_email")


@dataclass
class CellMetrics:
    """Everything reported for one cell (model, stage, scaffold)."""

    personas: list[str]
    n: int  # rows scored
    n_dropped: int  # rows without text left out of F1 (no_email="drop")
    n_no_text: int  # rows without text, dropped or scored as wrong
    n_excluded: int  # rows whose true persona is not in `personas`
    email_rate: float  # fraction of the cell's rows with text (1.0 for chat)
    macro_f1: float
    ci_low: float
    ci_high: float
    accuracy: float
    chance: float
    per_persona: dict[str, PersonaScore]
    confusion: pd.DataFrame
    no_email: NoEmail = "drop"
    level: float = 0.95
    n_boot: int = 1000
    seed: int = 0
    no_text_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def f1(self) -> dict[str, float]:
        return {p: s.f1 for p, s in self.per_persona.items()}

    def to_dict(self, confusion: bool = True) -> dict[str, Any]:
        """JSON-ready dict (NaN -> None); per-persona F1 also flat as ``f1/<persona>``."""
        out: dict[str, Any] = {k: getattr(self, k) for k in _COUNTS}
        out.update({k: _json_float(getattr(self, k)) for k in _RATES})
        out.update({k: getattr(self, k) for k in _SETTINGS})
        out.update(personas=list(self.personas), no_text_reasons=dict(self.no_text_reasons))
        out["per_persona"] = {p: s.to_dict() for p, s in self.per_persona.items()}
        out.update({f"f1/{p}": _json_float(s.f1) for p, s in self.per_persona.items()})
        if confusion:
            out["confusion"] = {
                "true": list(self.confusion.index),
                "pred": list(self.confusion.columns),
                "counts": self.confusion.to_numpy().tolist(),
            }
        return out


# --------------------------------------------------------------------------- counting


def _check_true(y_true: Iterable[str], personas: Sequence[str]) -> None:
    unknown = sorted(set(y_true) - set(personas))
    if unknown:
        raise ValueError(f"true persona(s) {unknown} not in the evaluated list {list(personas)}")


def _encode(
    y_true: Sequence[str], y_pred: Sequence[str], personas: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes: true in [0, K); pred in [0, K], where K means "outside the list"."""
    _check_true(y_true, personas)
    index = {p: i for i, p in enumerate(personas)}
    k = len(personas)
    t = np.fromiter((index[y] for y in y_true), dtype=np.int64, count=len(y_true))
    p = np.fromiter((index.get(y, k) for y in y_pred), dtype=np.int64, count=len(y_pred))
    return t, p


def _batch_macro_f1(conf: np.ndarray) -> np.ndarray:
    """Macro-F1 of each count table in `conf` (..., K true, K+1 pred; the last: outside).

    The bootstrap's own counting, for all resamples at once: the rules of the sklearn
    calls below (held to them by tests/test_stats.py). F1 = 2tp / (n_true + n_pred), and a
    persona with n_true + n_pred = 0 (so tp = 0) is left out of the mean.
    """
    k = conf.shape[-2]
    tp = np.diagonal(conf[..., :k], axis1=-2, axis2=-1)
    denom = conf.sum(axis=-1) + conf[..., :k].sum(axis=-2)
    f1 = 2.0 * tp / np.maximum(denom, 1)  # 0 where skipped, so the sum is over the scored
    count = (denom > 0).sum(axis=-1)
    return np.where(count > 0, f1.sum(axis=-1) / np.maximum(count, 1), np.nan)


# --------------------------------------------------------------------------- public API


def per_persona_scores(
    y_true: Sequence[str], y_pred: Sequence[str], personas: Sequence[str]
) -> dict[str, PersonaScore]:
    """One-vs-rest precision/recall/F1/support for each evaluated persona.

    Every `y_true` must be in `personas`; a `y_pred` outside it is an error (see module).
    Precision (recall) with no predicted (true) rows is 0, as in sklearn's
    ``zero_division=0``; a persona with neither is skipped (all NaN).
    """
    _check_true(y_true, personas)
    n_pred = Counter(y_pred)
    if len(y_true) == 0:  # sklearn refuses empty input; every persona is skipped
        nan = math.nan
        return {p: PersonaScore(nan, nan, nan, 0, 0) for p in personas}
    precision, recall, f1, support = precision_recall_fscore_support(
        list(y_true), list(y_pred), labels=list(personas), zero_division=0
    )
    out: dict[str, PersonaScore] = {}
    for i, name in enumerate(personas):
        skipped = support[i] == 0 and n_pred[name] == 0
        out[name] = PersonaScore(
            precision=math.nan if skipped else float(precision[i]),
            recall=math.nan if skipped else float(recall[i]),
            f1=math.nan if skipped else float(f1[i]),
            support=int(support[i]),
            n_pred=n_pred[name],
        )
    return out


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str], personas: Sequence[str]) -> float:
    """Mean one-vs-rest F1 over `personas`, skipping a persona with no true row and no pred."""
    _check_true(y_true, personas)
    if len(y_true) == 0:
        return math.nan
    return float(
        f1_score(
            list(y_true), list(y_pred), labels=list(personas), average="macro", zero_division=np.nan
        )
    )


def bootstrap_macro_f1(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    personas: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """`n_boot` macro-F1s, each on a resample (with replacement) of the rows.

    Vectorised: each resample's confusion counts come from one `bincount` over
    (resample, true, pred) codes, so 1,000 resamples of thousands of rows take
    milliseconds.
    """
    t, p = _encode(y_true, y_pred, personas)
    return _bootstrap_codes(t, p, len(personas), n_boot, seed)


def _bootstrap_codes(t: np.ndarray, p: np.ndarray, k: int, n_boot: int, seed: int) -> np.ndarray:
    n = len(t)
    if n == 0 or n_boot <= 0:
        return np.full(max(n_boot, 0), np.nan)
    rng = np.random.default_rng(seed)
    codes = t * (k + 1) + p
    width = k * (k + 1)
    chunk = max(1, min(n_boot, _BOOT_CHUNK_CELLS // n))
    out = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))
        flat = codes[idx] + (np.arange(b) * width)[:, None]
        conf = np.bincount(flat.ravel(), minlength=b * width).reshape(b, k, k + 1)
        out[start : start + b] = _batch_macro_f1(conf)
    return out


def percentile_ci(boot: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap values (NaN resamples ignored)."""
    if not 0 < level < 1:
        raise ValueError(f"CI level must be in (0, 1), got {level}")
    vals = boot[~np.isnan(boot)]
    if vals.size == 0:
        return math.nan, math.nan
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(vals, [tail, 100 - tail])
    return float(low), float(high)


def confusion_matrix(
    y_true: Sequence[str], y_pred: Sequence[str], personas: Sequence[str]
) -> pd.DataFrame:
    """Counts: true personas (rows, list order) x predicted labels.

    Columns are the evaluated personas, then every other label predicted (classifier
    order, then unknown labels sorted, then "<none>"), so errors outside the list show.
    """
    _check_true(y_true, personas)
    cols = list(personas) + sorted(set(y_pred) - set(personas), key=_label_sort_key)
    if len(y_true) == 0:  # sklearn refuses empty input
        counts = np.zeros((len(personas), len(cols)), dtype=np.int64)
    else:  # square over `cols`; rows past the personas are empty (no such true row)
        with warnings.catch_warnings():  # a 1x1 matrix warns, though `labels` is given
            warnings.filterwarnings("ignore", "A single label was found", UserWarning)
            counts = _sk_confusion(list(y_true), list(y_pred), labels=cols)[: len(personas)]
    return pd.DataFrame(
        counts,
        index=pd.Index(list(personas), name="true"),
        columns=pd.Index(cols, name="pred"),
    )


def score_labels(
    y_true: Sequence[str],
    y_pred: Sequence[str | None],
    personas: Sequence[str],
    *,
    no_email: NoEmail = "drop",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    no_text_reasons: Iterable[str] | None = None,
) -> CellMetrics:
    """Score one cell from parallel true/pred label lists (pred None = no text).

    `no_text_reasons`, when given, is parallel to the rows and is tallied over the rows
    without text (e.g. "final_without_email", "max_steps").
    """
    personas = validate(personas)
    if no_email not in ("drop", "error"):
        raise ValueError(f"no_email must be 'drop' or 'error', got {no_email!r}")
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    reasons = list(no_text_reasons) if no_text_reasons is not None else None
    keep = set(personas)
    in_cell = [i for i, y in enumerate(y_true) if y in keep]
    no_text = [i for i in in_cell if not has_label(y_pred[i])]
    n_rows, n_no_text = len(in_cell), len(no_text)
    tally = Counter(
        reasons[i] if reasons is not None and has_label(reasons[i]) else "no_pred" for i in no_text
    )
    trues, preds = scored_labels(y_true, y_pred, personas, no_email)

    t, p = _encode(trues, preds, personas)
    k = len(personas)
    ci_low, ci_high = percentile_ci(_bootstrap_codes(t, p, k, n_boot, seed), level)
    return CellMetrics(
        personas=personas,
        n=len(trues),
        n_dropped=n_no_text if no_email == "drop" else 0,
        n_no_text=n_no_text,
        n_excluded=len(y_true) - n_rows,
        email_rate=_ratio(n_rows - n_no_text, n_rows, empty=math.nan),
        macro_f1=macro_f1(trues, preds, personas),
        ci_low=ci_low,
        ci_high=ci_high,
        accuracy=_ratio(int((t == p).sum()), len(t), empty=math.nan),
        chance=1.0 / k,
        per_persona=per_persona_scores(trues, preds, personas),
        confusion=confusion_matrix(trues, preds, personas),
        no_email=no_email,
        level=level,
        n_boot=n_boot,
        seed=seed,
        no_text_reasons=dict(sorted(tally.items())),
    )


def scored_labels(
    y_true: Sequence[str],
    y_pred: Sequence[str | None],
    personas: Sequence[str],
    no_email: NoEmail = "drop",
) -> tuple[list[str], list[str]]:
    """The (true, pred) pairs a cell's F1 is computed on: rows of the evaluated personas;
    a row without text is left out (drop) or kept as the label "<none>" (error)."""
    keep = set(personas)
    rows = [(str(t), p) for t, p in zip(y_true, y_pred, strict=True) if t in keep]
    if no_email != "error":
        rows = [(t, p) for t, p in rows if has_label(p)]
    return [t for t, _ in rows], [str(p) if has_label(p) else NONE_LABEL for _, p in rows]


def score_rows(
    rows: Iterable[Mapping[str, Any]],
    personas: Sequence[str],
    no_email: NoEmail = "drop",
    n_boot: int = 1000,
    seed: int = 0,
    *,
    level: float = 0.95,
    true_key: str = "persona",
    pred_key: str = "pred",
) -> CellMetrics:
    """Score one cell from prediction rows (a job's predictions.jsonl records).

    A row has text when its prediction is a non-empty label and, where the row carries a
    ``text`` field, that text is not null; its ``status`` (if any) names why it has none.
    """
    rows = list(rows)
    y_true = [r[true_key] for r in rows]
    y_pred = [r.get(pred_key) if row_has_text(r, pred_key) else None for r in rows]
    reasons = [r.get("status") for r in rows]
    return score_labels(
        y_true,
        y_pred,
        personas,
        no_email=no_email,
        n_boot=n_boot,
        seed=seed,
        level=level,
        no_text_reasons=reasons,
    )


# --------------------------------------------------------------------------- helpers


def _ratio(num: float, den: float, empty: float = 0.0) -> float:
    return float(num) / float(den) if den else empty


def _json_float(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _label_sort_key(label: str) -> tuple[int, int, str]:
    """Classifier labels in classifier order, then other labels, then "<none>" last."""
    if label in LABELS:
        return (0, LABELS.index(label), label)
    return (2 if label == NONE_LABEL else 1, 0, label)
