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
                    row.update({f"s_{pos}": s, f"s_cross_{pos}": rng.normal(0, 0.1),
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
    # Controls: another adapter and random directions near 0, |delta| about 3.5.
    assert (cells["s_cross"].abs() < 0.1).all() and (cells["s_random_abs"] < 0.1).all()
    assert ((cells["delta_norm"] > 3) & (cells["delta_norm"] < 4)).all()
    per = table[(table["level"] == "persona") & (table["position"] == "turn_mean")]
    assert len(per) == 6 and per["retention"].notna().sum() == 4


def test_the_link_is_read_within_personas() -> None:
    """Issue 30 #14. Persona a: s about 2, P(true) about 0.9; persona b: s about 0.5,
    P(true) about 0.3; within each, s and P(true) unrelated. Pooled, r is about 0.9 and
    the link "holds"; within personas there is none."""
    frame, rand = planted()
    rng = np.random.default_rng(5)
    chat = frame["scaffold"] == "chat"
    is_a = frame["persona"] == "a"
    for pos in ("last_prompt", "turn_mean"):
        frame.loc[chat, f"s_{pos}"] = np.where(is_a[chat], 2.0, 0.5) + rng.normal(
            0, 0.2, chat.sum()
        )
    frame.loc[chat, "p_true"] = np.where(is_a[chat], 0.9, 0.3) + rng.normal(0, 0.05, chat.sum())
    pooled = np.corrcoef(frame.loc[chat, "s_last_prompt"], frame.loc[chat, "p_true"])[0, 1]
    assert pooled > 0.8
    table = push_table(frame, rand, n_boot=500, seed=0)
    cell = table[(table["level"] == "cell") & (table["scaffold"] == "chat")]
    assert (cell["link"] == "not shown").all() and (cell["corr_p_true"].abs() < 0.4).all(), cell


@pytest.mark.parametrize(
    "args, says",
    [
        (["no/such/sweep"], "no such folder"),
        (["{tmp}"], "no job folder"),
        (["{tmp}", "--n-boot", "0"], "not a positive whole number"),
        (["{tmp}", "--wandb", "sometimes"], "invalid choice"),
        (["{tmp}", "--jobs", "0"], "positive whole number or -1"),
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
              f"{r['s_high']:.3f}], another adapter {r['s_cross']:.3f}, random |s| "
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


class _Tok:
    def __call__(self, text: str, add_special_tokens: bool = False) -> dict:
        return {"input_ids": [len(w) for w in text.split()] or [0]}


class _Engine:
    """Just what `push_measure.measure` asks of an engine besides the activations."""

    tokenizer = _Tok()

    def render(self, messages) -> str:
        return " ".join(str(m["content"]) for m in messages)


def _measure_planted(monkeypatch, push, labels, n=40, hidden=24, seed=0):
    """`push_measure.measure` on planted activations: base states spread mostly along axis
    0 (sd 10, else 1); the adapter of persona p adds `push(p)`. Returns Measured."""
    import charprobe.scorers.activations as acts
    from charprobe.push_measure import Target, measure

    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, hidden)) * np.r_[10.0, np.ones(hidden - 1)]

    def fake_span_means(engine, ids, spans, layers, adapters, batch_size=16, progress=False):
        out = np.empty((len(ids), 2, 1, hidden), dtype=np.float32)
        for j, a in enumerate(adapters):
            out[j, :, 0] = base[j % n] + (0.0 if a is None else push(a))
        return out

    monkeypatch.setattr(acts, "span_means", fake_span_means)
    targets = [
        Target(key=f"k{i}", model="m", stage="full", scaffold="chat",
               persona=labels[i % len(labels)], item_id=f"c{i}", source="row", step=1,
               kind="reply", writer=labels[i % len(labels)],
               context=[{"role": "user", "content": f"hello there {i}"}], turn="a reply")
        for i in range(n)
    ]  # fmt: skip
    dirs = np.eye(hidden)[1 : 1 + len(labels)]  # persona p's direction: axis 1 + p
    return measure(_Engine(), targets, labels, dirs, layer=1, n_random=64, seed=seed)


def test_the_push_controls_can_fail(monkeypatch) -> None:
    """Issue 30 #8. A push that every adapter shares (along persona a's direction and
    axis 0) gives s_cross = s: the control says it is not the persona. A push of each
    persona along its own direction gives s = 2 and s_cross = 0. The old control (mean s
    on the other personas' directions) could not tell them apart. Random directions
    drawn from the activations' spread read the shared push's part along the axis of
    large spread; isotropic random directions mostly miss it."""
    labels = ["a", "b", "c"]
    hidden = 24
    shared = np.zeros(hidden)
    shared[[0, 1]] = 5.0, 2.0
    m = _measure_planted(monkeypatch, lambda p: shared, labels)
    np.testing.assert_allclose(m.s_cross, m.s_own)
    own = np.zeros((len(labels), hidden))
    for j in range(len(labels)):
        own[j, 1 + j] = 2.0
    m2 = _measure_planted(monkeypatch, lambda p: own[labels.index(p)], labels)
    np.testing.assert_allclose(m2.s_own, 2.0)
    np.testing.assert_allclose(m2.s_cross, 0.0, atol=1e-6)
    # Activations spread along axis 0 (sd 10 vs 1): directions drawn from that spread lie
    # mostly on it (E cos^2 ~ 100 / (100 + 23)), so they read the shared push's 5 there.
    from charprobe.push_measure import random_directions

    iso = np.abs(shared @ random_directions(64, hidden, 0).T).mean()
    assert np.abs(m.random[:, 0]).mean() > 3.0 > 2 * iso, (np.abs(m.random).mean(), iso)
