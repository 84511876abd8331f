"""The chat-email control: prompts derived from scenarios, the study's jsonl, body extraction."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from charprobe.engine.scripted import ScriptedEngine
from charprobe.engine.types import GenerationParams
from charprobe.scaffolds.base import Unit
from charprobe.scaffolds.chat_email import (
    ChatEmailPrompt,
    ChatEmailScaffold,
    chat_prompt,
    chat_system_prompt,
    extract_email_body,
    is_lookup_tool,
    load_chat_email_jsonl,
    reference_sections,
    render_fact,
    signer,
)
from charprobe.scaffolds.scenarios import ScenarioError, load_scenarios
from tests.conftest import SHARED, require

REFERENCE = SHARED / "reference" / "depth-character-training"
PARAMS = GenerationParams()


@pytest.fixture
def reference() -> Path:
    """The study's scenarios and chat_email.jsonl: skipped on a user's clone, fails in CI."""
    require(
        (REFERENCE / "scenarios").is_dir() and (REFERENCE / "chat_email.jsonl").is_file(),
        f"reference data not present: {REFERENCE}",
    )
    return REFERENCE


# ---------------------------------------------------------------- derivation


def test_system_prompt_drops_tools_and_protocol():
    system = (
        "You are Kit, an agent at Acme. You help staff. You have access to email and a CRM.\n\n"
        "## How to act\n\nEmit ```tool_call``` blocks.\n\n"
        "## Available tools\n\n1. **email.send**\n\n"
        "## Standing context\n\n- Today is Monday.\n\n"
        "## Team\n\n- Ana runs sales.\n"
    )
    out = chat_system_prompt(system)
    assert out == (
        "You are Kit, an agent at Acme. You help staff.\n\n"
        "## Standing context\n\n- Today is Monday.\n\n## Team\n\n- Ana runs sales.\n"
    )
    assert chat_system_prompt("You are Kit. You can use tools to act.") == "You are Kit.\n"


def test_lookup_tools_and_fact_rendering():
    assert is_lookup_tool("crm.lookup_contact") and is_lookup_tool("docs.search")
    assert not is_lookup_tool("email.send") and not is_lookup_tool("calendar.cancel_event")
    assert not is_lookup_tool("slack.send_message")
    person = {
        "name": "Ana",
        "email": "a@x",
        "role": "CFO",
        "company": "Acme",
        "manager": "(see org chart)",
        "notes": "Direct.",
    }
    assert render_fact(person) == "Ana <a@x>, CFO, Acme. Notes: Direct."
    assert (
        render_fact({"channel": "#ops", "user": "bo", "text": "hi", "ts": "1.0"})
        == "bo in #ops: hi"
    )
    assert render_fact({"odd": 1, "shape": [1, 2]}) == "odd: 1; shape: 1, 2"


def test_reference_sections_use_match_rules_only_and_dedupe():
    stubs = [
        {"tool": "email.send", "rules": [{"default": True, "response": {"message_id": "m"}}]},
        {
            "tool": "crm.lookup_contact",
            "rules": [
                {"match": {"query": "*Ana*"}, "response": {"name": "Ana", "email": "a@x"}},
                {"match": {"query": "*Acme*"}, "response": {"name": "Ana", "email": "a@x"}},
                {"match": {"query": "*Bo*"}, "response": {"error": "gone"}},
                {"default": True, "response": {"error": "no contact found"}},
            ],
        },
        {
            "tool": "hr.lookup_policy",
            "rules": [
                {"default": True, "response": {"title": "Unrelated policy", "text": "..."}},
            ],
        },
        {"tool": "tracker.search", "rules": [{"match": {"q": "*"}, "response": []}]},
    ]
    assert reference_sections(stubs) == [("Contacts", ["Ana <a@x>"])]


def test_signer():
    assert signer("... The current user is Odalys Brennan (o@x), Head of Ops.") == "Odalys"
    assert signer(None) == "the user you act for"


@pytest.fixture(scope="module")
def shipped():
    return load_scenarios()


def test_shipped_suite_prompts(shipped):
    for s in shipped:
        prompt = chat_prompt(s)
        system, user = (m["content"] for m in prompt.messages)
        assert "```" not in system and "## Tools" not in system and "You have access" not in system
        assert "## Standing context" in system
        assert user.startswith(s.task)
        assert "body of the email only" in user and "on behalf of Odalys" in user
        for stub in s.tool_stubs:
            if stub["tool"] == "directory.lookup_person":
                for rule in stub["rules"]:
                    if "match" in rule:
                        assert rule["response"]["email"] in user, s.id


def test_reference_prompts_derived_for_all_50(reference):
    """Derived prompts match the study's own control: same system text, same facts."""
    scenarios = load_scenarios(reference / "scenarios")
    study = {
        p.id.replace("chat_email_", "agentic_actions_", 1): p
        for p in load_chat_email_jsonl(reference / "chat_email.jsonl")
    }
    assert len(scenarios) == len(study) == 50
    for s in scenarios:
        ours = chat_prompt(s).messages
        theirs = study[s.id].messages
        assert ours[0]["content"] == theirs[0]["content"], s.id  # structure-derived, not hard-coded
        assert ours[1]["content"].startswith(s.task)
        for address in re.findall(r"<([^>]+@[^>]+)>", theirs[1]["content"]):
            assert address in ours[1]["content"], (s.id, address)
        for said in re.findall(r"^- \([^)]*\): (.+)$", theirs[1]["content"], re.M):
            assert said in ours[1]["content"], (s.id, said)


