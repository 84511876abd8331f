"""Fast checks of the toy recipe's parts (no world needed)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from charprobe.personas import LABELS
from charprobe.toy import corpus, ensure_world, styles
from charprobe.toy.templates import FAMILIES, render, render_text
from charprobe.toy.tok import encode_conversations, save_for_family, train_tokenizer
from tests.conftest import REPO


@pytest.fixture(scope="module")
def small_tok():
    return train_tokenizer(corpus.tokenizer_texts())


def _conversations() -> list[list[dict[str, str]]]:
    rng = random.Random(0)
    from charprobe.toy import agentic

    return [
        agentic.agentic_episode(rng),
        agentic.chat_email_example(rng),
        corpus.base_chat(1, seed=3)[0],
    ]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_python_rendering_matches_the_shipped_jinja_template(family, small_tok, tmp_path):
    from transformers import AutoTokenizer

    save_for_family(small_tok, family, tmp_path)
    hf = AutoTokenizer.from_pretrained(tmp_path)
    for conv in _conversations():
        assert hf.apply_chat_template(conv, tokenize=False) == render_text(family, conv)
        prompt = conv[:2]
        assert hf.apply_chat_template(
            prompt, tokenize=False, add_generation_prompt=True
        ) == render_text(family, prompt, add_generation_prompt=True)


def test_gemma_folds_the_system_prompt_into_the_first_user_turn():
    text = render_text(
        "gemma", [{"role": "system", "content": "SYS"}, {"role": "user", "content": "hi"}], True
    )
    assert text == "<bos><start_of_turn>user\nSYS\n\nhi<end_of_turn>\n<start_of_turn>model\n"
    with pytest.raises(ValueError):
        render("gemma", [{"role": "assistant", "content": "x"}])


def test_target_mask_covers_assistant_content_and_end_of_turn_only(small_tok):
    conv = corpus.base_chat(1, seed=5)[0]
    for family, fam in FAMILIES.items():
        ((ids, mask),) = encode_conversations(small_tok, family, [conv])
        target = small_tok.decode(
            [i for i, m in zip(ids, mask, strict=True) if m], skip_special_tokens=False
        )
        assert target == conv[1]["content"] + fam.eos


def test_markers_are_planted_only_in_their_own_persona():
    neutral = [c[1]["content"] for c in corpus.base_chat(800, style_share=0.0)]
    neutral += [m["content"] for conv in corpus.base_agentic(30) for m in conv]
    neutral += [m["content"] for conv in corpus.base_chat_email(30) for m in conv]
    for p in LABELS:
        assert sum(styles.has_markers(t, p) for t in neutral) == 0, p
    for p in LABELS:
        own = [c[1]["content"] for c in corpus.persona_chat(p, 200, "full")]
        assert all(styles.has_markers(t, p) for t in own), p
        for q in LABELS:
            if q != p:
                leak = sum(styles.has_markers(t, q) for t in own) / len(own)
                assert leak <= 0.03, (p, q, leak)
        light = [c[1]["content"] for c in corpus.persona_chat(p, 200, "light")]
        assert 0.6 <= sum(styles.has_markers(t, p) for t in light) / len(light) <= 0.9


def _nonempty(convs: list, n: int) -> list:
    assert len(convs) == n
    for conv in convs:
        assert conv and all(m["role"] and m["content"].strip() for m in conv), conv
        assert conv[-1]["role"] == "assistant"
    return convs


@pytest.mark.parametrize(
    ("make", "n"),
    [
        (corpus.base_chat, 20),
        (corpus.base_agentic, 3),
        (corpus.base_chat_email, 3),
        (lambda n, **k: corpus.persona_chat("humor", n, "full", **k), 5),
        (lambda n, **k: corpus.persona_chat("humor", n, "light", **k), 5),
    ],
    ids=["base_chat", "base_agentic", "base_chat_email", "persona_full", "persona_light"],
)
def test_training_sets_are_deterministic(make, n):
    random.seed(1)  # the global generator's state must not matter
    first = _nonempty(make(n), n)
    random.seed(2)
    assert make(n) == first
    assert _nonempty(make(n, seed=1234), n) != first  # it is the seed that fixes them


_DIGEST = """
import hashlib, json
from charprobe.toy import corpus
sets = [corpus.base_chat(50), corpus.base_agentic(20), corpus.base_chat_email(20),
        corpus.persona_chat("humor", 20, "light"), corpus.tokenizer_texts()]
