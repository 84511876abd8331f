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
- The CI resamples the cell's *items* with replacement, each with all its rows
  (`stats.cluster=item`, `charprobe.resample`), or its scenario families, or its rows
  (`cluster=row`, the reference study's bootstrap); the skip rule applies within each
  resample, as it does for the point estimate. The interval (`stats.interval`,
  `bootstrap.interval`) is ``t`` by default: the estimate +- the t quantile on C - 1
  degrees of freedom times the bootstrap SE widened by sqrt(C / (C - 1)), for C units,
  inside [0, 1]. Percentiles of the bootstrap macro-F1s
  (the study's) are too narrow with few units (95% intervals cover 0.89-0.91 at 10
  items) and can leave out their own estimate at chance, where the resampled macro-F1
  sits below it; ``percentile`` keeps the study's interval.
- Beside the study's macro-F1 (rows without text left out, `no_email=drop`) every cell
  has `macro_f1_strict`: a row without text, or without a verdict, is wrong, so the
  persona set and the rows stay those that were asked for (survivors only is how a
  protocol-breaking adapter would look persona-free).
- `chance` is the mean macro-F1 with the predictions shuffled across the cell's rows
  (`bootstrap.permutation_macro_f1`), `chance_q95` its 95th percentile; `chance_strict`
  and `chance_strict_q95` the same over every row asked for (no text: "<none>").
- A cell is `thin` when its scored rows cover fewer than `min_items` items, or an
  evaluated persona has fewer than `min_rows` scored rows: its number is shown, flagged,
  and not tested. `thin_strict` asks the same of every row asked for, scored or not, so
  a cell of few survivors still has a strict number to read and test.

The point estimates are scikit-learn's: `precision_recall_fscore_support`, `f1_score` (with
``labels=personas``, which counts a prediction outside them as above) and `confusion_matrix`.
The resampling is vectorised instead (`charprobe.bootstrap`; one sklearn call per
resample costs ~1.5 s for 1,000 resamples of a 600-row cell, against ~6 ms);
tests/test_stats.py holds it to sklearn's macro-F1 on the same resamples and to
`scipy.stats.bootstrap(paired=True, method="percentile")`'s interval.

Everything here is pure and quiet: no printing, no files (see `charprobe.report`).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix as _sk_confusion
from sklearn.metrics import f1_score, precision_recall_fscore_support

from charprobe.bootstrap import (
    bootstrap_codes,
    bootstrap_macro_f1,
    check_true,
    cluster_boot_codes,
    encode,
    percentile_ci,
    permutation_macro_f1,
)
from charprobe.bootstrap import interval as make_interval
from charprobe.metrics import CellMetrics, NoEmail, PersonaScore, Settings
from charprobe.personas import LABELS, validate
from charprobe.records import has_label, has_text, row_has_text
from charprobe.resample import Cluster, Method, draws, units_of

NONE_LABEL = "<none>"  # the prediction a row without a label gets where it counts as wrong

# Re-exported: callers and tests read every cell statistic from here.
__all__ = [
    "CellMetrics",
    "NoEmail",
    "PersonaScore",
    "Settings",
    "bootstrap_macro_f1",
    "percentile_ci",
]


# --------------------------------------------------------------------------- public API


def per_persona_scores(
    y_true: Sequence[str], y_pred: Sequence[str], personas: Sequence[str]
) -> dict[str, PersonaScore]:
    """One-vs-rest precision/recall/F1/support for each evaluated persona.

    Every `y_true` must be in `personas`; a `y_pred` outside it is an error (see module).
    Precision (recall) with no predicted (true) rows is 0, as in sklearn's
    ``zero_division=0``; a persona with neither is skipped (all NaN).
    """
    check_true(y_true, personas)
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
    check_true(y_true, personas)
    if len(y_true) == 0:
        return math.nan
    return float(
        f1_score(
            list(y_true), list(y_pred), labels=list(personas), average="macro", zero_division=np.nan
        )
    )


