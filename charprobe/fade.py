"""Where in a rollout the persona fades: before the email, at it, or only in it.

Each traced turn of a rollout that sent an email falls in one phase: `before` its first
email (tool-call prose written earlier, in an earlier step or earlier in the same step),
`email` (that email's body), or `after` (everything written later: later emails, tool
calls after the email block of its step, the final summary). A rollout's level in a
phase is the mean P(true persona) the scorer gives its turns there, so a chatty rollout
counts once.

**Paired by persona.** A rollout's drop in a phase is the mean P(true persona) of the
same base and stage's chat replies *of the rollout's own persona* minus the rollout's
level in that phase; a phase's drop is the mean over the rollouts that have the phase.
So a persona mix that differs between the rollouts that emailed and the chat cell cannot
make a drop by itself. The email is a different genre from chat, so it is also compared
with the same stage's ``chat_email`` cell (an email written without tools), paired on
(persona, scenario): each rollout's email against the chat_email emails of its own persona
and scenario, so the scenarios that happened to send an email cannot make a drop by their
mix alone. Rollouts whose persona (or, against chat_email, persona and scenario) has no
reference row do not count in that drop.

**Intervals** resample items (`charprobe.resample`; `cluster` item, family or row): all
rollouts of one scenario go together, chat replies by their prompts, and chat_email, which
shares scenario ids with the rollouts, is drawn jointly with them (under ``cluster=row``
each cell's rows are units of their own, never drawn with another cell's); intervals at
`level` by `interval` (``t``: the drop +- the t quantile times the bootstrap SE widened
for few units, `bootstrap.interval`; or ``percentile``).

**Three values.** `margin` (`trace.margin`, 0.1 of P(true persona)) is the smallest drop
worth calling a fade. A phase *has faded* when the interval of its drop lies at or above
`margin`, *has not faded* when it lies below `margin` (a drop that is surely smaller,
however surely above 0, is no fade worth the name), and is *inconclusive* when the
interval holds `margin`, and *too few* when fewer than `min_rollouts` rollouts, or
rollouts of fewer than 2 items, have the phase (with one item only the reference side
varies, and the interval says nothing about scenarios). The verdict (on the comparison
with chat):

- "too few rollouts (n)": fewer than `min_rollouts` rollouts sent an email, or the email
  phase is too few;
- "no reference": the stage has no chat cell;
- "before the email": the turns before the email have faded already;
- "no fade": the email has not faded;
- "inconclusive": the email's fade is undecided, or it faded and what follows is
  undecided or too few (turns before the email that are too few are not read);
- "at the email": the email has faded and so have the turns after it (it stays gone);
- "only in the email": the email has faded, the turns after it have not (it comes back);
- "in the email (nothing after)": the email has faded and the rollouts wrote nothing after
  it, so whether the persona comes back cannot be seen.

`verdict_vs_chat_email` is the email phase alone against chat_email: "faded", "not faded"
or "inconclusive" (or "too few rollouts (n)" when fewer than `min_rollouts` rollouts, or
fewer than 2 items, have a chat_email email of their persona and scenario; "no
reference").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from charprobe.bootstrap import interval as make_interval
from charprobe.resample import Draws, Method, joint_draws, units_of

PHASES = ("before", "email", "after")
FADED, NOT_FADED, INCONCLUSIVE, TOO_FEW = "faded", "not faded", "inconclusive", "too few"
NO_REFERENCE = "no reference"
AFTER_NOTHING = "in the email (nothing after)"
VERDICTS = (
    "before the email",
    "at the email",
    "only in the email",
    AFTER_NOTHING,
    "no fade",
    INCONCLUSIVE,
    NO_REFERENCE,
)
MARGIN = 0.1
# Sums in another order differ in the last bits: an interval [1e-17, 1e-17] is no fade.
_TOL = 1e-9
MIN_ROLLOUTS = 10


def phase_of(
    step: int, kind: str, email_step: int | None, index: int = 0, email_index: int = 0
) -> str | None:
    """The phase of one turn (None: the rollout sent no email, so it has no phases).

    `index` is the turn's place within its step (call order), `email_index` the first
    email's place within `email_step`: a tool call written before the email block of the
    same model turn is `before`, one written after it is `after`.
    """
    if email_step is None:
        return None
    at, email_at = (step, index), (email_step, email_index)
    if at == email_at and kind == "email":
        return "email"
    return "before" if at < email_at else "after"


def rollout_phases(
    steps: Sequence[int], indexes: Sequence[int], kinds: Sequence[str], email_step: int | None
) -> list[str | None]:
    """The phase of each turn of one rollout. If the first email's own turn is not among
    them (the scorer gave it no verdict), the other turns of its step have no phase: their
    order relative to it is unknown."""
    if email_step is None:
        return [None] * len(steps)
    at_email = [
        i for s, i, k in zip(steps, indexes, kinds, strict=True) if s == email_step and k == "email"
    ]
    if not at_email:
        return [
            None if s == email_step else phase_of(s, k, email_step)
            for s, k in zip(steps, kinds, strict=True)
        ]
    first = min(at_email)
    return [
        phase_of(s, k, email_step, i, first) for s, i, k in zip(steps, indexes, kinds, strict=True)
    ]


def state(
    low: float, high: float, n: int, margin: float = MARGIN, enough: bool = True
) -> str | None:
    """faded / not faded / inconclusive from a drop's interval, too few where not
    `enough` rollouts and items have the phase (None: no such phase)."""
    if not n:
        return None
    if not enough:
        return TOO_FEW
    # The minimum effect decides both ways: an interval inside (0, margin) is a small
    # drop, "not faded", never "faded" (a large sample makes any drop significant).
    if low >= margin - _TOL:
        return FADED
    if high < margin:
        return NOT_FADED
    return INCONCLUSIVE  # also a NaN interval (no resamples)


def verdict(states: Mapping[str, str | None]) -> str:
    """Where the persona fades, from each phase's state (None: the phase has no turns)."""
    email = states.get("email")
    if email is None:
        return "no email"
    if states.get("before") == FADED:
        return "before the email"
    if email == TOO_FEW:
        return TOO_FEW
    if email == NOT_FADED:
        return "no fade"
    if email == INCONCLUSIVE:
        return INCONCLUSIVE
    after = states.get("after")
    if after is None:
        return AFTER_NOTHING
    return {FADED: "at the email", NOT_FADED: "only in the email"}.get(after, INCONCLUSIVE)


