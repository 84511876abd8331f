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
from dataclasses import replace
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
from charprobe.report.agreement import position_table
from charprobe.report.cells import (
    CELL_KEYS,
    Cell,
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
    POSITIONS_CSV,
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
    fade_table,
    format_fades,
    load_trace,
    plot_trace,
    trace_table,
)
from charprobe.stats import CellMetrics, Settings, score_rows
from charprobe.store import atomic_path, write_json

log = logging.getLogger(__name__)


def write_job_outputs(
    job_dir: str | Path,
    rows: Iterable[Mapping[str, Any]],
    personas: Sequence[str],
    settings: Settings | None = None,
    *,
    true_key: str = "persona",
    pred_key: str = "pred",
    extra: Mapping[str, Any] | None = None,
    **overrides: Any,
) -> CellMetrics:
    """Score a finished job and write metrics.json, confusion.csv and confusion.png.

    `extra` is stored in metrics.json as is (e.g. which scorer made the predictions);
    `overrides` replace fields of `settings` (n_boot=..., cluster=...).
    """
    job_dir = Path(job_dir)
    rows = list(rows)
    metrics = score_rows(
        rows, personas, settings, true_key=true_key, pred_key=pred_key, **overrides
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
    item_col: str | None = None,
    group_by: Sequence[str] | None = None,
    personas: str | Sequence[str] | None = None,
    out: str | Path | None = None,
    settings: Settings | None = None,
    margin: float = 0.1,
    min_rollouts: int = 10,
    verbose: bool = False,
    **overrides: Any,
) -> pd.DataFrame:
    """Score every cell under `path`, write summary.csv and figures, return the summary.

    `settings` (the `stats` config group) decides how numbers are computed; `overrides`
    replace its fields (n_boot=..., cluster="row"). `margin` and `min_rollouts` are the
    fade verdict's (`charprobe.fade`). The returned frame's ``attrs`` hold ``out_dir``,
    ``summary_csv`` and ``figures`` (figure name -> PNG path), so a logger can upload
    exactly what was written.
    """
    s = replace(settings or Settings(), **overrides)
    path = Path(path)
    sources, default_out = load_sources(path)
    is_job = sources[0].is_job
    true_col = true_col or "persona"
    pred_col = pred_col or "pred"
    if group_by is None:
        group_by = list(CELL_KEYS) if is_job else default_file_groups(sources[0].rows)
    cells = collect_cells(
        sources, true_col, pred_col, list(group_by), resolve_personas(personas), item_col
    )
    scored = [(cell, score_cell(cell, s)) for cell in cells]
    drops = drop_table(scored, list(group_by), s)
    table = with_drops(summary_table(scored, list(group_by)), drops, list(group_by))

    out_dir = prepare_out(Path(out) if out else default_out)
    summary_csv = out_dir / "summary.csv"
    _write_csv(table, summary_csv)
    figures = draw_figures(scored, table, list(group_by), out_dir)
    if len(drops):
        _write_csv(drops, out_dir / DROPS_CSV)
        plot_drops(drops, list(group_by), out_dir / "drops.png")
        figures["drops"] = out_dir / "drops.png"
    rows = [r for src in sources for r in src.rows]
    fades = _write_trace(path, rows, out_dir, figures, s, margin, min_rollouts) if is_job else None
    positions = position_table(rows)
    if len(positions):
        _write_csv(positions, out_dir / POSITIONS_CSV)
    if verbose:
        print(resampling_note(cells, s, item_col))
        print(format_table(table, list(group_by), s.level))
        if len(drops):
            print(f"\nmacro-F1 drop between scaffolds ({s.level:.0%} CI, two-sided p, Holm):")
            print(format_drops(drops, s.level))
        if fades is not None and len(fades):
            print("\nmean P(true persona) before, in and after the email, against chat:")
            print(format_fades(fades))
        if len(positions):
            print(f"\njudge's picks by option position: {out_dir / POSITIONS_CSV}")
        print(f"\nwrote {summary_csv} and {len(figures)} figure(s) under {out_dir}")
    table.attrs.update(
        out_dir=str(out_dir),
        summary_csv=str(summary_csv),
        figures={name: str(p) for name, p in figures.items()},
    )
    return table


