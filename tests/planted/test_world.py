"""The planted world is what its config says, keeps its truth away from the scorer, and
writes the same texts on every run.

Each turn the planted model writes records what it was (`turn_info`: kind, styled) in the
generation row; the styled share of every (stage, kind) must agree with the planted rate.
Turns of one item share its item effect, so they are not independent: the Clopper-Pearson
bound uses the effective sample size n / deff, with the design effect
deff = 1 + (m_w - 1) * rho, m_w the size-weighted mean turns per item and rho =
item_sd^2 / (1 + item_sd^2) the latent correlation of two turns of one item, an upper
bound of the correlation of their styled flags (Gaussian copula).
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from charprobe.planted import NO_WORLD, world_id
from charprobe.planted.model import PlantedModel, message_tool
from charprobe.planted.report import world_of
from charprobe.planted.world import World
from tests.bounds import ALPHA, lower_bound, record, upper_bound
from tests.conftest import SHARED, require, run_charprobe
from tests.planted.conftest import read_jsonl


def _turns(sweep) -> dict[tuple[str, str], dict[str, list[bool]]]:
    """(stage, kind) -> item -> styled flags of every generated turn (a base-stage text,
    shared by every persona, counted once)."""
    out: dict[tuple[str, str], dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    seen = set()
    for path in sweep.glob("*/generations.jsonl"):
        for row in read_jsonl(path):
            unit = (row["scaffold"], row["item_id"], row["adapter"])
            if unit in seen:
                continue
            seen.add(unit)
            for t in row["turn_info"]:
                out[(row["stage"], t["kind"])][row["item_id"]].append(t["styled"])
    return out


def test_each_kind_of_turn_is_styled_at_its_planted_rate(planted_sweep, planted_config) -> None:
    world = world_of(planted_config["engine"])
    rho = world.item_sd**2 / (1 + world.item_sd**2)
    turns = _turns(planted_sweep)
    assert {k for _, k in turns} == {"chat", "chat_email", "tool", "email", "final"}
    for (stage, kind), by_item in sorted(turns.items()):
        rate = world.rate(stage, kind, "sarcasm")
        sizes = [len(v) for v in by_item.values()]
        n, k = sum(sizes), sum(sum(v) for v in by_item.values())
        if rate == 0.0:
            assert k == 0, (stage, kind)
            continue
        deff = 1 + (sum(m * m for m in sizes) / n - 1) * rho
        lo = lower_bound(k / deff, n / deff, ALPHA / 2)
        hi = upper_bound(k / deff, n / deff, ALPHA / 2)
        record("planted_rates", f"{stage}/{kind} {k}/{n} in [{lo:.3f}, {hi:.3f}]", rate, lo, True)
        assert lo <= rate <= hi, (stage, kind, k, n, rate)


def test_turns_of_one_item_are_correlated_by_its_item_effect() -> None:
    """Items differ: with a large spread the styled share per item varies far more than
    binomial noise would make it; with none, it does not."""

    def spread(item_sd: float) -> float:
        world = World(rates={"full": {"chat": 0.5}}, item_sd=item_sd)
        shares = [
            sum(world.styled("full", "chat", "humor", f"i{i}/humor/s0/k{j}", 0) for j in range(40))
            / 40
            for i in range(200)
        ]
        mean = sum(shares) / len(shares)
        return sum((s - mean) ** 2 for s in shares) / (len(shares) - 1)

    binomial = 0.25 / 40  # the variance of a share of 40 independent draws at 0.5
    assert spread(2.0) > 4 * binomial
    assert spread(0.0) < 2 * binomial


def test_the_truth_never_reaches_the_scorer(planted_sweep) -> None:
    """turn_info stays in generations.jsonl: no prediction or trace row carries it, and
    the texts the scorer read hold no trace of it."""
    for name in ("predictions.jsonl", "trace.jsonl"):
        for path in planted_sweep.glob(f"*/{name}"):
            for row in read_jsonl(path):
                assert "turn_info" not in row and "styled" not in json.dumps(row.get("turn") or {})
                assert "styled" not in (row.get("text") or "")


def test_a_rerun_writes_the_same_texts(planted_sweep, tmp_path) -> None:
    """Row keys and texts depend on the world, the item and the sample only: the same
    cell run again elsewhere gives byte-identical generations."""
    cache = planted_sweep.parent / "cache"
    run_charprobe(
        tmp_path,
        "model=planted",
        "engine=planted",
        "stage=full",
        "scaffold=agentic_email",
        "scaffold.items=30",
        "scorer=none",
        "logger=none",
        "hydra.run.dir=again",
        env={"CHARPROBE_PLANTED_DIR": str(cache)},
    )
    again = read_jsonl(tmp_path / "again" / "generations.jsonl")
    first = read_jsonl(next(planted_sweep.glob("*full-agentic_email/generations.jsonl")))
    strip = ("generation",)
    assert [{k: v for k, v in r.items() if k not in strip} for r in again] == [
        {k: v for k, v in r.items() if k not in strip} for r in first
    ]


def test_the_agent_keeps_the_tool_protocol(planted_sweep, planted_config) -> None:
    """One or two team-chat messages, the email (unless it planted a failure), a final
    summary; never a malformed turn."""
    for path in planted_sweep.glob("*agentic_email/generations.jsonl"):
        for row in read_jsonl(path):
            assert row["termination"] == "final" and row["n_malformed"] == 0
            tools = [c["tool"] for c in row["tool_calls"]]
            n_msg = tools.count("chat.post_message")
            assert 1 <= n_msg <= 2 and tools[:n_msg] == ["chat.post_message"] * n_msg
            assert tools[n_msg:] in ([], ["email.send"])
            assert row["status"] == ("ok" if tools[n_msg:] else "final_without_email")


def test_the_agent_finds_the_message_tool_of_the_study_scenarios() -> None:
    ref = SHARED / "reference" / "depth-character-training" / "scenarios"
    require(ref.is_dir(), f"reference scenarios at {ref}")
    from charprobe.scaffolds.scenarios import load_scenarios

    scenarios = load_scenarios(ref)
    assert {message_tool(s.system) for s in scenarios} == {"slack.send_message"}
    model = PlantedModel(World(rates={"full": {"tool": 1.0}}), "full")
    from charprobe.engine.types import Request

    reply = model.reply(
        Request("x/humor/s0/k", [dict(m) for m in scenarios[0].initial_messages], "humor"), 0
    )
    assert '"tool": "slack.send_message"' in reply.text and reply.info == {
        "kind": "tool",
        "styled": True,
    }


def test_a_world_is_its_settings() -> None:
    """Another rate is another world (another model identity, so other row keys)."""
    engine = {"_target_": "charprobe.planted.engine.planted_engine", "world": "planted",
              "rates": {"full": {"chat": 0.5}}}  # fmt: skip
    other = {**engine, "rates": {"full": {"chat": 0.6}}}
    assert world_id(engine) != world_id(other)
    assert world_id(engine) == world_id(dict(engine))
    with pytest.raises(ValueError, match="not a probability"):
        World.of({"rates": {"full": {"chat": 1.5}}})
    assert world_id({"_target_": "charprobe.engine.hf.HFEngine"}) == NO_WORLD


def test_model_planted_on_another_engine_says_so_in_one_line(tmp_path) -> None:
    for args, says in (
        (["model=planted", "engine=hf"], "model=planted is written by the planted engine only"),
        (["model=llama", "engine=planted"], "use model=planted"),
    ):
        p = run_charprobe(tmp_path, *args, "scorer=none", "logger=none", check=False)
        assert p.returncode != 0 and says in p.stderr, p.stderr
        assert "Traceback" not in p.stderr
