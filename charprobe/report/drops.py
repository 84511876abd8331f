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
from charprobe.resample import holm, p_text
from charprobe.stats import CellMetrics, Settings

DROPS_CSV = "drops.csv"
COMPARE_CSV = "compare.csv"
POSITIONS_CSV = "judge_positions.csv"  # a judge's pick rate per option position
DROP_COLUMNS = [
    "source",
    "target",
    "f1_source",
    "f1_target",
    "drop",
    "ci_low",
    "ci_high",
    "p_value",
    "p_at_floor",
    "p_holm",
    "f1_strict_source",
    "f1_strict_target",
    "drop_strict",
    "ci_strict_low",
    "ci_strict_high",
    "p_strict",
    "p_strict_at_floor",
    "p_strict_holm",
    "n_source",
    "n_target",
    "n_personas",
    "n_personas_strict",
    "thin",
    "thin_strict",
    "cluster",
    "interval",
]
# compare.csv also says how far two scorers agree on the same rows.
AGREEMENT_COLUMNS = ["kappa", "kappa_both", "n_paired", "n_both", "n_no_text"]


def _drop_row(
    a: tuple[Cell, CellMetrics],
    b: tuple[Cell, CellMetrics],
    names: tuple[str, str],
    s: Settings,
    two_sided: bool = False,
) -> dict[str, Any]:
    """Both drops (study and strict) of cell b from cell a. Each is tested unless a cell is
    thin under its own rule: survivors gate the study's test, every row asked for the
    strict one (a persona that sent no email leaves the strict cell whole)."""
    (ca, ma), (cb, mb) = a, b
    personas = [p for p in ca.personas if p in cb.personas]
    thin, thin_strict = ma.thin or mb.thin, ma.thin_strict or mb.thin_strict
    rows = (ca.rows(s.cluster), cb.rows(s.cluster))
    d = macro_f1_drop(*rows, personas, names=names, settings=s, test=not thin,
                      two_sided=two_sided)  # fmt: skip
    strict = macro_f1_drop(*rows, personas, names=names, settings=s, strict=True,
                           test=not thin_strict, two_sided=two_sided)  # fmt: skip
    out = {k: v for k, v in d.to_json().items() if k in DROP_COLUMNS}
    out.update(
        f1_strict_source=strict.f1_source,
        f1_strict_target=strict.f1_target,
        drop_strict=strict.drop,
        ci_strict_low=strict.ci_low,
        ci_strict_high=strict.ci_high,
        p_strict=strict.p_value,
        p_strict_at_floor=strict.p_at_floor,
        n_personas_strict=strict.n_personas,
        thin=thin,
        thin_strict=thin_strict,
        cluster=s.cluster,
        interval=s.interval,
    )
    return out