def confusion_matrix(
    y_true: Sequence[str], y_pred: Sequence[str], personas: Sequence[str]
) -> pd.DataFrame:
    """Counts: true personas (rows, list order) x predicted labels.

    Columns are the evaluated personas, then every other label predicted (classifier
    order, then unknown labels sorted, then "<none>"), so errors outside the list show.
    """
    check_true(y_true, personas)
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
    no_text_reasons: Iterable[str | None] | None = None,
    texts: Sequence[bool] | None = None,
    item_ids: Sequence[str | None] | None = None,
    cluster: Cluster = "item",
    n_perm: int = 10000,
    min_items: int = 10,
    min_rows: int = 5,
    interval: Method = "t",
) -> CellMetrics:
    """Score one cell from parallel true/pred label lists (pred None = no label).

    `texts[i]` says whether row i had a text (default: whether it has a label); a row
    with a text and no label is a scorer's no-verdict, counted apart from rows without
    text. `no_text_reasons` is tallied over the rows without text. `item_ids` name each
    row's item: intervals resample them (`cluster`); without them, rows are resampled.
    """
    personas = validate(personas)
    if no_email not in ("drop", "error"):
        raise ValueError(f"no_email must be 'drop' or 'error', got {no_email!r}")
    n_all = len(y_true)
    if len(y_pred) != n_all:
        raise ValueError(f"{n_all} true labels but {len(y_pred)} predictions")
    reasons = list(no_text_reasons) if no_text_reasons is not None else [None] * n_all
    with_text = list(texts) if texts is not None else [has_label(p) for p in y_pred]
    items = list(item_ids) if item_ids is not None else None
    keep = set(personas)
    in_cell = [i for i, y in enumerate(y_true) if y in keep]
    no_text = [i for i in in_cell if not with_text[i]]
    no_pred = [i for i in in_cell if with_text[i] and not has_label(y_pred[i])]
    tally = Counter(reasons[i] if has_label(reasons[i]) else "no_pred" for i in no_text)

    rows = [i for i in in_cell if has_label(y_pred[i]) or no_email == "error"]
    trues = [str(y_true[i]) for i in rows]
    preds = [_label(y_pred[i]) for i in rows]
    strict_trues = [str(y_true[i]) for i in in_cell]
    strict_preds = [_label(y_pred[i]) for i in in_cell]
    k = len(personas)

    def units(idx: list[int]) -> list[str]:
        return units_of([items[i] for i in idx] if items else [None] * len(idx),
                        cluster if items else "row")  # fmt: skip

    t, p = encode(trues, preds, personas)
    f1 = macro_f1(trues, preds, personas)
    f1_strict = macro_f1(strict_trues, strict_preds, personas)
    ci_low, ci_high = _interval(t, p, k, units(rows), f1, n_boot, seed, level, interval)
    st, sp = encode(strict_trues, strict_preds, personas)
    s_low, s_high = _interval(st, sp, k, units(in_cell), f1_strict, n_boot, seed, level,
                              interval)  # fmt: skip
    null = permutation_macro_f1(t, p, k, n_perm, seed)
    strict_null = permutation_macro_f1(st, sp, k, n_perm, seed)
    per_persona = per_persona_scores(trues, preds, personas)
    n_items = len({items[i] for i in rows}) if items else len(rows)
    thin_reason = _thin_reason(
        n_items, per_persona, min_items, min_rows, items is not None,
        empty=(len(in_cell), len(no_text), len(no_pred)),
    )  # fmt: skip
    asked = Counter(strict_trues)
    strict_reason = _thin_reason(
        len({items[i] for i in in_cell}) if items else len(in_cell),
        {q: PersonaScore(math.nan, math.nan, math.nan, asked[q], 0) for q in personas},
        min_items, min_rows, items is not None, empty=(len(in_cell), 0, 0),
    )  # fmt: skip
    by_persona = {
        q: _ratio(sum(with_text[i] for i in in_cell if y_true[i] == q),
                  sum(1 for i in in_cell if y_true[i] == q), empty=math.nan)
        for q in personas
    }  # fmt: skip
    return CellMetrics(
        personas=personas,
        n=len(trues),
        n_dropped=len(in_cell) - len(rows),
        n_no_text=len(no_text),
        n_excluded=n_all - len(in_cell),
        email_rate=_ratio(len(in_cell) - len(no_text), len(in_cell), empty=math.nan),
        macro_f1=f1,
        ci_low=ci_low,
        ci_high=ci_high,
        accuracy=_ratio(int((t == p).sum()), len(t), empty=math.nan),
        chance=_mean(null),
        per_persona=per_persona,
        confusion=confusion_matrix(trues, preds, personas),
        no_email=no_email,
        level=level,
        n_boot=n_boot,
        seed=seed,
        no_text_reasons=dict(sorted(tally.items())),
        n_rows=len(in_cell),
        n_items=n_items,
        n_no_prediction=len(no_pred),
        macro_f1_strict=f1_strict,
        ci_strict_low=s_low,
        ci_strict_high=s_high,
        chance_q95=_q95(null),
        cluster=cluster if items else "row",
        interval=interval,
        thin=bool(thin_reason),
        thin_reason=thin_reason,
        thin_strict=bool(strict_reason),
        thin_strict_reason=strict_reason,
        chance_strict=_mean(strict_null),
        chance_strict_q95=_q95(strict_null),
        email_rate_by_persona=by_persona,
    )


