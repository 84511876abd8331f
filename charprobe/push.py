"""Is the adapter still pushing? A measurement of a finished sweep, not a scorer.

    python -m charprobe.push multirun/<sweep> [hydra overrides] [--n-boot N] [--wandb MODE]
                                              [--jobs N]  # stages side by side (-1: per core)

A text scorer asks whether a text *reads* like the persona. This asks whether the
persona's adapter still *moves the model* while it writes, whatever the text reads like.
For every row written through an adapter (its scored turn: a chat reply, an email) and
every traced turn (trace.jsonl), the exact context the model saw when the turn started is
read by the same base with the row persona's adapter on and off (`charprobe.push_measure`):
delta = h(adapter) - h(base) at the persona vectors' layer L, at the last prompt token
(Chen et al. 2025's monitoring position) and over the turn's own tokens (teacher-forced),
projected on the unit direction of the row's persona from the text-only persona vectors
(`scorer=persona_vector`, fitted on first use like the scorer's): s = delta . v_p/|v_p|.

`<sweep>/report/push.csv` (`charprobe.push_stats`): per (model, stage, scaffold) and per
persona, s with item-clustered intervals beside its controls (`s_cross`: another persona's
adapter on the same turn, projected on this persona's direction; random directions drawn
from the activations' covariance; |delta|), the retention R = s(agentic_email)/s(chat) and
s(chat_email)/s(chat) with intervals (chat_email and agentic_email drawn jointly: they
share scenario ids), traced turns by kind and step, and, across each cell's rows within
personas, the Pearson correlation of s at the last prompt token with the text scorer's
P(true persona) (`link`: "holds" when its interval is above 0). `push.png` draws s per
stage and scaffold with the controls; `push_rows.jsonl` holds every measured turn. The
sweep-summary W&B run is logged again with the report (offline without credentials; a W&B
failure costs one line, never the measurement).

Overrides are composed onto each job's own config like `charprobe.rescore`'s
(`scorer.path=DIR` for another vectors folder, `scorer.device=cpu`, `scorer.batch_size=4`).
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from charprobe.config import PersonaVectorScorerConfig
from charprobe.errors import UserError
from charprobe.push_measure import job_targets, measure, records
from charprobe.records import REPORT_DIR, JobFolder
from charprobe.store import atomic_path, write_rows

log = logging.getLogger("charprobe.push")
PUSH_CSV, PUSH_PNG, PUSH_ROWS = "push.csv", "push.png", "push_rows.jsonl"


def _config(job: Path, overrides: Sequence[str]) -> Any:
    from charprobe.rescore import job_config

    try:
        cfg = job_config(job, ["scorer=persona_vector", *overrides])
    except UserError:
        raise
    except Exception as err:  # noqa: BLE001 - Hydra's composition errors, as one line
        raise UserError(f"{job}: cannot compose its config with {list(overrides)}: "
                        f"{' '.join(str(err).split())[:300]}") from None  # fmt: skip
    if str(cfg.scorer._target_) != PersonaVectorScorerConfig._target_:
        raise UserError("push reads the persona vectors: leave scorer=... out of the overrides")
    return cfg


def _vectors(cfg: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The stage's text-only persona vectors, fitted first when missing or outdated."""
    from charprobe.scorers.base import check_labels
    from charprobe.scorers.persona_vector import load_vectors, vectors_file
    from charprobe.train_scorer import train_if_missing

    train_if_missing(cfg)  # the scorer's own rule: fit when missing and train_if_missing
    file = vectors_file(cfg.scorer.path, cfg.stage.name)
    tensors, meta = load_vectors(file)
    check_labels(list(cfg.scorer.labels), meta["labels"], str(file))
    return tensors, meta


