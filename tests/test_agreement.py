"""Agreement between two scorers (kappa over the rows with a text, "no label" a category,
and over the rows both labelled) and the judge's pick positions, on small inputs worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from charprobe.report.agreement import POSITION_COLUMNS, agreement, position_table


def test_kappa_counts_no_label_as_a_category_and_pairs_by_key() -> None:
    # Paired rows (a, b): k1 (x, x), k2 (None, y), k3 (y, y), k4 (x, None); k5, k0 unpaired,
    # and B's rows come in another order.
    got = agreement(["k1", "k2", "k3", "k4", "k5"], ["x", None, "y", "x", "y"],
                    ["k4", "k3", "k2", "k1", "k0"], [None, "y", "y", "x", "x"])  # fmt: skip
    # All four: po = 2/4; A marginals x 2, y 1, - 1; B x 1, y 2, - 1;
    # pe = (2*1 + 1*2 + 1*1) / 16 = 5/16; kappa = (1/2 - 5/16) / (11/16) = 3/11.
    assert got["n"] == 4 and got["kappa"] == pytest.approx(3 / 11)
    # Both labelled: k1 (x, x), k3 (y, y): perfect agreement.
    assert got["n_both"] == 2 and got["kappa_both"] == pytest.approx(1.0)


def test_a_scorer_declining_rows_agrees_less_than_the_labelled_rows_say() -> None:
    keys = ["1", "2", "3", "4"]
    got = agreement(keys, ["x", "y", None, None], keys, ["x", "y", "x", "y"])
    assert got["kappa_both"] == 1.0 and got["n_both"] == 2
    # po = 1/2; A x 1, y 1, - 2; B x 2, y 2: pe = (2 + 2) / 16; kappa = (1/4) / (3/4).
    assert got["kappa"] == pytest.approx(1 / 3) and got["n"] == 4


def test_rows_without_a_text_are_no_agreement() -> None:
    # 55 rollouts sent no email (nothing to read: "no label" on both sides by
    # construction) and the two scorers disagree on each of the 5 emails. Counting the 55
    # as agreement gave kappa 0.47; over the texts it is at most 0.
    keys = [str(i) for i in range(60)]
    texts = [False] * 55 + [True] * 5
    a = [None] * 55 + ["x", "y", "x", "y", "x"]
    b = [None] * 55 + ["y", "x", "y", "x", "y"]
    got = agreement(keys, a, keys, b, texts, texts)
    assert got["n"] == 5 and got["n_both"] == 5 and got["n_no_text"] == 55
    assert got["kappa"] <= 0 and got["kappa"] == got["kappa_both"]
    # Only rows without a text: nothing to agree on.
    none = agreement(keys[:55], a[:55], keys[:55], b[:55], texts[:55], texts[:55])
    assert none["n"] == 0 and math.isnan(none["kappa"]) and none["n_no_text"] == 55


def test_one_category_everywhere_is_full_agreement_and_no_pairs_is_nan() -> None:
    # Both scorers declined both texts: they agree (a text each gave no verdict on).
    got = agreement(["1", "2"], [None, float("nan")], ["1", "2"], ["", None])
    assert got == {"kappa": 1.0, "kappa_both": got["kappa_both"], "n": 2, "n_both": 0,
                   "n_no_text": 0}  # fmt: skip
    assert math.isnan(got["kappa_both"])
    assert agreement(["1", "2"], ["x", "x"], ["2", "1"], ["x", "x"])["kappa"] == 1.0
    none = agreement(["1", None], ["x", "y"], ["2", None], ["x", "y"])  # None keys never pair
    assert none["n"] == 0 and none["n_both"] == 0
    assert math.isnan(none["kappa"]) and math.isnan(none["kappa_both"])


def row(stage: str, order: list[str] | None, position: int | None, **extra) -> dict:
    detail = None if order is None else {"order": order, "position": position, "answer": "-"}
    return {"model": "llama", "stage": stage, "scaffold": "chat", "detail": detail, **extra}


def test_position_table_counts_picks_per_cell_and_position() -> None:
    abc = ["a", "b", "c"]
    rows = [
        row("full", abc, 1), row("full", ["c", "a", "b"], 1), row("full", abc, 3),
        row("full", abc, None),  # unreadable: shown, no pick
        row("full", None, None),  # no judge detail: left out
        row("base", ["a", "b"], 2), row("base", abc, 2),  # two list lengths in one cell
    ]  # fmt: skip
    t = position_table(rows)
    assert list(t.columns) == POSITION_COLUMNS
    assert list(zip(t["stage"], t["position"], strict=True)) == [
        ("base", 1), ("base", 2), ("base", 3), ("full", 1), ("full", 2), ("full", 3),
    ]  # fmt: skip
    full = t[t["stage"] == "full"].set_index("position")
    assert full["n_rows"].tolist() == [4, 4, 4] and full["n_picks"].tolist() == [3, 3, 3]
    assert full["n_picked"].tolist() == [2, 0, 1]
    assert full["pick_rate"].tolist() == pytest.approx([2 / 3, 0, 1 / 3])
    assert full["expected_rate"].tolist() == pytest.approx([1 / 3] * 3)
    base = t[t["stage"] == "base"].set_index("position")
    assert base["n_rows"].tolist() == [2, 2, 1] and base["n_picked"].tolist() == [0, 2, 0]
    # Expected: (1/2 + 1/3) / 2 at positions 1 and 2, (1/3) / 2 at 3; they sum to 1.
    assert base["expected_rate"].tolist() == pytest.approx([5 / 12, 5 / 12, 1 / 6])


def test_a_cell_without_picks_has_no_rates_and_no_judge_rows_is_an_empty_frame() -> None:
    t = position_table([row("full", ["a", "b"], None)])
    assert t["n_picks"].tolist() == [0, 0] and t["pick_rate"].isna().all()
    assert t["expected_rate"].isna().all()
    empty = position_table([row("full", None, None), {"detail": {"raw": [1, 2]}}])
    assert isinstance(empty, pd.DataFrame) and empty.empty
    assert list(empty.columns) == POSITION_COLUMNS
    assert position_table([]).empty
