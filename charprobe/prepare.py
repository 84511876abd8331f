"""Work that every job of a sweep shares, done once before the first job starts.

The jobs of one base share its scorer: the classifier, or the persona vectors of a stage,
trained on the base's own chat replies. Run one after another, the first job trains it
and the later ones find it. Run side by side (`hydra/launcher=local`), every job but one
would wait on the training lock with its core idle, for the longest step of a toy sweep.

`SharedWork`, a Hydra callback registered in conf/config.yaml, runs in the sweep's own
process before the sweeper launches anything: it composes each job's config the way the
launcher will (the basic sweeper's grid, then `load_sweep_config`), and trains what a job
would train (`charprobe.train_scorer.train_if_missing`), once per target. The training
itself is unchanged: the same lock, the same folders, the same replies, so a job finds
exactly what it would have trained. A job whose inputs are wrong is left alone here: it
fails in its own words when it runs. Under a cluster launcher (SLURM) nothing is done
here, on the submitting machine: each job trains what it lacks on its own node, under the
same lock, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, open_dict

from charprobe.errors import UserError
from charprobe.personas import UnknownPersonaError

log = logging.getLogger(__name__)

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"


def job_configs(config: DictConfig) -> Iterator[DictConfig]:
    """Each job's config of the multirun `config`, in launch order, as its task sees it
    (no `hydra` node). Only for Hydra's basic sweeper, whose grid is fixed in advance."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    if str(config.hydra.sweeper.get("_target_")) != BASIC_SWEEPER:
        return
    loader = GlobalHydra.instance().config_loader()
    # The sweeper's own order: its `params` first, then the command line.
    args = [f"{k}={v}" for k, v in (config.hydra.sweeper.params or {}).items()]
    args += list(config.hydra.overrides.task)
    overrides = OverridesParser.create(config_loader=loader).parse_overrides(args)
    for batch in BasicSweeper.split_arguments(overrides, None):
        for job in batch:
            cfg = loader.load_sweep_config(config, list(job))
            with open_dict(cfg):
                del cfg["hydra"]
            yield cfg


def shared_targets(config: DictConfig) -> list[tuple[Path, DictConfig]]:
    """What the sweep's jobs would train, once each: (classifier folder or vectors file,
    the first job config that needs it)."""
    from charprobe.checks import check_inputs
    from charprobe.train_scorer import missing_target

    found: dict[Path, DictConfig] = {}
    for cfg in job_configs(config):
        try:
            check_inputs(cfg)
            target = missing_target(cfg)
        except (UserError, UnknownPersonaError):
            continue  # the job reports it, as it would without this step
        if target is not None and target not in found:
            found[target] = cfg
    return list(found.items())


class SharedWork(Callback):
    """Hydra callback: before a multirun's jobs start, train the scorers they share.

    `jobs`: processes for the training replies (one stage each), as many as the launcher
    runs jobs at once (conf/config.yaml reads `hydra.launcher.n_jobs`; 1 without one)."""

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = int(jobs)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from charprobe.train_scorer import train_if_missing

        if str(config.hydra.launcher.get("_target_", "")).endswith("SlurmLauncher"):
            return  # not on the login node: the jobs train on their GPUs, under the lock
        for target, cfg in shared_targets(config):
            log.info("before the jobs: training %s, which they share", target)
            try:
                train_if_missing(cfg, jobs=self.jobs)
            except (UserError, UnknownPersonaError):
                continue  # the first job that needs it fails with this same error


__all__ = ["SharedWork", "job_configs", "shared_targets"]
