"""`complete` for engines that generate in batches (transformers + peft, scripted).

Every rollout awaits its own turn. When all of them are waiting, the requests pending
go to the engine's `generate` as one batch (one per distinct set of params): the
step-synchronous schedule, where each turn of the batch waits for its longest row. vLLM
needs none of this: its scheduler adds a request to the running batch the moment it
arrives (continuous batching).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from charprobe.engine.types import Completion, GenerationParams, Request

Generate = Callable[[Sequence[Request], GenerationParams], list[Completion]]


class StepBatcher:
    def __init__(self, generate: Generate) -> None:
        self._generate = generate
        self._pending: list[tuple[Request, GenerationParams, asyncio.Future]] = []
        self._flush: asyncio.Task | None = None

    async def complete(self, request: Request, params: GenerationParams) -> Completion:
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._pending.append((request, params, future))
        if self._flush is None or self._flush.done():
            self._flush = loop.create_task(self._run_pending())
        return await future

    async def _run_pending(self) -> None:
        # Let every rollout that can still run reach its next `complete` first, so one
        # batch holds all of them (a rollout parses its turn and answers tool calls in
        # between, without awaiting anything).
        seen = -1
        while seen != len(self._pending):
            seen = len(self._pending)
            await asyncio.sleep(0)
        batch, self._pending = self._pending, []
        groups: dict[GenerationParams, list[tuple[Request, asyncio.Future]]] = {}
        for request, params, future in batch:
            groups.setdefault(params, []).append((request, future))
        for params, group in groups.items():
            try:
                completions = self._generate([r for r, _ in group], params)
                if len(completions) != len(group):
                    raise RuntimeError(
                        f"engine gave {len(completions)} completions for {len(group)} requests"
                    )
            except BaseException as e:  # handed to every waiting rollout
                for _, future in group:
                    if not future.done():
                        future.set_exception(e)
                continue
            for (_, future), completion in zip(group, completions, strict=True):
                if not future.done():
                    future.set_result(completion)
