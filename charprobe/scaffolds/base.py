"""The scaffold interface: items in, one result per unit of work out.

A scaffold knows how to elicit text for an item (a chat prompt, a scenario) and nothing
about which engine runs it, which stage is loaded, or where rows are stored. The job
runner (`charprobe.job`) decides which units are pending (resume), fans base-stage results
out to every persona, and writes rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from charprobe.engine.types import Completion, Engine, GenerationParams
from charprobe.records import Result


@dataclass(frozen=True)
class Item:
    """One prompt (chat) or one scenario (email scaffolds). `data` is the scaffold's own."""

    id: str
    data: Any


@dataclass(frozen=True)
class Unit:
    """One piece of generation work: an item under one adapter (None: bare base), one sample."""

    key: str
    item: Item
    adapter: str | None
    sample: int


Emit = Callable[[Unit, Result], None]

# The row field that keeps what the engine knew about each assistant turn
# (`Completion.info`, one entry per turn in order, with its step). Rows of engines that
# know nothing beyond the text (every real one) have no such field.
TURN_INFO = "turn_info"


def turn_info(completions: Sequence[Completion]) -> dict[str, Any]:
    """`{TURN_INFO: [...]}` for the `extra` of a result whose assistant turns were
    `completions` (in order), or {} when the engine gave no info."""
    if all(c.info is None for c in completions):
        return {}
    return {TURN_INFO: [{"step": i, **(c.info or {})} for i, c in enumerate(completions, 1)]}


class Scaffold(ABC):
    name: ClassVar[str]

    @abstractmethod
    def items(self) -> list[Item]:
        """The items of this scaffold, in a fixed order."""

    @abstractmethod
    def run(
        self, engine: Engine, units: Sequence[Unit], params: GenerationParams, emit: Emit
    ) -> None:
        """Generate every unit, calling `emit` once per unit as soon as it is finished.

        Hand the engine all pending conversations at once (the engine batches them);
        a unit emitted is never generated again when the job resumes.
        """
