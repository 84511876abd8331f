"""report/push.png: s per stage and scaffold with item-clustered intervals, controls drawn.

One panel per (position, model): the stages along x, one group of bars per scaffold; each
group shows s on the row persona's own direction (solid, with its interval), the mean s of
another persona's adapter on the same turn, on the row persona's direction (hatched),
and the mean |s| on random directions shaped like the activations' spread (light).
A number above each own-direction bar; R against chat under the email bars.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from charprobe.push_measure import POSITIONS
from charprobe.push_stats import SCAFFOLDS
from charprobe.store import atomic_path

COLORS = {"chat": "#4c72b0", "chat_email": "#dd8452", "agentic_email": "#c44e52"}
STAGE_ORDER = ("base", "distillation", "full")


def _order(values, known) -> list[str]:
    values = list(dict.fromkeys(map(str, values)))
    return [v for v in known if v in values] + sorted(v for v in values if v not in known)


def _err(sub: pd.DataFrame, col: str) -> np.ndarray:
    y = sub[col].to_numpy(float)
    lo, hi = sub[f"{col}_low"].to_numpy(float), sub[f"{col}_high"].to_numpy(float)
    return np.nan_to_num(np.vstack([y - lo, hi - y]), nan=0.0).clip(min=0)


def draw_push(table: pd.DataFrame, path: Path) -> Path:
    cells = table[table["level"] == "cell"]
    models = _order(cells["model"], ())
    stages = _order(cells["stage"], STAGE_ORDER)
    scaffolds = _order(cells["scaffold"], SCAFFOLDS)
    n_rows, n_cols = len(POSITIONS), max(1, len(models))
    fig = Figure(figsize=(max(6.0, 1.9 * len(stages) * len(scaffolds) / 2 + 3) * n_cols / 1.2,
                          3.6 * n_rows + 0.8), layout="constrained")  # fmt: skip
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    width = 0.8 / max(1, len(scaffolds))
    for i, pos in enumerate(POSITIONS):
        for j, model in enumerate(models or [""]):
            ax = axes[i, j]
            sub_all = cells[(cells["position"] == pos) & (cells["model"] == model)]
            for k, sc in enumerate(scaffolds):
                sub = sub_all[sub_all["scaffold"] == sc].set_index("stage").reindex(stages)
                x = np.arange(len(stages)) + (k - (len(scaffolds) - 1) / 2) * width
                y = sub["s"].to_numpy(float)
                ax.bar(x - width / 6, np.nan_to_num(y), width / 3, yerr=_err(sub, "s"),
                       capsize=2, color=COLORS.get(sc, "grey"), label=f"{sc}: own")  # fmt: skip
                ax.bar(x + width / 6, np.nan_to_num(sub["s_cross"].to_numpy(float)), width / 3,
                       yerr=_err(sub, "s_cross"), capsize=2, color="white",
                       edgecolor=COLORS.get(sc, "grey"), hatch="///",
                       label="another adapter" if k == 0 else None)  # fmt: skip
                ax.bar(x + width / 2.4, np.nan_to_num(sub["s_random_abs"].to_numpy(float)),
                       width / 8, color="#bbbbbb",
                       label="random |s|" if k == 0 else None)  # fmt: skip
                tops = sub["s_high"].to_numpy(float)
                ratios = sub["retention"].to_numpy(float)
                for xp, yv, hi, r in zip(x, y, tops, ratios, strict=True):
                    if yv == yv:
                        top = hi if hi == hi else yv
                        note = f"{yv:.2g}" + (f"\nR {r:.2f}" if r == r else "")
                        ax.text(xp - width / 6, max(top, 0), note, ha="center", va="bottom",
                                fontsize=6)  # fmt: skip
                    else:  # a scaffold with no measured row here (e.g. no email sent)
                        ax.text(xp, 0, "no rows", ha="center", va="bottom", fontsize=6,
                                rotation=90, color=COLORS.get(sc, "grey"))  # fmt: skip
            ax.axhline(0, color="black", linewidth=0.8)
            ax.set_xticks(np.arange(len(stages)), stages)
            ax.set_title(f"{model} - {pos.replace('_', ' ')}", fontsize=9)
            ax.set_ylabel("s = delta . v_p (item-clustered CI)")
            ax.grid(axis="y", alpha=0.3)
    axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7)
    fig.suptitle("Is the adapter still pushing?\ns = (h adapter on - h adapter off) at layer L, "
                 "on the persona's unit text direction", fontsize=10)  # fmt: skip
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130)
    return path
