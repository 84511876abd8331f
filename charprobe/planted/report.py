"""Planted beside measured: what a sweep on a planted world found, next to the truth.

After the sweep's own report (`charprobe.report`), `PlantedReport` reads each job's
config (its world and scorer), computes the true values (`charprobe.planted.truth`) and
writes ``report/planted.csv``, one row per reported quantity:

- per cell: macro-F1 (the study's, over rows with a text), strict macro-F1 and the
  email rate, with the measured interval and whether it covers the true value;
- per drop between scaffolds: the true drop and the measured one with its interval;
- per stage with rollouts: the fade verdict (against chat and against chat_email).

It prints the same table, so `python -m charprobe -m experiment=planted` shows at a glance
what the instrument gets right on a world whose answer is known.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from charprobe.planted import ENGINE_TARGET, engine_options
from charprobe.planted.truth import DROPS, SCAFFOLDS, truth
from charprobe.planted.world import World
from charprobe.records import PREDICTIONS, REPORT_DIR, discover
from charprobe.report import SweepReport
from charprobe.report.drops import DROPS_CSV
from charprobe.report.trace import FADE_CSV

log = logging.getLogger(__name__)

PLANTED_CSV = "planted.csv"
COLUMNS = ["stage", "quantity", "planted", "measured", "ci_low", "ci_high", "covered"]


def world_of(engine: Mapping[str, Any]) -> World:
    """The world a job's resolved engine config describes."""
    return World.of(engine_options(dict(engine)))


def _jobs_config(sweep: Path) -> dict[str, Any]:
    """The resolved config of the sweep's jobs (one world and scorer), and their stages."""
    configs = [job.read_run().config for job in discover(sweep, holding=PREDICTIONS)]
    configs = [c for c in configs if c and (c.get("engine") or {}).get("_target_") == ENGINE_TARGET]
    if not configs:
        raise ValueError(f"{sweep}: no job of a planted world (engine=planted)")
    worlds = {str(c["model"]["path"]) for c in configs}
    if len(worlds) > 1:
        raise ValueError(f"{sweep}: jobs of {len(worlds)} planted worlds; report one at a time")
    first = configs[0]
    stages = [
        s for s in ("base", "distillation", "full") if s in {c["stage"]["name"] for c in configs}
    ]
    return {**first, "stages": stages}


def planted_table(sweep: str | Path, n_texts: int = 1000) -> pd.DataFrame:
    """Planted (true) beside measured for every quantity of a planted sweep's report."""
    from charprobe.scorers import make_scorer

    sweep = Path(sweep)
    report = sweep / REPORT_DIR
    cfg = _jobs_config(sweep)
    scorer = make_scorer(OmegaConf.create(cfg["scorer"]))
    margin = float((cfg.get("trace") or {}).get("margin", 0.1))
    world = world_of(cfg["engine"])
    personas = list(cfg["persona"]["personas"])
    true = truth(world, scorer, cfg["stages"], personas, n_texts=n_texts, margin=margin)

    rows: list[dict[str, Any]] = []
    summary = pd.read_csv(report / "summary.csv").set_index(["stage", "scaffold"])
    for stage in cfg["stages"]:
        for scaffold in SCAFFOLDS:
            if (stage, scaffold) not in summary.index:
                continue
            got, want = summary.loc[(stage, scaffold)], true["cells"][(stage, scaffold)]
            for q, low, high in (
                ("macro_f1", "ci_low", "ci_high"),
                ("macro_f1_strict", "ci_strict_low", "ci_strict_high"),
                ("email_rate", None, None),
            ):
                if scaffold != "agentic_email" and q != "macro_f1":
                    continue
                rows.append(
                    _row(stage, f"{scaffold} {q}", want[q], got[q], got.get(low), got.get(high))
                )
    drops_csv = report / DROPS_CSV
    if drops_csv.is_file():
        drops = pd.read_csv(drops_csv).set_index(["stage", "source", "target"])
        for stage in cfg["stages"]:
            for a, b in DROPS:
                if (stage, a, b) in drops.index:
                    d = drops.loc[(stage, a, b)]
                    rows.append(
                        _row(
                            stage,
                            f"drop {a} -> {b}",
                            true["drops"][(stage, a, b)],
                            d["drop"],
                            d["ci_low"],
                            d["ci_high"],
                        )
                    )
    fade_csv = report / FADE_CSV
    if fade_csv.is_file():
        fades = pd.read_csv(fade_csv).set_index("stage")
        for stage in cfg["stages"]:
            if stage in fades.index:
                for col in ("verdict", "verdict_vs_chat_email"):
                    want, got = true["fade"][stage][col], fades.loc[stage, col]
                    rows.append(
                        {
                            "stage": stage,
                            "quantity": f"fade {col}",
                            "planted": want,
                            "measured": got,
                            "covered": want == got,
                        }
                    )
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(stage: str, quantity: str, want: float, got: float, low: Any, high: Any) -> dict[str, Any]:
    has_ci = low is not None and high is not None and pd.notna(low) and pd.notna(high)
    return {
        "stage": stage,
        "quantity": quantity,
        "planted": round(float(want), 4),
        "measured": round(float(got), 4),
        "ci_low": round(float(low), 4) if has_ci else None,
        "ci_high": round(float(high), 4) if has_ci else None,
        "covered": bool(low <= want <= high) if has_ci else None,
    }


def format_planted(table: pd.DataFrame) -> str:
    def ci(r: pd.Series) -> str:
        return f"[{r.ci_low:.3f}, {r.ci_high:.3f}]" if pd.notna(r.ci_low) else ""

    def num(x: Any) -> str:
        return f"{x:.3f}" if isinstance(x, float) else str(x)

    shown = pd.DataFrame(
        {
            "stage": table["stage"],
            "quantity": table["quantity"],
            "planted": table["planted"].map(num),
            "measured": table["measured"].map(num),
            "95% CI": table.apply(ci, axis=1),
            "covers planted": table["covered"].map({True: "yes", False: "NO", None: ""}).fillna(""),
        }
    )
    return shown.to_string(index=False)


class PlantedReport(SweepReport):
    """The sweep report, then planted beside measured (`report/planted.csv`)."""

    def __init__(self, n_texts: int = 1000) -> None:
        self.n_texts = n_texts

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        super().on_multirun_end(config, **kwargs)
        sweep = Path(config.hydra.sweep.dir)
        if not (sweep / REPORT_DIR / "summary.csv").is_file():
            return
        try:
            table = planted_table(sweep, self.n_texts)
        except Exception as err:  # noqa: BLE001 - the jobs and their report are done
            print(
                f"charprobe: planted comparison failed for {sweep}: {type(err).__name__}: {err}",
                file=sys.stderr,
            )
            return
        out = sweep / REPORT_DIR / PLANTED_CSV
        table.to_csv(out, index=False)
        print("\nplanted (true value on an unlimited draw of the same world) beside measured:")
        print(format_planted(table))
        print(f"\nwrote {out}")
