"""A sweep, a job folder or a predictions file -> summary table and figures.

    python -m charprobe.report PATH [--true-col C] [--pred-col C] [--group-by a,b]
        [--personas paper|all|p1,p2] [--out DIR] [--n-boot N] [--seed S]
        [--no-email drop|error]

PATH is a sweep folder (every job folder below it holding a ``predictions.jsonl``; cells
are (model, stage, scaffold)), one job folder, or any predictions JSONL/JSON/CSV file
(cells by ``--group-by``, default: whichever of model, base, stage, scaffold it has).
Writes ``summary.csv`` and PNG figures to ``--out`` (default ``<folder>/report/``, or
``<stem>_report/`` beside a file) and prints the table.

The job runner calls `write_job_outputs`; the W&B logger calls `build_report` and logs
the figures listed in ``frame.attrs["figures"]``. All statistics come from
`charprobe.stats`; this module only gathers rows, tabulates and draws.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from charprobe.personas import LABELS, PAPER, UnknownPersonaError, validate
from charprobe.stats import (
    CellMetrics,
    NoEmail,
    has_label,
    row_has_text,
    score_labels,
    score_rows,
)
from charprobe.store import atomic_path, iter_jsonl, write_json

CELL_KEYS = ("model", "stage", "scaffold")
FILE_GROUP_KEYS = ("model", "base", "stage", "scaffold")  # "base" is the study's word
STAGE_ORDER = ("base", "distillation", "full")
SCAFFOLD_ORDER = ("chat", "chat_email", "agentic_email")
KNOWN_ORDER = {"stage": STAGE_ORDER, "scaffold": SCAFFOLD_ORDER}
AGENTIC = "agentic_email"
PREDICTIONS = "predictions.jsonl"
SUMMARY_STATS = (
    "n",
    "n_dropped",
    "email_rate",
    "macro_f1",
    "ci_low",
    "ci_high",
    "accuracy",
    "chance",
)
DPI = 130


class ReportError(Exception):
    """A user-facing problem with the input; its message is one line."""


@dataclass
class Cell:
    """The rows of one cell, ready to score."""

    key: dict[str, str]
    personas: list[str]
    y_true: list[str] = field(default_factory=list)
    y_pred: list[str | None] = field(default_factory=list)
    reasons: list[str | None] = field(default_factory=list)

    @property
    def label(self) -> str:
        return " / ".join(self.key.values()) or "all"


@dataclass
class _Source:
    """Rows of one file with the run.json they came with (empty for a bare file)."""

    path: Path
    rows: list[dict[str, Any]]
    run: dict[str, Any]
    is_job: bool


# --------------------------------------------------------------------------- entry points


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
    write_json(job_dir / "metrics.json", out)
    with atomic_path(job_dir / "confusion.csv") as tmp:
        metrics.confusion.to_csv(tmp)
    title = " / ".join(cell.values()) or job_dir.name
    plot_confusion(metrics, title, job_dir / "confusion.png")
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
    sources, default_out = _load_sources(path)
    is_job = sources[0].is_job
    true_col = true_col or "persona"
    pred_col = pred_col or "pred"
    if group_by is None:
        group_by = list(CELL_KEYS) if is_job else _default_file_groups(sources[0].rows)
    cells = _collect_cells(sources, true_col, pred_col, list(group_by), _resolve_personas(personas))
    scored = [(cell, _score(cell, no_email, n_boot, seed, level)) for cell in cells]
    table = summary_table(scored, list(group_by))

    out_dir = _prepare_out(Path(out) if out else default_out)
    summary_csv = out_dir / "summary.csv"
    with atomic_path(summary_csv) as tmp:
        table.to_csv(tmp, index=False)
    figures = draw_figures(scored, table, list(group_by), out_dir)
    if verbose:
        print(format_table(table, list(group_by), level))
        print(f"\nwrote {summary_csv} and {len(figures)} figure(s) under {out_dir}")
    table.attrs.update(
        out_dir=str(out_dir),
        summary_csv=str(summary_csv),
        figures={name: str(p) for name, p in figures.items()},
    )
    return table


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        build_report(
            args.path,
            true_col=args.true_col,
            pred_col=args.pred_col,
            group_by=_split(args.group_by) if args.group_by is not None else None,
            personas=args.personas,
            out=args.out,
            n_boot=args.n_boot,
            seed=args.seed,
            no_email=args.no_email,
            verbose=True,
        )
    except (ReportError, UnknownPersonaError) as err:
        print(f"charprobe.report: error: {err}", file=sys.stderr)
        return 2
    return 0


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m charprobe.report",
        description="Macro-F1 with bootstrap CIs, per-persona F1 and confusion matrices "
        "for a sweep folder, a job folder or a predictions file.",
    )
    ap.add_argument("path", help="sweep folder, job folder, or predictions .jsonl/.json/.csv")
    ap.add_argument("--true-col", help="column with the true persona (default: persona)")
    ap.add_argument("--pred-col", help="column with the predicted label (default: pred)")
    ap.add_argument(
        "--group-by",
        help="comma-separated cell columns (default: model,stage,scaffold for runs; "
        "for a file whichever of model,base,stage,scaffold it has)",
    )
    ap.add_argument(
        "--personas",
        help="evaluated personas: paper, all, or p1,p2,... (default: each run's persona "
        "list; for a file, the true personas it contains)",
    )
    ap.add_argument("--out", help="output folder (default: <folder>/report or beside the file)")
    ap.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (1000)")
    ap.add_argument("--seed", type=int, default=0, help="bootstrap seed (0)")
    ap.add_argument(
        "--no-email",
        choices=("drop", "error"),
        default="drop",
        help="rows without text: drop them from F1 (default) or count them as wrong",
    )
    return ap


# --------------------------------------------------------------------------- loading


def _load_sources(path: Path) -> tuple[list[_Source], Path]:
    """Find the prediction files under `path` and say where outputs go by default."""
    if not path.exists():
        raise ReportError(f"no such file or folder: {path}")
    if path.is_file():
        return [_Source(path, _read_table(path), {}, is_job=False)], path.with_name(
            f"{path.stem}_report"
        )
    files = (
        [path / PREDICTIONS] if (path / PREDICTIONS).is_file() else sorted(path.rglob(PREDICTIONS))
    )
    if not files:
        raise ReportError(f"no {PREDICTIONS} under {path} (pass a sweep, job folder or file)")
    sources = [_Source(f, _read_jsonl(f), _read_run(f.parent), is_job=True) for f in files]
    return sources, path / "report"


def _read_table(path: Path) -> list[dict[str, Any]]:
    """Rows of a .jsonl/.json/.csv file; CSV blanks become None (no prediction)."""
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".json", ".csv"):
        raise ReportError(f"{path}: unsupported file type '{suffix}' (use .jsonl, .json or .csv)")
    if suffix == ".jsonl":
        return _read_jsonl(path)
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str)
            return [{k: _none_if_nan(v) for k, v in r.items()} for r in frame.to_dict("records")]
        data = json.loads(path.read_text())
    except (ValueError, OSError) as err:  # JSON and CSV parse errors are ValueErrors
        raise ReportError(f"{path}: cannot read ({str(err).splitlines()[0]})") from None
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return data
    raise ReportError(f"{path}: expected a JSON list of row objects")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for lineno, row in iter_jsonl(path, ReportError):
        if not isinstance(row, dict):
            raise ReportError(f"{path}:{lineno}: expected a JSON object per line")
        rows.append(row)
    return rows


def _read_run(job_dir: Path) -> dict[str, Any]:
    run = job_dir / "run.json"
    if not run.is_file():
        return {}
    try:
        return json.loads(run.read_text())
    except json.JSONDecodeError as err:
        raise ReportError(f"{run}: not JSON ({err.msg})") from None


def _default_file_groups(rows: list[dict[str, Any]]) -> list[str]:
    present = set().union(*(r.keys() for r in rows)) if rows else set()
    return [k for k in FILE_GROUP_KEYS if k in present]


def _resolve_personas(spec: str | Sequence[str] | None) -> list[str] | None:
    """--personas: None (per run / per file), paper, all, or an explicit list."""
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec == "paper":
            return list(PAPER)
        if spec == "all":
            return list(LABELS)
        spec = _split(spec)
    return validate(spec)


def _collect_cells(
    sources: list[_Source],
    true_col: str,
    pred_col: str,
    group_by: list[str],
    personas: list[str] | None,
) -> list[Cell]:
    """Group rows into cells; each cell gets its persona list (see `_cell_personas`)."""
    cells: dict[tuple[str, ...], Cell] = {}
    declared: dict[tuple[str, ...], list[str]] = {}
    for src in sources:
        if not src.rows:
            continue  # a job that wrote no rows has nothing to score
        _check_columns(src, [true_col, pred_col, *group_by])
        keys: set[tuple[str, ...]] = set()
        for i, row in enumerate(src.rows):
            key = tuple(_group_value(row, src.run, col) for col in group_by)
            if key not in cells:
                cells[key] = Cell(dict(zip(group_by, key, strict=True)), [])
            keys.add(key)
            cell = cells[key]
            true = row.get(true_col)
            if true not in LABELS:
                raise ReportError(
                    f"{src.path}: unknown persona {true!r} in column '{true_col}' (row {i + 1}); "
                    f"known: {', '.join(LABELS)}"
                )
            has_text = row_has_text(row, pred_col) if src.is_job else has_label(row.get(pred_col))
            cell.y_true.append(true)
            cell.y_pred.append(str(row[pred_col]) if has_text else None)
            cell.reasons.append(row.get("status"))
        for key in keys:
            declared.setdefault(key, []).extend(src.run.get("personas") or [])
    if not cells:
        raise ReportError(f"no prediction rows in {', '.join(str(s.path) for s in sources)}")
    file_personas = _ordered({t for c in cells.values() for t in c.y_true})
    for key, cell in cells.items():
        cell.personas = personas or _cell_personas(declared.get(key, []), cell, file_personas)
    return sorted(cells.values(), key=lambda c: _sort_key(c.key))


def _cell_personas(declared: list[str], cell: Cell, file_personas: list[str]) -> list[str]:
    """A run's declared persona list; failing that, the true personas of the file."""
    if declared:
        try:
            return _ordered(validate(list(dict.fromkeys(declared))))
        except UnknownPersonaError as err:
            raise ReportError(f"run.json of cell {cell.label}: {err}") from None
    return file_personas


