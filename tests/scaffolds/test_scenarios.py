"""Scenario files: the shipped suite, the reference folder, and one-line errors."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from charprobe.scaffolds.scenarios import (
    SHIPPED_DIR,
    Scenario,
    ScenarioError,
    load_scenario,
    load_scenarios,
)
from charprobe.scaffolds.stubs import ToolStubs
from tests.conftest import SHARED, require

REFERENCE = SHARED / "reference" / "depth-character-training"


@pytest.fixture
def reference_scenarios() -> Path:
    """The study's 50 scenario files: skipped on a user's clone, a failure in CI."""
    folder = REFERENCE / "scenarios"
    require(folder.is_dir(), f"reference scenarios not present: {folder}")
    return folder


GOOD = """\
id: tiny_v1
description: a tiny scenario
max_steps: 3
initial_messages:
- role: system
  content: You are an agent.
- role: user
  content: Email Ana.
tool_stubs:
- tool: email.send
  rules:
  - default: true
    response: {message_id: m1}
- tool: crm.lookup_contact
  rules:
  - match: {query: '*Ana*'}
    response: {name: Ana, email: ana@x.example}
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_load_one_file(tmp_path):
    s = load_scenario(write(tmp_path, GOOD))
    assert isinstance(s, Scenario)
    assert (s.id, s.max_steps, s.kind, s.task) == ("tiny_v1", 3, "tiny", "Email Ana.")
    assert s.system == "You are an agent."


def test_defaults_and_extra_keys(tmp_path):
    text = GOOD.replace("max_steps: 3\n", "").replace(
        "description: a tiny scenario\n", "scaffold: mine\n"
    )
    s = load_scenario(write(tmp_path, text))
    assert s.max_steps == 8 and s.description == "" and s.extra == {"scaffold": "mine"}


def test_dates_stay_strings(tmp_path):
    text = GOOD.replace("query: '*Ana*'", "day: 2026-04-09").replace(
        "{name: Ana,", "{when: 2026-04-09 10:00:00, name: Ana,"
    )
    s = load_scenario(write(tmp_path, text))
    rule = s.tool_stubs[1]["rules"][0]
    assert rule["match"] == {"day": "2026-04-09"}
    assert rule["response"]["when"] == "2026-04-09 10:00:00"


def test_folder_sorted_by_id_and_duplicate_ids(tmp_path):
    write(tmp_path, GOOD.replace("tiny_v1", "b_v1"), "1.yaml")
    write(tmp_path, GOOD.replace("tiny_v1", "a_v1"), "2.yml")
    (tmp_path / "notes.txt").write_text("ignored")
    assert [s.id for s in load_scenarios(tmp_path)] == ["a_v1", "b_v1"]
    write(tmp_path, GOOD.replace("tiny_v1", "a_v1"), "3.yaml")
    with pytest.raises(ScenarioError, match=r"3\.yaml: id: 'a_v1' also used by"):
        load_scenarios(tmp_path)


BROKEN = [
    ("id: [unclosed", "<yaml>", "invalid YAML"),
    ("- just\n- a list\n", "<file>", "must be a mapping"),
    (GOOD.replace("id: tiny_v1\n", ""), "id", "missing"),
    (GOOD.replace("id: tiny_v1", "id: 7"), "id", "must be a string"),
    (GOOD.replace("max_steps: 3", "max_steps: three"), "max_steps", "positive integer"),
    (GOOD.replace("max_steps: 3", "max_steps: 0"), "max_steps", "positive integer"),
    (
        GOOD.replace("- role: user\n  content: Email Ana.\n", ""),
        "initial_messages",
        "no user message",
    ),
    (GOOD.replace("role: user", "role: human"), "initial_messages[1].role", "must be one of"),
    (
        GOOD.replace("  content: Email Ana.", "  content: [a]"),
        "initial_messages[1].content",
        "must be a string",
    ),
    (
        GOOD.replace("initial_messages:\n", "initial_messages: []\nx:\n"),
        "initial_messages",
        "non-empty list",
    ),
    (GOOD.replace("tool_stubs:\n", "tool_stubs: {}\nx:\n"), "tool_stubs", "must be a list"),
    (GOOD.replace("- tool: email.send\n", "- tol: email.send\n"), "tool_stubs[0].tool", "missing"),
    (
        GOOD.replace("  - default: true\n", "  - default: maybe\n"),
        "tool_stubs[0].rules[0].default",
        "true or false",
    ),
    (
        GOOD.replace("  - default: true\n    response", "  - response"),
        "tool_stubs[0].rules[0]",
        "needs a match",
    ),
    (
        GOOD.replace("    response: {name: Ana, email: ana@x.example}\n", ""),
        "tool_stubs[1].rules[0].response",
        "missing",
    ),
    (
        GOOD.replace("response: {message_id: m1}", "response: sent"),
        "tool_stubs[0].rules[0].response",
        "mapping or a list",
    ),
    (
        GOOD.replace("match: {query: '*Ana*'}", "match: {}"),
        "tool_stubs[1].rules[0].match",
        "non-empty mapping",
    ),
    (
        GOOD.replace("match: {query: '*Ana*'}", "match: {query: [a]}"),
        "tool_stubs[1].rules[0].match.query",
        "scalar",
    ),
    (GOOD.replace("crm.lookup_contact", "email.send"), "tool_stubs[1].tool", "listed twice"),
]


