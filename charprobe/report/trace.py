"""The per-turn trace of a sweep (`scaffold.trace=true`): trace.csv, fade.csv, trace.png.

- ``trace.csv``: per base, scaffold, stage, step and kind of turn, how many turns and
  rollouts, their mean P(true persona) (and how often the scorer's label is the true
  persona);
- ``fade.csv``: per base, stage and scaffold with emails, the level before the email,
  in it and after it, each rollout against its own persona's chat replies (and the email
  against chat_email), item-clustered intervals and verdicts (`charprobe.fade`);
- ``trace.png``: mean P(true persona) of the rollouts against step, a series per stage
  with item-clustered error bars and each point's n (rollouts); points from fewer than
  `min_rollouts` rollouts are hollow and not joined; email turns starred, chance dashed;
  one panel per base and scaffold that has more than one step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from charprobe.bootstrap import interval as make_interval
from charprobe.fade import MARGIN, MIN_ROLLOUTS, PHASES, fade, rollout_phases
from charprobe.records import TRACE, discover
from charprobe.report.cells import order_values
from charprobe.resample import Method, draws, units_of

TRACE_CSV = "trace.csv"
FADE_CSV = "fade.csv"
TRACE_PNG = "trace.png"
KEYS = ["model", "scaffold", "stage"]
REFERENCE_SCAFFOLDS = ("chat", "chat_email")
_ROW_KEYS = ("model", "stage", "scaffold", "persona", "item_id", "p_true")


def load_trace(path: Path) -> pd.DataFrame:
    """Every traced turn under `path`, one row each (empty: nothing was traced)."""
    rows = []
    for job in discover(path, holding=TRACE):
        for p in job.read_predictions(TRACE):
            if p.pred is None or not p.turn:
                continue
            own = {k: getattr(p, k) for k in (*KEYS, "persona", "item_id", "key", "pred")}
            rows.append({**own, "p_true": p.p_true, "n_labels": len(p.probs or {}), **p.turn})
    turns = pd.DataFrame(rows)
    if turns.empty:
        return turns
    if "index" not in turns:  # traced before turns kept their place in a step: file order
        turns["index"] = np.nan
    file_order = turns.groupby([*KEYS, "key", "step"], sort=False).cumcount()
    turns["index"] = turns["index"].fillna(file_order).astype(int)
    return turns


def chat_reference(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The scored reference rows (chat and chat_email) among a sweep's prediction rows."""
    return [
        {k: r.get(k) for k in _ROW_KEYS}
        for r in rows
        if r.get("scaffold") in REFERENCE_SCAFFOLDS and r.get("p_true") is not None
    ]


def trace_table(turns: pd.DataFrame) -> pd.DataFrame:
    keys = [*KEYS, "step", "kind"]
    turns = turns.assign(correct=turns["pred"] == turns["persona"])
    g = turns.groupby(keys, sort=False)
    out = g.agg(
        n=("p_true", "size"),
        n_rollouts=("key", "nunique"),
        p_true=("p_true", "mean"),
        accuracy=("correct", "mean"),
    )
    return out.reset_index().sort_values(keys, kind="stable", ignore_index=True)


def with_phases(turns: pd.DataFrame) -> pd.DataFrame:
    """`turns` with a `phase` column (None: not in a rollout that sent an email)."""
    phase = pd.Series([None] * len(turns), index=turns.index, dtype=object)
    for _, r in turns.groupby([*KEYS, "key"], sort=False):
        e = r["email_step"].iloc[0] if "email_step" in r else None
        e = None if e is None or e != e else int(e)
        phase[r.index] = rollout_phases(
            r["step"].tolist(), r["index"].tolist(), r["kind"].tolist(), e
        )
    return turns.assign(phase=phase)


def fade_table(
    turns: pd.DataFrame,
    rows: Iterable[Mapping[str, Any]],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    cluster: str = "item",
    interval: Method = "t",
    margin: float = MARGIN,
    min_rollouts: int = MIN_ROLLOUTS,
) -> pd.DataFrame:
    """One row per (model, stage, scaffold) whose rollouts sent emails; `rows`: the sweep's
    prediction rows (its chat and chat_email rows are the references)."""
    refs: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in chat_reference(rows):
        refs.setdefault((r["model"], r["stage"], r["scaffold"]), []).append(r)
    turns = with_phases(turns)
    turns = turns[turns["phase"].notna()]
    out = []
    for (model, scaffold, stage), cell in turns.groupby(KEYS, sort=False):
        if scaffold in REFERENCE_SCAFFOLDS:
            continue
        rollouts = [
            {
                "persona": r["persona"].iloc[0],
                "item_id": r["item_id"].iloc[0],
                **{p: r.loc[r["phase"] == p, "p_true"].tolist() for p in PHASES},
            }
            for _, r in cell.groupby("key", sort=False)
        ]
        got = fade(
            rollouts,
            refs.get((model, stage, "chat")),
            refs.get((model, stage, "chat_email")),
            n_boot=n_boot,
            seed=seed,
            level=level,
            cluster=cluster,
            interval=interval,
            margin=margin,
            min_rollouts=min_rollouts,
        )
        out.append({"model": model, "stage": stage, "scaffold": scaffold, **got})
    return pd.DataFrame(out)


