"""Gathering rows into cells: prediction sources (job folders or files), cells, tables."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from charprobe.drop import CellRows
from charprobe.metrics import COUNTS, RATES
from charprobe.personas import LABELS, PAPER, UnknownPersonaError, validate
from charprobe.records import PREDICTIONS, REPORT_DIR, JobFolder, discover, has_label, row_has_text
from charprobe.resample import units_of
from charprobe.stats import CellMetrics, Settings, row_text, score_labels
from charprobe.store import iter_jsonl

CELL_KEYS = ("model", "stage", "scaffold")


FILE_GROUP_KEYS = ("model", "base", "stage", "scaffold")  # "base" is the study's word


STAGE_ORDER = ("base", "distillation", "full")


SCAFFOLD_ORDER = ("chat", "chat_email", "agentic_email")


KNOWN_ORDER = {"stage": STAGE_ORDER, "scaffold": SCAFFOLD_ORDER}


# summary.csv's cell columns: the counts, rates and flags of `metrics.CellMetrics`.
SUMMARY_STATS = (
    *(k for k in COUNTS if k != "n_excluded"),
    *RATES,
    "thin",
    "thin_reason",
    "thin_strict",
    "thin_strict_reason",
    "cluster",
)
# A predictions file's item column, when --item-col does not name one: the first present.
ITEM_COLS = ("item_id", "scenario_id")


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
    row_keys: list[str | None] = field(default_factory=list)  # to pair two scorers' rows
    item_ids: list[str | None] = field(default_factory=list)
    texts: list[bool] = field(default_factory=list)  # whether the row had a text

    @property
    def label(self) -> str:
        return " / ".join(self.key.values()) or "all"

    def units(self, cluster: str) -> list[str]:
        """Each row's resampling unit. Rows standing alone are named by their key (so two
        scorers of the same rows pair up) or by the cell and position (so two cells'
        rows never merge)."""
        units = units_of(self.item_ids, cluster)
        return [
            f"\0row:{k if k is not None else f'{self.label}#{i}'}" if u.startswith("\0") else u
            for i, (u, k) in enumerate(zip(units, self.row_keys, strict=True))
        ]

    def rows(self, cluster: str) -> CellRows:
        return CellRows(self.y_true, self.y_pred, self.units(cluster))


@dataclass
class _Source:
    """Rows of one file with the run.json they came with (empty for a bare file)."""

    path: Path
    rows: list[dict[str, Any]]
    run: dict[str, Any]
    is_job: bool


def load_sources(path: Path) -> tuple[list[_Source], Path]:
    """Find the prediction files under `path` and say where outputs go by default."""
    if not path.exists():
        raise ReportError(f"no such file or folder: {path}")
    if path.is_file():
        return [_Source(path, _read_table(path), {}, is_job=False)], path.with_name(
            f"{path.stem}_report"
        )
    jobs = discover(path, holding=PREDICTIONS)
    if not jobs:
        raise ReportError(f"no {PREDICTIONS} under {path} (pass a sweep, job folder or file)")
    sources = [
        _Source(j.predictions, _read_jsonl(j.predictions), _read_run(j), is_job=True) for j in jobs
    ]
    return sources, path / REPORT_DIR


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


def _read_run(job: JobFolder) -> dict[str, Any]:
    run = job.run_file
    if not run.is_file():
        return {}
    try:
        return json.loads(run.read_text())
    except json.JSONDecodeError as err:
        raise ReportError(f"{run}: not JSON ({err.msg})") from None


def default_file_groups(rows: list[dict[str, Any]]) -> list[str]:
    present = set().union(*(r.keys() for r in rows)) if rows else set()
    return [k for k in FILE_GROUP_KEYS if k in present]


def resolve_personas(spec: str | Sequence[str] | None) -> list[str] | None:
    """--personas: None (per run / per file), paper, all, or an explicit list."""
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec == "paper":
            return list(PAPER)
        if spec == "all":
            return list(LABELS)
        spec = split_list(spec)
    return validate(spec)


def collect_cells(
    sources: list[_Source],
    true_col: str,
    pred_col: str,
    group_by: list[str],
    personas: list[str] | None,
    item_col: str | None = None,
) -> list[Cell]:
    """Group rows into cells; each cell gets its persona list (see `_cell_personas`).

    `item_col` names each row's item (what intervals resample); by default the first of
    `ITEM_COLS` a source has, or none (rows are resampled)."""
    cells: dict[tuple[str, ...], Cell] = {}
    declared: dict[tuple[str, ...], list[str]] = {}
    for src in sources:
        if not src.rows:
            continue  # a job that wrote no rows has nothing to score
        _check_columns(src, [true_col, pred_col, *group_by, *([item_col] if item_col else [])])
        items = item_col or next((c for c in ITEM_COLS if any(c in r for r in src.rows)), None)
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
            cell.row_keys.append(row.get("key"))
            item = row.get(items) if items else None
            cell.item_ids.append(str(item) if has_label(item) else None)
            cell.texts.append(row_text(row, pred_col) if src.is_job else has_text)
        for key in keys:
            declared.setdefault(key, []).extend(src.run.get("personas") or [])
    if not cells:
        raise ReportError(f"no prediction rows in {', '.join(str(s.path) for s in sources)}")
    file_personas = ordered_personas({t for c in cells.values() for t in c.y_true})
    for key, cell in cells.items():
        cell.personas = personas or _cell_personas(declared.get(key, []), cell, file_personas)
    return sorted(cells.values(), key=lambda c: _sort_key(c.key))


def _cell_personas(declared: list[str], cell: Cell, file_personas: list[str]) -> list[str]:
    """A run's declared persona list; failing that, the true personas of the file."""
    if declared:
        try:
            return ordered_personas(validate(list(dict.fromkeys(declared))))
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


