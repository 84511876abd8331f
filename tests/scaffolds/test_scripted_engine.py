"""The scripted engine: deterministic replies and a record of every call."""

from __future__ import annotations

import pytest

from charprobe.engine.scripted import ScriptedEngine, ScriptExhausted
from charprobe.engine.types import GenerationParams, Request

PARAMS = GenerationParams()


def req(key: str, text: str = "hello there") -> Request:
    return Request(key, [{"role": "user", "content": text}], adapter="poeticism")


def test_one_list_for_every_key():
    engine = ScriptedEngine(["a", "b c"])
    first = engine.generate([req("k1"), req("k2")], PARAMS)
    assert [c.text for c in first] == ["a", "a"]
    assert [c.key for c in first] == ["k1", "k2"]
    assert [c.text for c in engine.generate([req("k1")], PARAMS)] == ["b c"]
    assert engine.calls[1].keys == ["k1"] and engine.turns == {"k1": 2, "k2": 1}
    with pytest.raises(ScriptExhausted):
        engine.generate([req("k1")], PARAMS)


def test_per_key_scripts_and_default():
    engine = ScriptedEngine({"k1": ["x"]}, default="fallback")
    assert [c.text for c in engine.generate([req("k1"), req("other")], PARAMS)] == ["x", "fallback"]
    with pytest.raises(ScriptExhausted, match="no script"):
        ScriptedEngine({"k1": ["x"]}).generate([req("k2")], PARAMS)


def test_function_sees_request_and_turn():
    engine = ScriptedEngine(lambda r, turn: f"{r.key}:{turn}:{r.adapter}")
    engine.generate([req("a")], PARAMS)
    assert engine.generate([req("a")], PARAMS)[0].text == "a:1:poeticism"


def test_tokens_finish_reason_and_recorded_params():
    engine = ScriptedEngine(["one two three four"], max_words=2)
    (c,) = engine.generate([req("k", "five words are in here")], GenerationParams(temperature=0.0))
    assert (c.text, c.prompt_tokens, c.completion_tokens, c.finish_reason) == (
        "one two",
        5,
        2,
        "length",
    )
    assert engine.calls[0].params.temperature == 0.0
