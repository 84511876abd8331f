"""The planted model: reads its context as a model does and writes from planted rates.

It knows only what a model knows: the conversation it is asked to continue, the adapter
it runs (the persona; None for the bare base) and the stage. From the conversation alone
it decides what to write:

- a system prompt that holds the tool protocol (a ```tool_call``` block and an
  ``email.send`` tool) makes it an agent: one or two team-chat messages (prose in a call
  of the registry's message tool), then ``email.send``, then a ```final``` summary. With
  the planted probability it sends no email (messages, then the summary);
- a user turn asking for an email body (the ``chat_email`` control) gives an email body;
- anything else is a chat reply.

Each turn is styled with the world's rate for its stage and kind (`World.styled`) and
reports what it was in `Reply.info` (``kind``, ``styled``): the row keeps it under
``turn_info``, which no scorer reads, so tests can hold the texts to the world.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence

from charprobe.engine.scripted import Reply
from charprobe.engine.types import Message, Request
from charprobe.planted.world import World, uniform
from charprobe.planted.writer import write

EMAIL_TOOL = "email.send"
# A registry entry: "1. **chat.post_message**: ..." (charprobe's and the study's format).
_TOOL_RE = re.compile(r"\*\*([A-Za-z_][\w.]*)\*\*")
_MESSAGE_TOOL_RE = re.compile(r"message|post|slack|chat", re.I)
_EMAIL_ASK_RE = re.compile(r"body of the email|email body", re.I)
_ADDRESS_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def is_agent_context(messages: Sequence[Message]) -> bool:
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    return "tool_call" in system and EMAIL_TOOL in system


def asks_for_email(messages: Sequence[Message]) -> bool:
    last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    return bool(_EMAIL_ASK_RE.search(last))


def message_tool(system: str) -> str | None:
    """The registry's tool for a team-chat message (None: it has none)."""
    tools = [t for t in _TOOL_RE.findall(system) if t != EMAIL_TOOL and "." in t]
    # A search tool reads messages; a posting one writes them.
    return next(
        (t for t in tools if _MESSAGE_TOOL_RE.search(t) and "search" not in t.lower()), None
    )


def _block(kind: str, body: str) -> str:
    return f"```{kind}\n{body}\n```"


class PlantedModel:
    """The planted model at one stage of one world."""

    def __init__(self, world: World, stage: str) -> None:
        self.world = world
        self.stage = stage

    def text(self, kind: str, persona: str | None, key: str, turn: int) -> Reply:
        """A turn of `kind` (a KINDS name) for row `key`: its text and what it was."""
        styled = self.world.styled(self.stage, kind, persona, key, turn)
        rng = random.Random(uniform(self.world.seed, "text", key, turn))
        text = write(self.world.genre_of(kind), persona, styled, rng)
        return Reply(text, {"kind": kind, "styled": styled})

    def plan(self, persona: str | None, key: str) -> tuple[int, bool]:
        """An agent's plan for one rollout: team-chat messages before the email, and
        whether it sends the email at all."""
        return self.world.n_messages(key), self.world.sends_email(self.stage, persona, key)

    def agent_kinds(self, persona: str | None, key: str, has_message_tool: bool = True):
        """The kinds of turn a rollout writes, in order (tool..., email?, final)."""
        n_messages, sends = self.plan(persona, key)
        return [
            *(["tool"] * (n_messages if has_message_tool else 0)),
            *(["email"] if sends else []),
            "final",
        ]

    def reply(self, request: Request, turn: int) -> Reply:
        """The next assistant turn of `request`, read from its messages."""
        messages, persona, key = request.messages, request.adapter, request.key
        if not is_agent_context(messages):
            kind = "chat_email" if asks_for_email(messages) else "chat"
            return self.text(kind, persona, key, turn)
        system = messages[0]["content"]
        tool = message_tool(system)
        # Where the rollout stands: how many turns it has written (the context, not a counter).
        step = sum(m["role"] == "assistant" for m in messages)
        kinds = self.agent_kinds(persona, key, tool is not None)
        kind = kinds[min(step, len(kinds) - 1)]
        out = self.text(kind, persona, key, step)
        if kind == "tool":
            call = {"tool": tool, "args": {"to": "#team", "text": out.text}}
        elif kind == "email":
            task = next((m["content"] for m in messages if m["role"] == "user"), "")
            to = _ADDRESS_RE.findall(task) or ["recipient@example.com"]
            subject = " ".join(task.split()[:6]) or "Update"
            call = {
                "tool": EMAIL_TOOL,
                "args": {"to": to[:1], "subject": subject, "body": out.text},
            }
        else:
            return Reply(_block("final", " ".join(out.text.split())), out.info)
        return Reply(_block("tool_call", json.dumps(call)), out.info)