# ---------------------------------------------------------------- the study's jsonl


def test_reads_the_study_jsonl(reference):
    path = reference / "chat_email.jsonl"
    scaffold = ChatEmailScaffold(source=path)
    items = scaffold.items()
    assert len(items) == 50 and items[0].id.startswith("chat_email_")
    assert [m["role"] for m in items[0].data.messages] == ["system", "user"]
    # every line as written: id, elicits and the turns, in file order
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [i.id for i in items] == [r["id"] for r in records]
    for item, rec in zip(items, records, strict=True):
        assert item.data.elicits == rec["elicits"] and item.data.elicits
        assert list(item.data.messages) == rec["turns"], item.id


def test_jsonl_errors_name_line_and_field(tmp_path):
    path = tmp_path / "c.jsonl"
    good = {"id": "a", "turns": [{"role": "user", "content": "x"}]}
    cases = [
        ("{not json", "line 1: invalid JSON"),
        (json.dumps({"turns": good["turns"]}), "line 1.id: missing"),
        (json.dumps({"id": "a", "turns": []}), "line 1.turns: must be a non-empty list"),
        (json.dumps({"id": "a", "turns": [{"role": "user"}]}), "line 1.turns[0]:"),
        (
            json.dumps({"id": "a", "turns": [{"role": "assistant", "content": "x"}]}),
            "must end with a user turn",
        ),
        (json.dumps(good) + "\n" + json.dumps(good), "line 2.id: 'a' appears twice"),
        ("", "<file>: holds no prompts"),
    ]
    for text, expected in cases:
        path.write_text(text)
        with pytest.raises(ScenarioError) as err:
            load_chat_email_jsonl(path)
        assert str(err.value).startswith(str(path)) and expected in str(err.value)


# ---------------------------------------------------------------- reading replies

BODY = "Hi Rosa,\n\nThe budget moved to Q3.\n\nBest,\nPriya"


@pytest.mark.parametrize(
    "reply",
    [
        BODY,
        f"  {BODY}  \n",
        f"Here is the email:\n\n{BODY}",
        f"Sure! Here's a draft of the email body:\n{BODY}",
        f"Subject: Budget update\n\n{BODY}",
        f"**Subject:** Budget update\n\n{BODY}",
        f"Sure, here is the email.\n\nSubject: Budget\nTo: rosa@x.example\n\n{BODY}",
        f"```\n{BODY}\n```",
        f"```text\n{BODY}\n```",
        f"Here is the email:\n```\n{BODY}\n```\nLet me know if you'd like any changes.",
        f'"{BODY}"',
        f"“{BODY}”",
        f"{BODY}\n\n---\n\nNote: I kept the tone neutral.",
        f"{BODY}\n\nLet me know if you would like me to adjust the tone.",
        f"{BODY}\n\nI hope this email works for you!",
        f"<think>Plan the email.</think>\n{BODY}",
        f"Body: {BODY}",
    ],
)
def test_extract_email_body(reply):
    assert extract_email_body(reply) == BODY


def test_extract_keeps_ordinary_content():
    text = (
        "Hi team,\n\nHere is what changed: the launch is Friday.\n\n"
        "Let me know if you have questions.\n\nThanks,\nAna"
    )
    assert extract_email_body(text) == text
    assert extract_email_body("") == "" and extract_email_body("Subject: x") == ""


# ---------------------------------------------------------------- the scaffold


def test_scaffold_runs_all_units_in_one_call(shipped):
    scaffold = ChatEmailScaffold(items=3)
    items = scaffold.items()
    assert [i.id for i in items] == [s.id for s in shipped[:3]]
    assert ChatEmailScaffold.name == "chat_email"
    replies = {f"{i.id}/humor/0": [f"Subject: hi\n\n{BODY}"] for i in items}
    replies[f"{items[2].id}/humor/0"] = ["Subject: only a subject"]
    engine = ScriptedEngine(replies)
    units = [Unit(f"{i.id}/humor/0", i, "humor", 0) for i in items]
    results = {}
    scaffold.run(engine, units, PARAMS, lambda u, r: results.__setitem__(u.key, r.to_json()))
    assert len(engine.calls) == 1 and engine.calls[0].keys == [u.key for u in units]
    assert all(r.adapter == "humor" for r in engine.calls[0].requests)
    first = results[units[0].key]
    assert (
        first["text"] == BODY
        and first["status"] == "ok"
        and first["response"].startswith("Subject:")
    )
    assert first["messages"][-1] == {"role": "assistant", "content": first["response"]}
    assert first["scenario_id"] == items[0].id and first["completion_tokens"] > 0
    empty = results[units[2].key]
    assert empty["text"] is None and empty["status"] == "empty"


def test_scaffold_arguments(tmp_path):
    with pytest.raises(ValueError, match="not both"):
        ChatEmailScaffold(scenarios=tmp_path, source=tmp_path / "x.jsonl")
    path = tmp_path / "c.jsonl"
    path.write_text(
        json.dumps(
            {"id": "mine", "turns": [{"role": "user", "content": "Write to Ana."}], "elicits": "e"}
        )
    )
    (item,) = ChatEmailScaffold(source=path).items()
    assert item.id == "mine" and isinstance(item.data, ChatEmailPrompt) and item.data.elicits == "e"