def _check_columns(src: _Source, needed: list[str]) -> None:
    present = set().union(*(r.keys() for r in src.rows)) | {k for k in needed if k in src.run}
    missing = [c for c in dict.fromkeys(needed) if c not in present]
    if missing:
        raise ReportError(
            f"{src.path}: missing column(s) {', '.join(repr(c) for c in missing)} "
            f"(has: {', '.join(sorted(present))}); choose with --true-col/--pred-col/--group-by"
        )


def _group_value(row: Mapping[str, Any], run: Mapping[str, Any], col: str) -> str:
    value = row.get(col)
    if not has_label(value):
        value = run.get(col)
    return str(value) if has_label(value) else "?"


# --------------------------------------------------------------------------- tables


def _score(cell: Cell, no_email: NoEmail, n_boot: int, seed: int, level: float) -> CellMetrics:
    return score_labels(
        cell.y_true,
        cell.y_pred,
        cell.personas,
        no_email=no_email,
        n_boot=n_boot,
        seed=seed,
        level=level,
        no_text_reasons=cell.reasons,
    )


def summary_table(scored: list[tuple[Cell, CellMetrics]], group_by: list[str]) -> pd.DataFrame:
    """One row per cell: group columns, the cell statistics, then ``f1_<persona>``."""
    personas = _ordered({p for _, m in scored for p in m.personas})
    records = []
    for cell, m in scored:
        rec: dict[str, Any] = dict(cell.key)
        rec.update({k: getattr(m, k) for k in SUMMARY_STATS})
        rec.update({f"f1_{p}": (m.f1[p] if p in m.f1 else math.nan) for p in personas})
        records.append(rec)
    columns = [*group_by, *SUMMARY_STATS, *(f"f1_{p}" for p in personas)]
    return pd.DataFrame.from_records(records, columns=columns)


