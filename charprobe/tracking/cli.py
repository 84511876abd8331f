"""`python -m charprobe.tracking PATH`: (re)log finished jobs, and a sweep's report."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from charprobe.records import JobFolder, discover
from charprobe.tracking.job_run import log_job
from charprobe.tracking.runs import sweep_id_of
from charprobe.tracking.sweep_run import log_sweep


def job_config(job_dir: Path, mode: str | None) -> DictConfig:
    """The config a job ran with (run.json), with the logger switched to wandb."""
    info = JobFolder(job_dir).read_run()
    cfg = OmegaConf.create((info.config if info else None) or {})
    logger = OmegaConf.to_container(cfg.get("logger") or OmegaConf.create({}))
    logger = {
        "project": "charprobe",
        "entity": None,
        "tags": [],
        "mode": "auto",
        **logger,
        "name": "wandb",
    }
    if mode:
        logger["mode"] = mode
    cfg.logger = logger
    return cfg


def main(argv: Sequence[str] | None = None) -> int:
    """(Re)log finished jobs: a job folder, or every job of a sweep plus its report."""
    ap = argparse.ArgumentParser(prog="python -m charprobe.tracking", description=main.__doc__)
    ap.add_argument("path", type=Path, help="a job folder (holding run.json) or a sweep folder")
    ap.add_argument("--mode", choices=("auto", "online", "offline"), help="override logger.mode")
    ap.add_argument(
        "--summary-only",
        action="store_true",
        help="for a sweep folder: log only the sweep-summary run (its report/)",
    )
    args = ap.parse_args(argv)
    # Progress on stdout: stderr holds only the one line per failed run.
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    jobs = [j.path for j in discover(args.path)]
    if not jobs:
        print(f"charprobe.tracking: error: no run.json in or under {args.path}", file=sys.stderr)
        return 2
    is_sweep = jobs != [args.path]
    group = sweep_id_of(args.path)  # a sweep folder's jobs share its group
    failed = 0
    if not args.summary_only:
        for job in jobs:
            failed += log_job(job_config(job, args.mode), job, group) is None
    if is_sweep:
        log_sweep(args.path, job_config(jobs[0], args.mode), group)
    return 1 if failed else 0
