"""The OOD scaffold: an email written inside an agentic tool-use loop.

Each unit is one rollout: the scenario's conversation, continued one model turn at a
time; tool calls are answered from the scenario's stubs, malformed turns get the format
restated. Every rollout runs at once as its own coroutine and awaits its turns from the
engine (`Engine.complete`), which batches them and mixes adapters in a batch; no rollout
waits for the others' turns beyond what the engine's batching needs. A rollout is emitted
the moment it ends, so a crash loses only the rollouts still running.

The scored text is the body of an `email.send` call. A rollout that sent none still
produces a result (text None, status saying why), so it is counted in `email_rate`
rather than silently lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from tqdm.auto import tqdm

from charprobe.engine.types import Completion, Engine, GenerationParams, Message, Request
from charprobe.scaffolds.base import Emit, Item, Result, Scaffold, Unit, turn_info
from charprobe.scaffolds.protocol import format_error, format_tool_output, parse_turn
from charprobe.scaffolds.scenarios import Scenario, load_scenarios
from charprobe.scaffolds.stubs import ToolStubs

log = logging.getLogger(__name__)

EMAIL_TOOL = "email.send"
Pick = Literal["first", "last", "all"]
PICKS: tuple[str, ...] = ("first", "last", "all")


@dataclass
class Email:
    """One `email.send` call, as the model wrote it."""

    to: list[str]
    cc: list[str]
    subject: str
    body: str
    step: int


def _addresses(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [a.strip() for a in value.split(",") if a.strip()]
    if isinstance(value, (list, tuple)):
        return [str(a) for a in value]
    return [str(value)]


def pick_text(emails: Sequence[Email], pick: str) -> str | None:
    """The text to score: the first or last email body, or all of them."""
    bodies = [e.body.strip() for e in emails if e.body.strip()]
    if not bodies:
        return None
    if pick == "first":
        return bodies[0]
    if pick == "last":
        return bodies[-1]
    return "\n\n".join(bodies)


@dataclass
class Rollout:
    """The state of one live rollout."""

    unit: Unit
    scenario: Scenario
    stubs: ToolStubs
    max_steps: int
    max_malformed: int
    messages: list[Message]
    steps: int = 0
    n_malformed: int = 0
    consecutive_malformed: int = 0
    emails: list[Email] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    malformed_turns: list[dict[str, Any]] = field(default_factory=list)
    termination: str | None = None
    final_summary: str | None = None
    response: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    completions: list[Completion] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.termination is not None

    def request(self) -> Request:
        return Request(self.unit.key, list(self.messages), self.unit.adapter)

    def advance(self, completion: Completion) -> None:
        """Take one model turn: parse it, answer it, and decide whether the rollout ends."""
        self.steps += 1
        step = self.steps
        text = completion.text
        self.response = text
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.finish_reason = completion.finish_reason
        self.completions.append(completion)
        self.messages.append({"role": "assistant", "content": text})
        turn = parse_turn(text)
        for note in turn.notes:
            log.debug("%s step %d: %s", self.unit.key, step, note)
        if turn.kind == "final":
            self.final_summary = turn.final
            self.termination = "final"
            return
        if turn.kind == "malformed":
            self.n_malformed += 1
            self.consecutive_malformed += 1
            log.debug("%s step %d: malformed turn: %s", self.unit.key, step, turn.error)
            self.malformed_turns.append({"step": step, "error": turn.error, "notes": turn.notes})
            self.messages.append({"role": "user", "content": format_error(turn.error)})
            if self.consecutive_malformed >= self.max_malformed:
                self.termination = "malformed"
        else:
            self.consecutive_malformed = 0
            notes = list(turn.notes)
            result = self.stubs.call(turn.tool, turn.args)
            if turn.tool == EMAIL_TOOL:
                notes.extend(self._record_email(turn.args, step))
            self.tool_calls.append(
                {
                    "step": step,
                    "tool": turn.tool,
                    "args": turn.args,
                    "result": result,
                    "notes": notes,
                }
            )
            self.messages.append({"role": "user", "content": format_tool_output(result)})
        if not self.done and self.steps >= self.max_steps:
            self.termination = "max_steps"

    def _record_email(self, args: dict[str, Any], step: int) -> list[str]:
        body = args.get("body")
        if not isinstance(body, str) or not body.strip():
            note = "email.send without a body: not counted as an email"
            log.debug("%s step %d: %s", self.unit.key, step, note)
            return [note]
        subject = args.get("subject")
        self.emails.append(
            Email(
                to=_addresses(args.get("to")),
                cc=_addresses(args.get("cc")),
                subject=subject if isinstance(subject, str) else "",
                body=body,
                step=step,
            )
        )
        return []

    def result(self, pick: str) -> Result:
        text = pick_text(self.emails, pick)
        if text is not None:
            status = "ok"
        elif self.termination == "final":
            status = "final_without_email"
        else:
            status = self.termination or "running"
        return Result(
            messages=self.messages,
            response=self.response,
            text=text,
            status=status,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            finish_reason=self.finish_reason,
            scenario_id=self.scenario.id,
            termination=self.termination,
            steps=self.steps,
            n_tool_calls=len(self.tool_calls),
            n_malformed=self.n_malformed,
            extra={
                "final_summary": self.final_summary,
                "emails": [asdict(e) for e in self.emails],
                "tool_calls": self.tool_calls,
                "malformed_turns": self.malformed_turns,
                "max_steps": self.max_steps,
                **turn_info(self.completions),
            },
        )


class AgenticEmailScaffold(Scaffold):
    """Emails written by an agent in a tool loop, one rollout per (scenario, adapter, sample).

    Args:
        scenarios: a scenario folder or file (None: charprobe's shipped suite).
        max_steps: cap on model turns per rollout; None uses each scenario's own (8 in
            the study and the shipped suite).
        max_malformed: consecutive malformed turns that end a rollout (study: 4).
        pick: which email body is the text: "first" (study), "last", or "all" joined.
        items: use only the first `items` scenarios (by id); None for all.
        case_sensitive: stub pattern matching (see `charprobe.scaffolds.stubs`).
        progress: show a tqdm bar over finished rollouts.
    """

    name: ClassVar[str] = "agentic_email"

    def __init__(
        self,
        scenarios: str | Path | None = None,
        max_steps: int | None = None,
        max_malformed: int = 4,
        pick: str = "first",
        items: int | None = None,
        case_sensitive: bool = True,
        progress: bool = True,
    ) -> None:
        if pick not in PICKS:
            raise ValueError(f"pick must be one of {PICKS}, got {pick!r}")
        if max_steps is not None and max_steps < 1:
            raise ValueError(f"max_steps must be >= 1 or None, got {max_steps}")
        if max_malformed < 1:
            raise ValueError(f"max_malformed must be >= 1, got {max_malformed}")
        if items is not None and items < 0:
            raise ValueError(f"items must be >= 0 or None, got {items}")
        self.scenarios = load_scenarios(scenarios)
        if items is not None:
            self.scenarios = self.scenarios[:items]
        self.max_steps = max_steps
        self.max_malformed = max_malformed
        self.pick = pick
        self.case_sensitive = case_sensitive
        self.progress = progress

    def items(self) -> list[Item]:
        return [Item(s.id, s) for s in self.scenarios]

    def start(self, unit: Unit) -> Rollout:
        scenario = unit.item.data
        if not isinstance(scenario, Scenario):
            raise TypeError(
                f"unit {unit.key}: item data is {type(scenario).__name__}, not Scenario"
            )
        return Rollout(
            unit=unit,
            scenario=scenario,
            stubs=ToolStubs(scenario.tool_stubs, case_sensitive=self.case_sensitive),
            max_steps=self.max_steps or scenario.max_steps,
            max_malformed=self.max_malformed,
            messages=[dict(m) for m in scenario.initial_messages],
        )

    def run(
        self, engine: Engine, units: Sequence[Unit], params: GenerationParams, emit: Emit
    ) -> None:
        keys = [u.key for u in units]
        if len(set(keys)) != len(keys):
            raise ValueError("unit keys must be unique within one run")
        asyncio.run(self.run_async(engine, units, params, emit))

    async def run_async(
        self, engine: Engine, units: Sequence[Unit], params: GenerationParams, emit: Emit
    ) -> None:
        """Every rollout at once, each awaiting its own turns (see `rollout`)."""
        bar = tqdm(total=len(units), desc=self.name, unit="rollout", disable=not self.progress)

        async def one(unit: Unit) -> None:
            emit(unit, (await self.rollout(engine, unit, params)).result(self.pick))
            bar.update(1)

        try:
            await asyncio.gather(*(one(u) for u in units))
        finally:
            bar.close()

    async def rollout(self, engine: Engine, unit: Unit, params: GenerationParams) -> Rollout:
        """One rollout, turn by turn, as plain sequential code.

        Its next turn goes to the engine the moment the previous one is answered: vLLM
        adds it to the running batch at once; the batch engines (HF, scripted) run
        whatever is pending when every rollout is waiting.
        """
        rollout = self.start(unit)
        while not rollout.done:
            completion = await engine.complete(rollout.request(), params)
            if completion.key != unit.key:
                raise RuntimeError(f"engine answered {completion.key!r} for {unit.key!r}")
            rollout.advance(completion)
        return rollout


def summarize(results: Sequence[Result]) -> dict[str, Any]:
    """Headline numbers of a set of rollouts: how often an email came out, and why not."""
    n = len(results)

    def mean(key: str) -> float:
        return sum(getattr(r, key) or 0 for r in results) / n if n else float("nan")

    n_email = sum(r.text is not None for r in results)
    return {
        "n": n,
        "n_email": n_email,
        "n_dropped": n - n_email,
        "email_rate": n_email / n if n else float("nan"),
        "termination": dict(Counter(r.termination for r in results)),
        "status": dict(Counter(r.status for r in results)),
        "mean_steps": mean("steps"),
        "mean_tool_calls": mean("n_tool_calls"),
        "mean_malformed": mean("n_malformed"),
    }