def format_table(table: pd.DataFrame, group_by: list[str], level: float = 0.95) -> str:
    """The summary without per-persona columns, CI as one column, 3 decimals."""
    view = table[[*group_by, "n", "n_dropped", "email_rate", "macro_f1"]].copy()
    view[f"{level:.0%} CI"] = [
        "-" if math.isnan(lo) else f"[{lo:.3f}, {hi:.3f}]"
        for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)
    ]
    view["accuracy"] = table["accuracy"]
    view["chance"] = table["chance"]
    with pd.option_context("display.width", 200, "display.max_columns", None):
        return view.to_string(index=False, float_format=lambda x: f"{x:.3f}", na_rep="-")


# --------------------------------------------------------------------------- figures


def draw_figures(
    scored: list[tuple[Cell, CellMetrics]], table: pd.DataFrame, group_by: list[str], out_dir: Path
) -> dict[str, Path]:
    """Draw every figure that applies (bars from `table`); return figure name -> path."""
    figures: dict[str, Path] = {}
    frame = table
    model_cols = [c for c in group_by if c not in ("stage", "scaffold")]
    if "scaffold" in group_by:
        path = out_dir / "macro_f1_by_scaffold.png"
        panel = "stage" if "stage" in group_by else None
        _bar_figure(
            frame,
            panel=panel,
            x_cols=model_cols,
            hue="scaffold",
            title="Macro-F1 by scaffold (chat = in-distribution, agentic_email = OOD)",
            path=path,
        )
        figures["macro_f1_by_scaffold"] = path
    agentic = frame[frame["scaffold"] == AGENTIC] if "scaffold" in group_by else frame
    if "stage" in group_by and len(agentic):
        path = out_dir / "agentic_by_stage.png"
        where = "agentic_email" if "scaffold" in group_by else "all rows"
        _bar_figure(
            agentic,
            panel=None,
            x_cols=model_cols,
            hue="stage",
            title=f"Macro-F1 by training stage ({where})",
            path=path,
        )
        figures["agentic_by_stage"] = path
    path = out_dir / "f1_heatmap.png"
    plot_f1_heatmap(scored, path)
    figures["f1_heatmap"] = path
    for cell, metrics in scored:
        path = out_dir / "confusion" / f"{_slug(cell.label)}.png"
        plot_confusion(metrics, cell.label, path)
        figures[f"confusion/{_slug(cell.label)}"] = path
    return figures


