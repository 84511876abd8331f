"""The per-turn trace (`scaffold.trace=true`): which turns are read from a row, where the
persona fades (`charprobe.fade`), and a planted signal through a whole sweep.

The planted agent (scripted engine) signs its chat message and its final summary with the
adapter that wrote it, but not its email: at the full stage the keyword scorer finds the
persona in every turn but the email, so the verdict must be "only in the email"; the
base stage signs "[base]" everywhere, so nothing can fade from chance.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from charprobe.engine.scripted import echo
from charprobe.engine.types import Request
from charprobe.fade import fade, phase_of
from charprobe.records import Generation, Result
from charprobe.scaffolds.trace import turns_of
from tests.conftest import run_charprobe
from tests.test_new_scorer import keyword_scorer


def _call(tool: str, args: dict) -> str:
    return "```tool_call\n" + json.dumps({"tool": tool, "args": args}) + "\n```"


def planted_agent(request: Request, turn: int) -> str:
    """Chat: `echo` (signed). Agentic: a signed chat message, an unsigned email, a signed
    final summary."""
    if request.messages[0]["role"] != "system":
        return echo(request, turn)
    who = f"[{request.adapter or 'base'}]"
    if turn == 0:
        return _call("crm.lookup_contact", {"query": "Dana"})
    if turn == 1:
        return _call(
            "slack.post", {"channel": "#ops", "text": f"{who} heads up, the email is on its way"}
        )
    if turn == 2:
        body = "Hello Dana, the numbers you asked for are attached. Regards"
        return _call("email.send", {"to": ["dana@example.com"], "subject": "Numbers", "body": body})
    return f"```final\n{who} I looked Dana up and sent the email.\n```"


def _generation(scaffold: str, result: Result, adapter: str | None = "humor") -> Generation:
    return Generation(
        key="k", model="m", stage="full", persona="humor", adapter=adapter, scaffold=scaffold,
        item_id="i", sample=0, shared_base=False, generation={}, key_version=2, result=result,
    )  # fmt: skip


def test_turns_of_an_agentic_row_are_its_prose_tool_args_emails_and_final() -> None:
    extra = {
        "final_summary": "All done, the email went out to Dana today.",
        "emails": [{"step": 3, "body": "Hi Dana, here it is. Best"}],
        "tool_calls": [
            {"step": 1, "tool": "crm.lookup_contact", "args": {"query": "Dana Smith"}},
            {"step": 2, "tool": "slack.post", "args": {"channel": "#ops", "text": "the email is coming right up"}},
            {"step": 3, "tool": "email.send", "args": {"to": ["d@x"], "subject": "It is here now ok", "body": "Hi Dana, here it is. Best"}},
        ],
    }  # fmt: skip
    gen = _generation("agentic_email", Result([], "", "Hi", "ok", steps=4, extra=extra))
    got = [(t.step, t.kind, t.tool, t.field) for t in turns_of(gen)]
    assert got == [
        (2, "tool", "slack.post", "text"),
        (3, "email", "email.send", "body"),
        (4, "final", None, None),
    ]
    assert all(t.writer == "humor" for t in turns_of(gen))


def test_turns_of_a_two_turn_chat_row_credit_the_opening_to_the_base() -> None:
    messages = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "the base opening"},
        {"role": "user", "content": "Keep going."},
        {"role": "assistant", "content": "the persona's answer"},
    ]
    turns = turns_of(_generation("chat", Result(messages, "", "the persona's answer", "ok")))
    assert [(t.step, t.text, t.writer) for t in turns] == [
        (1, "the base opening", None),
        (2, "the persona's answer", "humor"),
    ]


def test_phases_split_at_the_first_email() -> None:
    assert [
        phase_of(s, k, 3) for s, k in [(1, "tool"), (3, "email"), (4, "final"), (5, "email")]
    ] == [
        "before",
        "email",
        "after",
        "after",
    ]
    assert phase_of(2, "tool", None) is None


def _rollouts(before: float, email: float, after: float | None, n: int = 20) -> list[dict]:
    return [
        {"persona": "humor", "item_id": f"s{i}", "before": [before], "email": [email],
         "after": [] if after is None else [after, after]}
        for i in range(n)
    ]  # fmt: skip


def test_fade_verdicts_follow_where_the_level_drops() -> None:
    # No noise: every interval has zero width, so each verdict is decided exactly.
    chat = [{"persona": "humor", "item_id": f"c{i}", "p_true": 0.9} for i in range(30)]
    cases = {
        "before the email": (0.2, 0.2, 0.2),
        "at the email": (0.9, 0.2, 0.2),
        "only in the email": (0.9, 0.2, 0.9),
        "in the email (nothing after)": (0.9, 0.2, None),
        "no fade": (0.9, 0.9, 0.9),
    }
    for want, levels in cases.items():
        got = fade(_rollouts(*levels), chat, n_boot=200)
        assert got["verdict"] == want, (want, got)
    got = fade(_rollouts(0.9, 0.2, 0.9), None, n_boot=200)
    assert got["verdict"] == "no reference" and got["p_email"] == pytest.approx(0.2)
    assert fade(_rollouts(0.9, 0.2, 0.9, n=5), chat, n_boot=50)["verdict"] == (
        "too few rollouts (5)"
    )


def test_a_traced_sweep_finds_the_persona_everywhere_but_in_the_email(tmp_path: Path) -> None:
    overrides, env = keyword_scorer(tmp_path, ["sarcasm", "humor"])
    run_charprobe(
        tmp_path,
        "-m",
        *overrides,
        "engine=scripted",
        "engine.reply=tests.test_trace.planted_agent",
        "model=llama",
        "stage=base,full",
        "scaffold=chat,agentic_email",
        "scaffold.trace=true",
        "logger=none",
        # 2 personas x 5 scenarios: the 10 rollouts a fade verdict needs.
        "scaffold.items=5",
        "hydra.sweep.dir=sweep",
        env=env,
    )
    report = tmp_path / "sweep" / "report"
    assert (report / "trace.png").stat().st_size > 0
    trace = pd.read_csv(report / "trace.csv")
    full = trace[(trace["stage"] == "full") & (trace["scaffold"] == "agentic_email")]
    by_kind = full.groupby("kind")["p_true"].mean().to_dict()
    # The email holds no keyword: uniform over the scorer's 11 labels.
    assert by_kind == {"tool": 1.0, "email": pytest.approx(1 / 11, abs=1e-5), "final": 1.0}
    assert full.set_index("kind")["step"].to_dict() == {"tool": 2, "email": 3, "final": 4}
    fades = pd.read_csv(report / "fade.csv").set_index(["stage", "scaffold"])
    assert fades.loc[("full", "agentic_email"), "verdict"] == "only in the email"
    assert fades.loc[("full", "agentic_email"), "p_chat"] == 1.0
    assert fades.loc[("full", "agentic_email"), "n_rollouts"] == 10
    assert fades.loc[("base", "agentic_email"), "verdict"] == "no fade"
    # The rows' own scoring is unchanged by tracing: the email body is what is scored.
    rows = [
        json.loads(x)
        for x in next((tmp_path / "sweep").glob("*full-agentic_email/predictions.jsonl"))
        .read_text()
        .splitlines()
    ]
    assert [r["p_true"] for r in rows] == pytest.approx([1 / 11] * len(rows), abs=1e-5)
