"""Input checks that run right after the config is composed, before any weights load.

Every bad input a user can give (a broken scenario file, a bad prompts line, a negative
item count, a classifier of another label order, a hub without network, ...) fails here
in one line (`UserError`: the input, what is wrong with it, and the fix), within
seconds, instead of as a traceback after the weights have loaded.

Nothing here imports torch or transformers: the entry point (`charprobe.main`) calls
`check_inputs` before it even imports the job runner, so a bad input costs about a
second. The job runner calls it again; a config already checked in this process is not
checked twice.

Choices (`scaffold.pick`, `stats.no_email`, ...) are Enums in `charprobe.config` and fail
earlier still, when Hydra composes the config. The scorer's checks are `checks.scorer`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from charprobe.checks.scorer import check_scorer
from charprobe.engine import hub
from charprobe.engine.devices import is_device
from charprobe.errors import UserError, require

# The config last checked in this process (its YAML): the runner's second call is free.
_CHECKED: str | None = None


def check_inputs(cfg: DictConfig) -> None:
    """Raise `UserError` naming the input, what is wrong with it, and the fix."""
    global _CHECKED
    key = OmegaConf.to_yaml(cfg)
    if key == _CHECKED:
        return
    check_numbers(cfg)
    personas = check_personas(cfg)
    check_scaffold(cfg)
    check_planted(cfg)
    if cfg.engine.loads_weights:
        check_model(cfg, personas)
    check_scorer(cfg)
    _CHECKED = key


# --------------------------------------------------------------------------- numbers


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_numbers(cfg: DictConfig) -> None:
    """Counts, ranges and devices: what a schema type alone cannot say."""
    sc, g = cfg.scaffold, cfg.generation
    items = sc["items"]  # `.items` is the mapping method
    require(
        "scaffold.items",
        items,
        items is None or (_whole(items) and items >= 1),
        "must be a positive number of items, or null for all of them",
        "e.g. scaffold.items=10, or scaffold.items=null",
    )
    # Each scaffold's schema has only its own fields (chat: turns; agentic_email: steps).
    if "turns" in sc:
        require(
            "scaffold.turns",
            sc.turns,
            sc.turns in (1, 2),
            "must be 1 (one user turn) or 2 (the base's reply, then the persona's)",
            "set scaffold.turns=1 or scaffold.turns=2",
        )
    if "max_steps" in sc:
        require(
            "scaffold.max_steps",
            sc.max_steps,
            sc.max_steps is None or sc.max_steps >= 1,
            "must be at least 1 model turn, or null for each scenario's own",
            "e.g. scaffold.max_steps=8",
        )
        require(
            "scaffold.max_malformed",
            sc.max_malformed,
            sc.max_malformed >= 1,
            "must be at least 1",
            "e.g. scaffold.max_malformed=4",
        )
    t = g.temperature
    require(
        "generation.temperature",
        t,
        math.isfinite(t) and t >= 0,
        "must be >= 0 (0 is greedy decoding)",
        "e.g. generation.temperature=0.7",
    )
    require(
        "generation.top_p",
        g.top_p,
        0 < g.top_p <= 1,
        "must be in (0, 1]",
        "e.g. generation.top_p=0.95",
    )
    require(
        "generation.max_new_tokens",
        g.max_new_tokens,
        g.max_new_tokens >= 1,
        "must be at least 1",
        "e.g. generation.max_new_tokens=512",
    )
    require(
        "generation.samples",
        g.samples,
        g.samples >= 1,
        "must be at least 1 (texts per item and persona)",
        "e.g. generation.samples=1",
    )
    require(
        "generation.batch_size",
        g.batch_size,
        g.batch_size >= 1,
        "must be at least 1",
        "e.g. generation.batch_size=32",
    )
    check_engine(cfg)
    st = cfg.stats
    require(
        "stats.n_boot",
        st.n_boot,
        st.n_boot >= 0,
        "must be >= 0 bootstrap resamples (0: no interval)",
        "e.g. stats.n_boot=1000",
    )
    require("stats.level", st.level, 0 < st.level < 1, "must be in (0, 1)", "e.g. stats.level=0.95")
    for name in ("n_boot_p", "n_perm", "min_items", "min_rows"):
        value = st.get(name, 0)
        require(f"stats.{name}", value, value >= 0, "must be >= 0", f"e.g. stats.{name}=10")
    tr = cfg.get("trace") or {}
    require("trace.margin", tr.get("margin", 0.1), tr.get("margin", 0.1) >= 0, "must be >= 0",
             "e.g. trace.margin=0.1")  # fmt: skip
    s = cfg.scorer
    if s._target_ is None:
        return
    n = s.train_items
    require(
        "scorer.train_items",
        n,
        n is None or n >= 1,
        "must be a positive number of prompts, or null for all",
        "e.g. scorer.train_items=60",
    )


# --------------------------------------------------------------------------- personas


def check_personas(cfg: DictConfig) -> list[str]:
    from charprobe import personas as persona_sets

    try:
        return persona_sets.validate(cfg.persona.personas)
    except persona_sets.UnknownPersonaError as e:
        raise UserError(f"persona.personas: {e}; use persona names from that list") from None


# --------------------------------------------------------------------------- scaffold


def check_scaffold(cfg: DictConfig) -> None:
    """Build the scaffold and read its items: every prompt and scenario file is read here."""
    from charprobe.scaffolds import make_scaffold
    from charprobe.scaffolds.scenarios import ScenarioError

    sc = cfg.scaffold
    try:
        make_scaffold(sc).items()
    except ScenarioError as e:
        key = "scaffold.source" if sc.get("source") else "scaffold.scenarios"
        value = sc.get(key.split(".")[1])
        shown = "null (charprobe's own suite)" if value is None else value
        fix = e.fix or f"fix that field, or point {key} at other files"
        if (
            value is not None
            and Path(e.path) == Path(str(value))
            and e.field in ("<path>", "<folder>")
        ):
            raise UserError(f"{key}={shown}: {e.problem}; {fix}") from None
        field = "" if e.field.startswith("<") else f" {e.field}:"  # not <yaml>, <file>
        raise UserError(f"{key}={shown}: {e.path}:{field} {e.problem}; {fix}") from None
    except UserError:
        raise
    except ValueError as e:  # a scaffold's own argument check
        raise UserError(f"scaffold={sc.name}: {e}") from None


# --------------------------------------------------------------------------- model, adapters


def check_engine(cfg: DictConfig) -> None:
    """The engine's options, and vLLM being there when it is asked for (not imported here)."""
    import importlib.util

    from charprobe.engine import VLLM_INSTALL

    e = cfg.engine
    if "device" in e:
        require(
            "engine.device",
            e.device,
            is_device(e.device),
            "is not a device",
            "use auto, cpu, cuda, cuda:N or mps",
        )
    if "gpu_memory_utilization" not in e:  # not engine=vllm
        return
    if importlib.util.find_spec("vllm") is None:
        raise UserError(f"engine=vllm: vLLM is not installed; {VLLM_INSTALL}")
    require(
        "engine.gpu_memory_utilization",
        e.gpu_memory_utilization,
        0 < e.gpu_memory_utilization <= 1,
        "must be in (0, 1]",
        "e.g. engine.gpu_memory_utilization=0.9",
    )
    require(
        "engine.tensor_parallel_size",
        e.tensor_parallel_size,
        e.tensor_parallel_size >= 1,
        "must be at least 1 GPU",
        "e.g. engine.tensor_parallel_size=1",
    )


def check_planted(cfg: DictConfig) -> None:
    """The planted world is a model and an engine at once: neither goes without the other."""
    from charprobe.config import PlantedEngineConfig

    planted_model = str(cfg.model.path).startswith("planted:")
    planted_engine = cfg.engine._target_ == PlantedEngineConfig._target_
    if planted_model and not planted_engine:
        raise UserError(
            f"model=planted is written by the planted engine only, not engine={cfg.engine.name}; "
            "add engine=planted (or planted_null, planted_genre)"
        )
    if planted_engine and not planted_model:
        raise UserError(
            f"engine={cfg.engine.name} writes the planted world's texts, whose identity is the "
            f"model's: use model=planted (not model={cfg.model.name})"
        )


def check_model(cfg: DictConfig, personas: list[str]) -> None:
    """The base model and every persona's adapter: on disk, in the HF cache or on the hub."""
    hub.preflight(cfg.model, cfg.stage, personas)
