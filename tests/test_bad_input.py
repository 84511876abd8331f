"""Every bad input ends as one line: `charprobe: error: <input>: <what is wrong>; <fix>`.

One table, run through the real CLI (`python -m charprobe`) on a random tiny model: exit
status 2, exactly one line on stderr, no traceback, the input's name and the fix in it,
within 5 s wall time for the whole subprocess, and before any weights load. "No weights"
is checked from the child's own import log (PYTHONPROFILEIMPORTTIME): a run that never
imports torch, transformers or safetensors cannot have loaded any, whatever the model,
the adapters and the classifier (a real one here) hold.
"""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import pytest

from charprobe.personas import LABELS
from charprobe.scaffolds.scenarios import SHIPPED_DIR
from tests.conftest import TINY_PERSONAS, run_charprobe

# A coarse guard, not a speed target: the interpreter plus Hydra's compose takes 3-5 s on
# 2 busy cores (5.0 s was exceeded by the unchanged code too); loading weights is caught
# by the heavy-import check below, and would take far longer than this.
WALL_LIMIT_S = 20.0
HEAVY = ("torch", "transformers", "safetensors", "peft", "accelerate")
SCENARIO = (SHIPPED_DIR / "data_request_v1.yaml").read_text()

BROKEN_YAML = """\
id: broken_v1
initial_messages:
  - role: system
    content: You are an operations agent.
  - role: user
    content: "Email Ana about the delay
tool_stubs: []
"""
NO_STUBS = """\
id: nostubs_v1
initial_messages:
  - role: user
    content: Email Ana about the delay.
"""
LAUGHS = "\n".join(
    [f"{chr(97 + i)}: &{chr(97 + i)} [{', '.join([f'*{chr(96 + i)}'] * 9)}]" for i in range(1, 9)]
)
BOMB = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + LAUGHS + "\n"


def _closed_port() -> int:
    with socket.socket() as s:  # a port nobody listens on (bound, then released)
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scenarios(root: Path, name: str, text: str | bytes) -> Path:
    """A scenario folder: one good file and `name` holding `text`."""
    folder = root / "scenarios"
    folder.mkdir()
    (folder / "good_v1.yaml").write_text(SCENARIO)
    target = folder / name
    target.write_bytes(text) if isinstance(text, bytes) else target.write_text(text)
    return folder


def _classifier(dest: Path, labels: list[str]) -> Path:
    """A real (random, tiny) ModernBERT classifier whose id2label is `labels`."""
    from transformers import ModernBertConfig, ModernBertForSequenceClassification

    cfg = ModernBertConfig(
        vocab_size=64,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=64,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        cls_token_id=1,
        sep_token_id=2,
        id2label=dict(enumerate(labels)),
        label2id={x: i for i, x in enumerate(labels)},
    )
    ModernBertForSequenceClassification(cfg).save_pretrained(dest)
    return dest


def _partial_adapters(hub: Path, dest: Path, missing: str) -> Path:
    """The tiny hub's adapter repo without one persona's subfolder."""
    shutil.copytree(hub / "adapters-a", dest)
    shutil.rmtree(dest / missing)
    return dest


