"""What is reported for one cell, and the settings that compute it.

`CellMetrics` is a cell's numbers (see `charprobe.stats` for how each is computed);
`Settings` is the `stats` config group as one object, so the report, the drops and the
fade table are computed under the same rules without a trail of loose arguments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import pandas as pd

from charprobe.resample import Cluster, Method

NoEmail = Literal["drop", "error"]


@dataclass(frozen=True)
class Settings:
    """How a report computes its numbers (the `stats` config group's fields)."""

    no_email: NoEmail = "drop"
    n_boot: int = 1000  # resamples for intervals
    seed: int = 0
    level: float = 0.95
    cluster: Cluster = "item"  # resampling unit: item | family | row
    interval: Method = "t"  # t (small-sample SE, t on C - 1 df) | percentile
    n_boot_p: int = 10000  # resamples for p-values (floor 1 / (n + 1))
    n_perm: int = 10000  # shuffles for the chance level
    min_items: int = 10  # a cell below this many items is thin
    min_rows: int = 5  # ... or with a persona below this many scored rows

    @classmethod
    def of(cls, cfg: Any) -> Settings:
        """From a config section (DictConfig or mapping); missing fields keep defaults."""
        names = {f.name for f in fields(cls)}
        get = cfg.get if hasattr(cfg, "get") else lambda k, d=None: getattr(cfg, k, d)
        values = {k: get(k) for k in names if get(k) is not None}
        return cls(**{k: str(v) if k in ("no_email", "cluster", "interval") else v
                      for k, v in values.items()})  # fmt: skip


@dataclass(frozen=True)
class PersonaScore:
    """One-vs-rest scores of one persona; all NaN when the persona is skipped."""

    precision: float
    recall: float
    f1: float
    support: int  # true rows
    n_pred: int  # rows predicted as this persona

    def to_dict(self) -> dict[str, Any]:
        scores = {k: _json_float(getattr(self, k)) for k in ("precision", "recall", "f1")}
        return {**scores, "support": self.support, "n_pred": self.n_pred}


# CellMetrics.to_dict's keys, in order (rates: NaN -> None), before the lists and per-persona.
COUNTS = ("n", "n_rows", "n_items", "n_dropped", "n_no_text", "n_no_prediction", "n_excluded")
RATES = (
    "email_rate",
    "macro_f1",
    "ci_low",
    "ci_high",
    "macro_f1_strict",
    "ci_strict_low",
    "ci_strict_high",
    "accuracy",
    "chance",
    "chance_q95",
    "chance_strict",
    "chance_strict_q95",
)
_SETTINGS = ("level", "n_boot", "seed", "no_email", "cluster", "interval", "thin", "thin_reason",
             "thin_strict", "thin_strict_reason")  # fmt: skip


@dataclass
class CellMetrics:
    """Everything reported for one cell (model, stage, scaffold)."""

    personas: list[str]
    n: int  # rows scored
    n_dropped: int  # rows left out of F1 (no_email="drop"): no text, or no verdict
    n_no_text: int  # rows without text (an agentic rollout that sent no email)
    n_excluded: int  # rows whose true persona is not in `personas`
    email_rate: float  # fraction of the cell's rows with text (1.0 for chat)
    macro_f1: float
    ci_low: float
    ci_high: float
    accuracy: float
    chance: float  # mean macro-F1 with predictions shuffled across rows
    per_persona: dict[str, PersonaScore]
    confusion: pd.DataFrame
    no_email: NoEmail = "drop"
    level: float = 0.95
    n_boot: int = 1000
    seed: int = 0
    no_text_reasons: dict[str, int] = field(default_factory=dict)
    n_rows: int = 0  # rows of the evaluated personas, scored or not
    n_items: int = 0  # distinct items among the scored rows
    n_no_prediction: int = 0  # rows with text the scorer gave no verdict on
    macro_f1_strict: float = math.nan  # every row counts; no text or no verdict is wrong
    ci_strict_low: float = math.nan
    ci_strict_high: float = math.nan
    chance_q95: float = math.nan
    cluster: str = "row"
    interval: str = "percentile"  # how ci_low / ci_high were made (`bootstrap.interval`)
    thin: bool = False
    thin_reason: str = ""
    # The strict rule has every row asked for, so its own flag and chance: a cell thin
    # in survivors (one persona sent no email) can be read, and tested, under it.
    thin_strict: bool = False
    thin_strict_reason: str = ""
    chance_strict: float = math.nan
    chance_strict_q95: float = math.nan
    email_rate_by_persona: dict[str, float] = field(default_factory=dict)

    @property
    def f1(self) -> dict[str, float]:
        return {p: s.f1 for p, s in self.per_persona.items()}

    def to_dict(self, confusion: bool = True) -> dict[str, Any]:
        """JSON-ready dict (NaN -> None); per-persona F1 also flat as ``f1/<persona>``."""
        out: dict[str, Any] = {k: getattr(self, k) for k in COUNTS}
        out.update({k: _json_float(getattr(self, k)) for k in RATES})
        out.update({k: getattr(self, k) for k in _SETTINGS})
        out.update(personas=list(self.personas), no_text_reasons=dict(self.no_text_reasons))
        out["email_rate_by_persona"] = {
            p: _json_float(r) for p, r in self.email_rate_by_persona.items()
        }
        out["per_persona"] = {p: s.to_dict() for p, s in self.per_persona.items()}
        out.update({f"f1/{p}": _json_float(s.f1) for p, s in self.per_persona.items()})
        if confusion:
            out["confusion"] = {
                "true": list(self.confusion.index),
                "pred": list(self.confusion.columns),
                "counts": self.confusion.to_numpy().tolist(),
            }
        return out


def _json_float(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)
