"""The control scaffold: the agentic situations asked as one chat turn.

If personas fade in agentic emails, is it the email genre or the tool loop? This
scaffold keeps the situation, the agent's framing and the facts, and drops the loop: the
model gets the system context without the tool registry and protocol, the facts the
stubs would have returned inlined as reference information, the task, and an
instruction to write only the email body.

Prompts are derived from scenario files, so any scenario folder (a user's own included)
gets its control for free; the study's own `chat_email.jsonl` can be read directly too
(`source=`), to reproduce its numbers with its exact prompts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from charprobe.engine.types import Engine, GenerationParams, Message, Request
from charprobe.scaffolds.base import Emit, Item, Result, Scaffold, Unit
from charprobe.scaffolds.scenarios import Scenario, ScenarioError, load_scenarios


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


def load_chat_email_jsonl(path: str | Path) -> list[ChatEmailPrompt]:
    """Read prompts in the study's chat_email.jsonl format (`id`, `turns`, `elicits`)."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(path, "<path>", "no such file",
                            "point it at a chat_email.jsonl (one JSON object per line)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(path, "<file>", f"cannot read: {err}",
                            "save it as UTF-8 JSONL") from None
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


# ---------------------------------------------------------------- reading the reply

_THINK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE_RE = re.compile(r"```[\w\-]*[ \t]*\n?(.*?)(?:\n?```|\Z)", re.DOTALL)
_RULE_RE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_HEADER_RE = re.compile(
    r"^\s*(?:\*\*|__)?(subject|re|to|cc|bcc|from|date|email body|body|email|message)"
    r"\s*:\s*(?:\*\*|__)?\s*(.*)$",
    re.IGNORECASE,
)
_PREAMBLE_RE = re.compile(
    r"^\s*(?:\*\*)?(sure|certainly|of course|okay|ok|absolutely|here(?:'s| is| are)|below is"
    r"|i(?:'ve| have) (?:drafted|written))\b",
    re.IGNORECASE,
)
_EMAIL_WORD = re.compile(r"\b(e-?mail|draft|body|message|reply|response)\b", re.IGNORECASE)
_COMMENTARY_RE = re.compile(
    r"^\s*(?:\(|\*\*|\*)?\s*(note\b|notes\b|explanation\b|i hope this (?:email|draft|helps)"
    r"|this (?:email|draft|message|version)\b|feel free to|i(?:'ve| have)? kept"
    r"|let me know if you(?:'d| would)? (?:like|want)|would you like me)",
    re.IGNORECASE,
)
_QUOTES = {'"': '"', "“": "”", "'": "'", "«": "»"}


def _unfence(text: str) -> str:
    """The content of a fence wrapping the email (with at most a short note around it)."""
    m = _FENCE_RE.search(text)
    if not m:
        return text
    inner = m[1].strip()
    outside = (text[: m.start()] + "\n" + text[m.end() :]).strip()
    note_lines = [ln for ln in outside.splitlines() if ln.strip()]
    short_note = len(note_lines) <= 2 and len(outside) < max(200, len(inner))
    return inner if inner and (not outside or short_note or len(outside) < len(inner) / 4) else text


def _is_preamble(line: str) -> bool:
    s = line.strip()
    return bool(_PREAMBLE_RE.match(s)) and (s.endswith(":") or bool(_EMAIL_WORD.search(s)))


def extract_email_body(reply: str) -> str:
    """The email body in a chat reply: drop preambles, header lines, fences, quotes, notes.

    Models add "Here is the email:", a "Subject:" line, a fence or quotes, or a closing
    remark, even when told not to; the scorer should read only what the email says.
    """
    text = _unfence(_THINK_RE.sub("", reply).strip())
    lines = text.splitlines()
    while lines:
        first = lines[0]
        header = _HEADER_RE.match(first)
        if not first.strip() or _RULE_RE.match(first) or _is_preamble(first):
            lines.pop(0)
        elif header:
            if (
                header[1].lower() in ("body", "email body", "email", "message")
                and header[2].strip()
            ):
                lines[0] = header[2]
                break
            lines.pop(0)
        else:
            break
    text = "\n".join(lines).strip()
    while True:  # drop closing remarks, one paragraph at a time
        paragraphs = re.split(r"\n\s*\n", text)
        last = paragraphs[-1]
        if len(paragraphs) > 1 and (_COMMENTARY_RE.match(last) or _RULE_RE.match(last)):
            text = "\n\n".join(paragraphs[:-1]).rstrip()
            continue
        break
    text = "\n".join(ln for ln in text.splitlines()).strip()
    while text.splitlines() and _RULE_RE.match(text.splitlines()[-1]):
        text = "\n".join(text.splitlines()[:-1]).rstrip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] == _QUOTES[text[0]]:
        text = text[1:-1].strip()
    return text.strip()


# ---------------------------------------------------------------- the scaffold


class ChatEmailScaffold(Scaffold):
    """One chat request per (situation, adapter, sample), answered by an email body.

    Args:
        scenarios: a scenario folder or file to derive prompts from (None: the shipped
            suite).
        source: a chat_email.jsonl (the study's format) to read prompts from instead.
        limit: use only the first `limit` items; None for all.
    """

    name: ClassVar[str] = "chat_email"

    def __init__(
        self,
        scenarios: str | Path | None = None,
        source: str | Path | None = None,
        limit: int | None = None,
    ) -> None:
        if scenarios is not None and source is not None:
            raise ValueError(
                "give either scenarios (to derive prompts) or source (a jsonl), not both"
            )
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0 or None, got {limit}")
        if source is not None:
            prompts = load_chat_email_jsonl(source)
        else:
            prompts = [chat_prompt(s) for s in load_scenarios(scenarios)]
        self.prompts = prompts[:limit] if limit is not None else prompts

    def items(self) -> list[Item]:
        return [Item(p.id, p) for p in self.prompts]

    def run(
        self, engine: Engine, units: Sequence[Unit], params: GenerationParams, emit: Emit
    ) -> None:
        if not units:
            return
        requests = []
        for u in units:
            prompt = u.item.data
            if not isinstance(prompt, ChatEmailPrompt):
                raise TypeError(
                    f"unit {u.key}: item data is {type(prompt).__name__}, not ChatEmailPrompt"
                )
            requests.append(Request(u.key, [dict(m) for m in prompt.messages], u.adapter))
        completions = engine.generate(requests, params)
        if len(completions) != len(requests):
            raise RuntimeError(
                f"engine returned {len(completions)} completions for {len(requests)} requests"
            )
        for unit, request, completion in zip(units, requests, completions, strict=True):
            text = extract_email_body(completion.text)
            result: Result = {
                "scenario_id": unit.item.data.scenario_id,
                "messages": [*request.messages, {"role": "assistant", "content": completion.text}],
                "response": completion.text,
                "text": text or None,
                "status": "ok" if text else "empty",
                "prompt_tokens": completion.prompt_tokens,
                "completion_tokens": completion.completion_tokens,
                "finish_reason": completion.finish_reason,
            }
            emit(unit, result)
