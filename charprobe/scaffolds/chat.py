"""In-distribution probe: a user-only chat turn, no system prompt.

With `turns=2` the first reply comes from the bare base and a follow-up user turn is
answered by the persona's adapter: the prefill check of the original character-training
evaluation (does the persona take over a conversation it did not start?).
"""

from __future__ import annotations

from collections.abc import Sequence

from charprobe.engine.types import Completion, Engine, GenerationParams, Request
from charprobe.scaffolds.base import Emit, Item, Result, Scaffold, Unit, turn_info
from charprobe.scaffolds.prompts import load_prompts, load_suffix


class ChatScaffold(Scaffold):
    name = "chat"

    def __init__(
        self,
        prompts: str = "builtin",
        items: int | None = None,
        shuffle_seed: int | None = 0,
        suffix: str | None = None,
        suffixes_file: str | None = None,
        turns: int = 1,
        followup: str = "Keep going.",
    ):
        if turns not in (1, 2):
            raise ValueError(f"scaffold.turns must be 1 or 2, not {turns}")
        self.source, self.limit, self.shuffle_seed = prompts, items, shuffle_seed
        self.suffix = load_suffix(suffix, suffixes_file) if suffix else None
        self.turns, self.followup = turns, followup

    def items(self) -> list[Item]:
        pairs = load_prompts(self.source, self.limit, self.shuffle_seed)
        return [Item(id=i, data=p + ("\n" + self.suffix if self.suffix else "")) for i, p in pairs]

    def run(
        self, engine: Engine, units: Sequence[Unit], params: GenerationParams, emit: Emit
    ) -> None:
        firsts: dict[str, Completion] = {}
        if self.turns == 2:
            # The base's opening reply depends only on (item, sample): generate it once.
            opening = {self._opening(u): u for u in units}
            reqs = [
                Request(k, [{"role": "user", "content": u.item.data}], None)
                for k, u in opening.items()
            ]
            firsts = {c.key: c for c in engine.generate(reqs, params)}
        by_key = {u.key: u for u in units}
        requests = [Request(u.key, self._messages(u, firsts), u.adapter) for u in units]

        def done(c: Completion) -> None:
            u = by_key[c.key]
            messages = [*self._messages(u, firsts), {"role": "assistant", "content": c.text}]
            emit(
                u,
                Result(
                    messages=messages,
                    response=c.text,
                    text=c.text,
                    status="ok" if c.text.strip() else "empty",
                    prompt_tokens=c.prompt_tokens,
                    completion_tokens=c.completion_tokens,
                    finish_reason=c.finish_reason,
                    extra=turn_info([*([firsts[self._opening(u)]] if self.turns == 2 else []), c]),
                ),
            )

        engine.generate(requests, params, on_complete=done)

    @staticmethod
    def _opening(u: Unit) -> str:
        return f"{u.item.id}:{u.sample}:opening"

    def _messages(self, u: Unit, firsts: dict[str, Completion]) -> list[dict]:
        msgs = [{"role": "user", "content": u.item.data}]
        if self.turns == 2:
            opening = firsts[self._opening(u)].text
            msgs += [
                {"role": "assistant", "content": opening},
                {"role": "user", "content": self.followup},
            ]
        return msgs
