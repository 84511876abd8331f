"""One small replicate of a planted world, run and measured in memory.

The replicate tests (coverage, false alarms) and the power table need hundreds of small
worlds. Each goes through the same code as a job, minus the files: the real scaffolds
(chat, chat_email, agentic_email) driven by the planted engine, the scorer through
`charprobe.scoring.score_texts`, traced turns through `charprobe.scaffolds.trace`, and
the report's statistics (`stats.score_rows`, `drop.macro_f1_drop`,
`report.trace.fade_table`). Only row keys are simpler (`<item>/<persona>/s0/r<seed>`):
the planted model reads the item from the key as it does in a job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
from omegaconf import OmegaConf

from charprobe.drop import CellRows, Drop, macro_f1_drop
from charprobe.engine.types import GenerationParams
from charprobe.metrics import CellMetrics, Settings
from charprobe.planted.engine import planted_engine
from charprobe.planted.world import World
from charprobe.records import Generation, Prediction, Result
from charprobe.report.trace import fade_table
from charprobe.scaffolds import Item, Scaffold, Unit, make_scaffold
from charprobe.scaffolds.trace import email_step, turns_of
from charprobe.scorers import Scorer
from charprobe.scoring import score_texts
from charprobe.stats import score_rows

SCAFFOLDS = ("chat", "chat_email", "agentic_email")
_TARGETS = {
    "chat": "charprobe.scaffolds.chat.ChatScaffold",
    "chat_email": "charprobe.scaffolds.chat_email.ChatEmailScaffold",
    "agentic_email": "charprobe.scaffolds.agentic_email.AgenticEmailScaffold",
}


@dataclass
class Replicate:
    """The prediction rows of each scaffold (as in predictions.jsonl) and the traced
    turns of the agentic rollouts (as `report.trace.load_trace` reads them)."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    turns: pd.DataFrame = field(default_factory=pd.DataFrame)


def _items(scaffold: str, n: int) -> tuple[Scaffold, list[Item]]:
    """The scaffold and `n` of its items: its own, repeated under new ids when it has
    fewer (the planted model reads the kind of request and the item id, not the content)."""
    options: dict[str, Any] = {"_target_": _TARGETS[scaffold], "name": scaffold}
    if scaffold == "agentic_email":
        options["progress"] = False
    made = make_scaffold(OmegaConf.create(options))
    own = made.items()
    items = [
        own[i]
        if i < len(own)
        else Item(f"{own[i % len(own)].id}~{i // len(own)}", own[i % len(own)].data)
        for i in range(n)
    ]
    return made, items


