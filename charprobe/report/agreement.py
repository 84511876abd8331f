"""How far two scorers agree, and whether a judge favours a place in its option list.

`agreement` pairs two scorers' labels of the same rows by key, over the rows that have a
text: a row with nothing to read (a rollout that sent no email) is no verdict of either
scorer, and counting it as agreement would let a cell of survivors look agreed on. Its
main kappa counts "no label" (a scorer that gave no verdict on a text) as a category of
its own: a judge that declines every hard text agrees less with a classifier that always
answers, which a kappa over the texts both labelled would hide (that one is reported too,
with its row count).

`position_table` reads the judge's `detail` (`order` shown, 1-based `position` picked; see
`charprobe.scorers.judge`). The order is shuffled independently of the row's persona, so
without position bias each position is picked at the rate its share of the options
predicts (1/k); a position picked more often is a bias, not a persona signal.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from charprobe.records import has_label
from charprobe.report.cells import CELL_KEYS, KNOWN_ORDER

NO_LABEL = "\x00no label"  # the category of rows a scorer gave no label
POSITION_COLUMNS = [
    *CELL_KEYS,
    "position",
    "n_rows",
    "n_picked",
    "n_picks",
    "pick_rate",
    "expected_rate",
]


def _kappa(x: Sequence[str], y: Sequence[str]) -> float:
    """Cohen's kappa; one category on both sides for every row is full agreement (sklearn
    would give NaN); no rows is NaN."""
    from sklearn.metrics import cohen_kappa_score

    if not x:
        return math.nan
    if len(set(x) | set(y)) == 1:
        return 1.0
    return float(cohen_kappa_score(x, y))


def agreement(
    a_keys: Sequence[str | None],
    a_preds: Sequence[str | None],
    b_keys: Sequence[str | None],
    b_preds: Sequence[str | None],
    a_texts: Sequence[bool] | None = None,
    b_texts: Sequence[bool] | None = None,
) -> dict[str, float | int]:
    """Cohen's kappa between scorers A and B on the rows present in both (paired by key).

    `a_texts`, `b_texts`: whether each row had a text (None: every row had one); a paired
    row without a text on either side is left out and counted in `n_no_text`.
    `kappa` and `n`: over every paired row with a text, "no label" (None, NaN or "") its
    own category; `kappa_both` and `n_both`: over the rows both labelled. Rows without a
    key cannot be paired and are left out; a key seen twice on one side keeps its last
    label.
    """

    def side(keys, preds, texts) -> dict[str, tuple[str | None, bool]]:
        texts = [True] * len(keys) if texts is None else texts
        rows = zip(keys, preds, texts, strict=True)
        return {k: (p, bool(t)) for k, p, t in rows if k is not None}

    a, b = side(a_keys, a_preds, a_texts), side(b_keys, b_preds, b_texts)
    paired = [(a[k], b[k]) for k in a if k in b]
    pairs = [(_category(x), _category(y)) for (x, tx), (y, ty) in paired if tx and ty]
    both = [(x, y) for x, y in pairs if NO_LABEL not in (x, y)]
    return {
        "kappa": _kappa([x for x, _ in pairs], [y for _, y in pairs]),
        "kappa_both": _kappa([x for x, _ in both], [y for _, y in both]),
        "n": len(pairs),
        "n_both": len(both),
        "n_no_text": len(paired) - len(pairs),
    }


def _category(pred: str | None) -> str:
    return str(pred) if has_label(pred) else NO_LABEL


def _judged(row: Mapping[str, Any]) -> tuple[int, int | None] | None:
    """(options shown, position picked or None) of a row the judge read; None otherwise."""
    detail = row.get("detail")
    if not isinstance(detail, Mapping) or not isinstance(detail.get("order"), list):
        return None
    k = len(detail["order"])
    if k == 0:
        return None
    pos = detail.get("position")
    picked = isinstance(pos, int) and not isinstance(pos, bool) and 1 <= pos <= k
    return k, pos if picked else None


def _cell(row: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(row[c]) if has_label(row.get(c)) else "?" for c in CELL_KEYS)


def _rank(key: tuple[str, ...]) -> tuple:
    """Cells in their natural order: stages and scaffolds as the study lists them."""
    out = []
    for col, value in zip(CELL_KEYS, key, strict=True):
        known = KNOWN_ORDER.get(col, ())
        out.append((0, known.index(value), value) if value in known else (1, 0, value))
    return tuple(out)


def position_table(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Per cell (model, stage, scaffold) and shown position 1..k: the judge's picks.

    `n_rows`: rows shown an option at that position; `n_picked`: rows whose pick was there;
    `n_picks`: rows of the cell with a pick ("none" counts: it is shuffled like the rest);
    `pick_rate` = n_picked / n_picks; `expected_rate`: the rate without position bias, the
    mean over picking rows of 1/k for a position they were shown (1/k when every row shows
    k options). Rows with no judge `detail` are left out; none at all: an empty frame.
    Each prediction row counts, also rows sharing a text (the judge read it once).
    """
    shown: dict[tuple[str, ...], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    picked: dict[tuple[str, ...], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    expected: dict[tuple[str, ...], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    picks: dict[tuple[str, ...], int] = defaultdict(int)
    for row in rows:
        judged = _judged(row)
        if judged is None:
            continue
        k, pos = judged
        cell = _cell(row)
        for j in range(1, k + 1):
            shown[cell][j] += 1
        if pos is None:
            continue
        picks[cell] += 1
        picked[cell][pos] += 1
        for j in range(1, k + 1):
            expected[cell][j] += 1 / k
    records = []
    for cell in sorted(shown, key=_rank):
        n = picks[cell]
        for j in sorted(shown[cell]):
            records.append({
                **dict(zip(CELL_KEYS, cell, strict=True)),
                "position": j,
                "n_rows": shown[cell][j],
                "n_picked": picked[cell][j],
                "n_picks": n,
                "pick_rate": picked[cell][j] / n if n else math.nan,
                "expected_rate": expected[cell][j] / n if n else math.nan,
            })  # fmt: skip
    return pd.DataFrame.from_records(records, columns=POSITION_COLUMNS)