def _bar_figure(
    frame: pd.DataFrame,
    *,
    panel: str | None,
    x_cols: list[str],
    hue: str,
    title: str,
    path: Path,
) -> None:
    """Grouped bars of macro-F1 with CI whiskers: one panel per `panel` value."""
    frame = frame.assign(
        _x=[" / ".join(v) or "all" for v in frame[x_cols].astype(str).itertuples(index=False)]
        if x_cols
        else "all"
    )
    panels = _order(frame[panel].unique(), panel) if panel else [None]
    xs = list(dict.fromkeys(frame.sort_values(x_cols or "_x")["_x"]))
    hues = _order(frame[hue].unique(), hue)
    width = max(6.0, 0.45 * len(xs) * len(hues) + 3.0)
    fig = Figure(figsize=(width, 3.4 * len(panels) + 0.8), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    for ax, pv in zip(axes, panels, strict=True):
        sub = frame if pv is None else frame[frame[panel] == pv]
        _grouped_bars(ax, sub, xs, hue, hues)
        ax.set_title(f"{panel} = {pv}" if pv is not None else "")
        ax.set_ylabel("macro-F1 (bootstrap CI)")
    axes[-1].set_xlabel(" / ".join(x_cols) if x_cols else "")
    axes[0].legend(title=hue, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.suptitle(title)
    _save(fig, path)


def _grouped_bars(ax: Axes, frame: pd.DataFrame, xs: list[str], hue: str, hues: list[str]) -> None:
    width = 0.8 / max(1, len(hues))
    base = np.arange(len(xs))
    colors = _palette(len(hues))
    for j, h in enumerate(hues):
        sub = frame[frame[hue] == h].set_index("_x")
        sub = sub[~sub.index.duplicated()]
        y = np.array([sub["macro_f1"].get(x, np.nan) for x in xs], dtype=float)
        lo = np.array([sub["ci_low"].get(x, np.nan) for x in xs], dtype=float)
        hi = np.array([sub["ci_high"].get(x, np.nan) for x in xs], dtype=float)
        pos = base + (j - (len(hues) - 1) / 2) * width
        err = np.nan_to_num(np.vstack([y - lo, hi - y]), nan=0.0).clip(min=0)
        ax.bar(
            pos,
            np.nan_to_num(y),
            width,
            yerr=err,
            capsize=3,
            color=colors[j],
            label=h,
            error_kw={"elinewidth": 1.0},
        )
        for xp, yv, hv in zip(pos, y, hi, strict=True):
            if not math.isnan(yv):
                top = hv if not math.isnan(hv) else yv
                ax.text(xp, top + 0.015, f"{yv:.2f}", ha="center", va="bottom", fontsize=7)
    for chance in sorted(set(frame["chance"].dropna())):
        ax.axhline(
            chance,
            color="grey",
            linestyle="--",
            linewidth=1,
            label=f"chance (1/{round(1 / chance)})",
        )
    ax.set_xticks(
        base, xs, rotation=20 if len(xs) > 4 else 0, ha="right" if len(xs) > 4 else "center"
    )
    ax.set_ylim(0, 1.08)
    ax.grid(axis="y", alpha=0.3)


def plot_f1_heatmap(scored: list[tuple[Cell, CellMetrics]], path: Path) -> None:
    """Cell x persona F1 (annotated), macro-F1 as a last column; grey = skipped persona.

    Cells run down the rows so a 27-cell sweep stays readable (labels stay horizontal).
    """
    personas = _ordered({p for _, m in scored for p in m.personas})
    columns = [*personas, "macro-F1"]
    values = np.array(
        [[m.f1.get(p, np.nan) for p in personas] + [m.macro_f1] for _, m in scored], dtype=float
    )
    labels = [cell.label for cell, _ in scored]
    fig = Figure(
        figsize=(0.75 * len(columns) + 3.5, 0.32 * len(labels) + 2.2), layout="constrained"
    )
    ax = fig.subplots()
    cmap = colormaps["viridis"].with_extremes(bad="#dddddd")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        text = "-" if math.isnan(v) else f"{v:.2f}"
        color = "black" if math.isnan(v) or v > 0.6 else "white"
        ax.text(j, i, text, ha="center", va="center", fontsize=7, color=color)
    ax.axvline(len(personas) - 0.5, color="white", linewidth=2)
    ax.set_xticks(range(len(columns)), columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("true persona (one-vs-rest F1)")
    ax.set_ylabel("cell")
    fig.colorbar(image, ax=ax, label="F1", shrink=0.8)
    ax.set_title("Per-persona F1 by cell (grey '-': persona skipped)")
    _save(fig, path)


def plot_confusion(metrics: CellMetrics, title: str, path: Path) -> None:
    """Confusion matrix coloured by row share (recall per true persona), counts annotated."""
    counts = metrics.confusion.to_numpy()
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    n_rows, n_cols = counts.shape
    fig = Figure(figsize=(0.55 * n_cols + 3, 0.45 * n_rows + 2.2), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(share, cmap=colormaps["Blues"], vmin=0, vmax=1, aspect="auto")
    for (i, j), c in np.ndenumerate(counts):
        if c:
            color = "white" if share[i, j] > 0.55 else "black"
            ax.text(j, i, str(c), ha="center", va="center", fontsize=7, color=color)
    if n_cols > n_rows:  # labels outside the evaluated list: always errors
        ax.axvline(n_rows - 0.5, color="grey", linestyle="--", linewidth=1)
    ax.set_xticks(
        range(n_cols), list(metrics.confusion.columns), rotation=45, ha="right", fontsize=8
    )
    ax.set_yticks(range(n_rows), list(metrics.confusion.index), fontsize=8)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true persona")
    fig.colorbar(image, ax=ax, label="share of true row", shrink=0.8)
    f1 = "-" if math.isnan(metrics.macro_f1) else f"{metrics.macro_f1:.3f}"
    ax.set_title(
        f"{title}\nn={metrics.n} (dropped {metrics.n_dropped}), macro-F1 {f1}", fontsize=10
    )
    _save(fig, path)


# --------------------------------------------------------------------------- helpers


def _save(fig: Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI)


def _palette(n: int) -> list[tuple[float, float, float, float]]:
    return [colormaps["tab10"](i % 10) for i in range(n)]


def _prepare_out(out_dir: Path) -> Path:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ReportError(f"cannot write to {out_dir} ({err.strerror}); pass --out DIR") from None
    return out_dir


def _order(values: Iterable[Any], column: str | None) -> list[str]:
    known = KNOWN_ORDER.get(column or "", ())
    return sorted({str(v) for v in values}, key=lambda v: _rank(v, known))


def _rank(value: str, known: Sequence[str]) -> tuple[int, int, str]:
    return (0, known.index(value), value) if value in known else (1, 0, value)


def _sort_key(key: Mapping[str, str]) -> tuple:
    """Cells sort by group value, stages and scaffolds in their natural order."""
    return tuple(_rank(v, KNOWN_ORDER.get(k, ())) for k, v in key.items())


def _ordered(personas: Iterable[str]) -> list[str]:
    """Personas in classifier order (so tables and figures line up across cells)."""
    return sorted(set(personas), key=LABELS.index)


def _split(spec: str) -> list[str]:
    return [s.strip() for s in spec.split(",") if s.strip()]


def _none_if_nan(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "all"


if __name__ == "__main__":
    sys.exit(main())
