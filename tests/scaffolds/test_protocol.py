"""The protocol parser: every variant real models emit, and worse."""

from __future__ import annotations

import json
import time

import pytest

from charprobe.scaffolds.protocol import (
    TOOL_OUTPUT_PREFIX,
    format_error,
    format_final,
    format_tool_call,
    format_tool_output,
    parse_turn,
)

CALL = '{"tool": "crm.lookup_contact", "args": {"query": "Rosa"}}'


def assert_call(turn, tool="crm.lookup_contact", args=None):
    assert turn.kind == "tool_call", (turn.error, turn.notes)
    assert turn.tool == tool
    assert turn.args == ({"query": "Rosa"} if args is None else args)


@pytest.mark.parametrize(
    "text",
    [
        f"```tool_call\n{CALL}\n```",  # canonical
        f"```tool_call {CALL}```",  # single line (llama style)
        f"```tool_call{CALL}```",  # label glued to the JSON
        f"```tool_call\n{CALL}",  # closing fence dropped (max tokens)
        f"```tool_call\n{CALL}\n",
        f"I'll look Rosa up first.\n\n```tool_call\n{CALL}\n```\n\nThen I will email her.",
        f"```json\n{CALL}\n```",  # json fence holding a tool call
        f"```\n{CALL}\n```",  # unlabelled fence
        f"```\ntool_call\n{CALL}\n```",  # label slipped inside the fence
        f"```TOOL_CALL\n{CALL}\n```",
        f"```tool-call\n{CALL}\n```",
        f"```tool_call\n  \n{CALL}\n  ```  ",
        f"```tool_call\r\n{CALL}\r\n```",  # Windows line ends
        f"<think>Maybe ```final\nno\n```</think>\n```tool_call\n{CALL}\n```",
    ],
)
def test_accepted_variants(text):
    assert_call(parse_turn(text))


def test_canonical_has_no_notes_and_one_block():
    turn = parse_turn(f"```tool_call\n{CALL}\n```")
    assert turn.notes == [] and turn.n_blocks == 1


def test_missing_fence_is_noted():
    assert "missing closing fence" in parse_turn(f"```tool_call\n{CALL}").notes


def test_json_fence_is_noted():
    assert any("json" in n for n in parse_turn(f"```json\n{CALL}\n```").notes)


def test_trailing_commas_repaired():
    turn = parse_turn('```tool_call\n{"tool": "a", "args": {"q": [1, 2,],},}\n```')
    assert_call(turn, "a", {"q": [1, 2]})
    assert any("trailing commas" in n for n in turn.notes)


def test_single_quotes_and_python_literals():
    turn = parse_turn(
        "```tool_call\n{'tool': 'a', 'args': {'q': \"it's\", 'flag': true, 'x': None}}\n```"
    )
    assert_call(turn, "a", {"q": "it's", "flag": True, "x": None})
    assert any("Python literal" in n for n in turn.notes)


def test_literal_tuples_and_sets_become_lists():
    turn = parse_turn("```tool_call\n{'tool': 'a', 'args': {'to': ('x',), 's': {'y'}}}\n```")
    assert_call(turn, "a", {"to": ["x"], "s": ["y"]})
    json.dumps(turn.args)


def test_nested_braces_and_fences_inside_strings():
    body = "Hi {team},\n```\ncode } here\n```\nThanks } {"
    text = "```tool_call\n" + json.dumps({"tool": "email.send", "args": {"body": body}}) + "\n```"
    turn = parse_turn(text)
    assert_call(turn, "email.send", {"body": body})


def test_raw_newlines_inside_json_strings():
    turn = parse_turn(
        '```tool_call\n{"tool": "email.send", "args": {"body": "Hi,\nSecond line\n\tThanks"}}\n```'
    )
    assert turn.args["body"] == "Hi,\nSecond line\n\tThanks"


def test_unicode():
    turn = parse_turn(
        '```tool_call\n{"tool": "crm.lookup_contact", "args": {"query": "Joaquín — 日本 🐟"}}\n```'
    )
    assert turn.args == {"query": "Joaquín — 日本 🐟"}


def test_several_blocks_take_first_and_note():
    text = (
        f"```tool_call\n{CALL}\n```\n```tool_call\n"
        + '{"tool": "b", "args": {}}'
        + "\n```\n```final\nDone\n```"
    )
    turn = parse_turn(text)
    assert_call(turn)
    assert turn.n_blocks == 3
    assert any("3 blocks" in n for n in turn.notes)


def test_final_before_tool_call_wins():
    turn = parse_turn(f"```final\nAll done.\n```\n```tool_call\n{CALL}\n```")
    assert turn.kind == "final" and turn.final == "All done." and turn.n_blocks == 2


def test_tool_call_then_final_keeps_the_call():
    turn = parse_turn(f"```tool_call\n{CALL}\n```\n```final\nSent.\n```")
    assert_call(turn)


def test_unreadable_first_block_is_skipped_for_a_readable_one():
    text = "```tool_call\n{not json at all}\n```\n" + f"```tool_call\n{CALL}\n```"
    turn = parse_turn(text)
    assert_call(turn)
    assert any("skipped 1 unreadable" in n for n in turn.notes)


def test_consecutive_blocks_without_closing_fences():
    text = f"```tool_call\n{CALL}\n```final\nDone"
    turn = parse_turn(text)
    assert_call(turn)
    assert turn.n_blocks == 2


@pytest.mark.parametrize(
    "text",
    [
        "```final\nSent the email to Rosa.\n```",
        "```final Sent the email to Rosa.```",
        "```final\nSent the email to Rosa.",
    ],
)
def test_final_block(text):
    turn = parse_turn(text)
    assert turn.kind == "final" and turn.final == "Sent the email to Rosa."