def measure_sweep(
    path: Path,
    overrides: Sequence[str] = (),
    n_random: int = 32,
    seed: int = 0,
    max_tokens: int = 8192,
    n_jobs: int = 1,
) -> tuple[pd.DataFrame, np.ndarray, dict[str, Any]]:
    """Every adapter-stage job under `path`, measured: (per-turn records, their random
    projections (turns, 2, n_random), the first job's stats config). `n_jobs`: processes,
    one (model, stage) each (-1: one per core)."""
    from charprobe.engine.cache import EngineCache
    from charprobe.rescore import job_dirs

    if not path.is_dir():
        raise UserError(f"{path}: no such folder; name a sweep folder (or one job folder)")
    jobs = job_dirs(path)
    if not jobs:
        raise UserError(f"{path}: no job folder (generations.jsonl with .hydra/) in or under it")
    groups: dict[tuple[str, str], list[tuple[Path, Any]]] = {}
    stats: dict[str, Any] = {}
    for job in jobs:
        cfg = _config(job, overrides)
        stats = stats or {k: cfg.stats[k] for k in ("n_boot", "seed", "level")}
        if cfg.stage.repo is not None:  # the base stage has no adapter to switch
            groups.setdefault((cfg.model.name, cfg.stage.name), []).append((job, cfg))
    if not groups:
        raise UserError(f"{path}: no job at an adapter stage (stage=base only): nothing pushes")
    # One (model, stage) per process with `n_jobs` other than 1 (each loads its own base);
    # the same seeds either way, so the same numbers.
    from joblib import Parallel, delayed, effective_n_jobs

    n = min(len(groups), effective_n_jobs(n_jobs))
    args = (n_random, seed, max_tokens)
    if n > 1:
        parts = Parallel(n_jobs=n)(
            delayed(_measure_group)(*key, m, *args) for key, m in groups.items()
        )
    else:
        cache = EngineCache()
        parts = [_measure_group(*key, m, *args, cache=cache) for key, m in groups.items()]
        cache.drop()
    frames = [frame for frame, _, _ in parts if frame is not None]
    rands = [rand for frame, rand, _ in parts if frame is not None]
    skipped = sum(k for _, _, k in parts)
    if skipped:
        log.warning("%d turns longer than %d tokens were skipped", skipped, max_tokens)
    if not frames:
        raise UserError(f"{path}: no row with text written through an adapter to measure")
    return pd.concat(frames, ignore_index=True), np.concatenate(rands), stats


def _measure_group(
    model: str,
    stage: str,
    members: list[tuple[Path, Any]],
    n_random: int,
    seed: int,
    max_tokens: int,
    cache: Any = None,
) -> tuple[pd.DataFrame | None, np.ndarray | None, int]:
    """One (model, stage)'s jobs measured: (records, random projections, turns skipped);
    (None, None, 0) when no row has text."""
    from charprobe.engine.cache import EngineCache
    from charprobe.engine.hf import HFEngine

    # In a worker process of --jobs the log has no handler yet: the same lines as in one.
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    own = cache is None
    cache = EngineCache() if own else cache
    cfg = members[0][1]
    targets = [t for job, _ in members for t in job_targets(JobFolder(job))]
    if not targets:
        log.info("%s %s: no row with text to measure", model, stage)
        return None, None, 0
    tensors, meta = _vectors(cfg)
    labels = list(meta["labels"])
    unknown = sorted({t.persona for t in targets} - set(labels))
    if unknown:
        raise UserError(f"{model} {stage}: personas {unknown} have no persona vector")
    sc = cfg.scorer
    engine = HFEngine(cfg.model, cfg.stage, sorted({t.persona for t in targets}),
                      device=sc.device, dtype=str(sc.dtype), cache=cache)  # fmt: skip
    log.info("%s %s: %d turns at layer %d", model, stage, len(targets), meta["layer"])
    m = measure(engine, targets, labels, tensors["directions"], int(meta["layer"]),
                n_random, seed, sc.batch_size, max_tokens)  # fmt: skip
    if own:
        cache.drop()
    return pd.DataFrame(records(m)), m.random, sum(m.skipped.values())


