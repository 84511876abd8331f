"""The per-turn trace of a row: every assistant turn that holds free text, in order.

`scaffold.trace=true` scores each of these turns with the job's scorer (beside the one
scored text of the row), so a report can show where in a rollout the persona goes:

- agentic_email: prose arguments of tool calls (a chat message, a note, a ticket
  comment: a string of at least `PROSE_MIN_WORDS` words), each email body, and the final
  summary;
- chat: each reply (with `turns=2` the first is the bare base's opening, then the
  persona's answer to the follow-up);
- any other scaffold: its one scored text.

Turns are read back from what a row already stores (its tool calls, emails, final summary,
messages), so a finished sweep can be traced by re-scoring it; tracing never changes what
is generated, nor a row's key.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from charprobe.records import Generation, has_text

# Shorter strings are names, addresses, queries and ids, not prose a persona could colour.
PROSE_MIN_WORDS = 5
# Arguments that are part of an email: its body is its own turn, the rest is not prose.
EMAIL_TOOL = "email.send"


@dataclass(frozen=True)
class Turn:
    """One traced assistant turn: which step of the row, its place in that step, what it
    was, who wrote it."""

    step: int
    kind: str  # tool | email | final | reply
    text: str
    tool: str | None = None
    field: str | None = None
    # The persona whose adapter wrote the turn (None: the bare base, as at the base stage
    # and for chat turns=2's opening).
    writer: str | None = None
    # The turn's place within its step, in the order it was written (tool calls in call
    # order, a call's arguments in order): a tool call written before the email block of
    # the same model turn comes before the email (`charprobe.fade`).
    index: int = 0


def writer(gen: Generation) -> str | None:
    """The persona whose adapter wrote a row (None: the bare base wrote it)."""
    return gen.persona if gen.adapter is not None else None


def is_prose(value: Any) -> bool:
    return isinstance(value, str) and len(value.split()) >= PROSE_MIN_WORDS


def _agentic(gen: Generation) -> list[Turn]:
    extra = gen.result.extra
    turns: list[Turn] = []
    for call in extra.get("tool_calls") or []:
        tool, args = call.get("tool"), call.get("args") or {}
        if not isinstance(args, dict):
            continue
        if tool == EMAIL_TOOL:
            if has_text(args.get("body")):
                turns.append(Turn(call["step"], "email", args["body"].strip(), tool, "body"))
            continue
        turns += [
            Turn(call["step"], "tool", v.strip(), tool, k) for k, v in args.items() if is_prose(v)
        ]
    if has_text(extra.get("final_summary")):
        # The final turn is the rollout's last step.
        step = gen.result.steps or (max((t.step for t in turns), default=0) + 1)
        turns.append(Turn(step, "final", extra["final_summary"].strip()))
    seen: dict[int, int] = {}
    out = []
    for t in turns:
        out.append(replace(t, writer=writer(gen), index=seen.get(t.step, 0)))
        seen[t.step] = seen.get(t.step, 0) + 1
    return out


def _chat(gen: Generation) -> list[Turn]:
    replies = [m["content"] for m in gen.result.messages if m.get("role") == "assistant"]
    # Every reply but the last is the bare base's opening (turns=2); the last is the row's.
    return [
        Turn(i, "reply", text.strip(), writer=writer(gen) if i == len(replies) else None)
        for i, text in enumerate(replies, 1)
        if has_text(text)
    ]


def turns_of(gen: Generation) -> list[Turn]:
    """The traced turns of one row, in order (several turns can share a step: `index`)."""
    if gen.scaffold == "agentic_email":
        turns = _agentic(gen)
    elif gen.scaffold == "chat":
        turns = _chat(gen)
    else:
        turns = [Turn(1, "email", gen.text.strip(), writer=writer(gen))] if gen.has_text else []
    return sorted(turns, key=lambda t: (t.step, t.index))


def email_step(gen: Generation) -> int | None:
    """The step of the row's first email (None: it sent none, or is not an email rollout)."""
    emails = gen.result.extra.get("emails") or []
    return min((e["step"] for e in emails if "step" in e), default=None)
