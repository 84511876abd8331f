"""Score a finished sweep (or one job) again, with another scorer, without generating again.

    python -m charprobe.rescore multirun/<sweep> scorer=tfidf
    python -m charprobe.rescore multirun/<sweep> --into multirun/<sweep>-pv scorer=persona_vector
    python -m charprobe.rescore multirun/<sweep>/3_toy_llama-full-chat scorer=modernbert \
        scorer.path=/data/my-classifier stats.no_email=error

Each job's config is composed again from its own Hydra overrides (`.hydra/overrides.yaml`)
plus the ones given here, so `scorer=...` picks a scorer option exactly as on the main
command line. The job's `predictions.jsonl`, `metrics.json` and `confusion.*` are
replaced (the scorer used is recorded in `metrics.json` and `run.json`), and the sweep's
report is written again. With `--into DIR` the sweep is copied there first (generations,
run.json, .hydra/) and scored there, so both scorers' files stay side by side and
`python -m charprobe.report SWEEP DIR` compares them cell by cell (macro-F1 differences and
Cohen's kappa between the two scorers). To log the new scores to W&B:
`python -m charprobe.tracking PATH`.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from charprobe.config import CONF_DIR
from charprobe.errors import UserError
from charprobe.records import GENERATIONS, RUN, JobFolder, discover
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


def copy_jobs(path: Path, jobs: list[Path], into: Path) -> list[Path]:
    """Each job's generations, run.json and .hydra/ copied to the same place under `into`."""
    if into.exists() and any(into.iterdir()):
        raise UserError(f"--into {into}: exists and is not empty; name a new folder")
    out = []
    for job in jobs:
        dest = into / job.relative_to(path) if job != path else into
        dest.mkdir(parents=True, exist_ok=True)
        for name in (GENERATIONS, RUN):
            if (job / name).is_file():
                shutil.copy2(job / name, dest / name)
        shutil.copytree(job / ".hydra", dest / ".hydra")
        out.append(dest)
    return out


def rescore(path: Path, overrides: Sequence[str], into: Path | None = None) -> list[Path]:
    jobs = job_dirs(path)
    if not jobs:
        raise UserError(f"no job folder (generations.jsonl with .hydra/) in or under {path}")
    if into is not None:
        jobs = copy_jobs(path, jobs, into)
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
    ap.add_argument("--into", type=Path, help="score a copy there, leaving PATH as it is")
    args = ap.parse_intermixed_args(argv)  # --into before or after the overrides
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        jobs = rescore(args.path, args.overrides, args.into)
        root = args.into or args.path
        if len(jobs) > 1 or jobs[0] != root:
            build_report(root, verbose=True)
    except (UserError, ReportError) as err:
        print(f"charprobe.rescore: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