class Replicator:
    """Runs small replicates of planted worlds: the scaffolds and their items are built
    once (`n_items` of each scaffold), each `run` generates and scores one world."""

    def __init__(
        self,
        scorer: Scorer,
        personas: Sequence[str],
        n_items: int,
        scaffolds: Sequence[str] = SCAFFOLDS,
    ) -> None:
        self.scorer, self.personas = scorer, list(personas)
        self.scaffolds = {sc: _items(sc, n_items) for sc in scaffolds}

    def run(self, world: World, stage: str) -> Replicate:
        """Generate and score every item x persona of each scaffold at `stage`."""
        options = {"world": world.name, "seed": world.seed, "item_sd": world.item_sd,
                   "rates": world.rates, "no_email": world.no_email, "genre": world.genre,
                   "messages": list(world.messages),
                   "no_email_link": world.no_email_link}  # fmt: skip
        stage_cfg = type("Stage", (), {"name": stage})()
        params = GenerationParams(temperature=0.7, top_p=0.95, max_new_tokens=512, seed=0)
        gens: list[Generation] = []
        for scaffold, (made, items) in self.scaffolds.items():
            engine = planted_engine(None, stage_cfg, self.personas, **options)
            units, fan = [], {}
            for item in items:
                for adapter in [None] if stage == "base" else self.personas:
                    key = f"{item.id}/{adapter or 'base'}/s0/{scaffold}-r{world.seed}"
                    units.append(Unit(key, item, adapter, 0))
                    fan[key] = self.personas if adapter is None else [adapter]

            def emit(unit: Unit, result: Result, scaffold: str = scaffold, fan: dict = fan) -> None:
                for p in fan[unit.key]:
                    gens.append(_generation(unit, p, stage, scaffold, result))

            made.run(engine, units, params, emit)
        traced = [(g, t) for g in gens if g.scaffold == "agentic_email" for t in turns_of(g)]
        scored = [g for g in gens if g.has_text]
        # One call for every text: the scorer reads each distinct text once.
        verdicts = score_texts(self.scorer, [g.text for g in scored] + [t.text for _, t in traced])
        by_key = dict(zip((g.key for g in scored), verdicts, strict=False))
        rep = Replicate()
        for g in gens:
            v = by_key.get(g.key)
            pred = Prediction.of(g) if v is None else Prediction.of(g, v[0], v[1])
            rep.rows.setdefault(g.scaffold, []).append(pred.to_json())
        rep.turns = pd.DataFrame(
            [
                {"model": "planted", "scaffold": g.scaffold, "stage": g.stage, "persona": g.persona,
                 "item_id": g.item_id, "key": g.key, "pred": v[0],
                 "p_true": None if v[1] is None else v[1].get(g.persona),
                 "step": t.step, "kind": t.kind, "index": t.index, "email_step": email_step(g)}
                for (g, t), v in zip(traced, verdicts[len(scored):], strict=True)
            ]
        )  # fmt: skip
        return rep


def _generation(unit: Unit, persona: str, stage: str, scaffold: str, result: Result) -> Generation:
    key = unit.key if unit.adapter is not None else unit.key.replace("/base/", f"/{persona}/", 1)
    return Generation(
        key=key, model="planted", stage=stage, persona=persona,
        adapter=None if unit.adapter is None else f"planted/{persona}", scaffold=scaffold,
        item_id=unit.item.id, sample=0, shared_base=unit.adapter is None, generation={},
        key_version=2, result=result,
    )  # fmt: skip


@dataclass
class Measured:
    cells: dict[str, CellMetrics]
    drops: dict[tuple[str, str], Drop]
    fade: dict[str, Any] | None


def measure(
    rep: Replicate,
    personas: Sequence[str],
    settings: Settings | None = None,
    *,
    pairs: Sequence[tuple[str, str]] = (("chat", "agentic_email"), ("chat_email", "agentic_email")),
    margin: float = 0.1,
    min_rollouts: int = 10,
    fade: bool = True,
    cells: bool = True,
    test: bool = False,
) -> Measured:
    """What the report says of a replicate: each cell, the drops, the fade verdict (the
    cells and the fade can be left out where only drops are wanted). `test`: the drops'
    one-sided bootstrap p-values too (`settings.n_boot_p` resamples; the power table's
    test), else only their intervals."""
    s = replace(settings or Settings(), n_perm=0)
    scored = {sc: score_rows(rows, personas, s) for sc, rows in rep.rows.items()} if cells else {}

    def cell_rows(sc: str) -> CellRows:
        rows = rep.rows[sc]
        return CellRows(
            [r["persona"] for r in rows],
            [r.get("pred") for r in rows],
            [r["item_id"] for r in rows],
        )

    drops = {
        (a, b): macro_f1_drop(
            cell_rows(a), cell_rows(b), personas, names=(a, b), settings=s, test=test
        )
        for a, b in pairs
        if a in rep.rows and b in rep.rows
    }
    got = None
    if fade and len(rep.turns):
        refs = [r for sc in ("chat", "chat_email") for r in rep.rows.get(sc, [])]
        table = fade_table(rep.turns, refs, n_boot=s.n_boot, seed=s.seed, level=s.level,
                           cluster=s.cluster, interval=s.interval, margin=margin,
                           min_rollouts=min_rollouts)  # fmt: skip
        got = table.iloc[0].to_dict() if len(table) else None
    return Measured(scored, drops, got)
