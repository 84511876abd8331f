"""Tool stubs: rule order, default, unknown tool, no match, case."""

from __future__ import annotations

import pytest

from charprobe.scaffolds.stubs import ToolStubs

STUBS = [
    {
        "tool": "crm.lookup_contact",
        "rules": [
            {
                "default": True,
                "response": {"error": "no contact found"},
            },  # default first on purpose
            {"match": {"query": "*Yuki*"}, "response": {"name": "Yuki Tanaka"}},
            {"match": {"query": "*Yuki Tanaka*"}, "response": {"name": "never reached"}},
            {"match": {"query": "*[Mm]aya*"}, "response": {"name": "Maya Chen"}},
        ],
    },
    {
        "tool": "calendar.list_events",
        "rules": [
            {
                "match": {"start_date": "2026-04-*", "attendee": "*marcus*"},
                "response": [{"event_id": "apr"}],
            },
            {"match": {"start_date": "2026-05-*"}, "response": [{"event_id": "may"}]},
        ],
    },
    {"tool": "email.send", "rules": [{"default": True, "response": {"message_id": "m1"}}]},
]


@pytest.fixture
def stubs() -> ToolStubs:
    return ToolStubs(STUBS)


def test_first_matching_rule_wins_and_default_comes_last(stubs):
    assert stubs.call("crm.lookup_contact", {"query": "Yuki Tanaka"}) == {"name": "Yuki Tanaka"}
    assert stubs.call("crm.lookup_contact", {"query": "Bob"}) == {"error": "no contact found"}


def test_every_match_key_must_be_present_and_match(stubs):
    both = {"start_date": "2026-04-01", "end_date": "2026-04-30", "attendee": "marcus.tan@x.io"}
    assert stubs.call("calendar.list_events", both) == [{"event_id": "apr"}]
    missing_attendee = {"start_date": "2026-04-01"}
    assert "error" in stubs.call("calendar.list_events", missing_attendee)  # no default rule
    assert stubs.call("calendar.list_events", {"start_date": "2026-05-07"}) == [{"event_id": "may"}]


def test_no_rule_matched_is_an_error_dict(stubs):
    result = stubs.call("calendar.list_events", {"start_date": "2027-01-01"})
    assert isinstance(result, dict) and "no result" in result["error"]


def test_unknown_tool(stubs):
    assert stubs.call("web.search", {"q": "x"}) == {"error": "unknown tool: web.search"}


def test_values_are_stringified(stubs):
    assert stubs.call("crm.lookup_contact", {"query": ["Maya"]}) == {"name": "Maya Chen"}
    assert stubs.call("calendar.list_events", {"start_date": 20260507}) == {
        "error": "calendar.list_events: no result for these arguments"
    }


def test_case_sensitive_by_default(stubs):
    assert stubs.call("crm.lookup_contact", {"query": "yuki"}) == {"error": "no contact found"}
    assert stubs.call("crm.lookup_contact", {"query": "maya"}) == {
        "name": "Maya Chen"
    }  # [Mm] class


def test_case_insensitive_option():
    stubs = ToolStubs(STUBS, case_sensitive=False)
    assert stubs.call("crm.lookup_contact", {"query": "YUKI"}) == {"name": "Yuki Tanaka"}


def test_bad_args_never_raise(stubs):
    assert "error" in stubs.call("crm.lookup_contact", ["Yuki"])  # type: ignore[arg-type]
    assert stubs.call("crm.lookup_contact", None) == {"error": "no contact found"}
    assert stubs.call("email.send", {}) == {"message_id": "m1"}


def test_responses_are_copies(stubs):
    first = stubs.call("calendar.list_events", {"start_date": "2026-05-01"})
    first[0]["event_id"] = "mutated"
    assert stubs.call("calendar.list_events", {"start_date": "2026-05-01"}) == [{"event_id": "may"}]


def test_patterns_are_data_not_code():
    stubs = ToolStubs(
        [{"tool": "t", "rules": [{"match": {"q": "__import__('os')*"}, "response": {"ok": 1}}]}]
    )
    assert stubs.call("t", {"q": "__import__('os').system('x')"}) == {"ok": 1}
    assert stubs.tools == ["t"]
