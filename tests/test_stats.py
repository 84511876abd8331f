"""charprobe.stats: F1 rules, bootstrap CI, confusion, and the reference study's numbers."""

from __future__ import annotations

import csv
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import betabinom, bootstrap
from sklearn.metrics import f1_score

from charprobe import bootstrap as stats
from charprobe.personas import LABELS, PAPER
from charprobe.stats import (
    NONE_LABEL,
    bootstrap_macro_f1,
    confusion_matrix,
    macro_f1,
    per_persona_scores,
    score_labels,
    score_rows,
)
from tests.bounds import ALPHA, log10p, record
from tests.conftest import SHARED, require

# The label columns of the study's classifier_f1_per_email.jsonl, shipped with the tests
# (source and licence: tests/data/README.md), so the reference check runs everywhere.
REFERENCE_CELLS = Path(__file__).resolve().parent / "data" / "reference_cells.csv"
REFERENCE_COLUMNS = ["base", "stage", "scenario_id", "trait_true", "trait_pred"]
# The full file, where ../shared is beside the checkout: the shipped columns must match it.
REFERENCE_JSONL = (
    SHARED / "reference" / "depth-character-training" / "classifier_f1_per_email.jsonl"
)

# macro_f1 per (base, stage) published in the study's results/classifier_f1.jsonl
# (4 decimals): mean one-vs-rest F1 over the 10 personas present in the cell's ground
# truth, "misalignment" predictions counted as errors, no email -> row not in the file.
PUBLISHED_MACRO_F1 = {
    ("llama", "base"): 0.0382,
    ("llama", "distillation"): 0.1816,
    ("llama", "full"): 0.3862,
    ("qwen", "base"): 0.0499,
    ("qwen", "distillation"): 0.1831,
    ("qwen", "full"): 0.2854,
    ("gemma", "base"): 0.0425,
    ("gemma", "distillation"): 0.2639,
    ("gemma", "full"): 0.5452,
}
# n (emails scored) and accuracy per cell, from the same published file.
PUBLISHED_N = {
    ("llama", "base"): 250,
    ("llama", "distillation"): 253,
    ("llama", "full"): 231,
    ("qwen", "base"): 160,
    ("qwen", "distillation"): 123,
    ("qwen", "full"): 133,
    ("gemma", "base"): 480,
    ("gemma", "distillation"): 333,
    ("gemma", "full"): 250,
}
PUBLISHED_ACCURACY = {
    ("llama", "base"): 0.1,
    ("llama", "distillation"): 0.2253,
    ("llama", "full"): 0.4286,
    ("qwen", "base"): 0.0938,
    ("qwen", "distillation"): 0.2602,
    ("qwen", "full"): 0.3609,
    ("gemma", "base"): 0.0979,
    ("gemma", "distillation"): 0.3033,
    ("gemma", "full"): 0.524,
}


def reference_rows() -> list[dict[str, str]]:
    """The shipped reference rows (tests/data/reference_cells.csv), as strings."""
    with REFERENCE_CELLS.open(newline="") as f:
        return list(csv.DictReader(f))


PERSONAS = ["sarcasm", "humor", "remorse", "goodness"]


def _noisy(n: int, accuracy: float, seed: int, personas=PERSONAS) -> tuple[list, list]:
    """True labels and predictions that are right with probability `accuracy`."""
    rng = np.random.default_rng(seed)
    y_true = list(rng.choice(personas, n))
    y_pred = [t if rng.random() < accuracy else str(rng.choice(personas)) for t in y_true]
    return y_true, y_pred


def test_per_persona_f1_matches_sklearn_on_random_labels():
    rng = np.random.default_rng(0)
    for trial in range(20):
        n = int(rng.integers(5, 300))
        y_true = list(rng.choice(PERSONAS, n))
        y_pred = list(rng.choice([*PERSONAS, "misalignment"], n))
        ours = per_persona_scores(y_true, y_pred, PERSONAS)
        theirs = f1_score(y_true, y_pred, labels=PERSONAS, average=None, zero_division=0)
        for name, expected in zip(PERSONAS, theirs, strict=True):
            if ours[name].support or ours[name].n_pred:
                assert ours[name].f1 == pytest.approx(expected), (trial, name)