def write_push(path: Path, frame: pd.DataFrame, rand: np.ndarray, n_boot: int, seed: int,
               level: float) -> pd.DataFrame:  # fmt: skip
    """report/push.csv, push.png and push_rows.jsonl under `path`; the table."""
    from charprobe.push_figure import draw_push
    from charprobe.push_stats import push_table

    out = path / REPORT_DIR
    table = push_table(frame, rand, n_boot=n_boot, seed=seed, level=level)
    with atomic_path(out / PUSH_CSV) as tmp:
        table.to_csv(tmp, index=False)
    write_rows(out / PUSH_ROWS, frame.astype(object).where(frame.notna(), None).to_dict("records"))
    draw_push(table, out / PUSH_PNG)
    return table


def log_to_wandb(path: Path, mode: str) -> None:
    """The sweep-summary run again, now with push.csv and push.png (never raises)."""
    try:
        from charprobe.records import discover
        from charprobe.tracking import job_config, log_sweep, sweep_id_of

        jobs = [j.path for j in discover(path)]
        if not jobs or jobs == [path]:
            return  # one job folder: no sweep-summary run
        log_sweep(path, job_config(jobs[0], None if mode == "auto" else mode), sweep_id_of(path))
    except Exception as err:  # noqa: BLE001 - W&B never fails the measurement
        print(f"charprobe.push: W&B logging failed: {' '.join(str(err).split())[:200]}; "
              f"report/{PUSH_CSV} is complete", file=sys.stderr)  # fmt: skip


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        print(f"charprobe.push: error: {message}; see python -m charprobe.push --help",
              file=sys.stderr)  # fmt: skip
        raise SystemExit(2)


def _positive(value: str) -> int:
    n = int(value) if value.lstrip("-").isdigit() else -1
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return n


def _jobs(value: str) -> int:
    n = int(value) if value.lstrip("-").isdigit() else 0
    if n == 0 or n < -1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number or -1")
    return n


def main(argv: Sequence[str] | None = None) -> int:
    ap = _Parser(prog="python -m charprobe.push", description=__doc__,
                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("path", type=Path, help="a sweep folder (or one job folder)")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. scorer.device=cpu")
    ap.add_argument("--n-boot", type=_positive, help="bootstrap resamples (default stats.n_boot)")
    ap.add_argument("--seed", type=int, help="bootstrap seed (default stats.seed)")
    ap.add_argument("--random", type=_positive, default=32, help="random directions (32)")
    ap.add_argument("--max-tokens", type=_positive, default=8192,
                    help="skip turns longer than this, context included (8192)")  # fmt: skip
    ap.add_argument("--jobs", type=_jobs, default=1,
                    help="processes, one stage each (-1: one per core; default 1)")  # fmt: skip
    ap.add_argument(
        "--wandb",
        choices=("auto", "online", "offline", "none"),
        default="auto",
        help="log the sweep-summary run again with the push report (auto)",
    )
    args = ap.parse_intermixed_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # peft notes each adapter it swaps out between stages: expected here, not news.
    warnings.filterwarnings("ignore", message="Adapter .* was active which is now deleted")
    try:
        frame, rand, stats = measure_sweep(args.path, args.overrides, args.random,
                                           0, args.max_tokens, args.jobs)  # fmt: skip
        n_boot = args.n_boot or int(stats.get("n_boot", 1000))
        seed = int(stats.get("seed", 0)) if args.seed is None else args.seed
        table = write_push(args.path, frame, rand, n_boot, seed, float(stats.get("level", 0.95)))
    except UserError as err:
        print(f"charprobe.push: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    from charprobe.push_stats import describe

    for line in describe(table):
        print(line)
    print(f"push -> {args.path / REPORT_DIR / PUSH_CSV}, {PUSH_PNG}, {PUSH_ROWS}")
    if args.wandb != "none":
        log_to_wandb(args.path, args.wandb)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
