"""The push measurement's table: means with item-clustered bootstrap intervals.

Every interval resamples items (`charprobe.resample`), never rows: a chat prompt with all
its personas, a scenario with all its rollouts and turns. Within one (model, stage) the
scaffolds are drawn once, jointly: chat_email and agentic_email share scenario ids, so
they get the same draws (their ratio keeps its pairing), and chat's prompts are drawn
independently. Each statistic of every group of that (model, stage) is computed on those
same draws; a ratio's interval is the percentile interval of the ratio of resampled means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from charprobe.bootstrap import percentile_ci
from charprobe.push_measure import POSITIONS, ROW, TRACED
from charprobe.resample import Draws, joint_draws, units_of

SCAFFOLDS = ("chat", "chat_email", "agentic_email")
RETENTION_OF = ("chat_email", "agentic_email")  # s(scaffold) / s(chat)
# Scenario scaffolds share item ids; chat's prompts are their own units.
_UNIT_PREFIX = {"chat": "chat/"}
COLUMNS = [
    "level", "model", "stage", "scaffold", "persona", "kind", "step", "position", "layer",
    "n", "n_items", "s", "s_low", "s_high", "s_cross", "s_cross_low", "s_cross_high",
    "s_random", "s_random_low", "s_random_high", "s_random_abs", "s_random_abs_low",
    "s_random_abs_high", "delta_norm", "delta_norm_low", "delta_norm_high",
    "retention", "retention_low", "retention_high",
    "corr_p_true", "corr_low", "corr_high", "corr_n", "link",
]  # fmt: skip


def _sub(d: Draws, mask: np.ndarray) -> Draws:
    return Draws(d.weights, d.index[mask])


def _mean_ci(d: Draws, values: np.ndarray, level: float) -> tuple[float, float, float]:
    v = np.asarray(values, dtype=float)
    if not v.size:
        return math.nan, math.nan, math.nan
    return (float(v.mean()), *percentile_ci(d.means(v), level))


def _abs_random(d: Draws, rand: np.ndarray, level: float) -> tuple[float, float, float]:
    """Mean over random directions of |the group's mean projection| on each: how large an
    s a direction unrelated to any persona gets here, observed and resampled."""
    if not rand.size or rand.shape[-1] == 0:
        return math.nan, math.nan, math.nan
    sums, counts = d.sums(rand), d.sums(np.ones(len(rand)))
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = np.abs(sums / counts[:, None]).mean(-1)
    return (float(np.abs(rand.mean(0)).mean()), *percentile_ci(boot, level))


def pearson(d: Draws, x: np.ndarray, y: np.ndarray, level: float) -> tuple[float, float, float]:
    """Pearson r of x and y, and its interval over the (weighted) resamples."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return math.nan, math.nan, math.nan
    d = _sub(d, ok)
    m = d.sums(np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=1))
    w, sx, sy, sxx, syy, sxy = (m[:, k] for k in range(6))
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy / w - (sx / w) * (sy / w)
        vx, vy = sxx / w - (sx / w) ** 2, syy / w - (sy / w) ** 2
        boot = cov / np.sqrt(vx * vy)
    return (float(np.corrcoef(x, y)[0, 1]), *percentile_ci(boot, level))


def _stats(d: Draws, frame: pd.DataFrame, rand: np.ndarray, pos: int, level: float) -> dict:
    name = POSITIONS[pos]
    out = {"n": len(frame), "n_items": frame["item_id"].nunique()}
    for col, key in (("s", "s"), ("s_cross", "s_cross"), ("s_random", "s_random"),
                     ("delta_norm", "delta_norm")):  # fmt: skip
        m, lo, hi = _mean_ci(d, frame[f"{key}_{name}"].to_numpy(float), level)
        out.update({col: m, f"{col}_low": lo, f"{col}_high": hi})
    m, lo, hi = _abs_random(d, rand[:, pos], level)
    out.update({"s_random_abs": m, "s_random_abs_low": lo, "s_random_abs_high": hi})
    return out


