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

from charprobe.engine.types import Engine, GenerationParams
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
