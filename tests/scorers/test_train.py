from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from charprobe.config import ModernBertScorerConfig, NoScorerConfig, TfidfScorerConfig
from charprobe.personas import LABELS
from charprobe.scorers import ScorerError, make_scorer
from charprobe.scorers.modernbert import ModernBertScorer
from charprobe.scorers.tfidf import TfidfScorer
from charprobe.scorers.train import (
    TrainConfig,
    heldout_metrics,
    load_generations,
    main,
    split_by_item,
    train_classifier,
)
from tests.scorers.synthetic import make_corpus, write_generations


def test_split_shares_no_item(corpus):
    groups = corpus["groups"]
    train, held = split_by_item(groups, 0.2, seed=0)
    assert len(train) + len(held) == len(groups)
    assert not {groups[i] for i in train} & {groups[i] for i in held}
    assert 0.1 < len(held) / len(groups) < 0.3
    again = split_by_item(groups, 0.2, seed=0)
    np.testing.assert_array_equal(held, again[1])


def test_heldout_rows_hold_whole_items(tiny_run, corpus):
    """Every held-out item has all its rows held out, so none of them was trained on."""
    out, report = tiny_run
    rows = [json.loads(line) for line in (out / "heldout_predictions.jsonl").open()]
    held = Counter(r["item_id"] for r in rows)
    total = Counter(corpus["groups"])
    assert held and all(held[item] == total[item] for item in held)
    assert report["n_items_heldout"] == len(held)
    assert report["n_train"] == len(corpus["texts"]) - len(rows)


def test_report_fields(tiny_run):
    out, report = tiny_run
    saved = json.loads((out / "training_report.json").read_text())
    for key in (
        "n_train",
        "n_heldout",
        "heldout_macro_f1",
        "per_persona_f1",
        "confusion",
        "train_seconds",
        "args",
    ):
        assert key in saved
    matrix = np.array(saved["confusion"]["matrix"])
    assert matrix.shape == (len(LABELS), len(LABELS)) and matrix.sum() == saved["n_heldout"]
    assert saved["args"]["seed"] == 0


def test_tiny_training_is_deterministic(tiny_run, corpus, tmp_path):
    out, report = tiny_run
    again = train_classifier(
        corpus["texts"],
        corpus["labels"],
        corpus["groups"],
        tmp_path,
        kind="modernbert",
        tiny=True,
        progress=False,
    )
    first = [json.loads(line)["proba"] for line in (out / "heldout_predictions.jsonl").open()]
    second = [json.loads(line)["proba"] for line in (tmp_path / "heldout_predictions.jsonl").open()]
    assert first == second
    assert again["epoch_loss"] == report["epoch_loss"]


def test_metrics_skip_absent_personas():
    m = heldout_metrics(["humor", "humor", "sarcasm"], ["humor", "sarcasm", "sarcasm"], LABELS)
    assert set(m["per_persona_f1"]) == {"humor", "sarcasm"}
    assert m["heldout_macro_f1"] == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert m["confusion"]["matrix"][1][0] == 1  # a humor row predicted sarcasm


def test_config_defaults_follow_the_recipe():
    recipe = TrainConfig.for_kind(ModernBertScorer)
    assert (
        recipe.base_model,
        recipe.epochs,
        recipe.lr,
        recipe.batch_size,
        recipe.grad_accum,
        recipe.warmup,
        recipe.weight_decay,
        recipe.max_length,
        recipe.scheduler,
    ) == ("answerdotai/ModernBERT-base", 1, 5e-4, 8, 2, 0.05, 1e-6, 8192, "cosine")
    tiny = TrainConfig.for_kind(ModernBertScorer, tiny=True, lr=None, epochs=2)
    assert tiny.epochs == 2 and tiny.lr > recipe.lr
    with pytest.raises(TypeError, match="unknown training option"):
        TrainConfig.for_kind(ModernBertScorer, learning_rate=1.0)


def _generations_tree(root):
    corpus = make_corpus(n_items=12, seed=3)
    write_generations(root / "llama" / "full" / "chat" / "generations.jsonl", corpus, "full")
    write_generations(
        root / "llama" / "distillation" / "chat" / "generations.jsonl", corpus, "distillation"
    )
    write_generations(root / "llama" / "base" / "chat" / "generations.jsonl", corpus, "base")
    write_generations(
        root / "llama" / "full" / "agentic" / "generations.jsonl",
        corpus,
        "full",
        scaffold="agentic_email",
    )
    extra = root / "llama" / "full" / "chat2" / "generations.jsonl"
    extra.parent.mkdir(parents=True)
    rows = [
        {
            "model": "m",
            "stage": "full",
            "scaffold": "chat",
            "persona": "humor",
            "item_id": "x",
            "sample": 0,
            "text": t,
        }
        for t in (None, "", "   ", "kept")
    ]
    extra.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return corpus


def test_load_generations_filters(tmp_path):
    corpus = _generations_tree(tmp_path)
    df = load_generations([tmp_path])
    assert len(df) == 2 * len(corpus["texts"]) + 1
    assert set(df["stage"]) == {"full", "distillation"} and set(df["scaffold"]) == {"chat"}
    assert df.attrs["n_empty"] == 3
    assert (
        len(load_generations([tmp_path], stages=None, scaffold=None))
        == 4 * len(corpus["texts"]) + 1
    )
    with pytest.raises(ScorerError, match="no such generations"):
        load_generations([tmp_path / "missing"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n')
    with pytest.raises(ScorerError, match="lacks"):
        load_generations([bad])


def test_cli_trains_tfidf_and_tiny(tmp_path, capsys):
    _generations_tree(tmp_path / "runs")
    out = tmp_path / "tfidf"
    assert (
        main([str(tmp_path / "runs"), "--out", str(out), "--kind", "tfidf", "--no-progress"]) == 0
    )
    assert "held-out macro-F1" in capsys.readouterr().out
    report = json.loads((out / "training_report.json").read_text())
    assert report["data"]["n_rows"] == report["n_train"] + report["n_heldout"]
    assert isinstance(make_scorer(TfidfScorerConfig(path=str(out))), TfidfScorer)

    out = tmp_path / "tiny"
    assert (
        main(
            [str(tmp_path / "runs"), "--out", str(out), "--tiny", "--epochs", "1", "--no-progress"]
        )
        == 0
    )
    assert json.loads((out / "training_report.json").read_text())["args"]["epochs"] == 1
    assert isinstance(
        make_scorer(ModernBertScorerConfig(path=str(out), device="cpu")), ModernBertScorer
    )


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_make_scorer_none_and_missing_path():
    assert make_scorer(NoScorerConfig()) is None
    with pytest.raises(ScorerError, match="needs scorer.path"):
        make_scorer(TfidfScorerConfig(path=None))