def resampling_note(cells: Sequence[Cell], s: Settings, item_col: str | None) -> str:
    """One line saying what the intervals resampled (rows, items or families)."""
    with_items = any(i is not None for c in cells for i in c.item_ids)
    if s.cluster == "row" or not with_items:
        why = (
            "" if s.cluster == "row" else f" (no item column{f' {item_col!r}' if item_col else ''})"
        )
        return f"intervals resample rows{why}, {s.n_boot} times; p-values {s.n_boot_p} times"
    unit = "items" if s.cluster == "item" else "scenario families"
    return (
        f"intervals resample {unit} (each with all its rows), {s.n_boot} times; "
        f"p-values {s.n_boot_p} times; chance: {s.n_perm} shuffles of the predictions"
    )


def compare_report(
    path_a: str | Path,
    path_b: str | Path,
    *,
    out: str | Path | None = None,
    settings: Settings | None = None,
    verbose: bool = False,
    **overrides: Any,
) -> pd.DataFrame:
    """Two sweeps (two scorers, two temperatures, ...) cell by cell: macro-F1 of A minus B
    with the same interval and p-value as the drops; written to ``compare.csv``. Rows of
    the same items are resampled with the same draws on both sides."""
    s = replace(settings or Settings(), **overrides)
    sides = []
    for path in (Path(path_a), Path(path_b)):
        sources, default_out = load_sources(path)
        group_by = list(CELL_KEYS) if sources[0].is_job else default_file_groups(sources[0].rows)
        cells = collect_cells(sources, "persona", "pred", group_by, None)
        sides.append((cells, group_by, default_out))
    (cells_a, group_by, out_a), (cells_b, group_by_b, _) = sides
    if group_by != group_by_b:
        raise ReportError(f"{path_a} has cells by {group_by}, {path_b} by {group_by_b}")
    scored = [[(c, score_cell(c, s)) for c in cs] for cs in (cells_a, cells_b)]
    names = (Path(path_a).name or str(path_a), Path(path_b).name or str(path_b))
    table = compare_table(*scored, group_by, names, s)
    if table.empty:
        raise ReportError(f"{path_a} and {path_b} have no cell in common")
    csv = prepare_out(Path(out) if out else out_a) / COMPARE_CSV
    _write_csv(table, csv)
    if verbose:
        print(resampling_note(cells_a, s, None))
        print(f"macro-F1 of {names[0]} minus {names[1]} ({s.level:.0%} CI, two-sided p, Holm):")
        print(format_drops(table, s.level, group_by))
        print(f"\nwrote {csv}")
    table.attrs["csv"] = str(csv)
    return table


def _write_trace(
    path: Path,
    rows: list[dict[str, Any]],
    out_dir: Path,
    figures: dict[str, Path],
    s: Settings,
    margin: float,
    min_rollouts: int,
) -> pd.DataFrame | None:
    """trace.csv, fade.csv and trace.png of the traced jobs under `path` (None: none);
    `rows` are the sweep's prediction rows (chat's and chat_email's are the references)."""
    turns = load_trace(path)
    if turns.empty:
        return None
    _write_csv(trace_table(turns), out_dir / TRACE_CSV)
    fades = fade_table(
        turns,
        rows,
        n_boot=s.n_boot,
        seed=s.seed,
        level=s.level,
        cluster=s.cluster,
        interval=s.interval,
        margin=margin,
        min_rollouts=min_rollouts,
    )
    _write_csv(fades, out_dir / FADE_CSV)
    drawn = plot_trace(turns, out_dir / TRACE_PNG, min_rollouts, n_boot=s.n_boot, seed=s.seed,
                       level=s.level, cluster=s.cluster, interval=s.interval)  # fmt: skip
    if drawn:
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
        trace = config.get("trace") or {}
        try:
            table = build_report(
                sweep_dir,
                out=sweep_dir / REPORT_DIR,
                settings=Settings.of(config.get("stats") or {}),
                margin=trace.get("margin", 0.1),
                min_rollouts=trace.get("min_rollouts", 10),
                verbose=True,
            )
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
