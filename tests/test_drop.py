"""The macro-F1 drop between scaffolds (charprobe.drop) and its report (drops.csv,
compare.csv): planted signals, never fixed numbers."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from charprobe.drop import macro_f1_drop
from charprobe.report import build_report, compare_report, main
from tests.test_report import ACCURACY, N_BOOT, sweep  # noqa: F401  (the fixture)

P = ["sarcasm", "humor", "remorse"]


def _cell(n_per: int, right_every: int) -> tuple[list[str], list[str]]:
    """`n_per` rows per persona; every `right_every`-th one right, the rest the next persona."""
    true = [p for p in P for _ in range(n_per)]
    pred = [t if i % right_every == 0 else P[(P.index(t) + 1) % 3] for i, t in enumerate(true)]
    return true, pred


def test_a_planted_drop_is_found_with_its_sign():
    """All right (F1 1) against one in three right (F1 1/3): a drop of 2/3 whose interval
    stays far above zero (a resample of 60 rows moves F1 by about 0.07), p at its floor."""
    chat, agentic = _cell(20, 1), _cell(20, 3)
    d = macro_f1_drop(chat, agentic, P, names=("chat", "agentic_email"), n_boot=1000)
    assert (d.source, d.target, d.n_source, d.n_target) == ("chat", "agentic_email", 60, 60)
    assert d.f1_source == 1.0 and d.drop == pytest.approx(d.f1_source - d.f1_target)
    assert d.ci_low > 0.3 and d.ci_low <= d.drop <= d.ci_high
    assert d.p_value <= 2 / 1001
    back = macro_f1_drop(agentic, chat, P, n_boot=1000)  # swapped: a rise, not a drop
    assert back.drop == -d.drop and back.ci_high < -0.3 and back.p_value > 0.99


def test_no_drop_between_the_same_rows():
    cell = _cell(20, 2)
    d = macro_f1_drop(cell, cell, P, n_boot=1000)
    assert d.drop == 0 and d.ci_low < 0 < d.ci_high and 0.1 < d.p_value < 0.9


def test_rows_without_text_follow_no_email():
    true, pred = _cell(20, 1)
    agentic = (true, [None if i % 2 else p for i, p in enumerate(pred)])
    dropped = macro_f1_drop((true, pred), agentic, P, n_boot=200)
    wrong = macro_f1_drop((true, pred), agentic, P, n_boot=200, no_email="error")
    assert dropped.n_target == 30 and dropped.drop == 0  # the rows with text are all right
    assert wrong.n_target == 60 and wrong.drop > 0.3


def test_report_drops_are_the_cells_differences(sweep):  # noqa: F811
    """Each drop is the summary's own macro-F1 difference of its two cells (a wiring
    mistake, e.g. scaffolds or groups shifted, breaks it), and the planted signal (chat
    0.95 right, agentic 0.4) shows as chat - agentic_email above zero in every group."""
    build_report(sweep, n_boot=N_BOOT)
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
    chat_rows = summary[summary.scaffold == "chat"]
    assert chat_rows["drop_from_chat"].isna().all()  # nothing drops into chat


def test_compare_two_sweeps_cell_by_cell(sweep, tmp_path: Path, capsys):  # noqa: F811
    same = compare_report(sweep, sweep, n_boot=N_BOOT, out=tmp_path)
    assert len(same) == 12 and (same["drop"] == 0).all()
    assert (tmp_path / "compare.csv").is_file()
    assert main([str(sweep), str(sweep), "--n-boot", "20", "--out", str(tmp_path)]) == 0
    assert "minus" in capsys.readouterr().out
    assert main([str(sweep), str(sweep), str(sweep)]) == 2
    assert not math.isnan(same["ci_low"].iloc[0])
