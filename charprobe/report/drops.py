"""The drop table of a report: macro-F1 from one scaffold to the next, per base and stage,
and the cell-by-cell comparison of two sweeps, both with bootstrap intervals
(`charprobe.drop`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from charprobe.drop import PAIRS, macro_f1_drop
from charprobe.report.cells import Cell, order_values
from charprobe.stats import CellMetrics, NoEmail

DROPS_CSV = "drops.csv"
COMPARE_CSV = "compare.csv"
DROP_COLUMNS = [
    "source",
    "target",
    "f1_source",
    "f1_target",
    "drop",
    "ci_low",
    "ci_high",
    "p_value",
    "n_source",
    "n_target",
]
# compare.csv also says how far two scorers agree on the same rows.
AGREEMENT_COLUMNS = ["kappa", "n_both"]


def agreement(a: Cell, b: Cell) -> dict[str, float | int]:
    """Cohen's kappa between two scorers' labels of the rows both labelled (paired by key)."""
    from sklearn.metrics import cohen_kappa_score

    pb = {k: p for k, p in zip(b.row_keys, b.y_pred, strict=True) if k is not None}
    pairs = [(p, pb[k]) for k, p in zip(a.row_keys, a.y_pred, strict=True)
             if p is not None and pb.get(k) is not None]  # fmt: skip
    if not pairs:
        return {"kappa": math.nan, "n_both": 0}
    x, y = zip(*pairs, strict=True)
    # One label on both sides for every row: full agreement (sklearn would give NaN).
    kappa = 1.0 if len(set(x) | set(y)) == 1 else float(cohen_kappa_score(x, y))
    return {"kappa": kappa, "n_both": len(pairs)}


def _drop_row(a: Cell, b: Cell, names: tuple[str, str], stats: dict[str, Any]) -> dict:
    personas = [p for p in a.personas if p in b.personas]
    d = macro_f1_drop((a.y_true, a.y_pred), (b.y_true, b.y_pred), personas, names=names, **stats)
    return {k: v for k, v in d.to_json().items() if k in DROP_COLUMNS}


def drop_table(
    scored: list[tuple[Cell, CellMetrics]],
    group_by: list[str],
    *,
    no_email: NoEmail,
    n_boot: int,
    seed: int,
    level: float,
) -> pd.DataFrame:
    """One row per (group, pair of scaffolds) that both have a cell; empty without a
    scaffold column."""
    others = [g for g in group_by if g != "scaffold"]
    if len(others) == len(group_by):
        return pd.DataFrame(columns=[*others, *DROP_COLUMNS])
    cells = {(tuple(c.key[g] for g in others), c.key["scaffold"]): c for c, _ in scored}
    groups = list(dict.fromkeys(g for g, _ in cells))
    stats = {"no_email": no_email, "n_boot": n_boot, "seed": seed, "level": level}
    rows = []
    for group in groups:
        for a, b in PAIRS:
            if (group, a) in cells and (group, b) in cells:
                rows.append(
                    {
                        **dict(zip(others, group, strict=True)),
                        **_drop_row(cells[group, a], cells[group, b], (a, b), stats),
                    }
                )
    return pd.DataFrame.from_records(rows, columns=[*others, *DROP_COLUMNS])


def with_drops(table: pd.DataFrame, drops: pd.DataFrame, group_by: list[str]) -> pd.DataFrame:
    """The summary with, on each target scaffold's row, its drop from each source:
    ``drop_from_<source>`` and its ``_ci_low``, ``_ci_high`` and ``_p``."""
    table = table.copy()
    others = [g for g in group_by if g != "scaffold"]
    for _, d in drops.iterrows():
        at = table["scaffold"] == d["target"]
        for g in others:
            at &= table[g] == d[g]
        base = f"drop_from_{d['source']}"
        for suffix, key in (
            ("", "drop"),
            ("_ci_low", "ci_low"),
            ("_ci_high", "ci_high"),
            ("_p", "p_value"),
        ):
            if base + suffix not in table:
                table[base + suffix] = math.nan
            table.loc[at, base + suffix] = d[key]
    return table


def compare_table(
    a: list[tuple[Cell, CellMetrics]],
    b: list[tuple[Cell, CellMetrics]],
    group_by: list[str],
    names: tuple[str, str],
    *,
    no_email: NoEmail,
    n_boot: int,
    seed: int,
    level: float,
) -> pd.DataFrame:
    """Cell by cell, macro-F1 of sweep A minus sweep B, for the cells both have, and
    Cohen's kappa between their labels of the same rows (two scorers of one sweep)."""
    cells_b = {tuple(c.key[g] for g in group_by): c for c, _ in b}
    stats = {"no_email": no_email, "n_boot": n_boot, "seed": seed, "level": level}
    rows = []
    for cell, _ in a:
        key = tuple(cell.key[g] for g in group_by)
        if key in cells_b:
            b_cell = cells_b[key]
            rows.append({**cell.key, **_drop_row(cell, b_cell, names, stats),
                         **agreement(cell, b_cell)})  # fmt: skip
    return pd.DataFrame.from_records(rows, columns=[*group_by, *DROP_COLUMNS, *AGREEMENT_COLUMNS])


def format_drops(drops: pd.DataFrame, level: float, keys: list[str] | None = None) -> str:
    """The drop table for the terminal: keys, from, to, both F1s, drop [CI], p."""
    keys = keys if keys is not None else [c for c in drops.columns if c not in DROP_COLUMNS]
    view = drops[[*keys, "source", "target", "f1_source", "f1_target", "drop"]].copy()
    view[f"{level:.0%} CI"] = [
        "-" if lo != lo else f"[{lo:.3f}, {hi:.3f}]"
        for lo, hi in zip(drops["ci_low"], drops["ci_high"], strict=True)
    ]
    view["p"] = drops["p_value"]
    if "kappa" in drops:
        view["kappa"] = drops["kappa"]
    with pd.option_context("display.width", 200, "display.max_columns", None):
        return view.to_string(index=False, float_format=lambda x: f"{x:.3f}", na_rep="-")


def plot_drops(drops: pd.DataFrame, group_by: list[str], path: Path) -> None:
    """Each pair's drop per base and stage, with its interval; zero marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = [g for g in group_by if g != "scaffold"]
    labels = [" / ".join(str(r[g]) for g in others) or "all" for _, r in drops.iterrows()]
    groups = order_values(labels, None)
    pairs = [f"{a} - {b}" for a, b in PAIRS]
    width = 0.8 / len(pairs)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(groups) + 2), 4.2))
    for j, pair in enumerate(pairs):
        xs, ys, err = [], [], [[], []]
        for label, (_, r) in zip(labels, drops.iterrows(), strict=True):
            if f"{r['source']} - {r['target']}" != pair:
                continue
            xs.append(groups.index(label) + (j - (len(pairs) - 1) / 2) * width)
            ys.append(r["drop"])
            err[0].append(max(r["drop"] - r["ci_low"], 0) if r["ci_low"] == r["ci_low"] else 0)
            err[1].append(max(r["ci_high"] - r["drop"], 0) if r["ci_high"] == r["ci_high"] else 0)
        if xs:
            ax.bar(xs, ys, width, yerr=err, capsize=3, label=pair)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(groups)), groups, rotation=20, ha="right")
    ax.set_ylabel("macro-F1 drop (from - to)")
    ax.set_title("Persona drop between scaffolds (bootstrap CI)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
