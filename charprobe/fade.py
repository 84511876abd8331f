"""Where in a rollout the persona fades: before the email, at it, or only in it.

Each traced turn of a rollout that sent an email falls in one phase: `before` its first
email (tool-call prose written earlier), `email` (that email's body), or `after` (later
emails, the final summary). A phase's level is the mean P(true persona) the scorer gives
its turns: first averaged within each rollout, then over rollouts, so a chatty rollout
counts once. The reference is the same base and stage in plain chat (mean P(true
persona) of its replies).

Intervals: rollouts are resampled with replacement (each keeps all its phases, so the
differences between phases are paired), the chat replies independently, `n_boot` times;
percentile intervals. A phase has *faded* when the lower end of the interval of
reference - phase is above zero. The verdict:

- "before the email": the turns before the email have already faded;
- "at the email": they have not, the email has, and so has what comes after it;
- "only in the email": the email has faded but what comes after it has not;
- "no fade": the email has not faded.

Without a chat reference the turns before the email are the reference, and the verdict can
only be "at the email", "only in the email" or "no fade".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from charprobe.stats import percentile_ci

PHASES = ("before", "email", "after")


def phase_of(step: int, kind: str, email_step: int | None) -> str | None:
    """The phase of one turn (None: the rollout sent no email, so it has no phases)."""
    if email_step is None:
        return None
    if kind == "email" and step == email_step:
        return "email"
    return "before" if step < email_step else "after"


def fade(
    rollouts: Sequence[Mapping[str, Sequence[float]]],
    reference: Sequence[float] | None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Levels, drops from the reference with intervals, and the verdict.

    `rollouts`: per rollout, phase -> P(true persona) of its turns in that phase;
    `reference`: P(true persona) of the chat replies (None or empty: no chat cell).
    """
    m = np.array(
        [[np.mean(r[p]) if len(r.get(p, ())) else np.nan for p in PHASES] for r in rollouts]
    ).reshape(-1, len(PHASES))
    ref = np.asarray(reference if reference is not None else [], dtype=float)
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a phase no (resampled) rollout has
        levels = np.nanmean(m, axis=0) if len(m) else np.full(len(PHASES), np.nan)
        boot = (
            np.nanmean(m[rng.integers(0, len(m), (n_boot, len(m)))], axis=1)
            if len(m) and n_boot
            else np.full((n_boot, len(PHASES)), np.nan)
        )
    out: dict[str, Any] = {"n_rollouts": len(m)}
    for j, p in enumerate(PHASES):
        out[f"n_{p}"] = int((~np.isnan(m[:, j])).sum()) if len(m) else 0
        out[f"p_{p}"] = float(levels[j])
    has_ref = ref.size > 0
    if has_ref:
        out["p_chat"] = float(ref.mean())
        ref_boot = ref[rng.integers(0, ref.size, (n_boot, ref.size))].mean(axis=1)
        ref_level = out["p_chat"]
    else:
        out["p_chat"] = math.nan
        ref_boot, ref_level = boot[:, 0], float(levels[0])
    faded = {}
    for j, p in enumerate(PHASES):
        if not has_ref and p == "before":
            continue
        name = f"drop_{p}"
        out[name] = ref_level - float(levels[j])
        low, high = percentile_ci(ref_boot - boot[:, j], level) if n_boot else (math.nan,) * 2
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = low, high
        faded[p] = bool(low > 0) if out[f"n_{p}"] else None
    reference_known = has_ref or out["n_before"] > 0
    out["verdict"] = verdict(faded) if reference_known else "no reference"
    return out


def verdict(faded: Mapping[str, bool | None]) -> str:
    """The fade verdict from which phases have faded (None: the phase has no turns)."""
    if faded.get("email") is None:
        return "no email"
    if faded.get("before"):
        return "before the email"
    if not faded["email"]:
        return "no fade"
    return "only in the email" if faded.get("after") is False else "at the email"
