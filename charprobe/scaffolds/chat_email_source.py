"""The reference study's own chat-email prompts: a reader of its `chat_email.jsonl`.

Reading the study's file directly (the scaffold's `source=`) reproduces its numbers with
its exact prompts, rather than the ones charprobe derives from the scenarios.
"""

from __future__ import annotations

import json
from pathlib import Path

from charprobe.scaffolds.email_prompt import ChatEmailPrompt
from charprobe.scaffolds.scenarios import ScenarioError


def load_chat_email_jsonl(path: str | Path) -> list[ChatEmailPrompt]:
    """Read prompts in the study's chat_email.jsonl format (`id`, `turns`, `elicits`)."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(
            path,
            "<path>",
            "no such file",
            "point it at a chat_email.jsonl (one JSON object per line)",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(
            path, "<file>", f"cannot read: {err}", "save it as UTF-8 JSONL"
        ) from None
    out: list[ChatEmailPrompt] = []
    seen: set[str] = set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            raise ScenarioError(path, f"line {n}", f"invalid JSON: {err.msg}") from None
        if not isinstance(rec, dict):
            raise ScenarioError(path, f"line {n}", "must be a JSON object")
        rid, turns = rec.get("id"), rec.get("turns")
        if not isinstance(rid, str) or not rid:
            raise ScenarioError(path, f"line {n}.id", "missing or not a string")
        if rid in seen:
            raise ScenarioError(path, f"line {n}.id", f"{rid!r} appears twice")
        seen.add(rid)
        if not isinstance(turns, list) or not turns:
            raise ScenarioError(path, f"line {n}.turns", "must be a non-empty list")
        messages = []
        for i, t in enumerate(turns):
            if not (
                isinstance(t, dict)
                and isinstance(t.get("role"), str)
                and isinstance(t.get("content"), str)
            ):
                raise ScenarioError(path, f"line {n}.turns[{i}]", "needs string role and content")
            messages.append({"role": t["role"], "content": t["content"]})
        if messages[-1]["role"] != "user":
            raise ScenarioError(path, f"line {n}.turns", "must end with a user turn")
        out.append(
            ChatEmailPrompt(rid, tuple(messages), rec.get("elicits"), rec.get("scenario_id"))
        )
    if not out:
        raise ScenarioError(path, "<file>", "holds no prompts")
    return out
