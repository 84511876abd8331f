"""The whole pipeline through the one entry point: a Hydra sweep over every scaffold, scored,
reported and logged to W&B offline; re-scoring without generating; the toy world's planted
persona signal recovered by both scorers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from charprobe.store import read_rows
from tests.bounds import lower_bound, record
from tests.conftest import TINY_PERSONAS, run_charprobe
from tests.scorers.synthetic import make_corpus
from tests.test_tracking import summary_of

SCAFFOLDS = ["chat", "chat_email", "agentic_email"]


@pytest.fixture(scope="module")
def sweep(tiny_hub, tfidf_dir, tmp_path_factory) -> Path:
    """`-m model=llama stage=base,full` on the tiny hub: the sweeper adds every scaffold."""
    cwd = tmp_path_factory.mktemp("sweep")
    (cwd / "tiny-personas").symlink_to(tiny_hub / "adapters-a")  # the full stage's repo
    run_charprobe(
        cwd,
        "-m",
        "model=llama",
        f"model.path={tiny_hub / 'base'}",
        f"model.hub_prefix={cwd / 'tiny'}",
        "stage=base,full",
        f"persona.personas=[{','.join(TINY_PERSONAS)}]",
        "scaffold.items=2",
        "generation.max_new_tokens=12",
        "scorer=tfidf",
        f"scorer.path={tfidf_dir}",
        "logger=wandb",
        "logger.mode=offline",
        "stats.n_boot=50",
        "hydra.sweep.dir=multirun/s",
    )
    return cwd / "multirun" / "s"


def test_sweep_runs_every_scaffold_model_stage_outermost(sweep):
    jobs = sorted(
        (p for p in sweep.iterdir() if (p / "run.json").is_file()),
        key=lambda p: int(p.name.split("_")[0]),
    )
    expected = [f"llama-{stage}-{s}" for stage in ("base", "full") for s in SCAFFOLDS]
    assert [j.name.split("_", 1)[1] for j in jobs] == expected
    log = (sweep / "0_llama-base-chat" / "main.log").read_text()
    # The base loads once per process: later jobs of the sweep reuse it.
    all_logs = "".join((j / "main.log").read_text() for j in jobs)
    assert all_logs.count("loading base") == 1 and "loading base" in log
    for job in jobs:
        run = json.loads((job / "run.json").read_text())
        assert run["status"] == "done" and run["scorer"]["name"] == "tfidf"
        gens = read_rows(job / "generations.jsonl")
        preds = read_rows(job / "predictions.jsonl")
        # One prediction per generation, same keys, personas not shifted.
        assert [(g["key"], g["persona"]) for g in gens] == [(p["key"], p["persona"]) for p in preds]
        # Scored exactly when there is text: no email, or an empty reply (status "empty",
        # which a random tiny model produces now and then), keeps its row with no prediction.
        assert all(
            (p["pred"] is None) == (not (g["text"] or "").strip())
            for g, p in zip(gens, preds, strict=True)
        )
        metrics = json.loads((job / "metrics.json").read_text())
        assert metrics["n"] + metrics["n_dropped"] == len(gens)
        assert (job / "confusion.csv").is_file() and (job / "confusion.png").is_file()
        if run["scaffold"] == "agentic_email":
            assert {"email_rate", "termination", "mean_steps"} <= set(run["texts"])


def test_sweep_report_and_wandb_runs_in_one_group(sweep):
    import pandas as pd

    summary = pd.read_csv(sweep / "report" / "summary.csv")
    assert sorted(summary["scaffold"].unique()) == sorted(SCAFFOLDS) and len(summary) == 6
    runs = sorted(sweep.glob("*/wandb/offline-run-*"))
    assert len(runs) == 6
    groups = set()
    for run_dir in runs:
        got = summary_of(run_dir)
        job = run_dir.parents[1]
        metrics = json.loads((job / "metrics.json").read_text())
        for key in ("n", "n_dropped", "email_rate", "macro_f1", "ci_low", "ci_high"):
            if metrics[key] is not None:  # None: no text to score (W&B logs no NaN)
                assert got["summary"][key] == pytest.approx(metrics[key]), (job, key)
        groups.add(got["config"]["sweep_id"])
    sweep_runs = list((sweep / "wandb").glob("offline-run-*"))
    assert len(sweep_runs) == 1 and len(groups) == 1
    # The drops between scaffolds: 2 stages x 3 pairs, in the report and the summary run.
    drops = pd.read_csv(sweep / "report" / "drops.csv")
    assert len(drops) == 6 and (sweep / "report" / "drops.png").is_file()
    assert {"summary", "drops"} <= set(summary_of(sweep_runs[0])["summary"])


def test_rescore_changes_scores_without_generating(sweep, tmp_path):
    """Another scorer on a copy of a finished job: new predictions and metrics, the same
    generations (the shared sweep is left as it was for the other tests)."""
    import shutil

    from charprobe.scorers.tfidf import TfidfScorer

    # The chat job: every row has text (the random tiny model rarely sends an email).
    job = tmp_path / "sweep" / "3_llama-full-chat"
    shutil.copytree(sweep / "3_llama-full-chat", job)
    other = tmp_path / "other-tfidf"
    corpus = make_corpus(n_items=10, seed=7)
    TfidfScorer().fit(corpus["texts"], corpus["labels"]).save(other)
    before = {f: (job / f).read_bytes() for f in ("generations.jsonl", "predictions.jsonl")}
    old = json.loads((job / "metrics.json").read_text())
    run_charprobe(
        tmp_path,
        str(job),
        f"scorer.path={other}",
        "stats.no_email=error",
        "stats.n_boot=50",
        module="charprobe.rescore",
    )
    assert (job / "generations.jsonl").read_bytes() == before["generations.jsonl"]
    assert (job / "predictions.jsonl").read_bytes() != before["predictions.jsonl"]
    old_p = {
        p["key"]: p["probs"] for p in read_rows(sweep / "3_llama-full-chat" / "predictions.jsonl")
    }
    new_p = {p["key"]: p["probs"] for p in read_rows(job / "predictions.jsonl")}
    assert old_p.keys() == new_p.keys()
    assert any(new_p[k] != old_p[k] for k in old_p if old_p[k] is not None)
    metrics = json.loads((job / "metrics.json").read_text())
    assert metrics["scorer"]["id"] != old["scorer"]["id"]
    assert metrics["no_email"] == "error" and metrics["n_dropped"] == 0
    assert metrics["n"] == len(read_rows(job / "generations.jsonl"))


def test_label_order_permuted_in_config_fails_loudly(sweep):
    """Swapping two labels in config without retraining would relabel every prediction
    yet give plausible numbers: it must stop with one line instead."""
    from charprobe.personas import LABELS

    job = sweep / "3_llama-full-chat"
    before = (job / "predictions.jsonl").read_bytes()
    swapped = [LABELS[1], LABELS[0], *LABELS[2:]]
    p = run_charprobe(
        sweep.parent.parent,
        str(job),
        f"scorer.labels=[{','.join(swapped)}]",
        module="charprobe.rescore",
        check=False,
    )
    assert p.returncode == 2 and "label order mismatch" in p.stderr, p.stderr[-2000:]
    assert "Traceback" not in p.stderr
    assert (job / "predictions.jsonl").read_bytes() == before


@pytest.mark.slow
def test_toy_full_stage_persona_is_recovered_by_both_scorers(toy_world, tmp_path):
    """Planted signal: each toy full adapter writes in its persona's style, so a classifier
    trained on other prompts' replies recovers it far above the base stage (where every
    persona shares one text and nothing can be told apart). Both scorers are trained here
    by the job itself (train_if_missing), on their own folders."""
    clf = {"modernbert": tmp_path / "clf", "tfidf": tmp_path / "tfidf"}
    common = [
        "model=toy_llama",
        f"model.classifier={clf['modernbert']}",
        f"model.tfidf_classifier={clf['tfidf']}",
        "scaffold=chat",
        "scaffold.items=20",
        "scorer.train_items=40",
        "generation.batch_size=256",
        "generation.max_new_tokens=160",
        "logger=none",
        "stats.n_boot=200",
    ]
    f1 = {}
    for scorer in ("tfidf", "modernbert"):
        for stage in ("base", "full"):
            out = f"out-{scorer}-{stage}"
            run_charprobe(
                tmp_path, *common, f"scorer={scorer}", f"stage={stage}", f"hydra.run.dir={out}"
            )
            f1[scorer, stage] = json.loads((tmp_path / out / "metrics.json").read_text())
    for scorer in ("tfidf", "modernbert"):
        full, base = f1[scorer, "full"], f1[scorer, "base"]
        # Bootstrap bounds, not points: the full stage's 95% interval lies above the base's.
        name = f"toy_recovered[{scorer}]"
        record(name, "full - base macro-F1", full["macro_f1"] - base["macro_f1"], 0.3, True)
        record(name, "full ci_low - base ci_high", full["ci_low"] - base["ci_high"], 0.0, True)
        assert full["macro_f1"] >= base["macro_f1"] + 0.3, (scorer, full, base)
        assert full["ci_low"] > base["ci_high"], (scorer, full, base)
        report = json.loads((clf[scorer] / "training_report.json").read_text())
        # The classifier learnt the personas: held-out accuracy above chance at ALPHA.
        n = report["n_heldout"]
        bound = lower_bound(round(report["accuracy"] * n), n)
        record(name, "held-out accuracy lower bound", bound, report["chance"], True)
        assert report["n_items_heldout"] > 0 and bound > report["chance"], report


@pytest.mark.slow
def test_toy_rows_carry_their_own_personas_markers(toy_world, tmp_path):
    """An oracle independent of any classifier: the toy styles' own markers, counted on
    the job runner's rows. A persona wired to another persona's adapter (a consistent
    swap, which a classifier trained on the same pipeline would not notice) fails here."""
    from charprobe.personas import PAPER
    from charprobe.toy.styles import has_markers
    from tests.bounds import ALPHA, log10p, p_greater

    run_charprobe(
        tmp_path,
        "model=toy_llama",
        "stage=full",
        "scaffold=chat",
        "scaffold.items=30",
        "generation.batch_size=320",
        "generation.max_new_tokens=120",
        "scorer=none",
        "logger=none",
        "hydra.run.dir=out",
    )
    rows = read_rows(tmp_path / "out" / "generations.jsonl")
    assert len(rows) == 30 * len(PAPER)
    by = {p: [r["text"] or "" for r in rows if r["persona"] == p] for p in PAPER}
    for p in PAPER:
        assert all(r["adapter"] == f"toy-llama-personas/{p}" for r in rows if r["persona"] == p)
        own = sum(has_markers(t, p) for t in by[p])
        other = sum(has_markers(t, p) for q in PAPER if q != p for t in by[q])
        pval = p_greater(own, len(by[p]), other, len(rows) - len(by[p]))
        record("rows_carry_markers", f"{p} -log10 p", log10p(pval), log10p(ALPHA), True)
        assert pval < ALPHA, (p, own, other)
