"""The per-turn trace of a sweep (`scaffold.trace=true`): trace.csv, fade.csv, trace.png.

- ``trace.csv``: per base, scaffold, stage, step and kind of turn, how many turns and
  their mean P(true persona) (and how often the scorer's label is the true persona);
- ``fade.csv``: per base, stage and scaffold with emails, the level before the email,
  in it and after it, against plain chat, with intervals and a verdict (`charprobe.fade`);
- ``trace.png``: mean P(true persona) against step, a line per stage, email turns
  starred, chance dashed; one panel per base and scaffold that has more than one step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from charprobe.fade import PHASES, fade, phase_of
from charprobe.records import TRACE, discover
from charprobe.report.cells import order_values

TRACE_CSV = "trace.csv"
FADE_CSV = "fade.csv"
TRACE_PNG = "trace.png"
KEYS = ["model", "scaffold", "stage"]


def load_trace(path: Path) -> pd.DataFrame:
    """Every traced turn under `path`, one row each (empty: nothing was traced)."""
    rows = []
    for job in discover(path, holding=TRACE):
        for p in job.read_predictions(TRACE):
            if p.pred is None or not p.turn:
                continue
            own = {k: getattr(p, k) for k in (*KEYS, "persona", "key", "pred", "p_true")}
            rows.append({**own, "n_labels": len(p.probs or {}), **p.turn})
    return pd.DataFrame(rows)


def chat_reference(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], list[float]]:
    """P(true persona) of every scored chat reply among prediction rows, by (model, stage)."""
    ref: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        if r.get("scaffold") == "chat" and r.get("p_true") is not None:
            ref.setdefault((r["model"], r["stage"]), []).append(r["p_true"])
    return ref


def trace_table(turns: pd.DataFrame) -> pd.DataFrame:
    keys = [*KEYS, "step", "kind"]
    turns = turns.assign(correct=turns["pred"] == turns["persona"])
    g = turns.groupby(keys, sort=False)
    out = g.agg(n=("p_true", "size"), p_true=("p_true", "mean"), accuracy=("correct", "mean"))
    return out.reset_index().sort_values(keys, kind="stable", ignore_index=True)


def fade_table(
    turns: pd.DataFrame, reference: dict[tuple[str, str], list[float]], **stats: Any
) -> pd.DataFrame:
    """One row per (model, stage, scaffold) whose rollouts sent emails."""
    turns = turns.assign(
        phase=[
            phase_of(s, k, None if e != e else e)
            for s, k, e in zip(turns["step"], turns["kind"], turns["email_step"], strict=True)
        ]
    )
    turns = turns[turns["phase"].notna()]
    rows = []
    for (model, scaffold, stage), cell in turns.groupby(KEYS, sort=False):
        rollouts = [
            {p: r.loc[r["phase"] == p, "p_true"].tolist() for p in PHASES}
            for _, r in cell.groupby("key", sort=False)
        ]
        ref = reference.get((model, stage)) if scaffold != "chat" else None
        rows.append(
            {"model": model, "stage": stage, "scaffold": scaffold, **fade(rollouts, ref, **stats)}
        )
    return pd.DataFrame(rows)


def plot_trace(turns: pd.DataFrame, path: Path) -> bool:
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
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, (model, scaffold) in zip(axes[0], panels, strict=True):
        t = turns[(turns["model"] == model) & (turns["scaffold"] == scaffold)]
        for stage in order_values(t["stage"].unique().tolist(), "stage"):
            st = t[t["stage"] == stage]
            line = st.groupby("step")["p_true"].mean()
            (drawn,) = ax.plot(line.index, line.values, marker="o", ms=3, label=stage)
            emails = st[st["kind"] == "email"].groupby("step")["p_true"].mean()
            ax.scatter(
                emails.index,
                emails.values,
                marker="*",
                s=110,
                color=drawn.get_color(),
                edgecolor="black",
                linewidth=0.5,
                zorder=3,
            )
        # Chance: P uniform over the scorer's labels.
        ax.axhline(1 / t["n_labels"].max(), color="grey", linestyle="--", linewidth=0.8)
        ax.set_ylim(0, 1.03)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("step (model turn)")
        ax.set_title(f"{model} / {scaffold}")
    axes[0][0].set_ylabel("mean P(true persona)")
    axes[0][0].scatter([], [], marker="*", s=110, color="white", edgecolor="black", label="email")
    axes[0][0].plot([], [], color="grey", linestyle="--", label="chance")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Persona across the turns of a rollout")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def format_fades(fades: pd.DataFrame) -> str:
    """The fade table for the terminal: levels per phase, chat, and the verdict."""
    cols = ["model", "stage", "scaffold", "p_chat", *(f"p_{p}" for p in PHASES), "verdict"]
    with pd.option_context("display.width", 200, "display.max_columns", None):
        return fades[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}", na_rep="-")
