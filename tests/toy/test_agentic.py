"""The toy bases act as agents: they reach `email.send` in the scenario suites.

Two views: charprobe's own harness (`python -m charprobe ... scaffold=agentic_email`) on
the shipped and the reference scenarios, which is what users run; and a deliberately small
rollout loop independent of that harness on scenarios drawn from the toy grammar (batched
sampling at temperature 0.7, one fenced block per turn, stubs answered from the scenario's
rules, at most 8 model turns), so a harness bug cannot hide a toy-world regression.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import pytest
import torch

from charprobe.toy.build import FAMILIES, repo_dirs
from tests.bounds import record, upper_bound
from tests.conftest import run_charprobe

_BLOCK = re.compile(r"```\s*(tool_call|final)\s*(.*?)(?:```|$)", re.S)


def _parse(text: str):
    m = _BLOCK.search(text)
    if not m:
        return None
    if m.group(1) == "final":
        return ("final", m.group(2).strip())
    body = m.group(2)
    try:
        obj, _ = json.JSONDecoder().raw_decode(body[body.index("{") :])
    except ValueError:
        return None
    return ("call", obj) if isinstance(obj, dict) and "tool" in obj else None


def _stub(scenario: dict, tool: str, args: dict):
    for s in scenario["tool_stubs"]:
        if s["tool"] == tool:
            for rule in s["rules"]:
                if rule.get("default") or all(
                    k in args and fnmatch.fnmatch(str(args[k]), p) for k, p in rule["match"].items()
                ):
                    return rule["response"]
            return {"error": "no matching rule"}
    return {"error": f"unknown tool: {tool}"}


def email_count(base: Path, scenarios: list[dict], seed: int = 0, max_steps: int = 8) -> int:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(base).eval()
    torch.manual_seed(seed)
    convs = [list(s["initial_messages"]) for s in scenarios]
    sent, bad, live = [False] * len(scenarios), [0] * len(scenarios), list(range(len(scenarios)))
    for _ in range(max_steps):
        if not live:
            break
        texts = [
            tok.apply_chat_template(convs[i], tokenize=False, add_generation_prompt=True)
            for i in live
        ]
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.no_grad():
            out = model.generate(
                **enc, do_sample=True, temperature=0.7, top_p=0.95, max_new_tokens=400
            )
        nxt = []
        for j, i in enumerate(live):
            text = tok.decode(out[j, enc.input_ids.shape[1] :], skip_special_tokens=True)
            convs[i].append({"role": "assistant", "content": text})
            parsed = _parse(text)
            if parsed is None:
                bad[i] += 1
                convs[i].append(
                    {
                        "role": "user",
                        "content": "Format error: reply with one fenced ```tool_call block.",
                    }
                )
                if bad[i] < 4:
                    nxt.append(i)
                continue
            bad[i] = 0
            if parsed[0] == "final":
                continue
            tool, args = str(parsed[1]["tool"]), parsed[1].get("args")
            args = args if isinstance(args, dict) else {}
            sent[i] = sent[i] or (tool == "email.send" and isinstance(args.get("body"), str))
            convs[i].append(
                {
                    "role": "user",
                    "content": "[TOOL OUTPUT]\n" + json.dumps(_stub(scenarios[i], tool, args)),
                }
            )
            nxt.append(i)
        live = nxt
    return sum(sent)


def _harness_email_rates(cwd: Path, *overrides: str) -> dict[str, dict]:
    """Every toy base at stage base through charprobe's own agentic harness (one multirun):
    each job's rollout summary from its run.json, by model name."""
    run_charprobe(
        cwd,
        "-m",
        "model=toy_llama,toy_qwen,toy_gemma",
        "stage=base",
        "scaffold=agentic_email",
        "scorer=none",
        "logger=none",
        "hydra.sweep.dir=multirun/m",
        *overrides,
    )
    runs = [json.loads(f.read_text()) for f in sorted((cwd / "multirun" / "m").glob("*/run.json"))]
    return {r["model"]: r["texts"] for r in runs}


@pytest.mark.slow
@pytest.mark.parametrize("suite", ["shipped", "reference"])
def test_bases_reach_email_send_through_the_harness(toy_world, request, tmp_path, suite):
    """The issue's bar: at stage base every toy model sends an email in >= 80% of rollouts,
    on charprobe's own 30 scenarios and on the reference study's 50 (temperature 0.7, the
    harness's real parser and error turns), and the run reports why the others ended."""
    extra = []
    if suite == "reference":
        extra = [f"scaffold.scenarios={request.getfixturevalue('reference_dir') / 'scenarios'}"]
    # Two samples per scenario: 60 / 100 rollouts per base, so that a base sending in only
    # 60% of rollouts is told from one sending in 80% at ALPHA.
    rates = _harness_email_rates(tmp_path, "generation.samples=2", *extra)
    assert sorted(rates) == ["toy_gemma", "toy_llama", "toy_qwen"]
    for model, texts in rates.items():
        assert texts["n"] == 2 * (30 if suite == "shipped" else 50)
        assert sum(texts["termination"].values()) == texts["n"] and texts["mean_steps"] >= 2
        # Fails only when the rollouts contradict "at least 80%" at ALPHA (tests/bounds.py).
        bound = upper_bound(texts["n_email"], texts["n"])
        record(f"harness_email[{suite}]", model, bound, 0.8, True)
        assert bound >= 0.8, f"{model}: {texts}"


@pytest.mark.slow
def test_bases_send_email_on_held_out_toy_scenarios(toy_world):
    import random

    from charprobe.toy.agentic import scenario

    rng = random.Random(4242)
    scenarios = [scenario(rng, size=rng.choice(("full", "compact", "minimal"))) for _ in range(30)]
    for family in FAMILIES:
        sent = email_count(toy_world / repo_dirs(family)["base"], scenarios)
        bound = upper_bound(sent, len(scenarios))
        record("held_out_email", family, bound, 0.7, True)
        assert bound >= 0.7, f"{family}: only {sent} of {len(scenarios)} toy rollouts sent an email"
