"""The judge scorer on the scripted engine: what it is asked, which column a label lands
in, that "none" and a refusal are no prediction told apart in `detail`; then a whole sweep
judged against a keyword classifier (Cohen's kappa per cell, the judge's pick positions).
Strict parsing and the shuffled option order: test_judge_strict.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from charprobe.engine.types import Request
from charprobe.personas import LABELS
from charprobe.report.agreement import position_table
from charprobe.scorers.base import ScorerError
from charprobe.scorers.judge import JudgeScorer
from tests.conftest import run_charprobe
from tests.test_new_scorer import keyword_scorer

PERSONAS = ["sarcasm", "humor", "poeticism"]
SCRIPTED = {"_target_": "charprobe.engine.scripted.scripted_engine",
            "reply": "tests.scorers.test_judge.keyword_judge"}  # fmt: skip
SEEN: list[Request] = []


def keyword_judge(request: Request, turn: int) -> str:
    """A judge that answers from the "[persona]" signature of the text, in forms strict
    parsing accepts; "none" for the base's "[base]", and refuses a text without one."""
    SEEN.append(request)
    text = re.search(r"<<<\n(.*)\n>>>", request.messages[-1]["content"], re.S).group(1)
    m = re.search(r"\[(\w+)\]", text)
    if not m:
        return "I'm sorry, I can't determine that."
    forms = {"base": "LABEL: none", "humor": "**Label:** Humor.",
             "poeticism": "Imagery throughout.\nLABEL: poeticism"}  # fmt: skip
    return forms.get(m.group(1), f"LABEL: {m.group(1)}")


def test_the_judge_routes_labels_to_their_columns_and_none_or_refusals_to_no_prediction() -> None:
    labels = list(reversed(LABELS))  # any label order: the column follows the name
    judge = JudgeScorer("unused", labels, PERSONAS, SCRIPTED)
    SEEN.clear()
    texts = ["[humor] a joke", "[sarcasm] oh great", "[poeticism] o moon", "plain", "[base] hi"]
    scores = judge.score(texts)
    got = [labels[int(np.nanargmax(p))] if not np.isnan(p).any() else None for p in scores.proba]
    assert got == ["humor", "sarcasm", "poeticism", None, None]
    assert [d["verdict"] for d in scores.detail] == [*["persona"] * 3, "unreadable", "none"]
    assert np.isnan(scores.proba[3:]).all()
    # A refusal keeps its answer and has no position; "none" is a decision at its place.
    refusal, none = scores.detail[3], scores.detail[4]
    assert "sorry" in refusal["answer"] and refusal["choice"] is None
    assert refusal["position"] is None
    assert none["choice"] == "none" and none["order"][none["position"] - 1] == "none"
    poem = scores.detail[2]
    assert poem["answer"] == "Imagery throughout.\nLABEL: poeticism"
    assert poem["order"][poem["position"] - 1] == "poeticism"
    # The judge is shown the evaluated personas' descriptions numbered in the logged
    # order, "none" among them, and no other persona.
    prompt = SEEN[0].messages[-1]["content"]
    shown = re.findall(r"^(\d+)\. (\w+): ", prompt, re.M)
    assert shown == [(str(i), p) for i, p in enumerate(scores.detail[0]["order"], 1)]
    assert sorted(p for _, p in shown) == sorted([*PERSONAS, "none"])
    assert "loving" not in prompt


def test_a_persona_without_description_is_one_line(tmp_path: Path) -> None:
    file = tmp_path / "d.yaml"
    file.write_text("sarcasm: dry\n")
    with pytest.raises(ScorerError, match=r"no description of \['humor', 'poeticism'\]"):
        JudgeScorer("unused", LABELS, PERSONAS, SCRIPTED, descriptions=str(file))


def test_a_judged_copy_of_a_sweep_agrees_with_its_classifier(tmp_path: Path) -> None:
    overrides, env = keyword_scorer(tmp_path, PERSONAS)
    run_charprobe(tmp_path, "-m", *overrides, "engine=scripted", "model=llama",
                  "stage=base,full", "scaffold=chat", "logger=none", "scaffold.items=4",
                  "hydra.sweep.dir=sweep", env=env)  # fmt: skip
    run_charprobe(tmp_path, "sweep", "--into", "judged", "scorer=judge", "scorer.path=unused",
                  "engine.reply=tests.scorers.test_judge.keyword_judge",
                  module="charprobe.rescore", env=env)  # fmt: skip
    assert not (tmp_path / "judged" / "report" / "compare.csv").exists()
    judged = {p.parent.name: json.loads(p.read_text())
              for p in (tmp_path / "judged").glob("*/metrics.json")}  # fmt: skip
    full, base = judged["1_llama-full-chat"], judged["0_llama-base-chat"]
    assert full["scorer"]["name"] == "judge" and full["macro_f1"] == 1.0
    # The base signs "[base]": the judge answers "none" for every row, and none is guessed.
    no_prediction = base.get("n_no_prediction", base["no_text_reasons"].get("no_prediction"))
    assert base["n"] == 0 and no_prediction == 12, base
    rows = [json.loads(line) for p in sorted((tmp_path / "judged").glob("*/predictions.jsonl"))
            for line in p.read_text().splitlines()]  # fmt: skip
    for row in rows:
        d = row["detail"]
        assert sorted(d["order"]) == sorted([*PERSONAS, "none"])
        want = "none" if row["stage"] == "base" else row["persona"]
        assert d["choice"] == want and d["order"][d["position"] - 1] == want, row
        assert d["verdict"] == ("none" if want == "none" else "persona")
        assert row["pred"] == (None if want == "none" else want)
        assert (row["status"] == "no_prediction") == (want == "none")
    # Every row is a pick; positions 1..4 shown to all 12 rows of each cell, expected 1/4.
    table = position_table(rows)
    assert len(table) == 8 and (table["n_rows"] == 12).all() and (table["n_picks"] == 12).all()
    assert np.allclose(table["expected_rate"], 0.25)
    assert np.allclose(table.groupby("stage")["pick_rate"].sum(), 1.0)
    # The original sweep keeps its own scorer's files.
    kept = json.loads(next((tmp_path / "sweep").glob("1_*/metrics.json")).read_text())
    assert kept["scorer"]["name"] == "keyword"
    run_charprobe(tmp_path, "sweep", "judged", module="charprobe.report", env=env)
    compare = pd.read_csv(tmp_path / "sweep" / "report" / "compare.csv").set_index("stage")
    assert compare.loc["full", "kappa"] == 1.0 and compare.loc["full", "n_both"] == 12
    assert compare.loc["base", "n_both"] == 0