def step_levels(
    turns: pd.DataFrame,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    cluster: str = "item",
    interval: Method = "t",
) -> pd.DataFrame:
    """Per (model, scaffold, stage, step): n (rollouts), the mean over rollouts of their
    mean P(true persona) at that step, and its item-clustered interval."""
    per = turns.groupby([*KEYS, "step", "key"], sort=False).agg(
        p_true=("p_true", "mean"), item_id=("item_id", "first")
    )
    out = []
    for (model, scaffold, stage, step), r in per.reset_index().groupby([*KEYS, "step"]):
        units = units_of(r["item_id"].tolist(), cluster)
        mean = float(r["p_true"].mean())
        low, high = (
            make_interval(draws(units, n_boot, seed).means(r["p_true"].to_numpy()), mean,
                          len(set(units)), level, interval, bounds=(0.0, 1.0))
            if n_boot else (np.nan,) * 2
        )  # fmt: skip
        out.append(
            {"model": model, "scaffold": scaffold, "stage": stage, "step": step,
             "n": len(r), "p_true": mean, "ci_low": low, "ci_high": high}
        )  # fmt: skip
    return pd.DataFrame(out)


def plot_trace(
    turns: pd.DataFrame,
    path: Path,
    min_rollouts: int = MIN_ROLLOUTS,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    cluster: str = "item",
    interval: Method = "t",
) -> bool:
    """Draw trace.png; False (nothing drawn) when no scaffold has more than one step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    panels = [
        (m, s)
        for (m, s), t in turns.groupby(["model", "scaffold"], sort=False)
        if t["step"].nunique() > 1
    ]
    if not panels:
        return False
    levels = step_levels(
        turns, n_boot=n_boot, seed=seed, level=level, cluster=cluster, interval=interval
    )
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, (model, scaffold) in zip(axes[0], panels, strict=True):
        t = turns[(turns["model"] == model) & (turns["scaffold"] == scaffold)]
        lv = levels[(levels["model"] == model) & (levels["scaffold"] == scaffold)]
        for stage in order_values(t["stage"].unique().tolist(), "stage"):
            _plot_stage(ax, t[t["stage"] == stage], lv[lv["stage"] == stage], stage, min_rollouts)
        # Chance: P uniform over the scorer's labels.
        ax.axhline(1 / t["n_labels"].max(), color="grey", linestyle="--", linewidth=0.8)
        ax.set_ylim(0, 1.08)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("step (model turn)")
        ax.set_title(f"{model} / {scaffold}")
    axes[0][0].set_ylabel(f"mean P(true persona), {level:.0%} CI")
    axes[0][0].scatter([], [], marker="*", s=110, color="white", edgecolor="black", label="email")
    axes[0][0].scatter(
        [], [], marker="o", facecolor="none", edgecolor="black",
        label=f"n < {min_rollouts} rollouts",
    )  # fmt: skip
    axes[0][0].plot([], [], color="grey", linestyle="--", label="chance")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Persona across the turns of a rollout (numbers: rollouts per point)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def _plot_stage(ax: Any, st: pd.DataFrame, lv: pd.DataFrame, stage: str, min_n: int) -> None:
    lv = lv.sort_values("step")
    x, y, n = lv["step"].to_numpy(), lv["p_true"].to_numpy(), lv["n"].to_numpy()
    enough = n >= min_n
    # Only points with enough rollouts are joined; a NaN breaks the line.
    (drawn,) = ax.plot(x, np.where(enough, y, np.nan), label=stage, linewidth=1.2)
    color = drawn.get_color()
    err = np.vstack([y - lv["ci_low"].to_numpy(), lv["ci_high"].to_numpy() - y])
    ax.errorbar(x, y, yerr=np.nan_to_num(np.clip(err, 0, None)), fmt="none", ecolor=color,
                elinewidth=0.8, capsize=2, alpha=0.8)  # fmt: skip
    ax.scatter(x[enough], y[enough], s=14, color=color, zorder=3)
    ax.scatter(x[~enough], y[~enough], s=14, facecolor="none", edgecolor=color, zorder=3)
    for xi, yi, ni in zip(x, y, n, strict=True):
        ax.annotate(str(ni), (xi, yi), textcoords="offset points", xytext=(3, 3), fontsize=6,
                    color=color)  # fmt: skip
    emails = st[st["kind"] == "email"].groupby(["step", "key"])["p_true"].mean()
    emails = emails.groupby(level="step").mean()
    ax.scatter(emails.index, emails.values, marker="*", s=110, color=color,
               edgecolor="black", linewidth=0.5, zorder=4)  # fmt: skip


def _drop_text(row: Mapping[str, Any], name: str) -> str:
    v, lo, hi = row.get(name), row.get(f"{name}_ci_low"), row.get(f"{name}_ci_high")
    if v is None or v != v:
        return "-"
    ci = "" if lo is None or lo != lo else f" [{lo:+.2f}, {hi:+.2f}]"
    return f"{v:+.2f}{ci}"


def format_fades(fades: pd.DataFrame) -> str:
    """The fade table for the terminal: n, levels per phase, paired drops with their
    intervals, and the verdicts."""
    out = pd.DataFrame(
        {
            "model": fades["model"],
            "stage": fades["stage"],
            "scaffold": fades["scaffold"],
            "n": fades["n_rollouts"],
            "items": fades["n_items"],
            "n b/e/a": [
                f"{b}/{e}/{a}"
                for b, e, a in zip(
                    fades["n_before"], fades["n_email"], fades["n_after"], strict=True
                )
            ],
            "chat": fades["p_chat"].map(_level),
            **{p: fades[f"p_{p}"].map(_level) for p in PHASES},
            **{
                f"drop {p}": [_drop_text(r, f"drop_{p}") for r in fades.to_dict("records")]
                for p in PHASES
            },
            "verdict": fades["verdict"],
            "email vs chat_email": [
                _drop_text(r, "drop_email_vs_chat_email") for r in fades.to_dict("records")
            ],
            "verdict vs chat_email": fades["verdict_vs_chat_email"],
        }
    )
    with pd.option_context("display.width", 250, "display.max_columns", None):
        return out.to_string(index=False)


def _level(x: float) -> str:
    return "-" if x is None or x != x else f"{x:.3f}"
