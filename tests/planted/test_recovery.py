"""The instrument recovers what the planted world plants (experiment=planted through the
CLI: 30 items x 10 personas a cell).

Every value below is deterministic (hash-seeded world, deterministic classifier fit), and
each assertion has room: adjacent planted macro-F1s differ by 0.18 or more against
intervals of half-width about 0.07, the planted fades are drops of 0.39 or more against
a margin of 0.1, and the email rates are held to Clopper-Pearson bounds at alpha 1e-4.
"""

from __future__ import annotations

import pandas as pd

from charprobe.planted.report import PLANTED_CSV, world_of
from tests.bounds import ALPHA, lower_bound, record, upper_bound

STAGES = ("base", "distillation", "full")
SCAFFOLDS = ("chat", "chat_email", "agentic_email")


def _planted(sweep) -> pd.DataFrame:
    return pd.read_csv(sweep / "report" / PLANTED_CSV).set_index(["stage", "quantity"])


def _summary(sweep) -> pd.DataFrame:
    return pd.read_csv(sweep / "report" / "summary.csv").set_index(["stage", "scaffold"])


def test_the_planted_sweep_writes_every_report_file(planted_sweep) -> None:
    report = planted_sweep / "report"
    for name in (
        "summary.csv",
        "drops.csv",
        "fade.csv",
        "trace.csv",
        "planted.csv",
        "trace.png",
        "drops.png",
    ):
        assert (report / name).stat().st_size > 0, name
    assert list((planted_sweep / "wandb").glob("offline-run-*")), "no W&B offline run"
    assert len(_planted(planted_sweep)) == 30


def test_macro_f1_follows_the_planted_order(planted_sweep) -> None:
    table = _planted(planted_sweep)
    got = {
        (st, sc): float(table.loc[(st, f"{sc} macro_f1"), "measured"])
        for st in STAGES
        for sc in SCAFFOLDS
    }
    want = {
        (st, sc): float(table.loc[(st, f"{sc} macro_f1"), "planted"])
        for st in STAGES
        for sc in SCAFFOLDS
    }
    for sc in SCAFFOLDS:
        assert got[("full", sc)] > got[("distillation", sc)] > got[("base", sc)], sc
        assert want[("full", sc)] > want[("distillation", sc)] > want[("base", sc)], sc
    for st in ("distillation", "full"):
        assert got[(st, "chat")] > got[(st, "chat_email")] > got[(st, "agentic_email")], st
        assert want[(st, "chat")] > want[(st, "chat_email")] > want[(st, "agentic_email")], st
    gaps = [got[("full", sc)] - got[("distillation", sc)] for sc in SCAFFOLDS]
    record("planted_order", "smallest gap full - distillation", min(gaps), 0.0, True)


def test_the_fade_verdict_is_the_planted_one(planted_sweep) -> None:
    table = _planted(planted_sweep)
    for stage, want in (("full", "only in the email"), ("distillation", "at the email")):
        row = table.loc[(stage, "fade verdict")]
        assert row["planted"] == want and row["measured"] == want, (stage, row.to_dict())
        ce = table.loc[(stage, "fade verdict_vs_chat_email")]
        assert ce["planted"] == ce["measured"] == "faded"
    assert table.loc[("base", "fade verdict"), "measured"] == "no fade"


def test_the_planted_drop_from_chat_email_is_found(planted_sweep) -> None:
    table = _planted(planted_sweep)
    for stage in ("distillation", "full"):
        row = table.loc[(stage, "drop chat_email -> agentic_email")]
        assert float(row["planted"]) > 0.2 and row["ci_low"] > 0, (stage, row.to_dict())
        record("planted_drop", f"{stage} drop ci_low", row["ci_low"], 0.0, True)
    base = table.loc[("base", "drop chat_email -> agentic_email")]
    assert base["ci_low"] <= 0 <= base["ci_high"]


def test_strict_and_study_macro_f1_part_where_emails_go_missing(
    planted_sweep, planted_config
) -> None:
    world = world_of(planted_config["engine"])
    summary = _summary(planted_sweep)
    full = summary.loc[("full", "agentic_email")]
    assert full["macro_f1_strict"] < full["macro_f1"]
    base = summary.loc[("base", "agentic_email")]
    assert base["macro_f1_strict"] == base["macro_f1"]
    n = int(full["n_rows"]) // len(planted_config["persona"]["personas"])
    for stage in ("distillation", "full"):
        row = summary.loc[(stage, "agentic_email")]
        for p in planted_config["persona"]["personas"]:
            planted = 1 - world.p_no_email(stage, p)
            k = round(row[f"email_rate_{p}"] * n)
            lo, hi = lower_bound(k, n, ALPHA / 2), upper_bound(k, n, ALPHA / 2)
            assert lo <= planted <= hi, (stage, p, k, n, planted)


def test_a_cell_with_few_planted_emails_is_flagged_thin(planted_sweep) -> None:
    summary = _summary(planted_sweep)
    row = summary.loc[("distillation", "agentic_email")]
    assert bool(row["thin"]) and "nonchalance" in row["thin_reason"]
    for stage in STAGES:
        for sc in ("chat", "chat_email"):
            assert not bool(summary.loc[(stage, sc), "thin"]), (stage, sc)
