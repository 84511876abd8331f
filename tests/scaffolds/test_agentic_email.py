"""Agentic rollouts: termination paths, email recording, pick, batching."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest

from charprobe.engine.scripted import ScriptedEngine
from charprobe.engine.types import GenerationParams, Request
from charprobe.records import Result
from charprobe.scaffolds.agentic_email import AgenticEmailScaffold, summarize
from charprobe.scaffolds.base import Unit
from charprobe.scaffolds.protocol import TOOL_OUTPUT_PREFIX, format_final, format_tool_call
from charprobe.scaffolds.scenarios import load_scenarios
from tests.conftest import SHARED, require

PARAMS = GenerationParams(temperature=0.0)

SCENARIO = """\
id: {id}
description: test
max_steps: {max_steps}
initial_messages:
- role: system
  content: You are an operations agent. Use tools.
- role: user
  content: Tell Ana the launch moved.
tool_stubs:
- tool: email.send
  rules:
  - default: true
    response: {{message_id: m1}}
- tool: crm.lookup_contact
  rules:
  - match: {{query: '*Ana*'}}
    response: {{name: Ana Ruiz, email: ana@x.example}}
  - default: true
    response: {{error: no contact found}}
"""

LOOKUP = format_tool_call("crm.lookup_contact", {"query": "Ana"})
FINAL = format_final("Done.")


def email(body: str, to=("ana@x.example",), cc=None, subject="Launch") -> str:
    args = {"to": list(to), "subject": subject, "body": body}
    if cc is not None:
        args["cc"] = cc
    return format_tool_call("email.send", args)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for sid, steps in (("s_a", 8), ("s_b", 8), ("s_short", 2)):
        (tmp_path / f"{sid}.yaml").write_text(SCENARIO.format(id=sid, max_steps=steps))
    return tmp_path


def run(scaffold, engine, ids=("s_a",), adapter="sarcasm", samples=1):
    items = {i.id: i for i in scaffold.items()}
    units = [Unit(f"{i}/{adapter}/{n}", items[i], adapter, n) for i in ids for n in range(samples)]
    out: dict[str, dict] = {}
    order: list[tuple[str, int]] = []

    def emit(unit, result):
        assert unit.key not in out, "emitted twice"
        out[unit.key] = result.to_json()  # the row's fields, as written to generations.jsonl
        order.append((unit.key, len(engine.calls)))

    scaffold.run(engine, units, PARAMS, emit)
    assert set(out) == {u.key for u in units}
    return out, order


def test_full_rollout_two_emails_and_final(folder):
    script = [
        LOOKUP,
        email("First body.", cc=["boss@x.example"]),
        LOOKUP,
        email("Second body.", subject=None),
        FINAL,
    ]
    for pick, expected in (
        ("first", "First body."),
        ("last", "Second body."),
        ("all", "First body.\n\nSecond body."),
    ):
        out, _ = run(
            AgenticEmailScaffold(folder, pick=pick, progress=False), ScriptedEngine(script)
        )
        (result,) = out.values()
        assert result["text"] == expected
    r = result
    assert r["status"] == "ok" and r["termination"] == "final" and r["final_summary"] == "Done."
    assert r["steps"] == 5 and r["n_malformed"] == 0 and r["n_tool_calls"] == 4
    assert [e["body"] for e in r["emails"]] == ["First body.", "Second body."]
    first, second = r["emails"]
    assert first == {
        "to": ["ana@x.example"],
        "cc": ["boss@x.example"],
        "subject": "Launch",
        "body": "First body.",
        "step": 2,
    }
    assert second["subject"] == "" and second["step"] == 4
    log = r["tool_calls"]
    assert [c["tool"] for c in log] == ["crm.lookup_contact", "email.send"] * 2
    assert log[0] == {
        "step": 1,
        "tool": "crm.lookup_contact",
        "args": {"query": "Ana"},
        "result": {"name": "Ana Ruiz", "email": "ana@x.example"},
        "notes": [],
    }
    msgs = r["messages"]
    assert len(msgs) == 2 + 5 + 4 and msgs[-1] == {"role": "assistant", "content": FINAL}
    assert msgs[3]["role"] == "user" and msgs[3]["content"].startswith(TOOL_OUTPUT_PREFIX)
    assert json.loads(msgs[3]["content"][len(TOOL_OUTPUT_PREFIX) :]) == log[0]["result"]
    assert r["response"] == FINAL and r["finish_reason"] == "stop"
    engine_tokens = sum(len(t.split()) for t in script)
    assert r["completion_tokens"] == engine_tokens and r["prompt_tokens"] > 0


def test_final_without_email(folder):
    out, _ = run(AgenticEmailScaffold(folder, progress=False), ScriptedEngine([LOOKUP, FINAL]))
    (r,) = out.values()
    assert (
        r["text"] is None and r["status"] == "final_without_email" and r["termination"] == "final"
    )
    assert r["steps"] == 2


def test_max_steps_override_and_scenario_default(folder):
    engine = ScriptedEngine(lambda req, turn: LOOKUP)
    out, _ = run(AgenticEmailScaffold(folder, max_steps=3, progress=False), engine)
    (r,) = out.values()
    assert (r["termination"], r["status"], r["steps"], r["max_steps"]) == (
        "max_steps",
        "max_steps",
        3,
        3,
    )
    out, _ = run(
        AgenticEmailScaffold(folder, progress=False),
        ScriptedEngine(lambda req, turn: LOOKUP),
        ids=("s_short",),
    )
    (r,) = out.values()
    assert (r["termination"], r["steps"]) == ("max_steps", 2)


def test_email_then_max_steps_is_still_ok(folder):
    out, _ = run(
        AgenticEmailScaffold(folder, max_steps=2, progress=False),
        ScriptedEngine([email("Hi Ana."), LOOKUP]),
    )
    (r,) = out.values()
    assert r["status"] == "ok" and r["termination"] == "max_steps" and r["text"] == "Hi Ana."


def test_sending_an_email_does_not_end_the_rollout(folder):
    out, _ = run(
        AgenticEmailScaffold(folder, progress=False),
        ScriptedEngine([email("Hi."), LOOKUP, LOOKUP, FINAL]),
    )
    (r,) = out.values()
    assert r["steps"] == 4 and r["termination"] == "final"


def test_four_consecutive_malformed_turns(folder):
    out, _ = run(
        AgenticEmailScaffold(folder, progress=False),
        ScriptedEngine(["hmm", "", "I will email Ana.", "{}"]),
    )
    (r,) = out.values()
    assert (r["termination"], r["status"], r["steps"], r["n_malformed"]) == (
        "malformed",
        "malformed",
        4,
        4,
    )
    errors = [m["content"] for m in r["messages"] if m["role"] == "user"][1:]
    assert len(errors) == 4 and all(
        "```tool_call" in e and e.startswith(TOOL_OUTPUT_PREFIX) for e in errors
    )
    assert [t["step"] for t in r["malformed_turns"]] == [1, 2, 3, 4]


def test_a_good_turn_resets_the_malformed_count(folder):
    script = ["x", "x", "x", LOOKUP, "x", "x", "x", email("Body.")]
    out, _ = run(
        AgenticEmailScaffold(folder, max_steps=10, max_malformed=4, progress=False),
        ScriptedEngine(script, default=FINAL),
    )
    (r,) = out.values()
    assert r["termination"] == "final" and r["n_malformed"] == 6 and r["text"] == "Body."


def test_max_malformed_is_configurable(folder):
    out, _ = run(
        AgenticEmailScaffold(folder, max_malformed=1, progress=False), ScriptedEngine(["nope"])
    )
    assert next(iter(out.values()))["termination"] == "malformed"


def test_unknown_tool_and_bodyless_email_continue(folder):
    script = [
        format_tool_call("web.search", {"q": "x"}),
        format_tool_call("email.send", {"to": "ana@x.example, bob@x.example", "subject": "s"}),
        email("   "),
        email("Real body.", to=("ana@x.example",)),
        FINAL,
    ]
    out, _ = run(AgenticEmailScaffold(folder, progress=False), ScriptedEngine(script))
    (r,) = out.values()
    assert r["tool_calls"][0]["result"] == {"error": "unknown tool: web.search"}
    assert any("without a body" in n for n in r["tool_calls"][1]["notes"])
    assert len(r["emails"]) == 1 and r["text"] == "Real body."


def test_tolerated_formats_are_logged(folder, caplog):
    messy = 'Let me check.\n```tool_call {"tool": "crm.lookup_contact", "args": {"query": "Ana",},}'
    with caplog.at_level(logging.DEBUG, logger="charprobe.scaffolds.agentic_email"):
        out, _ = run(AgenticEmailScaffold(folder, progress=False), ScriptedEngine([messy, FINAL]))
    (r,) = out.values()
    assert r["tool_calls"][0]["result"]["name"] == "Ana Ruiz"
    assert "trailing commas" in caplog.text and "missing closing fence" in caplog.text


def test_batching_one_call_per_turn_and_finished_rollouts_leave(folder):
    scripts = {
        "s_a/loving/0": [email("A.")] + [FINAL],
        "s_b/loving/0": [LOOKUP, email("B."), FINAL],
        "s_short/loving/0": [FINAL],
    }
    engine = ScriptedEngine(scripts)
    out, order = run(
        AgenticEmailScaffold(folder, progress=False),
        engine,
        ids=("s_a", "s_b", "s_short"),
        adapter="loving",
    )
    assert [c.keys for c in engine.calls] == [
        ["s_a/loving/0", "s_b/loving/0", "s_short/loving/0"],
        ["s_a/loving/0", "s_b/loving/0"],
        ["s_b/loving/0"],
    ]
    assert all(r.adapter == "loving" for c in engine.calls for r in c.requests)
    assert all(c.params == PARAMS for c in engine.calls)
    # each rollout is emitted right after the engine call that finished it
    assert order == [("s_short/loving/0", 1), ("s_a/loving/0", 2), ("s_b/loving/0", 3)]
    assert out["s_b/loving/0"]["text"] == "B."


def test_samples_of_one_item_are_separate_rollouts(folder):
    engine = ScriptedEngine(lambda req, turn: email(f"{req.key} t{turn}") if turn == 0 else FINAL)
    out, _ = run(AgenticEmailScaffold(folder, progress=False), engine, samples=3, adapter=None)
    assert sorted(r["text"] for r in out.values()) == [f"s_a/None/{n} t0" for n in range(3)]
    assert len(engine.calls) == 2 and all(r.adapter is None for r in engine.calls[0].requests)


def test_requests_carry_the_growing_conversation(folder):
    seen: list[Request] = []

    def reply(req, turn):
        seen.append(req)
        return [LOOKUP, FINAL][turn]

    run(AgenticEmailScaffold(folder, progress=False), ScriptedEngine(reply))
    assert [len(r.messages) for r in seen] == [2, 4]
    assert seen[0].messages[0]["role"] == "system"


def test_engine_answering_the_wrong_key_fails_loudly(folder):
    class Wrong(ScriptedEngine):
        def generate(self, requests, params):
            return list(reversed(super().generate(requests, params)))

    with pytest.raises(RuntimeError, match="engine answered"):
        run(AgenticEmailScaffold(folder, progress=False), Wrong([FINAL]), ids=("s_a", "s_b"))


def test_constructor_validation_and_items(folder):
    scaffold = AgenticEmailScaffold(folder, items=2, progress=False)
    assert [i.id for i in scaffold.items()] == ["s_a", "s_b"]
    assert AgenticEmailScaffold.name == "agentic_email"
    for bad, message in (
        ({"pick": "middle"}, "pick must be one of"),
        ({"max_steps": 0}, "max_steps must be >= 1"),
        ({"max_malformed": 0}, "max_malformed must be >= 1"),
        ({"items": -1}, "items must be >= 0"),
    ):
        with pytest.raises(ValueError, match=message):
            AgenticEmailScaffold(folder, **bad)


def test_default_is_the_shipped_suite():
    scaffold = AgenticEmailScaffold(progress=False)
    shipped = load_scenarios()  # charprobe/data/scenarios
    assert len(shipped) >= 30
    assert [i.id for i in scaffold.items()] == [s.id for s in shipped]
    assert all(i.data == s for i, s in zip(scaffold.items(), shipped, strict=True))


def test_shipped_suite_rolls_out_end_to_end():
    """One scripted pass over every shipped scenario: look someone up, email, finish."""
    scaffold = AgenticEmailScaffold(progress=False)
    engine = ScriptedEngine(
        [format_tool_call("directory.lookup_person", {"query": "Teodor"}), email("Hello."), FINAL]
    )
    units = [Unit(f"{i.id}/base/0", i, None, 0) for i in scaffold.items()]
    results = {}
    scaffold.run(engine, units, PARAMS, lambda u, r: results.__setitem__(u.key, r))
    assert len(engine.calls) == 3 and len(results) == len(units)
    assert all(r.status == "ok" for r in results.values())


def test_summarize():
    results = [
        {
            "text": "a",
            "status": "ok",
            "termination": "final",
            "steps": 4,
            "n_tool_calls": 3,
            "n_malformed": 0,
        },
        {
            "text": None,
            "status": "max_steps",
            "termination": "max_steps",
            "steps": 8,
            "n_tool_calls": 8,
            "n_malformed": 0,
        },
        {
            "text": None,
            "status": "malformed",
            "termination": "malformed",
            "steps": 4,
            "n_tool_calls": 0,
            "n_malformed": 4,
        },
        {
            "text": "b",
            "status": "ok",
            "termination": "max_steps",
            "steps": 8,
            "n_tool_calls": 8,
            "n_malformed": 1,
        },
    ]
    s = summarize([Result.from_json(r) for r in results])
    assert s["n"] == 4 and s["n_email"] == 2 and s["n_dropped"] == 2 and s["email_rate"] == 0.5
    assert s["termination"] == {"final": 1, "max_steps": 2, "malformed": 1}
    assert s["status"] == {"ok": 2, "max_steps": 1, "malformed": 1}
    assert s["mean_steps"] == 6.0 and s["mean_malformed"] == 1.25
    assert math.isnan(summarize([])["email_rate"])


REFERENCE_SCENARIOS = SHARED / "reference" / "depth-character-training" / "scenarios"


def test_reference_scenarios_roll_out_end_to_end():
    require(REFERENCE_SCENARIOS.is_dir(), f"reference scenarios not present: {REFERENCE_SCENARIOS}")
    scaffold = AgenticEmailScaffold(REFERENCE_SCENARIOS, progress=False)
    engine = ScriptedEngine([LOOKUP, email("Hello."), FINAL])
    units = [Unit(f"{i.id}/base/0", i, None, 0) for i in scaffold.items()]
    results = {}
    scaffold.run(engine, units, PARAMS, lambda u, r: results.__setitem__(u.key, r))
    assert len(results) == 50 and len(engine.calls) == 3
    assert summarize(list(results.values()))["email_rate"] == 1.0
    lookups = [r.extra["tool_calls"][0]["result"] for r in results.values()]
    assert all(res == {"error": "no contact found"} for res in lookups)  # no "Ana" there
