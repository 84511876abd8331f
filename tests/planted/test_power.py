"""The power table (`python -m charprobe.power`): its worlds have the drop they are built
for, it detects a large planted drop and holds a planted zero drop to its level.

Bounds: at a true drop of 0 the test at p < 0.05 rejects in R independent worlds at most
Binomial(R, 0.05) times (held at alpha 1e-4, as in test_replicates). At a drop of 0.3 on
30 items (3 personas) a working test detects it in nearly every world (10 of 10 seen);
the assertion only asks for more than the zero drop's bound, so it fails when the
p-value is not computed or points the wrong way (both turned every power to 0 before).
"""

from __future__ import annotations

import pytest

from charprobe.planted import preset
from charprobe.planted.power import min_detectable, power_table, world_for_drop
from charprobe.planted.truth import Reading
from tests.bounds import record
from tests.planted.test_replicates import ALARM_PERSONAS, max_alarms

REPLICATES = 12


def test_world_for_drop_has_the_planted_drop(planted_scorer):
    reading = Reading(planted_scorer, ["plain"], ALARM_PERSONAS, n_texts=1000)
    for drop in (0.0, 0.1, 0.3):
        world, true = world_for_drop(preset("planted"), reading, ALARM_PERSONAS, drop)
        assert true == pytest.approx(drop, abs=1e-3)
        assert world.no_email == {} and world.genre == {}
    with pytest.raises(ValueError, match="beyond this world"):
        world_for_drop(preset("planted"), reading, ALARM_PERSONAS, 0.99)


def test_power_detects_a_large_drop_and_holds_a_null_one(planted_scorer):
    table = power_table(planted_scorer, ALARM_PERSONAS, [30], [0.0, 0.3], REPLICATES)
    hits = dict(zip(table["drop"], (table["power"] * REPLICATES).round().astype(int), strict=True))
    bound = max_alarms(REPLICATES)
    print(f"power at 30 items: drop 0 rejected {hits[0.0]}/{REPLICATES} (bound {bound}), "
          f"drop 0.3 detected {hits[0.3]}/{REPLICATES}")  # fmt: skip
    record("power", "rejections at drop 0", hits[0.0], bound, higher_is_better=False)
    record("power", "detections at drop 0.3", hits[0.3], bound + 1, higher_is_better=True)
    assert hits[0.0] <= bound
    assert hits[0.3] > bound
    # The table's summary: the smallest drop detected as often as asked.
    assert min_detectable(table, target=hits[0.3] / REPLICATES).loc[30] == 0.3
