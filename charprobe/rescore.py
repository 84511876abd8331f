"""Score a finished sweep (or one job) again, with another scorer, without generating again.

    python -m charprobe.rescore multirun/<sweep> scorer=tfidf
    python -m charprobe.rescore multirun/<sweep>/3_toy_llama-full-chat scorer=modernbert \
        scorer.path=/data/my-classifier stats.no_email=error

Each job's config is composed again from its own Hydra overrides (`.hydra/overrides.yaml`)
plus the ones given here, so `scorer=...` picks a scorer option exactly as on the main
command line. The job's `predictions.jsonl`, `metrics.json` and `confusion.*` are
replaced (the scorer used is recorded in `metrics.json` and `run.json`), and the sweep's
report is written again. To log the new scores to W&B: `python -m charprobe.tracking PATH`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from charprobe.config import CONF_DIR
from charprobe.errors import UserError
from charprobe.records import GENERATIONS, JobFolder, discover
from charprobe.report import ReportError, build_report
from charprobe.scoring import build_scorer, score_job
from charprobe.train_scorer import train_if_missing

log = logging.getLogger("charprobe.rescore")


def job_dirs(path: Path) -> list[Path]:
    """`path` itself when it is a job folder, else every job folder below it."""
    found = discover(path, holding=GENERATIONS)
    if len(found) == 1 and found[0].path == path:
        return [path]
    return [j.path for j in found if j.is_hydra_job]


def job_config(job_dir: Path, overrides: Sequence[str]) -> DictConfig:
    """The job's config, composed from its own overrides and then `overrides`."""
    file = job_dir / ".hydra" / "overrides.yaml"
    if not file.is_file():
        raise UserError(f"{job_dir}: no .hydra/overrides.yaml (not a charprobe job folder?)")
    own = yaml.safe_load(file.read_text()) or []
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=[*own, *overrides])


def rescore(path: Path, overrides: Sequence[str]) -> list[Path]:
    jobs = job_dirs(path)
    if not jobs:
        raise UserError(f"no job folder (generations.jsonl with .hydra/) in or under {path}")
    cache: dict = {}
    for job in jobs:
        cfg = job_config(job, overrides)
        if cfg.scorer._target_ is None:
            raise UserError("scorer=none scores nothing: name a scorer, e.g. scorer=tfidf")
        train_if_missing(cfg)
        scorer = build_scorer(cfg, cache=cache)
        m = score_job(cfg, JobFolder(job), scorer)
        print(f"{job}: macro-F1 {m.macro_f1:.3f} [{m.ci_low:.3f}, {m.ci_high:.3f}] n={m.n}")
    return jobs


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m charprobe.rescore",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("path", type=Path, help="a sweep folder or one job folder")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. scorer=tfidf")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        jobs = rescore(args.path, args.overrides)
        if len(jobs) > 1 or jobs[0] != args.path:
            build_report(args.path, verbose=True)
    except (UserError, ReportError) as err:
        print(f"charprobe.rescore: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