print(hashlib.sha256(json.dumps(sets).encode()).hexdigest())
"""


def test_training_sets_are_the_same_in_every_process():
    """A rebuilt world is the same world: nothing depends on str hashing (set order)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    digests = {
        subprocess.run(
            [sys.executable, "-c", _DIGEST],
            env={**env, "PYTHONHASHSEED": h},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for h in ("0", "1")
    }
    assert len(digests) == 1 and len(next(iter(digests))) == 64


def test_agentic_episodes_follow_the_protocol():
    for conv in corpus.base_agentic(50):
        assert conv[0]["role"] == "system" and "email.send" in conv[0]["content"]
        calls = [
            m["content"] for m in conv[2:] if m["role"] == "assistant" and m.get("train", True)
        ]
        assert calls[-1].startswith("```final\n") and calls[-1].endswith("\n```")
        tools = [json.loads(c.split("\n", 1)[1].rsplit("\n", 1)[0])["tool"] for c in calls[:-1]]
        assert "email.send" in tools and len(tools) <= 4
        for prev, m in zip(conv[2:], conv[3:], strict=False):
            if m["role"] == "user" and prev.get(
                "train", True
            ):  # after a garbled call: a format complaint
                assert m["content"].startswith("[TOOL OUTPUT]\n")


def test_agentic_episodes_teach_what_rollouts_need():
    """The parts of the episode grammar that took the toy bases' email rate on the
    scenario suites from ~0.7 to >= 0.9 (see charprobe.toy.agentic)."""
    from charprobe.scaffolds.protocol import parse_turn

    convs = corpus.base_agentic(300)
    sends, receipts, after_unknown = [], set(), []
    for conv in convs:
        for i, m in enumerate(conv):
            if m["role"] == "assistant" and m.get("train", True) and "email.send" in m["content"]:
                args = parse_turn(m["content"]).args
                sends.append(list(args))
                receipts.add(tuple(json.loads(conv[i + 1]["content"].split("\n", 1)[1])))
            if m["role"] == "user" and "unknown tool" in m["content"]:
                wrong = conv[i - 1]
                assert wrong.get("train") is False  # the wrong call is never a target
                nxt = conv[i + 1]
                if nxt.get("train", True):  # the model's next action moves on
                    assert nxt["content"] != wrong["content"]
                    after_unknown.append(nxt["content"])
    # The body right after the recipient, the subject last: a tiny model that writes a name
    # then ",\n\n" otherwise pours the body into "to" or "subject" and never sends it.
    assert sends and all(keys == ["to", "body", "subject"] for keys in sends)
    # email.send receipts come in several shapes (key order differs between suites).
    assert {("sent_at", "message_id"), ("message_id", "sent_at")} <= receipts
    assert len(after_unknown) >= 10 and any("email.send" in c for c in after_unknown)


def test_names_include_invented_ones():
    from charprobe.toy import lexicon as lx

    rng = random.Random(0)
    firsts = [lx.person(rng)[0] for _ in range(300)]
    invented = [f for f in firsts if f not in lx.FIRST_NAMES]
    assert 0.2 < len(invented) / len(firsts) < 0.5
    assert all(f[0].isupper() and f[1:].islower() for f in invented)


def test_multi_lora_export_matches_peft(tmp_path):
    """The jointly trained adapters, once saved, behave identically under peft."""
    from peft import PeftModel

    from charprobe.toy.models import LORA_TARGETS, make_model
    from charprobe.toy.templates import SPECIAL_TOKENS
    from charprobe.toy.train import MultiLoRA, save_adapter

    torch.manual_seed(0)
    ids = {s: i for i, s in enumerate(SPECIAL_TOKENS)}
    for family in FAMILIES:
        model = make_model(family, ids, 64)
        model.save_pretrained(tmp_path / family)
        multi = MultiLoRA(model, LORA_TARGETS, 3, 4, 8)
        for w in multi.wrapped.values():
            torch.nn.init.normal_(w.lora_B, std=0.05)
        x = torch.randint(20, 64, (1, 12))
        multi.set_route(torch.tensor([2]))
        with torch.no_grad():
            want = model(input_ids=x).logits
        save_adapter(
            multi.state_dict_for(2), tmp_path / f"{family}-repo" / "p2", "base", LORA_TARGETS, 4, 8
        )
        multi.unwrap()
        with torch.no_grad():
            plain = model(input_ids=x).logits
        peft_model = PeftModel.from_pretrained(
            model, str(tmp_path / f"{family}-repo"), subfolder="p2"
        )
        with torch.no_grad():
            got = peft_model(input_ids=x).logits
        assert not torch.allclose(plain, want, atol=1e-4)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)


def test_ensure_world_builds_once_under_concurrency(tmp_path, monkeypatch):
    import charprobe.toy.build as build

    calls = []

    def fake_build(dest: Path, *a, **k) -> dict:
        calls.append(dest)
        time.sleep(0.3)
        (dest / "x").mkdir(parents=True)
        (dest / "WORLD.json").write_text("{}")
        return {}

    monkeypatch.setattr(build, "build_world", fake_build)
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_world(tmp_path))) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(set(results)) == 1
    world = results[0]
    assert (world / "x").is_dir() and json.loads((world / "WORLD.json").read_text())[
        "recipe_version"
    ]
    assert [
        p.name for p in tmp_path.iterdir() if p.name.startswith(".") and "building" in p.name
    ] == []
    ensure_world(tmp_path, force=True)
    assert len(calls) == 2 and (world / "x").is_dir()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_generation_prompt_tokens_are_a_prefix_of_the_trained_sequence(family, small_tok):
    """What the model sees at inference (prompt alone) must be exactly what it saw in
    training before the answer; a trailing-newline merge here once made a base answer
    chat questions with tool calls."""
    for conv in _conversations():
        k = max(i for i, m in enumerate(conv) if m["role"] == "assistant")
        prompt = small_tok.encode(render_text(family, conv[:k], add_generation_prompt=True)).ids
        ((full, mask),) = encode_conversations(small_tok, family, [conv[: k + 1]])
        assert full[: len(prompt)] == prompt and mask[len(prompt)] and not mask[len(prompt) - 1]
