"""The macro-F1 drop between scaffolds (charprobe.drop) and its report (drops.csv,
compare.csv): planted signals, never fixed numbers."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from charprobe.drop import CellRows, macro_f1_drop
from charprobe.report import build_report, compare_report, main
from charprobe.resample import p_text
from charprobe.stats import Settings
from tests.test_report import ACCURACY, N_BOOT, sweep  # noqa: F401  (the fixture)

P = ["sarcasm", "humor", "remorse"]


def _cell(n_per: int, right_every: int, tag: str = "a", items: int | None = None) -> CellRows:
    """`n_per` rows per persona; every `right_every`-th one right, the rest the next persona.
    Row i of each persona is item i (mod `items`), named with `tag`."""
    true = [p for p in P for _ in range(n_per)]
    pred = [t if i % right_every == 0 else P[(P.index(t) + 1) % 3] for i, t in enumerate(true)]
    units = [f"{tag}{i % n_per % (items or n_per)}" for i in range(len(true))]
    return CellRows(true, pred, units)


def test_a_planted_drop_is_found_with_its_sign():
    """All right (F1 1) against one in three right (F1 1/3): a drop of 2/3 whose interval
    stays far above zero, p at its floor (shown as a bound, never as a number)."""
    chat, agentic = _cell(20, 1, "c"), _cell(20, 3, "s")
    s = Settings(n_boot=1000, n_boot_p=2000)
    d = macro_f1_drop(chat, agentic, P, names=("chat", "agentic_email"), settings=s)
    assert (d.source, d.target, d.n_source, d.n_target) == ("chat", "agentic_email", 60, 60)
    assert d.f1_source == 1.0 and d.drop == pytest.approx(d.f1_source - d.f1_target)
    assert d.ci_low > 0.3 and d.ci_low <= d.drop <= d.ci_high
    assert d.p_at_floor and d.p_value == 1 / 2001 and p_text(d.p_value, True) == "< 1e-3"
    back = macro_f1_drop(agentic, chat, P, settings=s)  # swapped: a rise, not a drop
    assert back.drop == -d.drop and back.ci_high < -0.3 and back.p_value > 0.99
    untested = macro_f1_drop(chat, agentic, P, settings=s, test=False)  # a thin cell
    assert math.isnan(untested.p_value) and untested.ci_low == d.ci_low


def test_same_items_are_drawn_together():
    """The same rows twice (two scorers of one sweep): every resample draws the same items
    on both sides, so the difference is exactly 0. The same labels on other items (two
    independent cells) give an interval around 0 instead."""
    same = macro_f1_drop(_cell(20, 2), _cell(20, 2), P, settings=Settings(n_boot=500))
    assert same.drop == 0 and same.ci_low == same.ci_high == 0 and same.p_value == 1.0
    apart = macro_f1_drop(_cell(20, 2), _cell(20, 2, "z"), P, settings=Settings(n_boot=500))
    assert apart.drop == 0 and apart.ci_low < 0 < apart.ci_high and 0.1 < apart.p_value < 0.9


def test_a_persona_without_survivors_leaves_both_sides_of_the_drop():
    """Issue 30 #7. Chat: sarcasm and humor right, remorse always misread (outside the
    list), so chat's macro-F1 is 2/3. Agentic: the same rows right, but remorse sent no
    email. Averaged over whoever survived, agentic reads 1.0 and the drop -1/3: a rise
    made by the missing persona. Over the personas both cells have, the drop is 0; the
    strict rule keeps remorse (its rows count as wrong) on both sides."""
    true = [p for p in P for _ in range(12)]
    units = [f"s{i % 12}" for i in range(len(true))]
    chat = CellRows(true, [t if t != "remorse" else "misalignment" for t in true], units)
    agentic = CellRows(true, [t if t != "remorse" else None for t in true], units)
    s = Settings(n_boot=200, n_boot_p=200)
    d = macro_f1_drop(chat, agentic, P, settings=s)
    assert d.n_personas == 2 and d.drop == 0 and d.f1_source == d.f1_target == 1.0
    strict = macro_f1_drop(chat, agentic, P, settings=s, strict=True)
    assert strict.n_personas == 3 and strict.f1_source == strict.f1_target == pytest.approx(2 / 3)


def test_rows_without_text_follow_no_email_and_strict():
    chat = _cell(20, 1, "c")
    agentic = CellRows(chat.y_true, [None if i % 2 else p for i, p in enumerate(chat.y_pred)],
                       [f"s{i}" for i in range(60)])  # fmt: skip
    s = Settings(n_boot=200, n_boot_p=200)
    dropped = macro_f1_drop(chat, agentic, P, settings=s)
    wrong = macro_f1_drop(chat, agentic, P, settings=Settings(n_boot=200, no_email="error"))
    strict = macro_f1_drop(chat, agentic, P, settings=s, strict=True)
    assert dropped.n_target == 30 and dropped.drop == 0  # the rows with text are all right
    assert wrong.n_target == 60 and wrong.drop > 0.3
    assert strict.n_target == 60 and strict.drop == wrong.drop


def test_report_drops_are_the_cells_differences(sweep):  # noqa: F811
    """Each drop is the summary's own macro-F1 difference of its two cells (a wiring
    mistake, e.g. scaffolds or groups shifted, breaks it), and the planted signal (chat
    0.95 right, agentic 0.4) shows as chat - agentic_email above zero in every group."""
    build_report(sweep, n_boot=N_BOOT, min_items=9)  # agentic cells have 9 items
    out = sweep / "report"
    summary, drops = pd.read_csv(out / "summary.csv"), pd.read_csv(out / "drops.csv")
    assert len(drops) == 4 * 3  # (model, stage) x 3 pairs
    f1 = {(r.model, r.stage, r.scaffold): r.macro_f1 for r in summary.itertuples()}
    for r in drops.itertuples():
        assert r.drop == pytest.approx(
            f1[r.model, r.stage, r.source] - f1[r.model, r.stage, r.target]
        )
        target = summary[
            (summary.model == r.model) & (summary.stage == r.stage) & (summary.scaffold == r.target)
        ]
        assert target[f"drop_from_{r.source}"].item() == pytest.approx(r.drop)
    far = drops[(drops.source == "chat") & (drops.target == "agentic_email")]
    assert ACCURACY["chat"] - ACCURACY["agentic_email"] > 0.5
    assert (far.ci_low > 0).all() and (far.p_value < 0.05).all(), far
    assert (drops.p_holm >= drops.p_value).all()
    assert (drops.interval == "t").all() and (drops.n_personas == 3).all()
    # under the default min_items (10) the agentic cells are thin: their drops untested
    build_report(sweep, n_boot=N_BOOT)
    thin = pd.read_csv(out / "drops.csv")
    assert (thin.thin == (thin.target == "agentic_email")).all()
    assert thin.p_value[thin.thin].isna().all() and thin.p_value[~thin.thin].notna().all()
    chat_rows = summary[summary.scaffold == "chat"]
    assert chat_rows["drop_from_chat"].isna().all()  # nothing drops into chat
    # Every p column carries its floor flag (at the floor a p is a bound, not a value).
    p_cols = [c for c in summary.columns if c.endswith(("_p", "_p_holm"))]
    assert len(p_cols) == 2 * 2 * 2  # (study, strict) x (p, Holm) x 2 sources
    for col in p_cols:
        assert col.removesuffix("_holm").removesuffix("_p") + "_p_at_floor" in summary, col
    assert {"p_at_floor", "p_strict_at_floor"} <= set(drops.columns)


def test_compare_two_sweeps_cell_by_cell(sweep, tmp_path: Path, capsys):  # noqa: F811
    same = compare_report(sweep, sweep, n_boot=N_BOOT, out=tmp_path)
    assert len(same) == 12 and (same["drop"] == 0).all()
    # the very same rows on both sides: paired draws, so no spread at all
    assert (same["ci_low"] == 0).all() and (same["ci_high"] == 0).all()
    assert (same["kappa"] == 1.0).all()
    agentic = same[same.scaffold == "agentic_email"]
    assert (same[same.scaffold != "agentic_email"]["n_paired"] == 36).all()
    # kappa pairs the 27 rollouts with an email; the 9 without one are only counted
    assert (agentic["n_paired"] == 27).all() and (agentic["n_both"] == 27).all()
    assert (agentic["n_no_text"] == 9).all() and (same["n_no_text"].sum() == 9 * len(agentic))
    assert (tmp_path / "compare.csv").is_file()
    assert main([str(sweep), str(sweep), "--n-boot", "20", "--out", str(tmp_path)]) == 0
    assert "minus" in capsys.readouterr().out
    assert main([str(sweep), str(sweep), str(sweep)]) == 2


def test_a_two_sided_p_does_not_depend_on_which_side_is_named_first():
    """Issue 30 #14: `report A B` has no source side. One-sided, A - B and B - A give p
    and 1 - p; two-sided, both give the same p, twice the smaller one-sided p."""
    a, b = _cell(20, 1, "c"), _cell(20, 2, "s")
    for interval in ("t", "percentile"):
        s = Settings(n_boot=400, n_boot_p=400, interval=interval)
        one = macro_f1_drop(a, b, P, settings=s).p_value
        ab = macro_f1_drop(a, b, P, settings=s, two_sided=True)
        ba = macro_f1_drop(b, a, P, settings=s, two_sided=True)
        assert ab.p_value == pytest.approx(ba.p_value, abs=0.01), interval
        assert ab.p_value == pytest.approx(min(1.0, 2 * one), abs=0.01), interval
    near = macro_f1_drop(_cell(20, 2, "c"), _cell(20, 2, "z"), P, settings=s, two_sided=True)
    assert 0.1 < near.p_value <= 1.0


def test_the_strict_drop_is_tested_where_only_survivors_are_thin():
    """One persona sends no email: the study's drop has no p (thin cell), the strict drop
    has one (every row asked for is there), and both p floors are kept."""
    from charprobe.report.cells import Cell
    from charprobe.report.drops import _drop_row
    from charprobe.stats import score_labels

    def cell(scaffold: str, no_text: str | None) -> tuple[Cell, object]:
        c = Cell({"scaffold": scaffold}, P)
        for i in range(30):
            for p in P:
                c.y_true.append(p)
                c.y_pred.append(None if p == no_text else p)
                c.item_ids.append(f"s{i}")
                c.row_keys.append(f"{scaffold}{i}{p}")
                c.reasons.append(None)
                c.texts.append(p != no_text)
        m = score_labels(c.y_true, c.y_pred, P, texts=c.texts, item_ids=c.item_ids,
                         n_boot=200, n_perm=20)  # fmt: skip
        return c, m

    s = Settings(n_boot=200, n_boot_p=200)
    row = _drop_row(cell("chat_email", None), cell("agentic_email", "remorse"),
                    ("chat_email", "agentic_email"), s)  # fmt: skip
    assert row["thin"] and not row["thin_strict"]
    assert math.isnan(row["p_value"])
    assert row["drop_strict"] == pytest.approx(1 / 3)
    assert row["p_strict"] == 1 / 201 and row["p_strict_at_floor"]
