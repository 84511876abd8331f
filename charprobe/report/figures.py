"""The report's figures: macro-F1 bars by scaffold and stage, the F1 heatmap, confusions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from charprobe.report.cells import Cell, order_values, ordered_personas, slug
from charprobe.stats import CellMetrics
from charprobe.store import atomic_path

AGENTIC = "agentic_email"


DPI = 130


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
        path = out_dir / "confusion" / f"{slug(cell.label)}.png"
        plot_confusion(metrics, cell.label, path)
        figures[f"confusion/{slug(cell.label)}"] = path
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
    panels = order_values(frame[panel].unique(), panel) if panel else [None]
    xs = list(dict.fromkeys(frame.sort_values(x_cols or "_x")["_x"]))
    hues = order_values(frame[hue].unique(), hue)
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
        thin = [bool(sub["thin"].get(x, False)) if "thin" in sub else False for x in xs]
        bars = ax.bar(
            pos,
            np.nan_to_num(y),
            width,
            yerr=err,
            capsize=3,
            color=colors[j],
            label=h,
            error_kw={"elinewidth": 1.0},
        )
        for bar, is_thin in zip(bars, thin, strict=True):
            if is_thin:  # a thin cell's number is shown, hatched: too few items to read
                bar.set_hatch("///")
                bar.set_edgecolor("black")
        for k, (xp, yv, hv) in enumerate(zip(pos, y, hi, strict=True)):
            x = xs[k]
            if not math.isnan(yv):
                top = hv if not math.isnan(hv) else yv
                note = " thin" if thin[k] else ""
                ax.text(xp, top + 0.015, f"{yv:.2f}{note}", ha="center", va="bottom", fontsize=7)
            elif x in sub.index:  # a cell with no number says why instead of a blank
                ax.text(xp, 0.02, _why_empty(sub.loc[x]), ha="center", va="bottom",
                        fontsize=6, rotation=90)  # fmt: skip
            q95 = sub["chance_q95"].get(x, np.nan) if "chance_q95" in sub else np.nan
            if not math.isnan(q95):  # each cell's own chance: 95th pct. of shuffled labels
                ax.hlines(q95, xp - width / 2, xp + width / 2, color="black", linewidth=1.2,
                          linestyle=":", label="chance (q95 of shuffles)" if not k and not j
                          else None)  # fmt: skip
    ax.set_xticks(
        base, xs, rotation=20 if len(xs) > 4 else 0, ha="right" if len(xs) > 4 else "center"
    )
    ax.set_ylim(0, 1.08)
    ax.grid(axis="y", alpha=0.3)


def _why_empty(row: pd.Series) -> str:
    """Why a cell has no macro-F1 (stats says: "0 of 60 rows scored (60 without text, ...)")."""
    return str(row.get("thin_reason") or "no rows")


def plot_f1_heatmap(scored: list[tuple[Cell, CellMetrics]], path: Path) -> None:
    """Cell x persona F1 (annotated), macro-F1 as a last column; grey = skipped persona.

    Cells run down the rows so a 27-cell sweep stays readable (labels stay horizontal).
    """
    personas = ordered_personas({p for _, m in scored for p in m.personas})
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


def _save(fig: Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI)


def _palette(n: int) -> list[tuple[float, float, float, float]]:
    return [colormaps["tab10"](i % 10) for i in range(n)]
