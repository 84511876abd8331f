"""Where the persona fades (`charprobe.fade`): three-valued verdicts on paired, item-clustered
drops, planted exactly or simulated."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from charprobe.fade import (
    FADED,
    INCONCLUSIVE,
    NOT_FADED,
    VERDICTS,
    fade,
    phase_of,
    rollout_phases,
    state,
    verdict,
)
from charprobe.records import Generation, Result
from charprobe.report.trace import fade_table, format_fades, plot_trace, trace_table
from charprobe.scaffolds.trace import turns_of

FAST = {"n_boot": 200, "seed": 0}


def _rollouts(before, email, after, n: int = 20, persona: str = "a") -> list[dict]:
    """`n` rollouts, one per item; a level None: the phase has no turns; a list: per rollout."""

    def at(x, i):
        if x is None:
            return []
        return [x[i % len(x)]] if isinstance(x, list) else [x]

    return [
        {"persona": persona, "item_id": f"s{i}", "before": at(before, i), "email": at(email, i),
         "after": at(after, i)}
        for i in range(n)
    ]  # fmt: skip


def _chat(levels: dict[str, float], n: int = 10, prefix: str = "c") -> list[dict]:
    return [
        {"persona": p, "item_id": f"{prefix}{i}", "p_true": v}
        for p, v in levels.items()
        for i in range(n)
    ]


CHAT = _chat({"a": 0.9})


@pytest.mark.parametrize(
    ("levels", "want"),
    [
        ((0.2, 0.2, 0.2), "before the email"),
        ((0.9, 0.2, 0.2), "at the email"),
        ((0.9, 0.2, 0.9), "only in the email"),
        ((0.9, 0.9, 0.9), "no fade"),
        ((0.9, 0.2, None), "in the email (nothing after)"),
        ((None, 0.2, 0.9), "only in the email"),
        # The email faded; what follows dips in 2 of 20 rollouts: undecided.
        ((0.9, 0.2, [0.9] * 9 + [0.0]), "inconclusive"),
        # The email's own drop straddles 0 and the margin.
        ((0.9, [0.9] * 9 + [0.0], 0.9), "inconclusive"),
    ],
)
def test_each_verdict_from_planted_levels(levels, want) -> None:
    got = fade(_rollouts(*levels), CHAT, **FAST)
    assert got["verdict"] == want, got


def test_every_verdict_string_is_reachable() -> None:
    reached = {
        fade(_rollouts(*lv), CHAT, **FAST)["verdict"]
        for lv in itertools.product([None, 0.2, 0.9, [0.9] * 9 + [0.0]], repeat=3)
        if lv[1] is not None
    }
    reached.add(fade(_rollouts(0.9, 0.2, 0.9), None, **FAST)["verdict"])
    assert set(VERDICTS) <= reached


def test_no_reference_and_too_few_rollouts() -> None:
    assert fade(_rollouts(0.9, 0.2, 0.9), None, **FAST)["verdict"] == "no reference"
    assert fade(_rollouts(0.9, 0.2, 0.9), [], **FAST)["verdict"] == "no reference"
    got = fade(_rollouts(0.9, 0.2, 0.9, n=9), CHAT, **FAST)
    assert got["verdict"] == got["verdict_vs_chat_email"] == "too few rollouts (9)"
    # The numbers are still there.
    assert got["drop_email"] == pytest.approx(0.7)
    assert fade(_rollouts(0.9, 0.2, 0.9, n=9), CHAT, min_rollouts=9, **FAST)["verdict"] == (
        "only in the email"
    )


def test_at_the_email_needs_turns_after_it() -> None:
    for before, email, after in itertools.product([None, FADED, NOT_FADED, INCONCLUSIVE], repeat=3):
        v = verdict({"before": before, "email": email, "after": after})
        if v == "at the email":
            assert after == FADED and email == FADED
    got = fade(_rollouts(0.9, 0.2, None), CHAT, **FAST)
    assert got["n_after"] == 0 and got["verdict"] == "in the email (nothing after)"


def test_two_rollouts_with_an_undecided_interval_are_inconclusive() -> None:
    # The old rule read "only in the email" off a CI like [-0.28, 0.64].
    two = _rollouts(0.9, [0.9, 0.3], 0.9, n=2)
    got = fade(two, CHAT, min_rollouts=2, **FAST)
    assert got["drop_email_ci_low"] <= 0 < 0.1 < got["drop_email_ci_high"]
    assert got["state_email"] == INCONCLUSIVE and got["verdict"] == "inconclusive"
    assert fade(two, CHAT, **FAST)["verdict"] == "too few rollouts (2)"


def test_a_drop_surely_above_0_but_below_the_margin_is_not_a_fade() -> None:
    # A planted email drop of 0.05 (half the margin), measured on 200 rollouts with a
    # little noise: its interval lies inside (0, margin), so the old rule (faded when the
    # interval is above 0) called it "faded"; a small drop is "not faded".
    rng = np.random.default_rng(3)
    emails = list(0.85 + rng.normal(0, 0.02, 200))
    got = fade(_rollouts(0.9, emails, 0.9, n=200), CHAT, **FAST)
    assert 0 < got["drop_email_ci_low"] <= got["drop_email_ci_high"] < 0.1, got
    assert got["state_email"] == NOT_FADED and got["verdict"] == "no fade"
    # At the margin itself it is a fade; an interval holding the margin is undecided.
    assert state(0.1, 0.3, 10) == FADED and state(0.05, 0.15, 10) == INCONCLUSIVE


def test_a_persona_mix_alone_makes_no_fade() -> None:
    # Chat: persona a high, b low. Only b's rollouts emailed, at b's own chat level.
    chat = _chat({"a": 0.9, "b": 0.3})
    got = fade(_rollouts(0.3, 0.3, 0.3, persona="b"), chat, **FAST)
    assert got["p_chat"] == pytest.approx(0.3)  # b's level, not the pooled 0.6
    for p in ("before", "email", "after"):
        assert got[f"drop_{p}"] == pytest.approx(0.0)
        assert got[f"state_{p}"] == NOT_FADED
    assert got["verdict"] == "no fade"


def test_the_email_is_also_compared_with_chat_email() -> None:
    rollouts = _rollouts(0.9, 0.5, 0.9)
    # chat_email shares the scenarios' item ids with the rollouts.
    chat_email = _chat({"a": 0.5}, n=20, prefix="s")
    got = fade(rollouts, CHAT, chat_email, **FAST)
    assert got["drop_email"] == pytest.approx(0.4) and got["verdict"] == "only in the email"
    assert got["drop_email_vs_chat_email"] == pytest.approx(0.0)
    assert got["p_chat_email"] == pytest.approx(0.5)
    assert got["verdict_vs_chat_email"] == NOT_FADED
    lower = fade(rollouts, CHAT, _chat({"a": 0.8}, n=20, prefix="s"), **FAST)
    assert lower["verdict_vs_chat_email"] == FADED
    assert fade(rollouts, CHAT, None, **FAST)["verdict_vs_chat_email"] == "no reference"


def _rollout_row(extra: dict, steps: int) -> Generation:
    result = Result([], "", "x", "ok", steps=steps, extra=extra)
    return Generation(
        key="k", model="m", stage="full", persona="humor", adapter="humor",
        scaffold="agentic_email", item_id="i", sample=0, shared_base=False, generation={},
        key_version=2, result=result,
    )  # fmt: skip


def test_turns_in_the_email_step_keep_their_order() -> None:
    # One model turn (step 2) with a note written before the email block and one after.
    extra = {
        "final_summary": "All done, the email went out to Dana today.",
        "emails": [{"step": 2, "body": "Hi Dana, here it is. Best"}],
        "tool_calls": [
            {"step": 1, "tool": "notes.add", "args": {"text": "looking up the numbers for Dana"}},
            {"step": 2, "tool": "slack.post", "args": {"text": "sending the email to Dana now"}},
            {"step": 2, "tool": "email.send", "args": {"to": ["d@x"], "body": "Hi Dana, here it is. Best"}},
            {"step": 2, "tool": "slack.post", "args": {"text": "the email to Dana went out"}},
        ],
    }  # fmt: skip
    turns = turns_of(_rollout_row(extra, steps=3))
    got = [(t.step, t.index, t.kind) for t in turns]
    assert got == [(1, 0, "tool"), (2, 0, "tool"), (2, 1, "email"), (2, 2, "tool"), (3, 0, "final")]
    phases = rollout_phases(
        [t.step for t in turns], [t.index for t in turns], [t.kind for t in turns], 2
    )
    assert phases == ["before", "before", "email", "after", "after"]
    assert phase_of(2, "tool", 2, index=0, email_index=1) == "before"
    assert phase_of(2, "tool", 2, index=2, email_index=1) == "after"
    # The email's own turn unscored: its step's other turns have no known order.
    assert rollout_phases([1, 2, 3], [0, 0, 0], ["tool", "tool", "final"], 2) == [
        "before",
        None,
        "after",
    ]


def test_the_interval_covers_a_planted_drop() -> None:
    # Item effects shared by all of an item's rollouts; three personas at different chat
    # levels in unequal mixes; a planted drop of 0.2 in the email.
    rng = np.random.default_rng(7)
    chat_level = {"a": 0.8, "b": 0.5, "c": 0.3}
    hits, n_sims = 0, 60
    for _ in range(n_sims):
        chat = [
            {"persona": p, "item_id": f"c{i}", "p_true": lv + rng.normal(0, 0.1)}
            for i in range(15)
            for p, lv in chat_level.items()
        ]
        rollouts = []
        for i in range(20):
            effect = rng.normal(0, 0.1)
            for p in rng.choice(list(chat_level), size=2, p=[0.6, 0.3, 0.1]):
                e = chat_level[p] - 0.2 + effect + rng.normal(0, 0.05)
                rollouts.append({"persona": p, "item_id": f"s{i}", "email": [e]})
        got = fade(rollouts, chat, n_boot=300, seed=int(rng.integers(1 << 30)))
        hits += got["drop_email_ci_low"] <= 0.2 <= got["drop_email_ci_high"]
    assert hits / n_sims >= 0.85


def _turns(n: int = 12) -> pd.DataFrame:
    rows = []
    for i in range(n):
        for step, index, kind, p in [(1, 0, "tool", 0.9), (2, 0, "tool", 0.9), (2, 1, "email", 0.2),
                                     (3, 0, "final", 0.9)]:  # fmt: skip
            rows.append(
                {"model": "m", "scaffold": "agentic_email", "stage": "full", "persona": "a",
                 "item_id": f"s{i}", "key": f"k{i}", "pred": "a", "p_true": p, "n_labels": 4,
                 "step": step, "index": index, "kind": kind, "tool": None, "field": None,
                 "email_step": 2}
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_fade_table_reads_references_from_prediction_rows(tmp_path: Path) -> None:
    turns = _turns()
    rows = [
        {"model": "m", "stage": "full", "scaffold": s, "persona": "a", "item_id": i,
         "p_true": 0.9, "pred": "a"}
        for s, items in [("chat", [f"c{j}" for j in range(8)]), ("chat_email", [f"s{j}" for j in range(12)])]
        for i in items
    ] + [{"model": "m", "stage": "full", "scaffold": "agentic_email", "persona": "a",
          "item_id": "s0", "p_true": 0.1, "pred": "b"}]  # fmt: skip
    fades = fade_table(turns, rows, n_boot=100, seed=0, level=0.95)
    (row,) = fades.to_dict("records")
    assert row["n_rollouts"] == row["n_items"] == 12
    # Step 2's first tool call was written before the email: before, not after.
    assert (row["n_before"], row["n_email"], row["n_after"]) == (12, 12, 12)
    assert row["p_before"] == pytest.approx(0.9) and row["p_after"] == pytest.approx(0.9)
    assert row["verdict"] == "only in the email"
    assert row["verdict_vs_chat_email"] == FADED
    assert fade_table(turns, rows, n_boot=100, seed=0, min_rollouts=13)["verdict"].tolist() == [
        "too few rollouts (12)"
    ]
    text = format_fades(fades)
    assert "12" in text and "[+0.70, +0.70]" in text and "only in the email" in text
    assert trace_table(turns)["n_rollouts"].tolist() == [12, 12, 12, 12]


def test_plot_trace_draws_intervals_and_counts(tmp_path: Path) -> None:
    turns = pd.concat([_turns(12), _turns(3).assign(stage="base")], ignore_index=True)
    path = tmp_path / "trace.png"
    assert plot_trace(turns, path, min_rollouts=10, n_boot=50)
    assert path.stat().st_size > 0
    assert not plot_trace(turns[turns["step"] == 1], tmp_path / "none.png")


def test_the_scenario_mix_of_the_emails_alone_makes_no_fade_vs_chat_email() -> None:
    """Issue 30 #9. chat_email: scenarios s0-s9 easy (0.9), s10-s19 hard (0.3). Only the
    hard scenarios' rollouts sent an email, each at its scenario's own chat_email level.
    Against the persona's pooled chat_email level (0.6) that is a drop of 0.3, "faded";
    paired on (persona, scenario) it is 0."""
    chat_email = [
        {"persona": "a", "item_id": f"s{i}", "p_true": 0.9 if i < 10 else 0.3} for i in range(20)
    ]
    rollouts = [
        {"persona": "a", "item_id": f"s{i}", "before": [0.9], "email": [0.3], "after": [0.9]}
        for i in range(10, 20)
        for _ in range(2)
    ]
    got = fade(rollouts, CHAT, chat_email, **FAST)
    assert got["p_chat_email"] == pytest.approx(0.3) and got["n_email_vs_chat_email"] == 20
    assert got["drop_email_vs_chat_email"] == pytest.approx(0.0)
    assert got["verdict_vs_chat_email"] == NOT_FADED
    # A rollout with no chat_email email of its own scenario has no pair: too few here.
    apart = [dict(r, item_id=f"x{i}") for i, r in enumerate(rollouts)]
    got = fade(apart, CHAT, chat_email, **FAST)
    assert (
        got["n_email_vs_chat_email"] == 0 and got["verdict_vs_chat_email"] == "too few rollouts (0)"
    )


def test_a_phase_needs_min_rollouts_from_two_items() -> None:
    """Issue 30 #10. Twelve rollouts of one scenario: only the chat side varies, so an
    interval looks sure of a drop; the phase is too few. Turns before the email in only 3
    of 20 rollouts are not read either (the verdict goes by the email and what follows)."""
    one = [dict(r, item_id="s0") for r in _rollouts(0.2, 0.2, 0.2, n=12)]
    got = fade(one, CHAT, **FAST)
    assert got["state_before"] == got["state_email"] == "too few"
    assert got["verdict"] == "too few rollouts (12, from 1 item)"
    assert fade(_rollouts(0.2, 0.2, 0.2, n=12), CHAT, **FAST)["verdict"] == "before the email"
    few_before = _rollouts([0.2] * 3 + [None] * 17, 0.2, 0.2, n=20)
    for r in few_before[3:]:
        r["before"] = []
    got = fade(few_before, CHAT, **FAST)
    assert got["n_before"] == 3 and got["state_before"] == "too few"
    assert got["verdict"] == "at the email"


def test_cluster_row_draws_each_cells_rows_apart() -> None:
    """Issue 30 #14. Under cluster=row, rollout i and chat row i are unrelated, yet both
    were named unit "row i" and drawn together: with rollout i's email exactly chat row
    i's level - 0.2, every resample gave a drop of 0.2 and a zero-width interval."""
    rng = np.random.default_rng(0)
    levels = rng.uniform(0.3, 1.0, 20)
    chat = [{"persona": "a", "item_id": f"c{i}", "p_true": v} for i, v in enumerate(levels)]
    rollouts = [
        {"persona": "a", "item_id": f"s{i}", "email": [v - 0.2]} for i, v in enumerate(levels)
    ]
    got = fade(rollouts, chat, cluster="row", **FAST)
    assert got["drop_email"] == pytest.approx(0.2)
    assert got["drop_email_ci_high"] - got["drop_email_ci_low"] > 0.1
