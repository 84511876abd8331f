"""The engine group's schemas (`conf/engine/<name>.yaml` each start from one), registered
by `charprobe.config` with every other group's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from charprobe.choices import EngineDType


@dataclass
class EngineConfig:
    """What every engine option has; `conf/engine/<name>.yaml` picks one and its schema."""

    # The engine's class (or factory), called with (model, stage, personas, **options).
    _target_: str = MISSING
    name: str = MISSING
    # False: the engine loads no weights (scripted), so the inputs check skips them.
    loads_weights: bool = True


@dataclass
class HFEngineConfig(EngineConfig):
    _target_: str = "charprobe.engine.hf.HFEngine"
    name: str = "hf"
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # auto: the model's dtype on a GPU, float32 on the CPU (bf16 matmuls crawl there).
    dtype: EngineDType = EngineDType.auto


@dataclass
class VLLMEngineConfig(EngineConfig):
    _target_: str = "charprobe.engine.vllm.VLLMEngine"
    name: str = "vllm"
    # auto: the model's dtype on a GPU, float32 on the CPU.
    dtype: EngineDType = EngineDType.auto
    gpu_memory_utilization: float = 0.9
    # None: the model's own context length.
    max_model_len: int | None = None
    tensor_parallel_size: int = 1
    # True: no CUDA graphs (starts faster, decodes slower).
    enforce_eager: bool = False
    # None: the largest LoRA rank among the stage's adapters, rounded up to one vLLM
    # supports. A base first loaded for the base stage is rebuilt when a later stage needs a
    # higher rank; set it (the study's adapters: 64) to load each base once.
    max_lora_rank: int | None = None
    # None: vLLM's default. Sequences decoded together at most.
    max_num_seqs: int | None = None
    # The KV cache's size in bytes (None: from gpu_memory_utilization on a GPU; 1 GiB on
    # the CPU unless VLLM_CPU_KVCACHE_SPACE is set).
    kv_cache_memory_bytes: int | None = None


@dataclass
class ScriptedEngineConfig(EngineConfig):
    _target_: str = "charprobe.engine.scripted.scripted_engine"
    name: str = "scripted"
    loads_weights: bool = False
    # Dotted path of a function (request, turn) -> reply text.
    reply: str = "charprobe.engine.scripted.echo"
    max_words: int | None = None


@dataclass
class PlantedRates:
    """P(a turn of each kind carries the persona), for one stage of a planted world."""

    chat: float = 0.0
    chat_email: float = 0.0
    tool: float = 0.0
    email: float = 0.0
    final: float = 0.0


@dataclass
class PlantedEngineConfig(EngineConfig):
    """The planted world (`charprobe.planted`): texts written from rates we set."""

    _target_: str = "charprobe.planted.engine.planted_engine"
    name: str = "planted"
    loads_weights: bool = False
    # The preset's name (planted, planted_null, planted_genre); part of the world's id.
    world: str = "planted"
    seed: int = 0
    # Spread of each item's difficulty (probit scale): rows of one item are correlated.
    item_sd: float = 0.5
    # stage -> rates per kind of turn; the base stage (no adapter) is 0 everywhere.
    rates: dict[str, PlantedRates] = field(default_factory=dict)
    # stage -> persona (or `default`) -> P(an agent sends no email).
    no_email: dict[str, Any] = field(default_factory=dict)
    # How far a failure to send depends on the item (probit slope on its difficulty; 0:
    # not at all). Non-zero, the emails that were sent come from a biased mix of items.
    no_email_link: float = 0.0
    # kind -> template family: plain (every kind) | formal (an office-register email).
    genre: dict[str, str] = field(default_factory=dict)
    # Team-chat messages an agent posts before its email: [min, max].
    messages: list[int] = field(default_factory=lambda: [1, 2])
    max_words: int | None = None