def too_few(n_rollouts: int, n_items: int | None = None) -> str:
    """The verdict of a cell or phase too small to read (`n_items` where it has 1)."""
    if n_items == 1:
        return f"too few rollouts ({n_rollouts}, from 1 item)"
    return f"too few rollouts ({n_rollouts})"


def fade(
    rollouts: Sequence[Mapping[str, Any]],
    chat: Sequence[Mapping[str, Any]] | None,
    chat_email: Sequence[Mapping[str, Any]] | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    cluster: str = "item",
    interval: Method = "t",
    margin: float = MARGIN,
    min_rollouts: int = MIN_ROLLOUTS,
) -> dict[str, Any]:
    """Levels, paired drops with intervals, and the verdicts of one cell.

    `rollouts`: one mapping per rollout that sent an email: ``persona``, ``item_id`` and,
    per phase, the P(true persona) of its turns there (a missing or empty list: the
    rollout has no such phase). `chat`, `chat_email`: the reference rows, mappings with
    ``persona``, ``item_id`` and ``p_true`` (None or empty: the stage has no such cell).
    """
    chat, chat_email = list(chat or []), list(chat_email or [])
    personas = sorted({str(r["persona"]) for r in [*rollouts, *chat, *chat_email]})
    col = {p: j for j, p in enumerate(personas)}
    levels = np.array(
        [[np.mean(r[p]) if len(r.get(p) or ()) else np.nan for p in PHASES] for r in rollouts],
        dtype=float,
    ).reshape(-1, len(PHASES))
    who = _onehot([col[str(r["persona"])] for r in rollouts], len(personas))
    unit_sets = [
        _own_rows(units_of([r.get("item_id") for r in rows], cluster), tag)
        for rows, tag in ((rollouts, "rollout"), (chat, "chat"), (chat_email, "chat_email"))
    ]
    d_roll, d_chat, d_ce = joint_draws(unit_sets, n_boot, seed)
    refs = {
        name: _Reference(rows, col, d, _n_units(unit_sets[0], units, d_roll.weights is d.weights))
        for name, rows, units, d in (("chat", chat, unit_sets[1], d_chat),
                                     ("chat_email", chat_email, unit_sets[2], d_ce))
    }  # fmt: skip

    n = len(rollouts)
    out: dict[str, Any] = {
        "n_rollouts": n,
        "n_items": len({r.get("item_id") for r in rollouts}),
    }
    for j, p in enumerate(PHASES):
        has = ~np.isnan(levels[:, j])
        out[f"n_{p}"] = int(has.sum())
        out[f"p_{p}"] = float(levels[has, j].mean()) if has.any() else math.nan
    email_has = ~np.isnan(levels[:, 1])
    out["p_chat"] = refs["chat"].matched_level(who * email_has[:, None])
    out["n_chat"] = refs["chat"].n
    # chat_email by (persona, scenario): each rollout's own reference, NaN where none.
    own = _by_persona_item(chat_email)
    ce_level = np.array([own.get((str(r["persona"]), r.get("item_id")), np.nan) for r in rollouts])
    matched = email_has & ~np.isnan(ce_level)
    out["p_chat_email"] = float(ce_level[matched].mean()) if matched.any() else math.nan
    out["n_chat_email"] = refs["chat_email"].n
    out["n_email_vs_chat_email"] = int(matched.sum())

    def items(has: np.ndarray) -> int:
        return len({unit_sets[0][i] for i in np.flatnonzero(has)})

    def enough(has: np.ndarray) -> bool:
        return int(has.sum()) >= min_rollouts and items(has) >= 2

    states: dict[str, str | None] = {}
    for j, p in enumerate(PHASES):
        drop = _drop_columns(f"drop_{p}", refs["chat"], levels[:, j], who, d_roll, level, interval)
        out.update(drop)
        low, high = drop[f"drop_{p}_ci_low"], drop[f"drop_{p}_ci_high"]
        states[p] = state(low, high, out[f"n_{p}"], margin, enough(~np.isnan(levels[:, j])))
        out[f"state_{p}"] = states[p] or ""
    ce = _matched_drop_columns(
        "drop_email_vs_chat_email", ce_level, levels[:, 1], unit_sets[0], d_roll, level, interval
    )
    out.update(ce)
    ce_state = state(
        ce["drop_email_vs_chat_email_ci_low"], ce["drop_email_vs_chat_email_ci_high"],
        int(matched.sum()), margin, enough(matched),
    )  # fmt: skip

    if n < min_rollouts:
        out["verdict"] = out["verdict_vs_chat_email"] = too_few(n)
        return out
    v = verdict(states) if refs["chat"].n else NO_REFERENCE
    out["verdict"] = too_few(out["n_email"], items(email_has)) if v == TOO_FEW else v
    if not refs["chat_email"].n:
        out["verdict_vs_chat_email"] = NO_REFERENCE
    elif ce_state == TOO_FEW or (ce_state is None and out["n_email"]):
        out["verdict_vs_chat_email"] = too_few(int(matched.sum()), items(matched))
    else:
        out["verdict_vs_chat_email"] = ce_state or "no email"
    return out