def push_table(
    frame: pd.DataFrame,
    rand: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """push.csv from the per-turn records (`push_measure.records`, one per row of `frame`)
    and their random-direction projections `rand` (turns, positions, n_random).

    Rows: `level` cell (model, stage, scaffold), persona (... and persona), both from the
    rows' scored turns, and turn (traced turns by kind and step); per position. Retention
    (chat_email and agentic_email rows: s over chat's s, same model, stage, persona) and
    the correlation of s with the text scorer's P(true persona) (cell rows) ride along.
    """
    frame = frame.reset_index(drop=True)
    out: list[dict] = []
    for (model, stage), part in frame.groupby(["model", "stage"], sort=False):
        idx = part.index.to_numpy()
        scaffolds = [s for s in SCAFFOLDS if s in set(part["scaffold"])]
        scaffolds += sorted(set(part["scaffold"]) - set(scaffolds))
        sets = [idx[part["scaffold"].to_numpy() == s] for s in scaffolds]
        units = [
            [_UNIT_PREFIX.get(s, "scenario/") + u for u in units_of(frame.loc[rows, "item_id"])]
            for s, rows in zip(scaffolds, sets, strict=True)
        ]
        draws = dict(zip(scaffolds, joint_draws(units, n_boot, seed), strict=True))
        where = {s: rows for s, rows in zip(scaffolds, sets, strict=True)}
        layer = int(part["layer"].iloc[0])
        out += _model_stage(frame, rand, (str(model), str(stage), layer), draws, where, level)
    table = pd.DataFrame(out, columns=COLUMNS)
    table["step"] = pd.to_numeric(table["step"], errors="coerce").astype("Int64")
    return table


def _groups(frame: pd.DataFrame, rows: np.ndarray) -> list[tuple[str, dict, np.ndarray]]:
    """(level, labels, positions into `rows`) of every group within one scaffold's rows."""
    sub = frame.loc[rows]
    src = sub["source"].to_numpy()
    out = [("cell", {}, np.flatnonzero(src == ROW))]
    for p in sorted(set(sub.loc[src == ROW, "persona"])):
        mask = (src == ROW) & (sub["persona"] == p).to_numpy()
        out.append(("persona", {"persona": p}, np.flatnonzero(mask)))
    traced = sub[src == TRACED]
    for kind, step in sorted(set(zip(traced["kind"], traced["step"], strict=True))):
        same = (sub["kind"] == kind).to_numpy() & (sub["step"] == step).to_numpy()
        mask = (src == TRACED) & same
        out.append(("turn", {"kind": kind, "step": int(step)}, np.flatnonzero(mask)))
    return [g for g in out if len(g[2])]


def _within_persona(part: pd.DataFrame, x: str, y: str) -> tuple[np.ndarray, np.ndarray]:
    """x and y less their persona's means (over rows with both): the link is read within
    personas. Pooled, personas that differ in both mean s and mean P(true persona) make a
    correlation no turn shows (the centring uses the cell's means, not each resample's)."""
    xs, ys = part[x].to_numpy(float), part[y].to_numpy(float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    who = part["persona"].to_numpy()
    xc, yc = np.full(len(xs), np.nan), np.full(len(ys), np.nan)
    for p in set(who[ok]):
        m = ok & (who == p)
        xc[m], yc[m] = xs[m] - xs[m].mean(), ys[m] - ys[m].mean()
    return xc, yc


def _link(lo: float, hi: float) -> str:
    """Whether s goes with P(true persona): its interval above 0, below 0, or across it."""
    return "holds" if lo > 0 else "reversed" if hi < 0 else "not shown"


def _model_stage(frame, rand, cell, draws, where, level) -> list[dict]:
    model, stage, layer = cell
    rows_out = []
    means: dict[tuple, tuple[float, np.ndarray]] = {}  # (level, persona, scaffold, pos) -> s
    for scaffold, rows in where.items():
        d = draws[scaffold]
        for level_name, labels, pos_in in _groups(frame, rows):
            sub_rows = rows[pos_in]
            sub_d = _sub(d, pos_in)
            part = frame.loc[sub_rows]
            for pos, name in enumerate(POSITIONS):
                row = {
                    "level": level_name, "model": model, "stage": stage, "scaffold": scaffold,
                    "persona": labels.get("persona", ""), "kind": labels.get("kind", ""),
                    "step": labels.get("step", ""), "position": name, "layer": layer,
                }  # fmt: skip
                row.update(_stats(sub_d, part, rand[sub_rows], pos, level))
                if level_name in ("cell", "persona"):
                    vals = part[f"s_{name}"].to_numpy(float)
                    means[(level_name, row["persona"], scaffold, name)] = (
                        float(vals.mean()),
                        sub_d.means(vals),
                    )
                if level_name == "cell":
                    x, y = _within_persona(part, f"s_{name}", "p_true")
                    r, lo, hi = pearson(sub_d, x, y, level)
                    n_corr = int(part["p_true"].notna().sum())
                    link = "" if r != r else _link(lo, hi)
                    row.update(corr_p_true=r, corr_low=lo, corr_high=hi, corr_n=n_corr, link=link)
                rows_out.append(row)
    for row in rows_out:
        key = (row["level"], row["persona"], "chat", row["position"])
        if row["scaffold"] in RETENTION_OF and row["level"] in ("cell", "persona") and key in means:
            num = means[(row["level"], row["persona"], row["scaffold"], row["position"])]
            den = means[key]
            with np.errstate(invalid="ignore", divide="ignore"):
                boot = num[1] / den[1]
                point = num[0] / den[0] if den[0] != 0 else math.nan
            lo, hi = percentile_ci(boot, level)
            row.update(retention=point, retention_low=lo, retention_high=hi)
    return rows_out


def describe(table: pd.DataFrame, personas: Sequence[str] | None = None) -> list[str]:
    """Lines for people: per cell at the last prompt token, s vs its controls, R, the link."""
    lines = []
    cells = table[(table["level"] == "cell")]
    for _, r in cells.iterrows():
        line = (
            f"{r['model']} {r['stage']} {r['scaffold']} [{r['position']}]: s {r['s']:.3g} "
            f"[{r['s_low']:.3g}, {r['s_high']:.3g}], another adapter {r['s_cross']:.3g}, random "
            f"|s| {r['s_random_abs']:.3g}, |delta| {r['delta_norm']:.3g}, n {r['n']}"
        )
        if r["retention"] == r["retention"]:
            line += (f", R vs chat {r['retention']:.3g} "
                     f"[{r['retention_low']:.3g}, {r['retention_high']:.3g}]")  # fmt: skip
        if r["link"]:
            line += (f", r(s, P(true)) {r['corr_p_true']:.3g} [{r['corr_low']:.3g}, "
                     f"{r['corr_high']:.3g}]: link {r['link']}")  # fmt: skip
        lines.append(line)
    return lines
