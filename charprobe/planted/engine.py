"""`engine=planted`: the scripted engine, replying as the planted model of one world."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from charprobe.engine.scripted import ScriptedEngine
from charprobe.planted.model import PlantedModel
from charprobe.planted.world import World


def planted_engine(
    model: object,
    stage: Any,
    personas: Sequence[str],
    cache: object = None,
    max_words: int | None = None,
    **world: Any,
) -> ScriptedEngine:
    """The planted model of the world in `world` (the engine option's fields) at `stage`;
    no weights, so nothing goes in the runner's `cache`."""
    planted = PlantedModel(World.of(world), str(stage.name))
    return ScriptedEngine(planted.reply, max_words=max_words)
