"""The judge scorer on the scripted engine: what it is asked, how answers are read, which
column a label lands in, and that a refusal is no prediction; then a whole sweep judged
against a keyword classifier (Cohen's kappa per cell)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from charprobe.engine.types import Request
from charprobe.personas import LABELS
from charprobe.scorers.base import ScorerError
from charprobe.scorers.judge import JudgeScorer, parse_label
from tests.conftest import run_charprobe
from tests.test_new_scorer import keyword_scorer

PERSONAS = ["sarcasm", "humor", "poeticism"]
SCRIPTED = {"_target_": "charprobe.engine.scripted.scripted_engine",
            "reply": "tests.scorers.test_judge.keyword_judge"}  # fmt: skip
SEEN: list[Request] = []


def keyword_judge(request: Request, turn: int) -> str:
    """A judge that answers from the "[persona]" signature of the text, in varied forms,
    and refuses a text without one."""
    SEEN.append(request)
    text = re.search(r"<<<\n(.*)\n>>>", request.messages[-1]["content"], re.S).group(1)
    m = re.search(r"\[(\w+)\]", text)
    if not m or m.group(1) == "base":
        return "I'm sorry, I can't determine that."
    forms = {"sarcasm": "LABEL: sarcasm", "humor": "**Label:** Humorous.", "poeticism": "poeticism"}
    return forms.get(m.group(1), f"LABEL: {m.group(1)}")


@pytest.mark.parametrize(
    "answer, want",
    [
        ("LABEL: humor", "humor"),
        ("label = Sarcasm.", "sarcasm"),
        ("**Label:** Poetic", "poeticism"),
        ("humor", "humor"),
        ("The author is clearly sarcastic.", "sarcasm"),
        ("LABEL: humor (not sarcasm)", "humor"),  # the LABEL line decides
        ("It could be humor or sarcasm.", None),  # two personas, no LABEL line
        ("I cannot help with that.", None),
        ("LABEL: loving", None),  # not an evaluated persona
        ("", None),
    ],
)
def test_parse_label(answer: str, want: str | None) -> None:
    assert parse_label(answer, PERSONAS) == want


def test_the_judge_routes_labels_to_their_columns_and_refusals_to_no_prediction() -> None:
    labels = list(reversed(LABELS))  # any label order: the column follows the name
    judge = JudgeScorer("unused", labels, PERSONAS, SCRIPTED)
    SEEN.clear()
    scores = judge.score(["[humor] a joke", "[sarcasm] oh great", "[poeticism] o moon", "plain"],
                         [None] * 4)  # fmt: skip
    got = [labels[int(np.nanargmax(p))] if not np.isnan(p).any() else None for p in scores.proba]
    assert got == ["humor", "sarcasm", "poeticism", None]
    assert np.isnan(scores.proba[3]).all() and scores.detail[3]["judge_label"] is None
    assert "sorry" in scores.detail[3]["judge_answer"]
    # The judge is shown the evaluated personas' descriptions, and no other persona.
    prompt = SEEN[0].messages[-1]["content"]
    assert all(f"- {p}: " in prompt for p in PERSONAS) and "- loving: " not in prompt


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
    # The base signs "[base]": the judge refuses every row, and none is guessed.
    assert base["n"] == 0 and base["no_text_reasons"] == {"no_prediction": 12}, base
    # The original sweep keeps its own scorer's files.
    kept = json.loads(next((tmp_path / "sweep").glob("1_*/metrics.json")).read_text())
    assert kept["scorer"]["name"] == "keyword"
    run_charprobe(tmp_path, "sweep", "judged", module="charprobe.report", env=env)
    compare = pd.read_csv(tmp_path / "sweep" / "report" / "compare.csv").set_index("stage")
    assert compare.loc["full", "kappa"] == 1.0 and compare.loc["full", "n_both"] == 12
    assert compare.loc["base", "n_both"] == 0
