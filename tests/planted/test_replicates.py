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

from charprobe.drop import CellRows, macro_f1_drop
from charprobe.fade import VERDICTS
from charprobe.metrics import Settings
from charprobe.planted import preset
from charprobe.planted.replicate import Replicator, measure
from charprobe.planted.truth import Reading, fade_truth, truth
from charprobe.stats import macro_f1
from tests.bounds import ALPHA, record

# Small worlds, so that hundreds run in a minute: few personas, the study's 30 scenarios,
# and 10 (where the study's percentile interval was too narrow; the default t holds).
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


@pytest.mark.parametrize("n_worlds, items", [(100, 30), (100, 10)])
def test_no_false_alarm_on_the_null_world(planted_scorer, n_worlds, items) -> None:
    """planted_null: every kind of turn equally styled, in one genre. Neither drop's
    interval misses 0, nor does a fade verdict fire, more often than 5% allows."""
    got = _alarms("planted_null", n_worlds, items, planted_scorer)
    limit = max_alarms(n_worlds)
    for what, n in got.items():
        record("null_world", f"{items} items, {what}: {n}/{n_worlds} false alarms", n, limit, False)
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


@pytest.mark.parametrize("n_worlds, items", [(200, 30), (200, 10)])
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
    print(f"{items} items: true agentic macro-F1 {f1:.3f}, true drop {drop:.3f}; coverage over "
          f"{n_worlds} worlds: "
          + ", ".join(f"{k} {v / n_worlds:.3f}" for k, v in hits.items()))  # fmt: skip
    for what in ("cell item", "drop item"):
        record(
            "coverage",
            f"{items} items, {what} {hits[what]}/{n_worlds} (bound {lo}-{hi})",
            hits[what],
            lo,
            True,
        )
        assert lo <= hits[what] <= hi, (what, hits[what], lo, hi)
    assert not math.isnan(f1)


@pytest.mark.parametrize("n_worlds, items", [(100, 30)])
def test_the_scenario_mix_of_the_emails_makes_no_fade_vs_chat_email(
    planted_scorer, n_worlds, items
) -> None:
    """planted_null, where an email is as often styled as chat_email on every scenario,
    but half the agents send none, far more often on easy scenarios (`no_email_link`
    -2): the emails that were sent come from the hard scenarios. Paired on (persona,
    scenario), the email against chat_email is "faded" no more often than 5% allows
    (issue 30 #9; the persona-only pairing read the mix as a drop)."""
    rep = Replicator(planted_scorer, ALARM_PERSONAS, items)
    base = replace(preset("planted_null"), no_email={"full": {"default": 0.5}}, no_email_link=-2.0)
    faded = misses = 0
    for seed in range(1, n_worlds + 1):
        m = measure(rep.run(replace(base, seed=seed), "full"), ALARM_PERSONAS, SETTINGS)
        faded += m.fade["verdict_vs_chat_email"] == "faded"
        misses += misses_zero(
            m.fade["drop_email_vs_chat_email_ci_low"], m.fade["drop_email_vs_chat_email_ci_high"]
        )
    limit = max_alarms(n_worlds)
    record(
        "scenario_mix", f"fade vs chat_email: {faded}/{n_worlds} false alarms", faded, limit, False
    )
    record("scenario_mix", f"interval misses 0: {misses}/{n_worlds}", misses, limit, False)
    assert faded <= limit and misses <= limit, (faded, misses, limit)


def test_a_persona_without_emails_leaves_both_sides_of_the_drop(planted_scorer) -> None:
    """planted at full, one persona never sends an email (issue 30 #7): the study's drop
    from chat averages both cells over the personas that remain (chat's side is its
    macro-F1 over those, not over all), the strict drop keeps every persona."""
    personas = COVERAGE_PERSONAS
    rep = Replicator(planted_scorer, personas, 30)
    world = replace(preset("planted"), no_email={"full": {"default": 0.0, personas[0]: 1.0}})
    r = rep.run(replace(world, seed=1), "full")
    m = measure(r, personas, SETTINGS)
    rest = personas[1:]

    def rows_of(sc: str) -> CellRows:
        rows = r.rows[sc]
        return CellRows([x["persona"] for x in rows], [x.get("pred") for x in rows],
                        [x["item_id"] for x in rows])  # fmt: skip

    for pair in (("chat", "agentic_email"), ("chat_email", "agentic_email")):
        d = m.drops[pair]
        assert d.n_personas == len(rest), d
        kept = [x for x in r.rows[pair[0]] if x["persona"] in rest]
        assert d.f1_source == pytest.approx(
            macro_f1([x["persona"] for x in kept], [x["pred"] for x in kept], rest)
        )
        assert d.f1_source != pytest.approx(m.cells[pair[0]].macro_f1)  # over all personas
    strict = macro_f1_drop(rows_of("chat"), rows_of("agentic_email"), personas, strict=True,
                           settings=SETTINGS)  # fmt: skip
    assert strict.n_personas == len(personas)


@pytest.mark.parametrize("n_worlds, items", [(100, 30)])
def test_a_planted_drop_below_the_margin_is_never_called_faded(
    planted_scorer, n_worlds, items
) -> None:
    """planted_null with the email a little less styled than the rest (0.6 against 0.7):
    a true drop of P(true persona) from chat to the email above 0 but below the margin
    (issue 30 #1). The email phase reads "faded" no more often than 5% allows."""
    base = replace(preset("planted_null"), rates={"full": {**preset("planted_null").rates["full"],
                                                           "email": 0.6}})  # fmt: skip
    reading = Reading(planted_scorer, ["plain"], ALARM_PERSONAS, n_texts=1000)
    true = fade_truth(reading, base, "full", ALARM_PERSONAS)["drop_email"]
    assert 0.0 < true < 0.1, true
    rep = Replicator(planted_scorer, ALARM_PERSONAS, items)
    states: dict[str, int] = {}
    for seed in range(1, n_worlds + 1):
        m = measure(rep.run(replace(base, seed=seed), "full"), ALARM_PERSONAS, SETTINGS)
        states[m.fade["state_email"]] = states.get(m.fade["state_email"], 0) + 1
    faded, limit = states.get("faded", 0), max_alarms(n_worlds)
    print(f"true email drop {true:.3f} (margin 0.1): email states over {n_worlds} worlds {states}")
    record("small_drop", f"faded: {faded}/{n_worlds} (true drop {true:.3f})", faded, limit, False)
    assert faded <= limit, (states, limit)