def _own_rows(units: list[str], tag: str) -> list[str]:
    """Units as `units_of` names them, with a row's own unit (``cluster=row``, or no item
    id) tagged by its cell: row 3 of the rollouts and row 3 of chat are unrelated."""
    return [f"{u}\0{tag}" if u.startswith("\0row") else u for u in units]


def _by_persona_item(rows: Sequence[Mapping[str, Any]]) -> dict[tuple[str, Any], float]:
    """Mean P(true persona) of reference rows per (persona, item id)."""
    acc: dict[tuple[str, Any], list[float]] = {}
    for r in rows:
        acc.setdefault((str(r["persona"]), r.get("item_id")), []).append(float(r["p_true"]))
    return {k: float(np.mean(v)) for k, v in acc.items()}


def _matched_drop_columns(
    name: str,
    ref_level: np.ndarray,
    level_of: np.ndarray,
    units: Sequence[str],
    d: Draws,
    level: float,
    method: Method = "t",
) -> dict[str, float]:
    """`name` and its interval: the mean over rollouts with both of (their own persona
    and item's reference level - their level). The reference rows of an item are drawn
    with its rollouts (one unit), so each rollout's difference moves as one value. (Under
    ``cluster=row`` only the rollouts are resampled: each one's reference is its item's
    mean, held fixed, so the interval leaves out the reference's own noise.)"""
    has = ~np.isnan(level_of) & ~np.isnan(ref_level)
    diff = np.where(has, ref_level - np.where(has, level_of, 0.0), 0.0)
    if not has.any():
        return {name: math.nan, f"{name}_ci_low": math.nan, f"{name}_ci_high": math.nan}
    point = float(diff[has].mean())
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = d.sums(diff) / d.sums(has.astype(float))
    n_units = len({units[i] for i in np.flatnonzero(has)})
    low, high = (
        make_interval(boot, point, n_units, level, method, bounds=(-1.0, 1.0))
        if boot.size else (math.nan, math.nan)
    )  # fmt: skip
    return {name: point, f"{name}_ci_low": low, f"{name}_ci_high": high}


