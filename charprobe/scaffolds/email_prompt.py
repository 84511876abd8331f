"""The chat-email prompt of an agentic scenario: its situation asked in one chat turn.

The control keeps the situation, the agent's framing and the facts, and drops the loop:
the system prompt loses the tool registry and the protocol, the facts the stubs would
have returned are inlined as reference information, then come the task and an
instruction to write only the email body. Derived from scenario files, so any scenario
folder (a user's own included) gets its control for free.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from charprobe.engine.types import Message
from charprobe.scaffolds.scenarios import Scenario


@dataclass(frozen=True)
class ChatEmailPrompt:
    """One chat-email item: the messages to send, and where they came from."""

    id: str
    messages: tuple[Message, ...]
    elicits: str | None = None
    scenario_id: str | None = None


# ---------------------------------------------------------------- system prompt

_HEADING_RE = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*$", re.MULTILINE)
# Sections that only make sense with tools: the registry and the block protocol.
_HARNESS_HEADING = re.compile(r"\b(tools?|how to act|protocol|format)\b", re.IGNORECASE)
_HARNESS_SENTENCE = re.compile(
    r"^(you have access to|you can use|you can call)\b|\btools?\b", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def _drop_harness_sentences(paragraph: str) -> str:
    sentences = _SENTENCE_END.split(paragraph.strip())
    return " ".join(s for s in sentences if not _HARNESS_SENTENCE.search(s))


def chat_system_prompt(system: str) -> str:
    """The agent's system prompt without what only an agent needs.

    Keeps the framing paragraph (minus sentences about tool access) and every markdown
    section (`## ...`) except the tool registry and the protocol instructions.
    """
    headings = list(_HEADING_RE.finditer(system))
    intro_end = headings[0].start() if headings else len(system)
    paragraphs = [_drop_harness_sentences(p) for p in re.split(r"\n\s*\n", system[:intro_end])]
    intro = "\n\n".join(p for p in paragraphs if p)
    kept = []
    for i, h in enumerate(headings):
        end = headings[i + 1].start() if i + 1 < len(headings) else len(system)
        if not _HARNESS_HEADING.search(h[1]):
            kept.append(system[h.start() : end])
    body = "".join(kept)
    if not body:
        return intro + "\n"
    return f"{intro}\n\n{body}" if intro else body


# ---------------------------------------------------------------- reference information

_ACTION_VERBS = {
    "send", "post", "cancel", "create", "update", "delete", "schedule", "book", "assign",
    "reply", "forward", "file", "submit", "approve", "add", "set", "move", "close", "write",
}  # fmt: skip
_HEADINGS = (
    (re.compile(r"crm|contact|directory|person|people", re.I), "Contacts"),
    (re.compile(r"calendar|event", re.I), "Calendar events"),
    (re.compile(r"slack", re.I), "Slack history"),
    (re.compile(r"chat|message", re.I), "Chat history"),
    (re.compile(r"ticket|tracker|issue|jira", re.I), "Tickets"),
    (re.compile(r"polic|handbook|hr\.", re.I), "Policies"),
    (re.compile(r"doc|wiki|drive|file", re.I), "Documents"),
)


def is_lookup_tool(tool: str) -> bool:
    """True for tools that return facts (search, lookup, list), False for actions."""
    verb = re.split(r"[_\-]", tool.rsplit(".", 1)[-1].lower())[0]
    return verb not in _ACTION_VERBS


def _heading(tool: str) -> str:
    return next((title for rx, title in _HEADINGS if rx.search(tool)), f"Results of {tool}")


def _plain(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def _informative(value: Any) -> bool:
    """Placeholders like "(see org chart)" or "" say nothing to a reader."""
    return value not in (None, "", [], {}) and not (
        isinstance(value, str) and value.startswith("(") and value.endswith(")")
    )


def render_fact(record: Any) -> str:
    """One stub record as one readable line, by its shape (person, event, message, ...)."""
    if not isinstance(record, Mapping):
        return _plain(record)
    g = {k: v for k, v in record.items() if _informative(v)}
    if "name" in g and "email" in g:
        role = ", ".join(
            str(g[k]) for k in ("role", "title", "team", "company", "organization") if k in g
        )
        line = f"{g['name']} <{g['email']}>" + (f", {role}" if role else "")
        if "manager" in g:
            line += f". Manager: {_plain(g['manager'])}"
        return line + (f". Notes: {_plain(g['notes'])}" if "notes" in g else "")
    if "id" in g and "status" in g and "title" in g:
        owner = f", owner {g['owner']}" if "owner" in g else ""
        opened = f", opened {g['opened']}" if "opened" in g else ""
        summary = f": {_plain(g['summary'])}" if "summary" in g else ""
        return f'{g["id"]} "{g["title"]}" ({g["status"]}{owner}{opened}){summary}'
    if "title" in g and "start" in g:
        line = f"{g['title']}: {g['start']}" + (f" to {g['end']}" if "end" in g else "")
        for key in ("location", "attendees", "responses", "notes"):
            if key in g:
                line += f"; {key}: {_plain(g[key])}"
        return line
    if "text" in g and ("channel" in g or "user" in g):
        where = " in ".join(str(g[k]) for k in ("user", "channel") if k in g)
        when = f" ({g['time']})" if "time" in g else ""
        return f"{where}{when}: {g['text']}"
    if "title" in g:
        section = f" — {g['section']}" if "section" in g else ""
        updated = f" [updated {g['updated']}]" if "updated" in g else ""
        text = next((g[k] for k in ("text", "snippet", "summary", "content") if k in g), "")
        return f"{g['title']}{section}{updated}" + (f": {_plain(text)}" if text else "")
    return _plain(g)


def reference_sections(tool_stubs: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """The facts the stubs hold, as (heading, lines): match-rule responses of lookup tools.

    Default rules are left out: they are fallbacks (an error, an empty list, an unrelated
    policy) the agent only sees when it misses the intended lookup. Identical lines are
    kept once (files reuse one response under several patterns).
    """
    sections: dict[str, list[str]] = {}
    for stub in tool_stubs:
        tool = str(stub["tool"])
        if not is_lookup_tool(tool):
            continue
        for rule in stub.get("rules") or []:
            if "match" not in rule:
                continue
            response = rule.get("response")
            records = response if isinstance(response, list) else [response]
            for record in records:
                if isinstance(record, Mapping) and "error" in record or not _informative(record):
                    continue
                lines = sections.setdefault(_heading(tool), [])
                line = render_fact(record)
                if line and line not in lines:
                    lines.append(line)
    return [(h, lines) for h, lines in sections.items() if lines]


def signer(system: str | None) -> str:
    """The first name of the user the agent acts for ("The current user is X ...")."""
    m = re.search(r"current user is ([A-Z][\w'’\-]*)", system or "")
    return m[1] if m else "the user you act for"


def chat_user_prompt(task: str, sections: list[tuple[str, list[str]]], name: str) -> str:
    parts = [task.rstrip()]
    if sections:
        facts = "\n\n".join(f"{h}:\n" + "\n".join(f"- {x}" for x in lines) for h, lines in sections)
        parts.append(f"Information you already have (no need to look anything up):\n\n{facts}")
    parts.append(
        "Write the email you would send for this task. Reply with the body of the email "
        "only: no subject line, nothing before the body and no comments after it. "
        f"Sign it as appropriate for an email sent on behalf of {name}."
    )
    return "\n\n".join(parts)


def chat_prompt(scenario: Scenario) -> ChatEmailPrompt:
    """The chat-email control of one agentic scenario."""
    system = scenario.system
    user = chat_user_prompt(scenario.task, reference_sections(scenario.tool_stubs), signer(system))
    messages: list[Message] = []
    if system is not None:
        messages.append({"role": "system", "content": chat_system_prompt(system)})
    messages.append({"role": "user", "content": user})
    return ChatEmailPrompt(scenario.id, tuple(messages), scenario.elicits, scenario.id)
