"""A sweep, a job folder or a predictions file -> summary table and figures.

    python -m charprobe.report PATH [B] [--true-col C] [--pred-col C] [--group-by a,b]
        [--personas paper|all|p1,p2] [--out DIR] [--n-boot N] [--seed S]
        [--no-email drop|error]

PATH is a sweep folder (every job folder below it holding a ``predictions.jsonl``; cells
are (model, stage, scaffold)), one job folder, or any predictions JSONL/JSON/CSV file
(cells by ``--group-by``, default: whichever of model, base, stage, scaffold it has).
Writes ``summary.csv`` and PNG figures to ``--out`` (default ``<folder>/report/``, or
``<stem>_report/`` beside a file) and prints the table. Cells that differ by scaffold also
get their macro-F1 drops (chat - chat_email, chat_email - agentic_email, chat -
agentic_email, with bootstrap CIs and one-sided p-values: ``drops.csv``, ``drops.png``,
and ``drop_from_<scaffold>*`` columns in the summary). Jobs run with
``scaffold.trace=true`` add the per-turn trace (``trace.csv``, ``fade.csv``,
``trace.png``, see `charprobe.report.trace`). Two paths A B compare two sweeps
cell by cell the same way (A minus B, ``compare.csv`` under A's report folder).

The job runner calls `write_job_outputs`; the W&B logger calls `build_report` and logs
the figures listed in ``frame.attrs["figures"]``. All statistics come from
`charprobe.stats`; this module only gathers rows, tabulates and draws.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from charprobe.records import (
    CONFUSION_CSV,
    CONFUSION_PNG,
    METRICS,
    PREDICTIONS,
    REPORT_DIR,
    discover,
)
from charprobe.report.cells import (
    CELL_KEYS,
    ReportError,
    collect_cells,
    default_file_groups,
    format_table,
    load_sources,
    prepare_out,
    resolve_personas,
    score_cell,
    summary_table,
)
from charprobe.report.drops import (
    COMPARE_CSV,
    DROPS_CSV,
    compare_table,
    drop_table,
    format_drops,
    plot_drops,
    with_drops,
)
from charprobe.report.figures import draw_figures, plot_confusion
from charprobe.report.trace import (
    FADE_CSV,
    TRACE_CSV,
    TRACE_PNG,
    chat_reference,
    fade_table,
    format_fades,
    load_trace,
    plot_trace,
    trace_table,
)
from charprobe.stats import CellMetrics, NoEmail, score_rows
from charprobe.store import atomic_path, write_json

log = logging.getLogger(__name__)


def write_job_outputs(
    job_dir: str | Path,
    rows: Iterable[Mapping[str, Any]],
    personas: Sequence[str],
    *,
    no_email: NoEmail = "drop",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    true_key: str = "persona",
    pred_key: str = "pred",
    extra: Mapping[str, Any] | None = None,
) -> CellMetrics:
    """Score a finished job and write metrics.json, confusion.csv and confusion.png.

    `extra` is stored in metrics.json as is (e.g. which scorer made the predictions).
    """
    job_dir = Path(job_dir)
    rows = list(rows)
    metrics = score_rows(
        rows, personas, no_email, n_boot, seed, level=level, true_key=true_key, pred_key=pred_key
    )
    cell = {k: str(rows[0][k]) for k in CELL_KEYS if rows and len({r.get(k) for r in rows}) == 1}
    job_dir.mkdir(parents=True, exist_ok=True)
    out = {**cell, **metrics.to_dict(), **(extra or {})}
    # Every file through a temporary and a rename: a kill never leaves half of one.
    write_json(job_dir / METRICS, out)
    with atomic_path(job_dir / CONFUSION_CSV) as tmp:
        metrics.confusion.to_csv(tmp)
    title = " / ".join(cell.values()) or job_dir.name
    plot_confusion(metrics, title, job_dir / CONFUSION_PNG)
    return metrics


def build_report(
    path: str | Path,
    *,
    true_col: str | None = None,
    pred_col: str | None = None,
    group_by: Sequence[str] | None = None,
    personas: str | Sequence[str] | None = None,
    out: str | Path | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    no_email: NoEmail = "drop",
    level: float = 0.95,
    verbose: bool = False,
) -> pd.DataFrame:
    """Score every cell under `path`, write summary.csv and figures, return the summary.

    The returned frame's ``attrs`` hold ``out_dir``, ``summary_csv`` and ``figures``
    (figure name -> PNG path), so a logger can upload exactly what was written.
    """
    path = Path(path)
    sources, default_out = load_sources(path)
    is_job = sources[0].is_job
    true_col = true_col or "persona"
    pred_col = pred_col or "pred"
    if group_by is None:
        group_by = list(CELL_KEYS) if is_job else default_file_groups(sources[0].rows)
    cells = collect_cells(sources, true_col, pred_col, list(group_by), resolve_personas(personas))
    scored = [(cell, score_cell(cell, no_email, n_boot, seed, level)) for cell in cells]
    stats = {"no_email": no_email, "n_boot": n_boot, "seed": seed, "level": level}
    drops = drop_table(scored, list(group_by), **stats)
    table = with_drops(summary_table(scored, list(group_by)), drops, list(group_by))

    out_dir = prepare_out(Path(out) if out else default_out)
    summary_csv = out_dir / "summary.csv"
    _write_csv(table, summary_csv)
    figures = draw_figures(scored, table, list(group_by), out_dir)
    if len(drops):
        _write_csv(drops, out_dir / DROPS_CSV)
        plot_drops(drops, list(group_by), out_dir / "drops.png")
        figures["drops"] = out_dir / "drops.png"
    fades = (
        _write_trace(path, [r for s in sources for r in s.rows], out_dir, figures, stats)
        if is_job
        else None
    )
    if verbose:
        print(format_table(table, list(group_by), level))
        if len(drops):
            print(f"\nmacro-F1 drop between scaffolds ({level:.0%} CI, one-sided p):")
            print(format_drops(drops, level))
        if fades is not None and len(fades):
            print("\nmean P(true persona) before, in and after the email, and in chat:")
            print(format_fades(fades))
        print(f"\nwrote {summary_csv} and {len(figures)} figure(s) under {out_dir}")
    table.attrs.update(
        out_dir=str(out_dir),
        summary_csv=str(summary_csv),
        figures={name: str(p) for name, p in figures.items()},
    )
    return table


def compare_report(
    path_a: str | Path,
    path_b: str | Path,
    *,
    out: str | Path | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    no_email: NoEmail = "drop",
    level: float = 0.95,
    verbose: bool = False,
) -> pd.DataFrame:
    """Two sweeps (two scorers, two temperatures, ...) cell by cell: macro-F1 of A minus B
    with the same interval and p-value as the drops; written to ``compare.csv``."""
    sides = []
    for path in (Path(path_a), Path(path_b)):
        sources, default_out = load_sources(path)
        group_by = list(CELL_KEYS) if sources[0].is_job else default_file_groups(sources[0].rows)
        cells = collect_cells(sources, "persona", "pred", group_by, None)
        sides.append((cells, group_by, default_out))
    (cells_a, group_by, out_a), (cells_b, group_by_b, _) = sides
    if group_by != group_by_b:
        raise ReportError(f"{path_a} has cells by {group_by}, {path_b} by {group_by_b}")
    scored = [
        [(c, score_cell(c, no_email, n_boot, seed, level)) for c in cs] for cs in (cells_a, cells_b)
    ]
    names = (Path(path_a).name or str(path_a), Path(path_b).name or str(path_b))
    table = compare_table(
        *scored, group_by, names, no_email=no_email, n_boot=n_boot, seed=seed, level=level
    )
    if table.empty:
        raise ReportError(f"{path_a} and {path_b} have no cell in common")
    csv = prepare_out(Path(out) if out else out_a) / COMPARE_CSV
    _write_csv(table, csv)
    if verbose:
        print(f"macro-F1 of {names[0]} minus {names[1]} ({level:.0%} CI, one-sided p):")
        print(format_drops(table, level, group_by))
        print(f"\nwrote {csv}")
    table.attrs["csv"] = str(csv)
    return table


def _write_trace(
    path: Path,
    rows: list[dict[str, Any]],
    out_dir: Path,
    figures: dict[str, Path],
    stats: dict[str, Any],
) -> pd.DataFrame | None:
    """trace.csv, fade.csv and trace.png of the traced jobs under `path` (None: none);
    `rows` are the sweep's prediction rows (chat's are the reference)."""
    turns = load_trace(path)
    if turns.empty:
        return None
    _write_csv(trace_table(turns), out_dir / TRACE_CSV)
    fades = fade_table(
        turns, chat_reference(rows), **{k: stats[k] for k in ("n_boot", "seed", "level")}
    )
    _write_csv(fades, out_dir / FADE_CSV)
    if plot_trace(turns, out_dir / TRACE_PNG):
        figures["trace"] = out_dir / TRACE_PNG
    return fades


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def main(argv: Sequence[str] | None = None) -> int:
    from charprobe.report.cli import main as cli_main

    return cli_main(argv)


class SweepReport(Callback):
    """Hydra callback: after a multirun, write the sweep's report, whatever the logger.

    Registered in conf/config.yaml (``hydra.callbacks.sweep_report``); the W&B callback
    (`charprobe.tracking.SweepSummary`) then uploads what this wrote. A sweep without
    predictions (scorer none) has nothing to report; a failure is one line, never the
    sweep's.
    """

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if not discover(sweep_dir, holding=PREDICTIONS):
            log.info("sweep %s has no predictions (scorer none?): no report", sweep_dir)
            return
        try:
            table = build_report(sweep_dir, out=sweep_dir / REPORT_DIR, verbose=True)
        except Exception as err:  # noqa: BLE001 - ReportError or worse; the jobs are done
            reason = f"{type(err).__name__}: {' '.join(str(err).split())[:200]}"
            print(
                f"charprobe: sweep report failed for {sweep_dir}: {reason}; job files are "
                f"complete; retry with: python -m charprobe.report {sweep_dir}",
                file=sys.stderr,
            )
            return
        log.info("sweep report: %s", table.attrs.get("out_dir"))


__all__ = [
    "ReportError",
    "SweepReport",
    "build_report",
    "compare_report",
    "main",
    "write_job_outputs",
]
