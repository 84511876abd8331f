"""The planted world: a model organism with a known answer, for checking the instrument.

`engine=planted` (with `model=planted`) writes every scaffold's texts from rates we set
(`charprobe.planted.world`), so every number charprobe reports has a true value:
`charprobe.planted.truth` computes it from a very large draw of the same world, scored by
the same scorer. The presets `engine=planted_null` (nothing to find) and
`engine=planted_genre` (a genre change, no persona change) are the worlds where the
instrument must raise no alarm. No weights, no torch: a whole sweep runs in seconds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from charprobe.identity import digest

ENGINE_TARGET = "charprobe.planted.engine.planted_engine"
# model=planted's path when the engine is not the planted one (refused by the input check).
NO_WORLD = "planted:no-world"

__all__ = ["ENGINE_TARGET", "NO_WORLD", "cache_root", "engine_options", "preset", "world_id"]


def cache_root() -> Path:
    """Where planted worlds keep their trained scorers and training replies."""
    env = os.environ.get("CHARPROBE_PLANTED_DIR")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "charprobe" / "planted"


def world_id(engine: dict[str, Any]) -> str:
    """`planted:<world>-<digest>`: the identity of the world an engine option describes
    (what the planted model "is"), so rows of two worlds never share a key."""
    from charprobe.planted.world import World
    from charprobe.planted.writer import WRITER_VERSION

    if engine.get("_target_") != ENGINE_TARGET:
        # No world: the input check says so in one line (`checks.check_planted`).
        return NO_WORLD
    world = World.of(engine_options(engine))
    h = digest({"writer": WRITER_VERSION, **world.identity()})[:12]
    return f"planted:{world.name}-{h}"


def preset(name: str = "planted", overrides: tuple[str, ...] = ()):
    """The `World` of the engine option `conf/engine/<name>.yaml` (with `overrides` such
    as ``engine.seed=3``), composed by Hydra as a job would compose it."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from charprobe.config import CONF_DIR
    from charprobe.planted.world import World

    args = [f"engine={name}", "model=planted", *overrides]
    if GlobalHydra.instance().is_initialized():  # inside a Hydra app
        cfg = compose(config_name="config", overrides=args)
    else:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=args)
    return World.of(engine_options(OmegaConf.to_container(cfg.engine, resolve=True)))


def engine_options(engine: dict[str, Any]) -> dict[str, Any]:
    """An engine option's world settings (without what every engine option has)."""
    return {
        k: v
        for k, v in engine.items()
        if k not in ("_target_", "name", "loads_weights", "max_words")
    }
