"""One job = one cell (model, stage, scaffold) over a persona set: generate, then score.

Data flows one way: config -> units (items x personas x samples) -> engine -> rows
(`generations.jsonl`) -> scorer -> predictions -> statistics -> files -> W&B. The runner
checks every input first, trains a missing local classifier as its own step
(`charprobe.train_scorer`), generates (`charprobe.generate`), then scores
(`charprobe.scoring`).
"""

from __future__ import annotations

import time
from pathlib import Path

from omegaconf import DictConfig

from charprobe.cell import Cell, plan, row_key
from charprobe.generate import generate, now
from charprobe.records import JobFolder, RunInfo

# The last scorer built, kept for the later jobs of a multirun (like the engine's base).
_SCORERS: dict = {}


def run_job(cfg: DictConfig, job_dir: Path) -> RunInfo:
    """Generate (resuming what an earlier run of the same cell left), score, record."""
    from charprobe.checks import check_inputs
    from charprobe.scoring import build_scorer, score_job
    from charprobe.train_scorer import train_if_missing

    t0 = time.perf_counter()
    # Everything the job needs is checked before any weights load (inputs, base and
    # adapters, the scorer's labels). A local classifier that does not exist yet is
    # trained next, as its own step, and then loaded: a classifier that cannot be had
    # fails before hours of generation, not after.
    check_inputs(cfg)
    t = time.perf_counter()
    train_if_missing(cfg)
    scorer = build_scorer(cfg, cache=_SCORERS)
    scorer_load_s = time.perf_counter() - t
    info = generate(cfg, job_dir)
    folder = JobFolder(job_dir)
    if scorer is not None:
        score_job(cfg, folder, scorer)
        info = folder.read_run()  # now with the scorer's numbers
    info.timings.update(scorer_load_s=scorer_load_s, total_s=time.perf_counter() - t0)
    info.status, info.finished_at = "done", now()
    folder.write_run(info)
    return info


__all__ = ["Cell", "generate", "plan", "row_key", "run_job"]
