"""The control scaffold: the agentic situations asked as one chat turn.

If personas fade in agentic emails, is it the email genre or the tool loop? This
scaffold keeps the situation, the agent's framing and the facts, and drops the loop: the
model gets the system context without the tool registry and protocol, the facts the
stubs would have returned inlined as reference information, the task, and an
instruction to write only the email body.

Prompts are derived from scenario files, so any scenario folder (a user's own included)
gets its control for free; the study's own `chat_email.jsonl` can be read directly too
(`source=`), to reproduce its numbers with its exact prompts.

The parts: `email_prompt` derives a prompt from a scenario, `chat_email_source` reads the
study's jsonl, `email_body` cuts the email out of the reply; this module is the scaffold.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from charprobe.engine.types import Engine, GenerationParams, Request
from charprobe.scaffolds.base import Emit, Item, Result, Scaffold, Unit, turn_info
from charprobe.scaffolds.chat_email_source import load_chat_email_jsonl
from charprobe.scaffolds.email_body import extract_email_body
from charprobe.scaffolds.email_prompt import (
    ChatEmailPrompt,
    chat_prompt,
    chat_system_prompt,
    chat_user_prompt,
    is_lookup_tool,
    reference_sections,
    render_fact,
    signer,
)
from charprobe.scaffolds.scenarios import load_scenarios

# Re-exported: these names were defined here before the split, and are imported from here.
__all__ = [
    "ChatEmailPrompt",
    "ChatEmailScaffold",
    "chat_prompt",
    "chat_system_prompt",
    "chat_user_prompt",
    "extract_email_body",
    "is_lookup_tool",
    "load_chat_email_jsonl",
    "reference_sections",
    "render_fact",
    "signer",
]


class ChatEmailScaffold(Scaffold):
    """One chat request per (situation, adapter, sample), answered by an email body.

    Args:
        scenarios: a scenario folder or file to derive prompts from (None: the shipped
            suite).
        source: a chat_email.jsonl (the study's format) to read prompts from instead.
        items: use only the first `items` items; None for all.
    """

    name: ClassVar[str] = "chat_email"

    def __init__(
        self,
        scenarios: str | Path | None = None,
        source: str | Path | None = None,
        items: int | None = None,
    ) -> None:
        if scenarios is not None and source is not None:
            raise ValueError(
                "give either scenarios (to derive prompts) or source (a jsonl), not both"
            )
        if items is not None and items < 0:
            raise ValueError(f"items must be >= 0 or None, got {items}")
        if source is not None:
            prompts = load_chat_email_jsonl(source)
        else:
            prompts = [chat_prompt(s) for s in load_scenarios(scenarios)]
        self.prompts = prompts[:items] if items is not None else prompts

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
            result = Result(
                messages=[*request.messages, {"role": "assistant", "content": completion.text}],
                response=completion.text,
                text=text or None,
                status="ok" if text else "empty",
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                finish_reason=completion.finish_reason,
                scenario_id=unit.item.data.scenario_id,
                extra=turn_info([completion]),
            )
            emit(unit, result)
