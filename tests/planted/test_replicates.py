"""Many small planted worlds, each run through the scaffolds, the scorer and the report's
statistics (`charprobe.planted.replicate`): where the instrument must raise no false
alarm, and how often its intervals cover the true value.

Bounds: a correct instrument's false alarms in R worlds are at most Binomial(R, 0.05)
(each world is independent: its own seed, so its own items and draws), and its intervals'
hits in R worlds are Binomial(R, 0.95); each test holds the count to the binomial
quantile at alpha 1e-4 (tests/bounds.py), so a correct instrument fails it once in ten
thousand runs, on any machine. Every count is printed with its bound.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from scipy.stats import binom

from charprobe.fade import VERDICTS
from charprobe.metrics import Settings
from charprobe.planted import preset
from charprobe.planted.replicate import Replicator, measure
from charprobe.planted.truth import truth
from tests.bounds import ALPHA, record

# Small worlds, so that hundreds run in a minute: few personas, the study's 30 scenarios.
# (At 10 items the instrument is not yet right: see the closing note of the planted-world
# issue and the validity issue; 30 is the study's scenario count.)
ALARM_PERSONAS = ["sarcasm", "remorse", "poeticism"]
COVERAGE_PERSONAS = ["sarcasm", "humor", "remorse", "poeticism"]
FADES = {v for v in VERDICTS if v not in ("no fade", "inconclusive", "no reference")}
SETTINGS = Settings(n_boot=1000, seed=0)


def max_alarms(n: int, level: float = 0.05) -> int:
    """The most false alarms a correct test at `level` gives in n worlds (alpha 1e-4)."""
    return int(binom.isf(ALPHA, n, level))


def misses_zero(low: float, high: float) -> bool:
    return not (low <= 0.0 <= high)


def _alarms(world_name: str, n_worlds: int, items: int, planted_scorer) -> dict[str, int]:
    rep = Replicator(planted_scorer, ALARM_PERSONAS, items)
    base = preset(world_name)
    out = {"drop chat": 0, "drop chat_email": 0, "fade vs chat": 0, "fade vs chat_email": 0}
    for seed in range(1, n_worlds + 1):
        m = measure(rep.run(replace(base, seed=seed), "full"), ALARM_PERSONAS, SETTINGS)
        out["drop chat"] += misses_zero(*_ci(m.drops[("chat", "agentic_email")]))
        out["drop chat_email"] += misses_zero(*_ci(m.drops[("chat_email", "agentic_email")]))
        out["fade vs chat"] += m.fade["verdict"] in FADES
        out["fade vs chat_email"] += m.fade["verdict_vs_chat_email"] == "faded"
    return out


def _ci(d) -> tuple[float, float]:
    return d.ci_low, d.ci_high


@pytest.mark.parametrize("n_worlds, items", [(100, 30)])
def test_no_false_alarm_on_the_null_world(planted_scorer, n_worlds, items) -> None:
    """planted_null: every kind of turn equally styled, in one genre. Neither drop's
    interval misses 0, nor does a fade verdict fire, more often than 5% allows."""
    got = _alarms("planted_null", n_worlds, items, planted_scorer)
    limit = max_alarms(n_worlds)
    for what, n in got.items():
        record("null_world", f"{what}: {n}/{n_worlds} false alarms", n, limit, False)
        assert n <= limit, (what, n, limit)


@pytest.mark.parametrize("n_worlds, items", [(100, 30)])
def test_the_chat_email_control_absorbs_a_genre_change(planted_scorer, n_worlds, items) -> None:
    """planted_genre: the persona is as often in every turn, but emails are in a genre
    the chat-trained scorer reads less well. Against chat_email (the control) nothing
    fires more often than 5% allows; against chat the drop shows (printed)."""
    got = _alarms("planted_genre", n_worlds, items, planted_scorer)
    limit = max_alarms(n_worlds)
    for what in ("drop chat_email", "fade vs chat_email"):
        record(
            "genre_world", f"{what}: {got[what]}/{n_worlds} false alarms", got[what], limit, False
        )
        assert got[what] <= limit, (what, got[what], limit)
    print(f"genre world: the drop against chat misses 0 in {got['drop chat']}/{n_worlds} worlds; "
          f"the fade verdict against chat fires in {got['fade vs chat']}/{n_worlds}")  # fmt: skip
    assert got["drop chat"] > limit  # the genre change is there to be absorbed


@pytest.mark.parametrize("n_worlds, items", [(200, 30)])
def test_item_intervals_cover_the_true_value(planted_scorer, n_worlds, items) -> None:
    """planted (full): the item-bootstrap interval of the agentic cell's macro-F1 and of
    the paired drop chat_email -> agentic_email covers the true value (an unlimited draw
    of the same world) about 95% of the time. The row bootstrap's coverage is printed
    beside it (item effects make rows of one item alike, so it is too narrow)."""
    base = preset("planted")
    personas = COVERAGE_PERSONAS
    true = truth(base, planted_scorer, ["full"], personas, n_texts=2000)
    f1 = true["cells"][("full", "agentic_email")]["macro_f1"]
    drop = true["drops"][("full", "chat_email", "agentic_email")]
    rep = Replicator(planted_scorer, personas, items, scaffolds=("chat_email", "agentic_email"))
    hits = {"cell item": 0, "cell row": 0, "drop item": 0, "drop row": 0}
    for seed in range(1, n_worlds + 1):
        r = rep.run(replace(base, seed=seed), "full")
        for cluster in ("item", "row"):
            m = measure(
                r,
                personas,
                replace(SETTINGS, cluster=cluster),
                pairs=[("chat_email", "agentic_email")],
                fade=False,
            )
            c = m.cells["agentic_email"]
            d = m.drops[("chat_email", "agentic_email")]
            hits[f"cell {cluster}"] += c.ci_low <= f1 <= c.ci_high
            hits[f"drop {cluster}"] += d.ci_low <= drop <= d.ci_high
    lo = int(binom.ppf(ALPHA / 2, n_worlds, 0.95))
    hi = int(binom.isf(ALPHA / 2, n_worlds, 0.95))
    print(f"true agentic macro-F1 {f1:.3f}, true drop {drop:.3f}; coverage over {n_worlds} worlds: "
          + ", ".join(f"{k} {v / n_worlds:.3f}" for k, v in hits.items()))  # fmt: skip
    for what in ("cell item", "drop item"):
        record(
            "coverage", f"{what} {hits[what]}/{n_worlds} (bound {lo}-{hi})", hits[what], lo, True
        )
        assert lo <= hits[what] <= hi, (what, hits[what], lo, hi)
    assert not math.isnan(f1)