def score_cell(cell: Cell, s: Settings) -> CellMetrics:
    return score_labels(
        cell.y_true,
        cell.y_pred,
        cell.personas,
        no_email=s.no_email,
        n_boot=s.n_boot,
        seed=s.seed,
        level=s.level,
        no_text_reasons=cell.reasons,
        texts=cell.texts,
        item_ids=cell.item_ids if any(i is not None for i in cell.item_ids) else None,
        cluster=s.cluster,
        n_perm=s.n_perm,
        min_items=s.min_items,
        min_rows=s.min_rows,
        interval=s.interval,
    )


def summary_table(scored: list[tuple[Cell, CellMetrics]], group_by: list[str]) -> pd.DataFrame:
    """One row per cell: group columns, the cell statistics, then ``f1_<persona>``."""
    personas = ordered_personas({p for _, m in scored for p in m.personas})
    records = []
    for cell, m in scored:
        rec: dict[str, Any] = dict(cell.key)
        rec.update({k: getattr(m, k) for k in SUMMARY_STATS})
        rec.update({f"f1_{p}": (m.f1[p] if p in m.f1 else math.nan) for p in personas})
        rec.update({f"email_rate_{p}": m.email_rate_by_persona.get(p, math.nan) for p in personas})
        records.append(rec)
    columns = [*group_by, *SUMMARY_STATS, *(f"f1_{p}" for p in personas),
               *(f"email_rate_{p}" for p in personas)]  # fmt: skip
    return pd.DataFrame.from_records(records, columns=columns)


def format_table(table: pd.DataFrame, group_by: list[str], level: float = 0.95) -> str:
    """The summary without per-persona columns, CIs as one column each, 3 decimals; a
    thin cell says so, and why."""
    view = table[[*group_by, "n", "n_items", "email_rate", "macro_f1"]].copy()
    view[f"{level:.0%} CI"] = _intervals(table["ci_low"], table["ci_high"])
    view["chance (q95)"] = _chances(table["chance"], table["chance_q95"])
    view["strict"] = table["macro_f1_strict"]
    view["strict CI"] = _intervals(table["ci_strict_low"], table["ci_strict_high"])
    view["strict chance (q95)"] = _chances(table["chance_strict"], table["chance_strict_q95"])
    view["thin"] = [
        "; ".join([f"thin: {r}"] * bool(t) + [f"strict thin: {rs}"] * bool(ts))
        for t, r, ts, rs in zip(table["thin"], table["thin_reason"], table["thin_strict"],
                                table["thin_strict_reason"], strict=True)
    ]  # fmt: skip
    with pd.option_context("display.width", 250, "display.max_columns", None):
        return view.to_string(index=False, float_format=lambda x: f"{x:.3f}", na_rep="-")


def _chances(means: Iterable[float], q95s: Iterable[float]) -> list[str]:
    return ["-" if c != c else f"{c:.3f} ({q:.3f})" for c, q in zip(means, q95s, strict=True)]


def _intervals(lows: Iterable[float], highs: Iterable[float]) -> list[str]:
    return [
        "-" if lo != lo else f"[{lo:.3f}, {hi:.3f}]" for lo, hi in zip(lows, highs, strict=True)
    ]


def prepare_out(out_dir: Path) -> Path:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ReportError(f"cannot write to {out_dir} ({err.strerror}); pass --out DIR") from None
    return out_dir


def order_values(values: Iterable[Any], column: str | None) -> list[str]:
    known = KNOWN_ORDER.get(column or "", ())
    return sorted({str(v) for v in values}, key=lambda v: _rank(v, known))


def _rank(value: str, known: Sequence[str]) -> tuple[int, int, str]:
    return (0, known.index(value), value) if value in known else (1, 0, value)


def _sort_key(key: Mapping[str, str]) -> tuple:
    """Cells sort by group value, stages and scaffolds in their natural order."""
    return tuple(_rank(v, KNOWN_ORDER.get(k, ())) for k, v in key.items())


def ordered_personas(personas: Iterable[str]) -> list[str]:
    """Personas in classifier order (so tables and figures line up across cells)."""
    return sorted(set(personas), key=LABELS.index)


def split_list(spec: str) -> list[str]:
    return [s.strip() for s in spec.split(",") if s.strip()]


def _none_if_nan(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "all"
