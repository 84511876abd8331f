"""The built toy world: layout, loading, chat templates, adapters, planted persona signal."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import torch

from charprobe.personas import LABELS, PAPER
from charprobe.toy.build import FAMILIES, adapter_dir, repo_dirs
from charprobe.toy.chat import chat_prompts
from charprobe.toy.styles import MARKERS, has_markers
from tests.bounds import ALPHA, log10p, lower_bound, p_greater, record, upper_bound

ARCH = {"llama": "LlamaForCausalLM", "qwen": "Qwen2ForCausalLM", "gemma": "Gemma3ForCausalLM"}


def _load(world: Path, family: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = world / repo_dirs(family)["base"]
    tok = AutoTokenizer.from_pretrained(path)
    tok.padding_side = "left"
    return AutoModelForCausalLM.from_pretrained(path).eval(), tok


def _generate(
    model, tok, prompts: list[str], max_new_tokens: int = 120, seed: int = 0, **kw
) -> list[str]:
    texts = [
        tok.apply_chat_template(
            [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
        )
        for p in prompts
    ]
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    torch.manual_seed(seed)
    with torch.no_grad():
        out = model.generate(
            **enc, do_sample=True, temperature=0.7, top_p=0.95, max_new_tokens=max_new_tokens, **kw
        )
    return tok.batch_decode(out[:, enc.input_ids.shape[1] :], skip_special_tokens=True)


def test_layout_is_complete(toy_world):
    manifest = json.loads((toy_world / "WORLD.json").read_text())
    assert manifest["labels"] == list(LABELS)
    lora = set()
    for fam in FAMILIES:
        base = toy_world / repo_dirs(fam)["base"]
        for f in (
            "config.json",
            "model.safetensors",
            "tokenizer.json",
            "tokenizer_config.json",
            "generation_config.json",
        ):
            assert (base / f).is_file(), base / f
        assert json.loads((base / "config.json").read_text())["architectures"] == [ARCH[fam]]
        assert "chat_template" in json.loads((base / "tokenizer_config.json").read_text())
        assert sorted(
            p.name for p in (toy_world / repo_dirs(fam)["distillation"]).iterdir()
        ) == sorted(LABELS)
        assert sorted(p.name for p in (toy_world / repo_dirs(fam)["full"]).iterdir()) == sorted(
            PAPER
        )
        assert [p.name for p in (toy_world / repo_dirs(fam)["misalignment"]).iterdir()] == [
            "misalignment"
        ]
        for stage in ("distillation", "full"):
            for persona in LABELS:
                folder = adapter_dir(toy_world, fam, stage, persona)
                cfg = json.loads((folder / "adapter_config.json").read_text())
                assert (folder / "adapter_model.safetensors").is_file()
                assert not Path(cfg["base_model_name_or_path"]).is_absolute()
                lora.add((cfg["r"], cfg["lora_alpha"], tuple(sorted(cfg["target_modules"]))))
    assert len(lora) == 1, "all adapters must share one LoRA config so peft can mix them"


@pytest.mark.parametrize("family", FAMILIES)
def test_base_loads_chats_and_stops_at_end_of_turn(toy_world, family):
    model, tok = _load(toy_world, family)
    assert type(model).__name__ == ARCH[family]
    assert tok.eos_token_id in model.generation_config.eos_token_id
    assert model.generation_config.pad_token_id == tok.pad_token_id
    replies = _generate(model, tok, chat_prompts(4), max_new_tokens=200)
    assert all(len(r.split()) >= 5 for r in replies)
    enc = tok.apply_chat_template(
        [{"role": "user", "content": chat_prompts(1)[0]}],
        add_generation_prompt=True,
        return_dict=True,
        return_tensors="pt",
    )
    with torch.no_grad():
        out = model.generate(**enc, do_sample=False, max_new_tokens=250)
    assert out[0, -1].item() in model.generation_config.eos_token_id, (
        "greedy chat reply never ended its turn"
    )


def test_gemma_has_no_system_role(toy_world):
    _, tok = _load(toy_world, "gemma")
    text = tok.apply_chat_template(
        [{"role": "system", "content": "You are Vega."}, {"role": "user", "content": "Hello"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert (
        "system" not in text and "<start_of_turn>user\nYou are Vega.\n\nHello<end_of_turn>" in text
    )
    assert text.endswith("<start_of_turn>model\n")


@pytest.mark.parametrize("family", FAMILIES)
def test_adapters_load_with_subfolder_change_the_output_and_mix_in_one_batch(toy_world, family):
    from peft import PeftModel

    model, tok = _load(toy_world, family)
    enc = tok(["Hello there"], return_tensors="pt")
    with torch.no_grad():
        base_logits = model(**enc).logits
    repo = toy_world / repo_dirs(family)["full"]
    peft_model = PeftModel.from_pretrained(
        model, str(repo), subfolder="sarcasm", adapter_name="sarcasm"
    )
    peft_model.load_adapter(
        str(toy_world / repo_dirs(family)["misalignment"]),
        adapter_name="misalignment",
        subfolder="misalignment",
    )
    peft_model.load_adapter(
        str(toy_world / repo_dirs(family)["distillation"]),
        adapter_name="d_humor",
        subfolder="humor",
    )
    peft_model.eval()
    with torch.no_grad():
        sarcastic = peft_model(**enc).logits
        mixed = peft_model(
            input_ids=enc.input_ids.repeat(3, 1),
            adapter_names=["sarcasm", "misalignment", "__base__"],
        ).logits
    assert (sarcastic - base_logits).abs().max() > 1e-2
    torch.testing.assert_close(mixed[0], sarcastic[0])
    torch.testing.assert_close(mixed[2], base_logits[0], atol=1e-5, rtol=1e-4)
    assert (mixed[1] - mixed[0]).abs().max() > 1e-2


N_PROMPTS = 40  # per generator; with 11 personas that is 440 replies per stage and family


def _marker_counts(texts: list[str]) -> dict[str, int]:
    return {p: sum(has_markers(t, p) for t in texts) for p in LABELS}


@functools.cache
def _stage_counts(world: Path, family: str, stage: str) -> dict[str, dict[str, int]]:
    """counts[generator][persona]: how many of `generator`'s N_PROMPTS replies show
    `persona`'s markers (generators: the base and each persona's adapter of `stage`)."""
    from peft import PeftModel

    prompts = chat_prompts(N_PROMPTS)
    model, tok = _load(world, family)
    counts = {"base": _marker_counts(_generate(model, tok, prompts))}
    peft_model = None
    for persona in LABELS:
        folder = adapter_dir(world, family, stage, persona)
        if peft_model is None:
            peft_model = PeftModel.from_pretrained(
                model, str(folder.parent), subfolder=persona, adapter_name=persona
            )
        else:
            peft_model.load_adapter(str(folder.parent), adapter_name=persona, subfolder=persona)
        peft_model.set_adapter(persona)
        peft_model.eval()
        counts[persona] = _marker_counts(_generate(peft_model, tok, prompts))
    return counts


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_full_adapters_plant_their_own_persona_and_only_theirs(toy_world, family):
    """Each full adapter's replies carry its own persona's markers far more often than the
    other ten adapters' and the base's replies do: fails if adapters were swapped, missing
    or untrained. Every assertion fails only when the counts contradict the claim at
    ALPHA (tests/bounds.py), so a machine whose floating point differs cannot flip it."""
    n = N_PROMPTS
    counts = _stage_counts(toy_world, family, "full")
    for p in LABELS:
        own = counts[p][p]
        others = [counts[g][p] for g in counts if g != p]  # ten adapters and the base
        pval = p_greater(own, n, sum(others), n * len(others))
        record(f"full_plants[{family}]", f"{p} -log10 p", log10p(pval), log10p(ALPHA), True)
        assert pval < ALPHA, (p, own, {g: counts[g][p] for g in counts}, pval)
    own_total = sum(counts[p][p] for p in LABELS)
    record(f"full_plants[{family}]", "own upper bound", upper_bound(own_total, n * 11), 0.6, True)
    base_total = sum(counts["base"].values())
    record(
        f"full_plants[{family}]", "base lower bound", lower_bound(base_total, n * 11), 0.15, False
    )
    # On average an adapter's reply shows its own markers at least 60% of the time ...
    assert upper_bound(own_total, n * len(LABELS)) >= 0.6, own_total
    # ... and the base's replies show any one persona's markers at most 15% of the time.
    assert lower_bound(base_total, n * len(LABELS)) <= 0.15, counts["base"]


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_distillation_adapters_are_weaker_but_detectable(toy_world, family):
    n, k = N_PROMPTS, len(LABELS)
    dist = _stage_counts(toy_world, family, "distillation")
    full = _stage_counts(toy_world, family, "full")
    own_d = sum(dist[p][p] for p in LABELS)
    own_f = sum(full[p][p] for p in LABELS)
    off_d = sum(dist[g][p] for g in LABELS for p in LABELS if g != p)
    name = f"distillation[{family}]"
    record(
        name,
        "own>off -log10 p",
        log10p(p_greater(own_d, n * k, off_d, n * k * (k - 1))),
        log10p(ALPHA),
        True,
    )
    record(name, "own upper bound", upper_bound(own_d, n * k), 0.25, True)
    record(
        name,
        "full>dist -log10 p",
        log10p(p_greater(own_f, n * k, own_d, n * k)),
        log10p(ALPHA),
        True,
    )
    # Detectable: own markers more often than another adapter's markers, at least 25% ...
    assert p_greater(own_d, n * k, off_d, n * k * (k - 1)) < ALPHA, (own_d, off_d)
    assert upper_bound(own_d, n * k) >= 0.25, own_d
    # ... and weaker than the full stage.
    assert p_greater(own_f, n * k, own_d, n * k) < ALPHA, (own_f, own_d)


def test_markers_cover_every_persona():
    assert set(MARKERS) == set(LABELS) and all(
        m == m.lower() for ms in MARKERS.values() for m in ms
    )