def _with_holm(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Holm-adjusted p beside the raw p, over the family of tests in one table."""
    for col in ("p_value", "p_strict"):
        for r, adj in zip(rows, holm([r[col] for r in rows]), strict=True):
            r[col.replace("_value", "") + "_holm"] = adj
    return rows


def drop_table(
    scored: list[tuple[Cell, CellMetrics]], group_by: list[str], settings: Settings
) -> pd.DataFrame:
    """One row per (group, pair of scaffolds) that both have a cell; empty without a
    scaffold column."""
    others = [g for g in group_by if g != "scaffold"]
    if len(others) == len(group_by):
        return pd.DataFrame(columns=[*others, *DROP_COLUMNS])
    cells = {(tuple(c.key[g] for g in others), c.key["scaffold"]): (c, m) for c, m in scored}
    groups = list(dict.fromkeys(g for g, _ in cells))
    rows = []
    for group in groups:
        for a, b in PAIRS:
            if (group, a) in cells and (group, b) in cells:
                rows.append(
                    {
                        **dict(zip(others, group, strict=True)),
                        **_drop_row(cells[group, a], cells[group, b], (a, b), settings),
                    }
                )
    return pd.DataFrame.from_records(_with_holm(rows), columns=[*others, *DROP_COLUMNS])


def with_drops(table: pd.DataFrame, drops: pd.DataFrame, group_by: list[str]) -> pd.DataFrame:
    """The summary with, on each target scaffold's row, its drop from each source:
    ``drop_from_<source>`` and its ``_ci_low``, ``_ci_high``, ``_p``, ``_p_holm``,
    ``_p_at_floor``, and the strict drop ``drop_strict_from_<source>`` with the same p
    columns."""
    table = table.copy()
    others = [g for g in group_by if g != "scaffold"]
    for _, d in drops.iterrows():
        at = table["scaffold"] == d["target"]
        for g in others:
            at &= table[g] == d[g]
        base = f"drop_from_{d['source']}"
        for col, key in (
            (base, "drop"),
            (f"{base}_ci_low", "ci_low"),
            (f"{base}_ci_high", "ci_high"),
            (f"{base}_p", "p_value"),
            (f"{base}_p_holm", "p_holm"),
            # p and its Holm adjustment are bounds, not values, at the bootstrap's floor.
            (f"{base}_p_at_floor", "p_at_floor"),
            (f"drop_strict_from_{d['source']}", "drop_strict"),
            (f"drop_strict_from_{d['source']}_p", "p_strict"),
            (f"drop_strict_from_{d['source']}_p_holm", "p_strict_holm"),
            (f"drop_strict_from_{d['source']}_p_at_floor", "p_strict_at_floor"),
        ):
            if col not in table:  # a floor flag is a bool where there is a p, else empty
                dtype = object if key.endswith("at_floor") else float
                table[col] = pd.Series(math.nan, index=table.index, dtype=dtype)
            table.loc[at, col] = d[key]
    return table


def compare_table(
    a: list[tuple[Cell, CellMetrics]],
    b: list[tuple[Cell, CellMetrics]],
    group_by: list[str],
    names: tuple[str, str],
    settings: Settings,
) -> pd.DataFrame:
    """Cell by cell, macro-F1 of sweep A minus sweep B, for the cells both have, and
    Cohen's kappa between their labels of the same rows (two scorers of one sweep). Rows
    of the same items are resampled with the same draws on both sides."""
    from charprobe.report.agreement import agreement

    cells_b = {tuple(c.key[g] for g in group_by): (c, m) for c, m in b}
    rows = []
    for cell, m in a:
        key = tuple(cell.key[g] for g in group_by)
        if key in cells_b:
            b_cell = cells_b[key][0]
            agree = agreement(cell.row_keys, cell.y_pred, b_cell.row_keys, b_cell.y_pred,
                              cell.texts, b_cell.texts)  # fmt: skip
            agree = {"kappa": agree["kappa"], "kappa_both": agree["kappa_both"],
                     "n_paired": agree["n"], "n_both": agree["n_both"],
                     "n_no_text": agree["n_no_text"]}  # fmt: skip
            # Neither sweep is the source: "A and B differ", two-sided.
            rows.append({**cell.key, **_drop_row((cell, m), cells_b[key], names, settings,
                                                 two_sided=True), **agree})  # fmt: skip
    return pd.DataFrame.from_records(
        _with_holm(rows), columns=[*group_by, *DROP_COLUMNS, *AGREEMENT_COLUMNS]
    )


def format_drops(drops: pd.DataFrame, level: float, keys: list[str] | None = None) -> str:
    """The drop table for the terminal: keys, from, to, both F1s, drop [CI], p."""
    keys = keys if keys is not None else [c for c in drops.columns if c not in DROP_COLUMNS]
    view = drops[[*keys, "source", "target", "f1_source", "f1_target", "drop"]].copy()
    view[f"{level:.0%} CI"] = [
        "-" if lo != lo else f"[{lo:.3f}, {hi:.3f}]"
        for lo, hi in zip(drops["ci_low"], drops["ci_high"], strict=True)
    ]
    view["p"] = _p_column(drops["p_value"], drops["p_at_floor"], drops["thin"])
    # Holm's adjustment of a p at its floor is itself only a bound.
    view["p (Holm)"] = [
        "-" if h != h else (f"< {h:.2g}" if f else p_text(h))
        for h, f in zip(drops["p_holm"], drops["p_at_floor"], strict=True)
    ]
    view["personas"] = drops["n_personas"]  # both F1s average these (survivors in both)
    view["strict drop"] = drops["drop_strict"]
    view["strict p"] = _p_column(
        drops["p_strict"], drops["p_strict_at_floor"], drops["thin_strict"]
    )
    if "kappa" in drops:
        view["kappa"] = drops["kappa"]
        view["n"] = drops["n_paired"]
    with pd.option_context("display.width", 200, "display.max_columns", None):
        return view.to_string(index=False, float_format=lambda x: f"{x:.3f}", na_rep="-")


def _p_column(ps: pd.Series, floors: pd.Series, thins: pd.Series) -> list[str]:
    """Each drop's p for people: "thin" where its rule's cell is too thin to test."""
    return ["thin" if t else p_text(p, f) for p, f, t in zip(ps, floors, thins, strict=True)]


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
