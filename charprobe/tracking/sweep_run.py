"""A sweep's report as one more W&B run ("sweep-summary"), uploaded from its files.

The report itself (``<sweep>/report/``: summary.csv and the figures) is written by
`charprobe.report.SweepReport`, whatever the logger. This module only uploads what that
folder holds, so with ``logger=none`` nothing here runs and the report is still there.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from charprobe.records import REPORT_DIR
from charprobe.tracking import modes
from charprobe.tracking.runs import (
    RunSpec,
    artifact_name,
    log_run,
    reason,
    relog_hint,
    report_failure,
    sweep_id_of,
)

log = logging.getLogger("charprobe.tracking")
SUMMARY_CSV = "summary.csv"


def log_sweep(sweep_dir: Path, cfg: DictConfig, sweep_id: str | None = None) -> str | None:
    """Log the sweep's written report as run "sweep-summary" in the sweep's group.

    Only when the logger is wandb and ``<sweep_dir>/report/summary.csv`` exists (an
    unscored sweep has no report: nothing to log). Returns the run's folder, or None.
    """
    sweep_dir = Path(sweep_dir)
    logger = cfg.get("logger")
    if logger is None or logger.get("name", "none") != "wandb":
        return None
    report = sweep_dir / REPORT_DIR
    if not (report / SUMMARY_CSV).is_file():
        log.info("sweep %s has no report (unscored?): no sweep-summary run", sweep_dir)
        return None
    sweep_id = sweep_id or sweep_id_of(sweep_dir)
    relog = relog_hint(sweep_dir, logger.get("mode"), "--summary-only")
    try:
        mode = modes.resolve_mode(logger.get("mode", "auto"))
        if mode is None:
            return None
        tags = [
            *map(str, cfg.get("tags") or []),
            *map(str, logger.get("tags") or []),
            "sweep-summary",
        ]
        spec = RunSpec(
            name="sweep-summary",
            group=sweep_id,
            job_type="summary",
            dir=sweep_dir,
            tags=list(dict.fromkeys(tags)),
            config={
                "sweep_id": sweep_id,
                "sweep_dir": str(sweep_dir.resolve()),
                "overrides": _overrides(cfg),
            },
            project=logger.get("project") or "charprobe",
            entity=logger.get("entity"),
            mode=mode,
            auto=str(logger.get("mode", "auto")).lower() == "auto",
        )
    except Exception as err:  # noqa: BLE001
        report_failure("sweep-summary", err, relog)
        return None
    return log_run(spec, lambda run: _log_sweep_contents(run, report, sweep_id), relog)


def _overrides(cfg: DictConfig) -> list[str]:
    found = OmegaConf.select(cfg, "hydra.overrides.task")
    return [str(o) for o in found] if found is not None else []


def _log_sweep_contents(run: Any, report: Path, sweep_id: str) -> None:
    """Every table of the report (summary: one row per cell; drops), every figure, and the
    tables as an artifact."""
    wandb = modes.wandb_module()
    tables = sorted(report.glob("*.csv"))  # summary.csv, drops.csv, compare.csv, ...
    logged: dict[str, Any] = {csv.stem: wandb.Table(dataframe=pd.read_csv(csv)) for csv in tables}
    for png in sorted(report.rglob("*.png")):
        name = png.relative_to(report).with_suffix("").as_posix()
        logged[f"figures/{name}"] = wandb.Image(str(png))
    run.log(logged)
    art = wandb.Artifact(artifact_name(f"sweep-{sweep_id}"), type="sweep-report")
    for csv in tables:
        art.add_file(str(csv), name=csv.name)
    run.log_artifact(art)


class SweepSummary(Callback):
    """Hydra callback: after a multirun, upload the sweep's report to W&B.

    Registered in conf/config.yaml *before* `charprobe.report.SweepReport`: Hydra calls
    `on_multirun_end` callbacks in reverse order, so the report is written first.
    """

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            log_sweep(Path(config.hydra.sweep.dir), config, sweep_id_of(config))
        except Exception as err:  # noqa: BLE001 - a summary must never fail the sweep
            print(
                f"charprobe: sweep summary failed: {reason(err)}; job files are complete",
                file=sys.stderr,
            )
