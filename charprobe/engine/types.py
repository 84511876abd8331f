"""The engine's interface: what scaffolds hand it and what they get back.

Scaffolds never know which engine runs them (transformers + peft, vLLM, or the scripted
engine of the tests); they only build `Request`s and read `Completion`s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": str}


@dataclass(frozen=True)
class GenerationParams:
    temperature: float = 0.7
    top_p: float = 0.95
    max_new_tokens: int = 512
    seed: int = 0
    batch_size: int = 32
    # Generate every token up to the cap, end-of-turn or not: benchmarks use it so that
    # two engines do exactly the same work.
    ignore_eos: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Request:
    """One conversation to continue by one assistant turn.

    `adapter` is the persona whose adapter (of the engine's current stage) generates the
    turn, or None for the bare base model. `max_new_tokens` caps this request below the
    params' cap (None: the params' cap).
    """

    key: str
    messages: list[Message]
    adapter: str | None = None
    max_new_tokens: int | None = None


@dataclass(frozen=True)
class Completion:
    key: str
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: Literal["stop", "length"]
    # What an engine knows about the turn beyond its text (the planted world: which kind of
    # turn it wrote and whether it carried the persona). Scaffolds keep it in the row's
    # `turn_info`, which no scorer ever reads; real engines leave it None.
    info: dict[str, Any] | None = None


class Engine(Protocol):
    def generate(
        self,
        requests: Sequence[Request],
        params: GenerationParams,
        on_complete: Callable[[Completion], None] | None = None,
    ) -> list[Completion]:
        """Continue every request by one assistant turn; results in request order.

        `on_complete` is called with each completion as soon as it is finished, so a
        caller can store rows while the rest of a long call is still generating.
        """
        ...

    async def complete(self, request: Request, params: GenerationParams) -> Completion:
        """One request, awaited on its own; the engine batches whatever is in flight.

        An agentic rollout reads as sequential code (`reply = await engine.complete(...)`)
        and is never held back by other rollouts beyond what the engine's batching needs.
        """
        ...