@pytest.mark.parametrize(("text", "field", "problem"), BROKEN)
def test_broken_files_name_path_and_field(tmp_path, text, field, problem):
    path = write(tmp_path, text, "broken.yaml")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {field}: "), message
    assert err.value.field == field
    if problem:
        assert problem in message


def test_second_default_is_an_error(tmp_path):
    text = GOOD.replace(
        "    response: {message_id: m1}\n",
        "    response: {message_id: m1}\n  - default: true\n    response: {message_id: m2}\n",
    )
    with pytest.raises(ScenarioError, match="more than one default"):
        load_scenario(write(tmp_path, text))


def test_missing_paths(tmp_path):
    with pytest.raises(ScenarioError, match="no such file or folder"):
        load_scenarios(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ScenarioError, match="holds no .yaml"):
        load_scenarios(tmp_path / "empty")


# ---------------------------------------------------------------- the shipped suite


@pytest.fixture(scope="module")
def shipped() -> list[Scenario]:
    return load_scenarios()


def test_shipped_suite_size_and_kinds(shipped):
    assert len(shipped) >= 30
    assert len({s.kind for s in shipped}) >= 8
    assert [s.id for s in shipped] == sorted(s.id for s in shipped)


def test_shipped_files_say_they_are_charprobes_own():
    for path in sorted(SHIPPED_DIR.glob("*.yaml")):
        assert path.read_text(encoding="utf-8").startswith("# charprobe's own scenario"), path


def test_shipped_scenarios_need_an_email_and_offer_lookups(shipped):
    for s in shipped:
        stubs = ToolStubs(s.tool_stubs)
        assert "email.send" in stubs.tools, s.id
        assert "email.send" in (s.system or "") and "```tool_call" in (s.system or ""), s.id
        lookups = [t for t in s.tool_stubs if any("match" in r for r in t["rules"])]
        assert len(lookups) >= 2, f"{s.id}: needs facts behind at least two lookup tools"
        for tool in lookups:
            for rule in tool["rules"]:
                if "match" in rule:
                    response = rule["response"]
                    assert response and not (isinstance(response, dict) and "error" in response), (
                        s.id
                    )
        # every tool the prompt lists has a stub, so a listed tool never comes back unknown
        listed = set(re.findall(r"\*\*([a-z_]+\.[a-z_]+)\*\*", s.system or ""))
        assert listed and listed <= set(stubs.tools), (s.id, listed - set(stubs.tools))


def test_shipped_stubs_answer_plain_lookups(shipped):
    """A lookup by a person's name, as a model would type it, finds them."""
    for s in shipped:
        stubs = ToolStubs(s.tool_stubs)
        people = [
            r["response"]
            for t in s.tool_stubs
            if t["tool"] == "directory.lookup_person"
            for r in t["rules"]
            if "match" in r
        ]
        for person in people:
            name = person["name"].removeprefix("Dr. ")
            for query in (name, name.lower(), name.split()[0]):
                assert stubs.call("directory.lookup_person", {"query": query}) == person, (
                    s.id,
                    query,
                )


# ---------------------------------------------------------------- the reference folder


def test_reference_scenarios_load_unchanged(reference_scenarios):
    scenarios = load_scenarios(reference_scenarios)
    assert len(scenarios) == 50
    assert len({s.kind for s in scenarios}) == 10
    for s in scenarios:
        assert s.max_steps == 8 and s.extra.get("scaffold") == "agentic_actions"
        assert s.elicits and s.task and s.system
        stubs = ToolStubs(s.tool_stubs)
        assert "email.send" in stubs.tools
        # field for field what the file says (the reference files hold no dates)
        raw = yaml.safe_load(s.path.read_text(encoding="utf-8"))
        assert (s.id, s.description, s.max_steps, s.elicits) == (
            raw["id"],
            raw["description"],
            raw["max_steps"],
            raw["elicits"],
        )
        assert s.initial_messages == raw["initial_messages"], s.id
        assert s.tool_stubs == raw["tool_stubs"], s.id


def test_reference_anchored_responses_resolve(reference_scenarios):
    s = next(x for x in load_scenarios(reference_scenarios) if x.id.endswith("vendor_renewal_v1"))
    stubs = ToolStubs(s.tool_stubs)
    assert stubs.call("crm.lookup_contact", {"query": "Beacon Insights"})["name"] == "Maya Chen"