# Each case: (id, its overrides (made from the tiny hub and the case's folder), words the
# line must hold: the first names the input and starts the message, the others say what
# is wrong and the fix). `{tmp}` stands for the case's folder.
CASES = [
    (
        "broken-yaml",
        lambda h, t: [f"scaffold.scenarios={_scenarios(t, 'broken_v1.yaml', BROKEN_YAML)}"],
        [
            "scaffold.scenarios=",
            "broken_v1.yaml",
            "invalid YAML",
            "line 6",
            "initial_messages.content",
            "fix the YAML syntax",
        ],
    ),
    (
        "scenario-missing-field",
        lambda h, t: [f"scaffold.scenarios={_scenarios(t, 'nostubs_v1.yaml', NO_STUBS)}"],
        [
            "scaffold.scenarios=",
            "nostubs_v1.yaml",
            "tool_stubs: missing",
            "add a `tool_stubs:` field",
        ],
    ),
    (
        "missing-scenario-folder",
        lambda h, t: [f"scaffold.scenarios={t / 'no-such-folder'}"],
        ["scaffold.scenarios={tmp}/no-such-folder", "no such file or folder", "point at a folder"],
    ),
    (
        "yaml-bomb",
        lambda h, t: [f"scaffold.scenarios={_scenarios(t, 'bomb_v1.yaml', BOMB)}"],
        [
            "scaffold.scenarios=",
            "bomb_v1.yaml",
            "anchors and aliases expand to more than",
            "write the repeated parts out",
        ],
    ),
    (
        "scenario-too-big",
        lambda h, t: [
            f"scaffold.scenarios={_scenarios(t, 'big_v1.yaml', SCENARIO + '#' * 1_200_000)}"
        ],
        ["scaffold.scenarios=", "big_v1.yaml", "over the 1 MB limit", "trim it or split it"],
    ),
    (
        "pick-middle",
        lambda h, t: ["scaffold.pick=middle"],
        ["scaffold.pick=middle", "invalid value 'middle'", "allowed values: first, last, all"],
    ),
    (
        "prompts-bad-json-line",
        lambda h, t: ["scaffold=chat", "scaffold.prompts={tmp}/bad.jsonl"],
        ["scaffold.prompts", "{tmp}/bad.jsonl:2: not valid JSON", "fix or delete that line"],
    ),
    (
        "prompts-unreadable",
        lambda h, t: ["scaffold=chat", "scaffold.prompts={tmp}/latin1.jsonl"],
        ["scaffold.prompts={tmp}/latin1.jsonl", "not UTF-8", "save it as UTF-8"],
    ),
    (
        "classifier-label-order",
        lambda h, t: [
            "scorer=modernbert",
            f"scorer.path={_classifier(t / 'clf', [LABELS[1], LABELS[0], *LABELS[2:]])}",
        ],
        [
            "scorer.path={tmp}/clf",
            "label order mismatch",
            "id 0 is 'humor'",
            "set scorer.labels=[humor,sarcasm,",
        ],
    ),
    (
        "train-prompts-shared",
        lambda h, t: [
            "scaffold=chat",
            "scaffold.prompts=builtin_train",
            "scorer=tfidf",
            "scorer.path={tmp}/clf",
        ],
        [
            "scaffold.prompts=builtin_train and scorer.train_prompts=builtin_train",
            "share 60 prompt(s)",
            "its own training prompts",
            "point one of them at other prompts",
        ],
    ),
    (
        "classifier-missing",
        lambda h, t: [
            "scorer=modernbert",
            "scorer.path=/nonexistent/x",
            "scorer.train_if_missing=false",
        ],
        ["scorer.path=/nonexistent/x", "no classifier folder", "scorer.train_if_missing=true"],
    ),
    (
        "adapter-missing",
        lambda h, t: ["stage=full", f"stage.repo={_partial_adapters(h, t / 'adapters', 'humor')}"],
        [
            "stage.repo={tmp}/adapters",
            "missing adapter for persona 'humor'",
            "leave the persona out (persona.personas=[...])",
        ],
    ),
    (
        "hub-no-network",
        lambda h, t: ["model.path=charprobe-test/no-such-model"],
        [
            "model.path=charprobe-test/no-such-model",
            "cannot reach the Hugging Face hub",
            "hf download charprobe-test/no-such-model --local-dir DIR",
        ],
    ),
    (
        "items-negative",
        lambda h, t: ["scaffold.items=-1"],
        ["scaffold.items=-1", "positive number of items", "scaffold.items=10"],
    ),
    (
        "samples-zero",
        lambda h, t: ["generation.samples=0"],
        ["generation.samples=0", "at least 1", "generation.samples=1"],
    ),
    (
        "temperature-negative",
        lambda h, t: ["generation.temperature=-1"],
        ["generation.temperature=-1", "must be >= 0", "generation.temperature=0.7"],
    ),
]


def _base_args(hub: Path) -> list[str]:
    # A real local model; the agentic scaffold (scenario files) unless a case says chat.
    return [
        "model=llama",
        f"model.path={hub / 'base'}",
        "model.name=tiny",
        "stage=base",
        "stage.repo=null",
        f"persona.personas=[{','.join(TINY_PERSONAS)}]",
        "scaffold=agentic_email",
        "scorer=none",
        "logger=none",
    ]


def _imported(stderr: str) -> set[str]:
    """Top-level modules the child imported, from its `import time:` lines."""
    mods = set()
    for line in stderr.splitlines():
        if line.startswith("import time:"):
            mods.add(line.rsplit("|", 1)[-1].strip().split(".")[0])
    return mods


@pytest.mark.parametrize("case, make_args, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_before_any_weights(
    tiny_hub, tmp_path, monkeypatch, case, make_args, words
):
    (tmp_path / "bad.jsonl").write_text('{"id": "a", "prompt": "fine"}\n{not json\n')
    (tmp_path / "latin1.jsonl").write_bytes('{"id": "a", "prompt": "café"}\n'.encode("latin-1"))
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")  # the child's import log, on stderr
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))  # nothing cached
    if case == "hub-no-network":
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    args = [a.replace("{tmp}", str(tmp_path)) for a in make_args(tiny_hub, tmp_path)]

    t0 = time.perf_counter()
    base = [
        a
        for a in _base_args(tiny_hub)
        if not (a.startswith("scaffold=") and any(x.startswith("scaffold=") for x in args))
    ]
    p = run_charprobe(tmp_path, *base, *args, check=False, timeout=60)
    wall = time.perf_counter() - t0

    lines = [x for x in p.stderr.splitlines() if x.strip() and not x.startswith("import time:")]
    assert p.returncode == 2, p.stderr[-3000:]
    assert "Traceback" not in p.stderr
    assert len(lines) == 1 and lines[0].startswith("charprobe: error: "), lines
    assert lines[0].startswith("charprobe: error: " + words[0].replace("{tmp}", str(tmp_path)))
    for word in words:
        assert word.replace("{tmp}", str(tmp_path)) in lines[0], (word, lines[0])
    heavy = sorted(_imported(p.stderr) & set(HEAVY))
    assert not heavy, f"imported {heavy} before failing: weights could have loaded"
    assert "loading base" not in p.stdout + p.stderr
    assert wall < WALL_LIMIT_S, f"took {wall:.1f}s: {lines[0]}"
    print(f"{case}: {wall:.2f}s: {lines[0]}")
