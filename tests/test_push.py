"""`python -m charprobe.push`: is the adapter still pushing the model while it writes?

- The table (`charprobe.push_stats`) on planted per-turn values: retention and its
  interval, the link to P(true persona), the controls, item-clustered counts.
- The CLI's bad inputs: one line, exit 2.
- The toy world (slow): the measurement runs on a tiny sweep (stage full, chat), writes
  push.csv / push.png / push_rows.jsonl, and as an instrument it is right: on a direction
  the adapter really pushes along (each persona's mean delta on other items), s is large,
  and on random unit directions it is far smaller. The text-only persona directions' own
  numbers are printed (what the toy world says), not asserted.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from charprobe.push import main
from charprobe.push_stats import COLUMNS, push_table
from tests.conftest import run_charprobe


def planted(seed: int = 0, k: int = 8) -> tuple[pd.DataFrame, np.ndarray]:
    """Two personas; chat on 20 prompts (s ~ 2), chat_email and agentic_email on the same
    15 scenarios (s ~ 1 and ~ 0.5); P(true) rises with s in chat only."""
    rng = np.random.default_rng(seed)
    rows = []
    for scaffold, n_items, level in (("chat", 20, 2.0), ("chat_email", 15, 1.0),
                                     ("agentic_email", 15, 0.5)):  # fmt: skip
        for i in range(n_items):
            item_shift = rng.normal(0, 0.2)
            for persona in ("a", "b"):
                s = level + item_shift + rng.normal(0, 0.2)
                p_true = 1 / (1 + np.exp(-(s - 2) * 3)) if scaffold == "chat" else rng.uniform()
                row = {"model": "m", "stage": "full", "scaffold": scaffold, "persona": persona,
                       "item_id": f"{'c' if scaffold == 'chat' else 's'}{i}", "source": "row",
                       "step": 1, "kind": "reply", "writer": persona, "p_true": p_true,
                       "layer": 2, "key": f"{scaffold}/{i}/{persona}"}  # fmt: skip
                for pos in ("last_prompt", "turn_mean"):
                    row.update({f"s_{pos}": s, f"s_other_{pos}": rng.normal(0, 0.1),
                                f"s_random_{pos}": rng.normal(0, 0.05),
                                f"delta_norm_{pos}": 3.0 + rng.uniform()})  # fmt: skip
                rows.append(row)
    frame = pd.DataFrame(rows)
    return frame, rng.normal(0, 0.05, size=(len(frame), 2, k))


def test_the_table_reads_planted_retention_and_link() -> None:
    frame, rand = planted()
    table = push_table(frame, rand, n_boot=500, seed=0)
    assert list(table.columns) == COLUMNS
    cells = table[(table["level"] == "cell") & (table["position"] == "last_prompt")]
    cells = cells.set_index("scaffold")
    assert cells.loc["chat", "n"] == 40 and cells.loc["chat", "n_items"] == 20
    assert cells.loc["agentic_email", "n_items"] == 15
    # Planted: s(agentic)/s(chat) = 0.25, s(chat_email)/s(chat) = 0.5 (item noise aside).
    for scaffold, ratio in (("agentic_email", 0.25), ("chat_email", 0.5)):
        r = cells.loc[scaffold]
        assert r["retention_low"] < ratio < r["retention_high"], r
        assert r["retention_high"] - r["retention_low"] < 0.3, r
    assert np.isnan(cells.loc["chat", "retention"])
    # P(true) follows s in chat only.
    assert cells.loc["chat", "link"] == "holds" and cells.loc["chat", "corr_low"] > 0.5
    assert cells.loc["agentic_email", "link"] == "not shown"
    # Controls: other personas and random directions near 0, |delta| about 3.5.
    assert (cells["s_other"].abs() < 0.1).all() and (cells["s_random_abs"] < 0.1).all()
    assert ((cells["delta_norm"] > 3) & (cells["delta_norm"] < 4)).all()
    per = table[(table["level"] == "persona") & (table["position"] == "turn_mean")]
    assert len(per) == 6 and per["retention"].notna().sum() == 4


@pytest.mark.parametrize(
    "args, says",
    [
        (["no/such/sweep"], "no such folder"),
        (["{tmp}"], "no job folder"),
        (["{tmp}", "--n-boot", "0"], "not a positive whole number"),
        (["{tmp}", "--wandb", "sometimes"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys, args, says) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's own errors
        rc = e.code
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and says in err, err
    assert err.startswith("charprobe.push: error: ")


@pytest.mark.slow
def test_toy_push_is_large_along_a_real_push_and_small_along_random(
    toy_world: Path, tmp_path_factory
) -> None:
    from charprobe.engine.cache import EngineCache
    from charprobe.engine.hf import HFEngine
    from charprobe.push_measure import job_targets, measure
    from charprobe.records import JobFolder
    from charprobe.rescore import job_config
    from charprobe.scorers.activations import span_means
    from charprobe.scorers.persona_vector import load_vectors, vectors_file
    from tests.scorers.test_persona_vector_text_only import toy_pv_job

    vectors, job = toy_pv_job(tmp_path_factory)
    run_charprobe(job.parent, str(job), f"scorer.path={vectors}", "--wandb", "none",
                  "--n-boot", "200", module="charprobe.push")  # fmt: skip
    report = job / "report"
    table = pd.read_csv(report / "push.csv")
    assert list(table.columns) == COLUMNS and (report / "push.png").stat().st_size > 0
    n_rows = sum(bool(json.loads(x)["text"]) for x in (job / "generations.jsonl").open())
    cells = table[table["level"] == "cell"].set_index("position")
    assert (cells["scaffold"] == "chat").all() and (cells["n"] == n_rows).all()
    assert (cells["delta_norm"] > 0).all()  # the adapter changes the activations
    assert len((report / "push_rows.jsonl").read_text().splitlines()) == n_rows
    for pos, r in cells.iterrows():
        print(f"toy text-only directions [{pos}]: s own {r['s']:.3f} [{r['s_low']:.3f}, "
              f"{r['s_high']:.3f}], other {r['s_other']:.3f}, random |s| "
              f"{r['s_random_abs']:.3f}, |delta| {r['delta_norm']:.3f}, "
              f"r(s, P(true)) {r['corr_p_true']:.3f}")  # fmt: skip

    # The instrument: directions the adapters do push along (each persona's mean delta at
    # the last prompt token over half the items) read the other half's push as large;
    # random unit directions read it as small.
    cfg = job_config(job, ["scorer=persona_vector", f"scorer.path={vectors}"])
    _, meta = load_vectors(vectors_file(vectors, "full"))
    labels, layer = list(meta["labels"]), int(meta["layer"])
    targets = job_targets(JobFolder(job))
    items = sorted({t.item_id for t in targets})
    fit_on = [t for t in targets if t.item_id in items[: len(items) // 2]]
    held = [t for t in targets if t.item_id not in items[: len(items) // 2]]
    engine = HFEngine(cfg.model, cfg.stage, labels, device="cpu", dtype="float32",
                      cache=EngineCache())  # fmt: skip
    tok = engine.tokenizer
    ids = [tok(engine.render(t.context), add_special_tokens=False)["input_ids"] for t in fit_on]
    spans = [[(len(x) - 1, len(x))] for x in ids]
    h = span_means(engine, ids + ids, spans + spans, [layer],
                   [t.persona for t in fit_on] + [None] * len(ids))[:, 0, 0]  # fmt: skip
    delta = h[: len(ids)] - h[len(ids) :]
    persona = np.array([t.persona for t in fit_on])
    planted = np.stack([delta[persona == p].mean(0) if (persona == p).any()
                        else np.ones(delta.shape[1]) for p in labels])  # fmt: skip
    m = measure(engine, held, labels, planted, layer, n_random=64, seed=0)
    own = float(m.s_own[:, 0].mean())
    random_abs = float(np.abs(m.random[:, 0].mean(0)).mean())
    print(f"toy planted push directions: s own {own:.3f} vs random |s| {random_abs:.3f}, "
          f"|delta| {m.delta_norm[:, 0].mean():.3f}")  # fmt: skip
    assert own > 0.5 * m.delta_norm[:, 0].mean() and own > 3 * random_abs, (own, random_abs)