def test_final_called_as_a_tool():
    turn = parse_turn('```tool_call\n{"tool": "final", "args": {"summary": "done"}}\n```')
    assert turn.kind == "final" and turn.final == "done"


def test_name_arguments_aliases_and_string_arguments():
    turn = parse_turn('```tool_call\n{"name": "a", "arguments": "{\\"q\\": 1}"}\n```')
    assert_call(turn, "a", {"q": 1})
    assert len(turn.notes) == 3


def test_missing_args_default_to_empty():
    turn = parse_turn('```tool_call\n{"tool": "calendar.list_events"}\n```')
    assert_call(turn, "calendar.list_events", {})


def test_foreign_fences_are_ignored():
    turn = parse_turn("```python\nprint('{\"tool\": 1}')\n```\n```final\nok\n```")
    assert turn.kind == "final" and turn.n_blocks == 1


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("I will now send the email to Rosa.", "no ```tool_call"),
        (CALL, "outside a fenced block"),  # bare JSON does not count
        ("```tool_call\n```", "empty"),
        ("```tool_call\nsearch for Rosa\n```", "no JSON object"),
        ('```tool_call\n{"tool": "a", "args": {"q": "x"\n```', "not valid JSON"),
        ('```tool_call\n{"tool": "a" "args": {}}\n```', "not valid JSON"),
        ('```tool_call\n{"args": {}}\n```', 'no "tool"'),
        ('```tool_call\n{"tool": "", "args": {}}\n```', "non-empty"),
        ('```tool_call\n{"tool": 3, "args": {}}\n```', "non-empty"),
        ('```tool_call\n{"tool": "a", "args": [1, 2]}\n```', '"args" must be an object'),
        ('```tool_call\n["a", {}]\n```', 'no "tool"'),
        ('```json\n{"query": "Rosa"}\n```', "no ```tool_call"),
        ("\x00\x01\x02 garbage ``` `` ` {{{", "no ```tool_call"),
        (
            "```tool_call\n{'tool': __import__('os').system('echo hi'), 'args': {}}\n```",
            "not valid JSON",
        ),
    ],
)
def test_malformed(text, why):
    turn = parse_turn(text)
    assert turn.kind == "malformed"
    assert why in turn.error


@pytest.mark.parametrize("value", [None, 42, b"```final\nx\n```", ["a"]])
def test_non_text_is_malformed_not_an_exception(value):
    turn = parse_turn(value)
    assert turn.kind == "malformed"
    assert turn.error == f"the reply is a {type(value).__name__}, not text"


def test_never_evaluates_code(tmp_path):
    marker = tmp_path / "pwned"
    text = f"```tool_call\n{{'tool': open({str(marker)!r}, 'w').write('x'), 'args': {{}}}}\n```"
    assert parse_turn(text).kind == "malformed"
    assert not marker.exists()


HUGE_BODY = "word " * 400_000


@pytest.mark.parametrize(
    ("text", "kind", "expect"),
    [
        # a call after 2 MB of prose is still found
        ("x" * 2_000_000 + f"```tool_call\n{CALL}\n```", "tool_call", {"n_blocks": 1}),
        # 200k unclosed braces: unreadable, said so
        ("```tool_call\n" + "{" * 200_000, "malformed", {"error": "not valid JSON"}),
        # deep nesting without an object
        (
            "```tool_call\n" + "[" * 100_000 + "]" * 100_000,
            "malformed",
            {"error": "no JSON object"},
        ),
        # 100k foreign fences
        ("```a```" * 100_000, "malformed", {"error": "no ```tool_call or ```final block"}),
        # 5,000 calls: the first is used, the scan is capped
        (f"```tool_call\n{CALL}```" * 5_000, "tool_call", {"n_blocks": 64}),
        # a 2 MB email body arrives whole
        (
            '```tool_call\n{"tool": "email.send", "args": {"body": "' + HUGE_BODY + '"}}\n```',
            "tool_call",
            {"tool": "email.send", "args": {"body": HUGE_BODY}},
        ),
    ],
    ids=[
        "prose-then-call",
        "open-braces",
        "nested-lists",
        "foreign-fences",
        "many-calls",
        "huge-body",
    ],
)
def test_huge_inputs_are_fast(text, kind, expect):
    start = time.perf_counter()
    turn = parse_turn(text)
    assert time.perf_counter() - start < 5
    assert turn.kind == kind, (turn.error, turn.notes)
    if kind == "tool_call":
        assert_call(turn, expect.get("tool", "crm.lookup_contact"), expect.get("args"))
        if "n_blocks" in expect:
            assert turn.n_blocks == expect["n_blocks"]
    else:
        assert expect["error"] in turn.error


def test_too_many_blocks_are_capped():
    turn = parse_turn(f"```tool_call\n{CALL}\n```\n" * 100)
    assert_call(turn)
    assert turn.n_blocks == 64
    assert any("more than 64" in n for n in turn.notes)


def test_format_helpers_round_trip():
    assert_call(parse_turn(format_tool_call("crm.lookup_contact", {"query": "Rosa"})))
    turn = parse_turn(format_final("Emailed Rosa."))
    assert turn.kind == "final" and turn.final == "Emailed Rosa."


def test_tool_output_and_error_messages():
    out = format_tool_output({"name": "Joaquín", "n": [1]})
    assert out.startswith(TOOL_OUTPUT_PREFIX)
    assert json.loads(out[len(TOOL_OUTPUT_PREFIX) :]) == {"name": "Joaquín", "n": [1]}
    assert "Joaquín" in out
    err = format_error("the reply is empty")
    payload = json.loads(err[len(TOOL_OUTPUT_PREFIX) :])
    assert "the reply is empty" in payload["error"]
    assert "```tool_call" in payload["error"] and "```final" in payload["error"]