class _Reference:
    """Per-persona mean P(true persona) of a reference cell, and its resampled values."""

    def __init__(
        self, rows: Sequence[Mapping[str, Any]], col: Mapping[str, int], d: Draws, n_units: int
    ):
        self.n = len(rows)
        self.n_units = n_units  # units behind a drop against this reference (`_n_units`)
        k = len(col)
        who = _onehot([col[str(r["persona"])] for r in rows], k)
        values = who * np.array([float(r["p_true"]) for r in rows]).reshape(-1, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.level = values.sum(0) / who.sum(0)  # (personas,), NaN: no reply
            self.boot = d.sums(values) / d.sums(who)  # (resamples, personas)

    def matched_level(self, weights: np.ndarray) -> float:
        """The reference level in the persona mix of `weights` (rollouts, personas)."""
        return _paired(self.level, weights.sum(0), np.zeros(weights.shape[1]))


def _drop_columns(
    name: str,
    ref: _Reference,
    level_of: np.ndarray,
    who: np.ndarray,
    d: Draws,
    level: float,
    method: Method = "t",
) -> dict[str, float]:
    """`name`, its interval: mean over rollouts with a level of (own persona's reference
    level - the rollout's level), point and resampled."""
    has = ~np.isnan(level_of)
    counts = who * has[:, None]  # (rollouts, personas)
    sums = counts * np.where(has, level_of, 0.0)[:, None]
    point = _paired(ref.level, counts.sum(0), sums.sum(0))
    boot = _paired(ref.boot, d.sums(counts), d.sums(sums))
    low, high = (
        make_interval(boot, point, ref.n_units, level, method, bounds=(-1.0, 1.0))
        if boot.size else (math.nan, math.nan)
    )  # fmt: skip
    return {name: point, f"{name}_ci_low": low, f"{name}_ci_high": high}


def _n_units(rollouts: Sequence[str], reference: Sequence[str], joint: bool) -> int:
    """How many units a drop of rollouts against a reference rests on, for the t interval's
    small-sample correction: their shared units where they are drawn together, else the
    fewer of the two (the scarcer side limits what the spread can know)."""
    if joint:
        return len(set(rollouts) | set(reference))
    return min(len(set(rollouts)), len(set(reference)))


def _paired(ref: np.ndarray, counts: np.ndarray, sums: np.ndarray) -> Any:
    """sum_p counts_p (ref_p - sums_p / counts_p) / sum_p counts_p over the personas with
    a reference level (the last axis); NaN where no rollout has one."""
    ok = ~np.isnan(ref) & (counts > 0)
    num = np.where(ok, np.where(ok, ref, 0.0) * counts - sums, 0.0).sum(-1)
    den = np.where(ok, counts, 0.0).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / np.maximum(den, 1e-300), np.nan)
    return float(out) if out.ndim == 0 else out


def _onehot(index: Sequence[int], k: int) -> np.ndarray:
    out = np.zeros((len(index), k))
    out[np.arange(len(index)), np.asarray(index, dtype=int)] = 1.0
    return out