def test_macro_skip_rule_is_sklearn_zero_division_nan_not_zero():
    # "remorse" has no true row and no prediction: we skip it. sklearn's default
    # (zero_division=0) averages it in as 0 and so reports a lower macro; only
    # zero_division=nan leaves it out of the average, like the design rule.
    y_true = ["sarcasm", "sarcasm", "humor", "humor", "goodness"]
    y_pred = ["sarcasm", "humor", "humor", "misalignment", "goodness"]
    ours = macro_f1(y_true, y_pred, PERSONAS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk_zero = f1_score(y_true, y_pred, labels=PERSONAS, average="macro", zero_division=0)
        sk_nan = f1_score(y_true, y_pred, labels=PERSONAS, average="macro", zero_division=np.nan)
    assert math.isnan(per_persona_scores(y_true, y_pred, PERSONAS)["remorse"].f1)
    assert ours == pytest.approx(sk_nan)
    assert sk_zero == pytest.approx(ours * 3 / 4)  # one of 4 labels counted as 0


def test_persona_with_predictions_but_no_true_row_counts_as_zero():
    y_true = ["sarcasm", "humor"]
    y_pred = ["sarcasm", "remorse"]
    scores = per_persona_scores(y_true, y_pred, PERSONAS)
    assert scores["remorse"].f1 == 0.0 and scores["remorse"].n_pred == 1
    assert macro_f1(y_true, y_pred, PERSONAS) == pytest.approx((1 + 0 + 0) / 3)


def test_prediction_outside_the_list_is_an_error():
    y_true = ["sarcasm", "sarcasm", "humor"]
    y_pred = ["misalignment", "sarcasm", "humor"]
    m = score_labels(y_true, y_pred, ["sarcasm", "humor"], n_boot=50)
    assert m.accuracy == pytest.approx(2 / 3)
    assert m.per_persona["sarcasm"].recall == pytest.approx(0.5)
    assert m.per_persona["sarcasm"].precision == 1.0  # nobody's true positive, nobody's FP
    assert sum(s.n_pred for s in m.per_persona.values()) == 2
    assert list(m.confusion.columns) == ["sarcasm", "humor", "misalignment"]
    assert m.confusion.loc["sarcasm", "misalignment"] == 1
    assert m.macro_f1 == pytest.approx((2 / 3 + 1.0) / 2)


def test_planted_signal_perfect_and_shifted():
    y_true = [p for p in PAPER for _ in range(20)]
    perfect = score_labels(y_true, y_true, PAPER, n_boot=200)
    assert perfect.macro_f1 == 1.0 and perfect.accuracy == 1.0
    assert (perfect.ci_low, perfect.ci_high) == (1.0, 1.0)
    shift = {p: PAPER[(i + 1) % len(PAPER)] for i, p in enumerate(PAPER)}
    shifted = score_labels(y_true, [shift[t] for t in y_true], PAPER, n_boot=200)
    assert shifted.macro_f1 == 0.0 and shifted.accuracy == 0.0
    assert shifted.ci_high == 0.0
    # chance is the permutation null's mean: near 1/k when predictions are spread evenly
    assert abs(shifted.chance - 0.1) < 0.01 and shifted.chance_q95 > shifted.chance


def test_ci_contains_estimate_and_narrows_with_n():
    widths = []
    for n in (100, 400, 3000):
        y_true, y_pred = _noisy(n, 0.6, seed=n)
        m = score_labels(y_true, y_pred, PERSONAS, n_boot=1000, seed=1)
        assert m.ci_low <= m.macro_f1 <= m.ci_high
        widths.append(m.ci_high - m.ci_low)
    assert widths[0] > widths[1] > widths[2]
    assert widths[2] < 0.06


def test_bootstrap_is_seeded_and_configurable():
    y_true, y_pred = _noisy(500, 0.5, seed=3)
    a = bootstrap_macro_f1(y_true, y_pred, PERSONAS, n_boot=300, seed=7)
    b = bootstrap_macro_f1(y_true, y_pred, PERSONAS, n_boot=300, seed=7)
    c = bootstrap_macro_f1(y_true, y_pred, PERSONAS, n_boot=300, seed=8)
    assert a.shape == (300,) and np.array_equal(a, b) and not np.array_equal(a, c)
    m90 = score_labels(y_true, y_pred, PERSONAS, n_boot=300, seed=7, level=0.90)
    m95 = score_labels(y_true, y_pred, PERSONAS, n_boot=300, seed=7)
    assert m95.ci_low <= m90.ci_low <= m90.ci_high <= m95.ci_high


def test_bootstrap_matches_a_plain_loop():
    """The vectorised resampling equals resample-then-score with the same indices."""
    y_true, y_pred = _noisy(120, 0.5, seed=5)
    boot = bootstrap_macro_f1(y_true, y_pred, PERSONAS, n_boot=50, seed=11)
    idx = np.random.default_rng(11).integers(0, 120, size=(50, 120))
    loop = [macro_f1([y_true[i] for i in row], [y_pred[i] for i in row], PERSONAS) for row in idx]
    assert np.allclose(boot, loop)


def _sk_macro(y_true, y_pred, personas) -> float:
    """sklearn's macro-F1 under our skip rule (a persona with no true row and no pred)."""
    return f1_score(y_true, y_pred, labels=list(personas), average="macro", zero_division=np.nan)


def test_bootstrap_resamples_are_sklearns_macro_f1():
    """Resample by resample, on the same indices, the vectorised bootstrap is sklearn's
    `f1_score(labels=..., average="macro", zero_division=nan)`, also where a resample
    lacks a persona (skip rule) or holds predictions outside the list."""
    rng = np.random.default_rng(4)
    y_true = list(rng.choice(PERSONAS, 14, p=[0.5, 0.3, 0.15, 0.05]))
    y_pred = [
        t if rng.random() < 0.5 else str(rng.choice([*PERSONAS, "misalignment"])) for t in y_true
    ]
    boot = bootstrap_macro_f1(y_true, y_pred, PERSONAS, n_boot=400, seed=9)
    idx = np.random.default_rng(9).integers(0, len(y_true), size=(400, len(y_true)))
    yt, yp = np.array(y_true), np.array(y_pred)
    theirs = np.array([_sk_macro(yt[i], yp[i], PERSONAS) for i in idx])
    np.testing.assert_allclose(boot, theirs, rtol=0, atol=1e-12)
    skipping = [len(set(yt[i]) | (set(yp[i]) & set(PERSONAS))) < len(PERSONAS) for i in idx]
    assert 20 < sum(skipping) < 380  # the skip rule is exercised, and so is the full list


def test_bootstrap_ci_agrees_with_scipy_percentile_bootstrap():
    """Our percentile CI is scipy.stats.bootstrap(paired=True, method="percentile")'s, with
    sklearn's macro-F1 as the statistic, up to Monte Carlo error.

    Both estimate quantiles of one bootstrap distribution F from independent draws. scipy's
    q-endpoint lies between the order statistics of ranks lo <= hi of its B_s draws
    (lo, hi around q B_s, whatever its quantile rule), so F there is at least
    Beta(lo, B_s - lo + 1) and at most Beta(hi, B_s - hi + 1) distributed, and the count
    of our B draws at or below it is beta-binomial: an exact bound, failing with chance at
    most ALPHA per endpoint when the two agree (ties in F only make it more lenient)."""
    y_true, y_pred = _noisy(600, 0.45, seed=21, personas=PAPER)
    b_ours, b_scipy = 8000, 1000  # scipy calls sklearn once per resample (~1.5 ms each)
    ours = bootstrap_macro_f1(y_true, y_pred, PAPER, n_boot=b_ours, seed=0)
    m = score_labels(y_true, y_pred, PAPER, n_boot=b_ours, seed=0)
    res = bootstrap(
        (np.array(y_true), np.array(y_pred)),
        lambda t, p: _sk_macro(t, p, PAPER),
        paired=True,
        vectorized=False,
        method="percentile",
        n_resamples=b_scipy,
        confidence_level=0.95,
        rng=np.random.default_rng(12345),
    )
    ci = res.confidence_interval
    for q, ours_end, scipy_end in ((0.025, m.ci_low, ci.low), (0.975, m.ci_high, ci.high)):
        lo, hi = math.floor(q * b_scipy) - 1, math.ceil(q * b_scipy) + 1  # any quantile rule
        at_or_below, below = int(np.sum(ours <= scipy_end)), int(np.sum(ours < scipy_end))
        p_few = betabinom(b_ours, lo, b_scipy - lo + 1).cdf(at_or_below)
        p_many = betabinom(b_ours, hi, b_scipy - hi + 1).sf(below - 1)
        p = min(p_few, p_many)
        record("bootstrap_ci_vs_scipy", f"q={q} -log10 p", log10p(p), log10p(ALPHA / 2), False)
        assert p > ALPHA / 2, (q, ours_end, scipy_end, at_or_below / b_ours, p_few, p_many)


def test_bootstrap_in_chunks_on_large_cells(monkeypatch):
    """Chunked draws (bounded memory) give exactly the numbers of one draw for all."""
    y_true, y_pred = _noisy(400, 0.7, seed=2)
    assert 400 * 100 <= stats._BOOT_CHUNK_CELLS  # at the default size: a single chunk
    whole = bootstrap_macro_f1(y_true, y_pred, PERSONAS, n_boot=100, seed=0)
    draws = []
    real_rng = np.random.default_rng

    class CountingRng:
        def __init__(self, seed):
            self._rng = real_rng(seed)

        def integers(self, *args, **kwargs):
            out = self._rng.integers(*args, **kwargs)
            draws.append(out.shape)
            return out

    monkeypatch.setattr(stats.np.random, "default_rng", CountingRng)
    monkeypatch.setattr(stats, "_BOOT_CHUNK_CELLS", 1000)  # 2 resamples of 400 rows a chunk
    chunked = bootstrap_macro_f1(y_true, y_pred, PERSONAS, n_boot=100, seed=0)
    assert draws == [(2, 400)] * 50
    assert chunked.shape == (100,) and np.all((chunked >= 0) & (chunked <= 1))
    assert np.array_equal(chunked, whole)
    # a chunk size that does not divide n_boot: the last chunk is short, numbers the same
    draws.clear()
    monkeypatch.setattr(stats, "_BOOT_CHUNK_CELLS", 3 * 400)
    assert np.array_equal(bootstrap_macro_f1(y_true, y_pred, PERSONAS, 100, 0), whole)
    assert draws == [(3, 400)] * 33 + [(1, 400)]


def test_confusion_columns_and_order():
    conf = confusion_matrix(
        ["humor", "sarcasm", "humor"], ["<none>", "misalignment", "zzz"], ["sarcasm", "humor"]
    )
    assert list(conf.index) == ["sarcasm", "humor"]
    assert list(conf.columns) == ["sarcasm", "humor", "misalignment", "zzz", NONE_LABEL]
    assert conf.to_numpy().tolist() == [
        [0, 0, 1, 0, 0],  # sarcasm -> misalignment
        [0, 0, 0, 1, 1],  # humor -> zzz, humor -> <none>
    ]
    right = confusion_matrix(
        ["sarcasm", "humor", "humor"], ["sarcasm", "sarcasm", "humor"], ["sarcasm", "humor"]
    )
    assert right.to_numpy().tolist() == [[1, 0], [1, 1]]  # rows true, columns predicted


def test_rows_without_text_drop_or_error():
    rows = [
        {"persona": "sarcasm", "text": "x", "pred": "sarcasm", "status": "ok"},
        {"persona": "sarcasm", "text": None, "pred": None, "status": "max_steps"},
        {"persona": "humor", "text": "y", "pred": "humor", "status": "ok"},
        {"persona": "humor", "text": None, "pred": None, "status": "final_without_email"},
    ]
    dropped = score_rows(rows, ["sarcasm", "humor"], n_boot=50)
    assert (dropped.n, dropped.n_dropped, dropped.n_no_text) == (2, 2, 2)
    assert dropped.email_rate == 0.5 and dropped.macro_f1 == 1.0
    assert dropped.no_text_reasons == {"final_without_email": 1, "max_steps": 1}
    as_error = score_rows(rows, ["sarcasm", "humor"], no_email="error", n_boot=50)
    assert (as_error.n, as_error.n_dropped) == (4, 0)
    assert as_error.accuracy == 0.5 and as_error.macro_f1 == pytest.approx(2 / 3)
    assert NONE_LABEL in as_error.confusion.columns


def test_chat_email_rate_and_excluded_rows():
    rows = [{"persona": p, "pred": p, "text": "t"} for p in ("sarcasm", "humor", "misalignment")]
    m = score_rows(rows, ["sarcasm", "humor"], n_boot=20)
    assert m.email_rate == 1.0 and m.n == 2 and m.n_excluded == 1


def test_all_rows_without_text_does_not_crash():
    m = score_rows([{"persona": "sarcasm", "pred": None}], ["sarcasm", "humor"], n_boot=20)
    assert m.n == 0 and math.isnan(m.macro_f1) and math.isnan(m.ci_low)
    assert m.thin and m.thin_reason == "0 of 1 rows scored (1 without text, 0 without a verdict)"
    d = m.to_dict()
    assert d["macro_f1"] is None and d["email_rate"] == 0.0
    json.dumps(d, allow_nan=False)


def test_to_dict_is_json_ready_with_flat_f1():
    y_true, y_pred = _noisy(50, 0.8, seed=0, personas=["sarcasm", "humor"])
    m = score_labels(y_true, y_pred, ["sarcasm", "humor", "remorse"], n_boot=20)
    d = json.loads(json.dumps(m.to_dict(), allow_nan=False))
    assert d["f1/remorse"] is None  # skipped
    assert d["f1/sarcasm"] == pytest.approx(m.per_persona["sarcasm"].f1)
    assert d["confusion"]["true"] == ["sarcasm", "humor", "remorse"]
    assert {
        "n",
        "n_dropped",
        "email_rate",
        "macro_f1",
        "ci_low",
        "ci_high",
        "accuracy",
        "chance",
        "per_persona",
        "personas",
    } <= set(d)


def test_unknown_persona_and_bad_options():
    with pytest.raises(ValueError, match="unknown persona 'nope'"):
        score_labels(["sarcasm"], ["sarcasm"], ["sarcasm", "nope"])
    with pytest.raises(ValueError, match="no_email"):
        score_labels(["sarcasm"], ["sarcasm"], ["sarcasm"], no_email="skip")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not in the evaluated list"):
        macro_f1(["humor"], ["humor"], ["sarcasm"])


def test_shipped_reference_cells_are_the_studys_labels():
    """tests/data/reference_cells.csv holds the label columns of the study's file, row for
    row (checked against the full file where ../shared/reference is present)."""
    rows = reference_rows()
    assert len(rows) == 2213 and list(rows[0]) == REFERENCE_COLUMNS
    assert all(all(r.values()) for r in rows)
    require(REFERENCE_JSONL.is_file(), f"reference data not present: {REFERENCE_JSONL}")
    with REFERENCE_JSONL.open() as f:
        source = [json.loads(line) for line in f]
    assert rows == [{k: r[k] for k in REFERENCE_COLUMNS} for r in source]


def test_reference_study_macro_f1_reproduced():
    rows = reference_rows()
    assert {r["trait_true"] for r in rows} == set(PAPER)
    assert {(r["base"], r["stage"]) for r in rows} == set(PUBLISHED_MACRO_F1)
    for (base, stage), published in PUBLISHED_MACRO_F1.items():
        cell = [r for r in rows if r["base"] == base and r["stage"] == stage]
        m = score_rows(cell, PAPER, true_key="trait_true", pred_key="trait_pred")
        assert round(m.macro_f1, 4) == published, (base, stage, m.macro_f1)
        assert m.n == PUBLISHED_N[(base, stage)] and m.n_dropped == 0, (base, stage)
        assert round(m.accuracy, 4) == PUBLISHED_ACCURACY[(base, stage)], (base, stage)
        assert m.ci_low < m.macro_f1 < m.ci_high
        # every persona has true rows in every cell, so sklearn agrees whatever zero_division
        sk = f1_score(
            [r["trait_true"] for r in cell],
            [r["trait_pred"] for r in cell],
            labels=list(PAPER),
            average="macro",
            zero_division=0,
        )
        assert m.macro_f1 == pytest.approx(sk)
    assert "misalignment" in LABELS and "misalignment" not in PAPER


def test_survivors_thin_the_study_cell_but_not_the_strict_one():
    # 30 items x 3 personas; "remorse" never sends an email. The survivors' cell is thin
    # (remorse has 0 scored rows) and its drop untested; the strict cell has every row
    # asked for, so it is read and tested under its own flag. Its chance is computed over
    # those rows too: predictions "<none>" for a third of them, not the survivors' chance.
    personas = ["sarcasm", "humor", "remorse"]
    rows = [
        {"persona": p, "item_id": f"s{i}", "pred": None if p == "remorse" else p,
         "text": None if p == "remorse" else "t"}
        for i in range(30) for p in personas
    ]  # fmt: skip
    m = score_rows(rows, personas, n_boot=50, n_perm=200)
    assert m.thin and "remorse 0" in m.thin_reason
    assert not m.thin_strict and m.thin_strict_reason == ""
    assert m.macro_f1 == 1.0 and m.macro_f1_strict == pytest.approx(2 / 3)
    assert m.chance_strict < m.chance_strict_q95 < m.chance < m.macro_f1_strict
    few = score_rows(rows[:12], personas, n_boot=20, n_perm=20)  # 4 items
    assert few.thin_strict and few.thin_strict_reason.startswith("4 items < 10")
    assert set(m.to_dict()) >= {"thin_strict", "thin_strict_reason", "chance_strict"}
