"""A deterministic offline engine that replays scripted replies (for tests and demos).

Like inspect_ai's mock model: no weights, no randomness. It records every `generate`
call, so a test can check how a scaffold batches (all live rollouts in one call, finished
ones gone from the next).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from charprobe.engine.batching import StepBatcher
from charprobe.engine.types import Completion, GenerationParams, Request


@dataclass(frozen=True)
class Reply:
    """A scripted turn with what the script knows about it (`Completion.info`)."""

    text: str
    info: dict[str, Any]


# A reply function sees the request and how many turns this key has had (0-based).
ReplyFn = Callable[[Request, int], "str | Reply"]


class ScriptExhausted(RuntimeError):
    """A key asked for more turns than its script holds (and there is no default)."""


@dataclass(frozen=True)
class EngineCall:
    """One `generate` call as the engine saw it."""

    requests: tuple[Request, ...]
    params: GenerationParams

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.requests]


class ScriptedEngine:
    """Replies from a script: a function, one list for every key, or a list per key.

    - `ScriptedEngine(fn)`: `fn(request, turn) -> str`.
    - `ScriptedEngine(["a", "b"])`: every key gets "a" on its first turn, then "b".
    - `ScriptedEngine({"k1": [...], "k2": [...]})`: each key its own list.
    When a list runs out, `default` is replied if given, otherwise `ScriptExhausted`.
    Token counts are whitespace word counts: deterministic, and enough to test sums.
    """

    def __init__(
        self,
        script: ReplyFn | Sequence[str] | Mapping[str, Sequence[str]],
        *,
        default: str | None = None,
        max_words: int | None = None,
    ) -> None:
        self.script = script
        self.default = default
        self.max_words = max_words
        self.calls: list[EngineCall] = []
        self.turns: dict[str, int] = defaultdict(int)
        self._batcher = StepBatcher(self.generate)

    def _reply(self, request: Request, turn: int) -> str | Reply:
        if callable(self.script):
            return self.script(request, turn)
        if isinstance(self.script, Mapping):
            if request.key not in self.script and self.default is None:
                raise ScriptExhausted(f"no script for key {request.key!r}")
            replies = self.script.get(request.key, ())
        else:
            replies = self.script
        if turn < len(replies):
            return replies[turn]
        if self.default is not None:
            return self.default
        raise ScriptExhausted(
            f"key {request.key!r} asked for turn {turn + 1}; script has {len(replies)}"
        )

    async def complete(self, request: Request, params: GenerationParams) -> Completion:
        return await self._batcher.complete(request, params)

    def generate(
        self,
        requests: Sequence[Request],
        params: GenerationParams,
        on_complete: Callable[[Completion], None] | None = None,
    ) -> list[Completion]:
        self.calls.append(EngineCall(tuple(requests), params))
        out = []
        for request in requests:
            turn = self.turns[request.key]
            self.turns[request.key] += 1
            reply = self._reply(request, turn)
            text, info = (reply.text, reply.info) if isinstance(reply, Reply) else (reply, None)
            finish = "stop"
            if self.max_words is not None and len(text.split()) > self.max_words:
                text, finish = " ".join(text.split()[: self.max_words]), "length"
            prompt = sum(len(m["content"].split()) for m in request.messages)
            out.append(Completion(request.key, text, prompt, len(text.split()), finish, info))
            if on_complete is not None:
                on_complete(out[-1])
        return out


def echo(request: Request, turn: int) -> str:
    """The default reply of `engine=scripted`: who answers, and to what."""
    last = next((m["content"] for m in reversed(request.messages) if m["role"] == "user"), "")
    return f"[{request.adapter or 'base'}] turn {turn}: {' '.join(last.split()[:12])}"


def scripted_engine(
    model: object,
    stage: object,
    personas: Sequence[str],
    reply: str = "charprobe.engine.scripted.echo",
    max_words: int | None = None,
    cache: object = None,
) -> ScriptedEngine:
    """`engine=scripted`: replies from the function at the dotted path `reply`; no weights
    (so nothing goes in the runner's `cache`)."""
    from hydra.utils import get_method

    return ScriptedEngine(get_method(reply), max_words=max_words)
