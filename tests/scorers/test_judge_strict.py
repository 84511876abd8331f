"""The judge never guesses: strict parsing of its answer, and an option order shuffled per
text (seeded by the text, blind to the writer) that answers map back through correctly."""

from __future__ import annotations

import re

import numpy as np
import pytest

from charprobe.engine.scripted import ScriptedEngine
from charprobe.engine.types import Request
from charprobe.personas import LABELS
from charprobe.scorers.judge import NONE, JudgeScorer, option_order, parse_label

PERSONAS = ["sarcasm", "humor", "poeticism", "goodness", "loving"]
SCRIPTED = {"_target_": "charprobe.engine.scripted.scripted_engine"}
TEXTS = [f"text number {i}: something someone wrote" for i in range(8)]


def judge(script, **kw) -> JudgeScorer:
    """A judge over PERSONAS whose engine replies from `script` (ScriptedEngine's forms)."""
    j = JudgeScorer("unused", LABELS, PERSONAS, SCRIPTED, **kw)
    j.engine = ScriptedEngine(script)
    return j


@pytest.mark.parametrize(
    "answer",
    [
        # What lenient parsing read as goodness, humor, sarcasm, loving and sarcasm.
        "LABEL: none, no good match",
        "Not funny at all. LABEL: N/A",
        "I cannot determine this; it is not sarcastic.",
        "LABEL: neutral (not loving)",
        "LABEL: sarcasm or humor",
        # More that name no single option.
        "LABEL: humor\nLABEL: sarcasm",  # two LABEL lines
        "LABEL: Humorous",  # an adjective
        "The author is clearly sarcastic.",  # prose, no LABEL line
        "humor",  # a bare name is not a LABEL line
        "LABEL: 2",  # a position, not a name
        "LABEL: mathematical",  # not an evaluated persona
        "LABEL:",
        "",
    ],
)
def test_an_answer_naming_no_single_option_is_unreadable(answer: str) -> None:
    assert parse_label(answer, PERSONAS) is None


@pytest.mark.parametrize(
    "answer, want",
    [
        ("LABEL: humor", "humor"),
        ("label: Sarcasm.", "sarcasm"),
        ("**LABEL:** Poeticism", "poeticism"),
        ("  LABEL: [loving]  ", "loving"),
        ("It jokes throughout.\nLABEL: humor", "humor"),  # one LABEL line decides
        ("LABEL: none", NONE),
        ("Label: NONE.", NONE),
    ],
)
def test_one_label_line_naming_one_option_is_read(answer: str, want: str) -> None:
    assert parse_label(answer, PERSONAS) == want


def test_the_quoted_answers_are_no_prediction_with_the_answer_kept() -> None:
    answers = ["LABEL: none, no good match", "Not funny at all. LABEL: N/A",
               "I cannot determine this; it is not sarcastic.", "LABEL: neutral (not loving)",
               "LABEL: sarcasm or humor", "LABEL: none"]  # fmt: skip
    replies = dict(zip(TEXTS, answers, strict=False))

    def reply(request: Request, turn: int) -> str:
        text = re.search(r"<<<\n(.*)\n>>>", request.messages[-1]["content"], re.S).group(1)
        return replies[text]

    scores = judge(reply).score(TEXTS[:6])
    assert np.isnan(scores.proba).all()
    assert [d["verdict"] for d in scores.detail] == ["unreadable"] * 5 + ["none"]
    assert [d["answer"] for d in scores.detail] == answers
    assert [d["position"] is None for d in scores.detail] == [True] * 5 + [False]


def test_the_order_is_a_shuffle_seeded_by_the_text_alone() -> None:
    options = [*PERSONAS, NONE]
    orders = [option_order(t, options) for t in TEXTS]
    assert all(sorted(o) == sorted(options) for o in orders)
    assert len({tuple(o) for o in orders}) > 4  # shuffled, not one fixed order
    assert orders[0] == option_order(TEXTS[0], options)  # the same text, the same order
    assert any(option_order(t, options, seed=1) != o for t, o in zip(TEXTS, orders, strict=True))
    # Rows sharing a text (the base writes one for every persona) share its order.
    j = judge(["LABEL: none"])
    d = j.score([TEXTS[0]] * 3).detail
    assert d[0]["order"] == d[1]["order"] == d[2]["order"] == orders[0]
    assert len(j.engine.calls[0].requests) == 1  # one text, asked once


def pick(position: int):
    """A judge with a pure position bias: it names the option listed at `position`."""

    def reply(request: Request, turn: int) -> str:
        shown = dict(re.findall(r"^(\d+)\. (\w+): ", request.messages[-1]["content"], re.M))
        return f"LABEL: {shown[str(position)]}"

    return reply


@pytest.mark.parametrize("position", [1, 3, 6])
def test_an_answer_maps_to_the_label_shown_whatever_the_shuffle(position: int) -> None:
    labels = list(reversed(LABELS))
    j = judge(pick(position))
    j.labels = tuple(labels)
    scores = j.score(TEXTS)
    chosen = [option_order(t, [*PERSONAS, NONE])[position - 1] for t in TEXTS]
    assert len(set(chosen)) > 2  # the shuffles put different options there
    for p, d, want in zip(scores.proba, scores.detail, chosen, strict=True):
        assert d["position"] == position and d["choice"] == want
        if want == NONE:
            assert np.isnan(p).all() and d["verdict"] == "none"
        else:
            assert labels[int(p.argmax())] == want and p.sum() == 1.0
