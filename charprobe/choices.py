"""The closed sets of values some config keys take (`charprobe.config` types them).

OmegaConf rejects any other value at compose time, with its own message.
"""

from __future__ import annotations

from enum import Enum


class Choice(str, Enum):
    """A closed set of values for one key: OmegaConf rejects any other at compose time.

    Members are strings (`Pick.first == "first"`, `f"{Pick.first}"` is `first`), so the
    code reading a config, JSON files and W&B see plain values.
    """

    __str__ = str.__str__
    __format__ = str.__format__

    @classmethod
    def values(cls) -> list[str]:
        return [m.value for m in cls]


class Pick(Choice):
    """Which email body of an agentic rollout is scored."""

    first = "first"
    last = "last"
    all = "all"


class Interval(Choice):
    """How an interval is made from resampled values: t with a small-sample SE, or the
    bootstrap's percentiles (the reference study's)."""

    t = "t"
    percentile = "percentile"


class Cluster(Choice):
    """What an interval resamples: items (all their rows), scenario families, or rows."""

    item = "item"
    family = "family"
    row = "row"


class NoEmail(Choice):
    """A row without text: left out of F1 (drop) or counted wrong (error)."""

    drop = "drop"
    error = "error"


class LoggerMode(Choice):
    auto = "auto"
    online = "online"
    offline = "offline"
    disabled = "disabled"


class Family(Choice):
    llama = "llama"
    qwen = "qwen"
    gemma = "gemma"


class ModelDType(Choice):
    bfloat16 = "bfloat16"
    float16 = "float16"
    float32 = "float32"


class EngineDType(Choice):
    """auto: the model's dtype on a GPU, float32 on the CPU."""

    auto = "auto"
    bfloat16 = "bfloat16"
    float16 = "float16"
    float32 = "float32"