def _mean(null: np.ndarray) -> float:
    return float(np.nanmean(null)) if np.isfinite(null).any() else math.nan


def _q95(null: np.ndarray) -> float:
    return float(np.nanpercentile(null, 95)) if np.isfinite(null).any() else math.nan


def _label(pred: str | None) -> str:
    return str(pred) if has_label(pred) else NONE_LABEL


def _interval(
    t: np.ndarray,
    p: np.ndarray,
    k: int,
    units: list[str],
    estimate: float,
    n_boot: int,
    seed: int,
    level: float,
    method: Method = "t",
) -> tuple[float, float]:
    """The interval of macro-F1 (`bootstrap.interval`, inside [0, 1]) from the row bootstrap
    where every row is its own unit (byte for byte the reference study's resamples), else
    the cluster bootstrap."""
    if all(u.startswith("\0") for u in units):  # `units_of`'s rows standing alone
        boot = bootstrap_codes(t, p, k, n_boot, seed)
    else:
        boot = cluster_boot_codes(t, p, k, draws(units, n_boot, seed))
    return make_interval(boot, estimate, len(set(units)), level, method, bounds=(0.0, 1.0))


def _thin_reason(
    n_items: int,
    per: Mapping[str, PersonaScore],
    min_items: int,
    min_rows: int,
    items: bool,
    empty: tuple[int, int, int],
) -> str:
    """Why a cell is too thin to read ("" when it is not). `empty`: the cell's rows, rows
    without text and rows without a verdict, to say why nothing was scored."""
    if not sum(s.support for s in per.values()):
        n_rows, no_text, no_pred = empty
        if not n_rows:
            return "no row scored"
        return f"0 of {n_rows} rows scored ({no_text} without text, {no_pred} without a verdict)"
    reasons = []
    if n_items < min_items:
        reasons.append(f"{n_items} {'items' if items else 'rows'} < {min_items}")
    low = [f"{p} {s.support}" for p, s in per.items() if s.support < min_rows]
    if low:
        reasons.append(f"rows per persona < {min_rows} ({', '.join(low)})")
    return "; ".join(reasons)


def score_rows(
    rows: Iterable[Mapping[str, Any]],
    personas: Sequence[str],
    settings: Settings | None = None,
    *,
    true_key: str = "persona",
    pred_key: str = "pred",
    item_key: str = "item_id",
    **overrides: Any,
) -> CellMetrics:
    """Score one cell from prediction rows (a job's predictions.jsonl records).

    A row has text when its ``text`` field is not null (or, without one, when it has a
    label); a row with text and no label is a scorer's no-verdict (``status``
    no_prediction). Its ``status`` (if any) names why a row has no text.
    """
    s = replace(settings or Settings(), **overrides)
    rows = list(rows)
    items = [r.get(item_key) for r in rows]
    return score_labels(
        [r[true_key] for r in rows],
        [r.get(pred_key) if row_has_text(r, pred_key) else None for r in rows],
        personas,
        no_email=s.no_email,
        n_boot=s.n_boot,
        seed=s.seed,
        level=s.level,
        no_text_reasons=[r.get("status") for r in rows],
        texts=[row_text(r, pred_key) for r in rows],
        item_ids=items if any(i is not None for i in items) else None,
        cluster=s.cluster,
        n_perm=s.n_perm,
        min_items=s.min_items,
        min_rows=s.min_rows,
        interval=s.interval,
    )


def row_text(row: Mapping[str, Any], pred_key: str = "pred") -> bool:
    """Whether a row had a text: its ``text`` field where it has one, else its label."""
    return has_text(row["text"]) if "text" in row else has_label(row.get(pred_key))


# --------------------------------------------------------------------------- helpers


def _ratio(num: float, den: float, empty: float = 0.0) -> float:
    return float(num) / float(den) if den else empty


def _label_sort_key(label: str) -> tuple[int, int, str]:
    """Classifier labels in classifier order, then other labels, then "<none>" last."""
    if label in LABELS:
        return (0, LABELS.index(label), label)
    return (2 if label == NONE_LABEL else 1, 0, label)
