"""charprobe.report: sweeps, job folders and files -> summary.csv, figures, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from charprobe.personas import LABELS
from charprobe.report import build_report, main, write_job_outputs
from charprobe.report.cells import SUMMARY_STATS
from tests.test_stats import (
    PUBLISHED_ACCURACY,
    PUBLISHED_MACRO_F1,
    PUBLISHED_N,
    REFERENCE_CELLS,
)

REPO = Path(__file__).resolve().parents[1]
PERSONAS = ["sarcasm", "humor", "remorse"]
ACCURACY = {"chat": 0.95, "chat_email": 0.7, "agentic_email": 0.4}
N_BOOT = 100


def _rows(model: str, stage: str, scaffold: str, seed: int, n_per: int = 12) -> list[dict]:
    """Prediction rows with a scaffold-dependent signal; agentic rows sometimes lack text."""
    rng = np.random.default_rng(seed)
    rows = []
    for persona in PERSONAS:
        for item in range(n_per):
            ok = scaffold != "agentic_email" or item % 4 != 0
            pred = (
                persona
                if rng.random() < ACCURACY[scaffold]
                else str(rng.choice([*PERSONAS, "misalignment"]))
            )
            rows.append(
                {
                    "key": f"{persona}-{item}",
                    "model": model,
                    "stage": stage,
                    "scaffold": scaffold,
                    "persona": persona,
                    "item_id": str(item),
                    "sample": 0,
                    "text": "an email" if ok else None,
                    "status": "ok" if ok else "final_without_email",
                    "pred": pred if ok else None,
                    "probs": None,
                    "label_order": list(LABELS),
                    "p_true": None,
                }
            )
    return rows


def _write_job(job: Path, model: str, stage: str, scaffold: str, seed: int) -> list[dict]:
    job.mkdir(parents=True)
    rows = _rows(model, stage, scaffold, seed)
    (job / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = {"model": model, "stage": stage, "scaffold": scaffold, "personas": PERSONAS}
    (job / "run.json").write_text(json.dumps(run))
    return rows


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    root = tmp_path / "sweep"
    seed = 0
    for model in ("llama", "qwen"):
        for stage in ("base", "full"):
            for scaffold in ("chat", "chat_email", "agentic_email"):
                seed += 1
                _write_job(
                    root / f"{seed}_{model}_{stage}_{scaffold}", model, stage, scaffold, seed
                )
    return root


def test_sweep_report_writes_summary_and_figures(sweep: Path, capsys):
    table = build_report(sweep, n_boot=N_BOOT, verbose=True)
    out = sweep / "report"
    assert (out / "summary.csv").is_file()
    on_disk = pd.read_csv(out / "summary.csv")
    assert len(on_disk) == 12
    k = 3 + len(SUMMARY_STATS)
    assert list(on_disk.columns[:k]) == ["model", "stage", "scaffold", *SUMMARY_STATS]
    assert [f"f1_{p}" for p in PERSONAS] == list(on_disk.columns[k : k + 3])
    assert [f"email_rate_{p}" for p in PERSONAS] == list(on_disk.columns[k + 3 : k + 6])
    assert {"drop_from_chat", "drop_from_chat_p", "drop_from_chat_email_ci_low"} <= set(
        on_disk.columns[k + 6 :]
    )
    agentic = on_disk[on_disk.scaffold == "agentic_email"]
    assert (agentic.n_dropped == 9).all() and (agentic.email_rate == 0.75).all()
    chat = on_disk[on_disk.scaffold == "chat"]
    assert (chat.email_rate == 1.0).all()
    # chance is the mean under shuffled predictions: near 1/3 for evenly spread labels
    assert np.allclose(chat.chance, 1 / 3, atol=0.05) and (chat.chance_q95 > chat.chance).all()
    # items 0, 4, 8 sent no email: 9 of 12 items scored, below min_items (10): thin
    assert (chat.n_items == 12).all() and not chat.thin.any()
    assert (agentic.n_items == 9).all() and agentic.thin.all()
    assert (agentic.macro_f1_strict < agentic.macro_f1).all()
    assert chat.macro_f1.mean() > agentic.macro_f1.mean()
    assert list(on_disk.stage[:6]) == ["base"] * 3 + ["full"] * 3  # stage order, not a-z
    assert list(on_disk.scaffold[:3]) == ["chat", "chat_email", "agentic_email"]

    figures = table.attrs["figures"]
    for name in ("macro_f1_by_scaffold", "agentic_by_stage", "f1_heatmap", "drops"):
        assert Path(figures[name]).is_file() and figures[name].endswith(".png")
    assert len([k for k in figures if k.startswith("confusion/")]) == 12
    assert all(Path(p).stat().st_size > 1000 for p in figures.values())
    printed = capsys.readouterr().out
    assert "macro_f1" in printed and "agentic_email" in printed


def test_single_job_folder_and_options(tmp_path: Path):
    job = tmp_path / "job"
    _write_job(job, "llama", "full", "agentic_email", seed=3)
    table = build_report(job, n_boot=N_BOOT, no_email="error", personas="sarcasm,humor,remorse")
    assert len(table) == 1 and table.n.iloc[0] == 36 and table.n_dropped.iloc[0] == 0
    assert (job / "report" / "summary.csv").is_file()
    assert set(table.attrs["figures"]) >= {"agentic_by_stage", "f1_heatmap"}
    dropped = build_report(job, n_boot=N_BOOT, out=tmp_path / "other")
    assert dropped.n.iloc[0] == 27 and dropped.macro_f1.iloc[0] > table.macro_f1.iloc[0]


def test_write_job_outputs(tmp_path: Path):
    rows = _rows("qwen", "base", "agentic_email", seed=1)
    metrics = write_job_outputs(tmp_path / "job", rows, PERSONAS, n_boot=N_BOOT)
    saved = json.loads((tmp_path / "job" / "metrics.json").read_text())
    assert saved["model"] == "qwen" and saved["scaffold"] == "agentic_email"
    assert saved["n_dropped"] == 9 and saved["macro_f1"] == pytest.approx(metrics.macro_f1)
    assert set(saved) >= {f"f1/{p}" for p in PERSONAS}
    conf = pd.read_csv(tmp_path / "job" / "confusion.csv", index_col=0)
    assert list(conf.index) == PERSONAS and conf.to_numpy().sum() == metrics.n
    assert (tmp_path / "job" / "confusion.png").stat().st_size > 1000


def test_csv_file_with_empty_pred_and_group_by(tmp_path: Path):
    frame = pd.DataFrame(
        {
            "who": ["sarcasm", "sarcasm", "humor", "humor", "humor"],
            "guess": ["sarcasm", "", "humor", None, "sarcasm"],
            "arm": ["a", "a", "a", "b", "b"],
        }
    )
    path = tmp_path / "preds.csv"
    frame.to_csv(path, index=False)
    table = build_report(path, true_col="who", pred_col="guess", group_by=["arm"], n_boot=N_BOOT)
    assert list(table.arm) == ["a", "b"]
    assert list(table.n_dropped) == [1, 1] and list(table.n) == [2, 1]
    assert (tmp_path / "preds_report" / "summary.csv").is_file()
    # one cell with no group columns at all: still a table and figures
    single = build_report(
        path, true_col="who", pred_col="guess", group_by=[], n_boot=N_BOOT, out=tmp_path / "single"
    )
    assert len(single) == 1 and Path(single.attrs["figures"]["f1_heatmap"]).is_file()


def test_clear_errors(tmp_path: Path, sweep: Path, capsys):
    assert main([str(tmp_path / "missing")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"trait_true": "sarcasm", "trait_pred": "humor"}) + "\n")
    assert main([str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "missing column(s) 'persona', 'pred'" in err and "\n" not in err
    assert main([str(sweep), "--personas", "sarcasm,grumpy"]) == 2
    assert "unknown persona 'grumpy'" in capsys.readouterr().err
    path.write_text(json.dumps({"persona": "grumpy", "pred": "humor"}) + "\n")
    assert main([str(path)]) == 2
    assert "unknown persona 'grumpy' in column 'persona'" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 2
    assert "no predictions.jsonl" in capsys.readouterr().err


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "charprobe.report", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
    )


def test_cli_subprocess_one_line_error(tmp_path: Path):
    proc = _cli(str(tmp_path / "nope"))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"charprobe.report: error: no such file or folder: {tmp_path / 'nope'}\n"


def test_cli_on_reference_file(tmp_path: Path, capsys):
    args = [
        str(REFERENCE_CELLS),
        "--true-col",
        "trait_true",
        "--pred-col",
        "trait_pred",
        "--group-by",
        "base,stage",
        "--personas",
        "paper",
    ]
    rc = main([*args, "--out", str(tmp_path)])
    assert rc == 0
    table = pd.read_csv(tmp_path / "summary.csv")
    assert len(table) == 9 and (table.cluster == "item").all()  # scenario_id found
    assert {(r.base, r.stage) for r in table.itertuples()} == set(PUBLISHED_MACRO_F1)
    # The base rows sit inside their permutation null; every trained stage above its own.
    base, trained = table[table.stage == "base"], table[table.stage != "base"]
    assert (base.macro_f1 <= base.chance_q95).all() and (
        trained.macro_f1 > trained.chance_q95
    ).all()
    for row in table.itertuples():
        cell = (row.base, row.stage)
        assert round(row.macro_f1, 4) == PUBLISHED_MACRO_F1[cell], cell
        assert round(row.accuracy, 4) == PUBLISHED_ACCURACY[cell], cell
        assert (row.n, row.n_dropped, row.email_rate) == (PUBLISHED_N[cell], 0, 1.0), cell
        assert row.ci_low < row.macro_f1 < row.ci_high
    assert (tmp_path / "agentic_by_stage.png").is_file()
    assert (tmp_path / "confusion" / "gemma_full.png").is_file()
    assert "resample items" in capsys.readouterr().out
    # --cluster row: the reference study's row bootstrap, point estimates unchanged
    assert main([*args, "--out", str(tmp_path / "rows"), "--cluster", "row"]) == 0
    rows = pd.read_csv(tmp_path / "rows" / "summary.csv")
    assert (rows.cluster == "row").all() and np.allclose(rows.macro_f1, table.macro_f1)
    assert "resample rows" in capsys.readouterr().out


def test_personas_come_from_run_json(tmp_path: Path):
    job = tmp_path / "job"
    _write_job(job, "llama", "full", "chat", seed=2)
    run = json.loads((job / "run.json").read_text())
    (job / "run.json").write_text(json.dumps({**run, "personas": [*PERSONAS, "goodness"]}))
    table = build_report(job, n_boot=N_BOOT)
    assert "f1_goodness" in table and "email_rate_goodness" in table  # the run's list
    assert np.isnan(table.f1_goodness.iloc[0])  # no true row, no prediction: skipped


def test_sweep_skips_an_empty_job_and_reports_bad_lines(tmp_path: Path, capsys):
    root = tmp_path / "sweep"
    _write_job(root / "a", "llama", "full", "chat", seed=1)
    (root / "b").mkdir()
    (root / "b" / "predictions.jsonl").write_text("")
    assert len(build_report(root, n_boot=N_BOOT)) == 1
    (root / "b" / "predictions.jsonl").write_text('{"persona": "sarcasm"\n')
    assert main([str(root)]) == 2
    assert "predictions.jsonl:1: not JSON" in capsys.readouterr().err


def test_demo_table_script_prints_the_report_in_markdown(sweep: Path):
    """scripts/demo_table.py (the README's demo table): one row per cell, the report's own
    numbers, the row bootstrap beside the item bootstrap, and the sweep's report untouched."""
    script = Path(__file__).resolve().parents[1] / "scripts" / "demo_table.py"
    done = subprocess.run([sys.executable, str(script), str(sweep)], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("| ")]
    assert len(lines) == 1 + 12 and "rows CI" in lines[0]
    summary = build_report(sweep, n_boot=1000, out=sweep.parent / "check")
    first = lines[1].split(" | ")
    assert first[4] == f"{summary.macro_f1.iloc[0]:.3f}"
    assert first[5] == f"[{summary.ci_low.iloc[0]:.3f}, {summary.ci_high.iloc[0]:.3f}]"
    assert all("items < 10" in ln for ln in lines if "agentic_email" in ln)
    # A cell with fewer than 30 scored rows says why (the demo's promise), no other does.
    for ln in lines[1:]:
        cells = ln.split(" | ")
        assert ("rows scored" in cells[-1]) == (int(cells[2]) < 30), ln
    few = [ln for ln in lines[1:] if int(ln.split(" | ")[2]) < 30]
    assert few and all("sent no email" in ln for ln in few if "agentic_email" in ln), few
    assert not (sweep / "report").exists()
