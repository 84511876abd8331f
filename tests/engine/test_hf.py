from __future__ import annotations

import pytest
import torch

from charprobe.config import ModelConfig, StageConfig
from charprobe.engine import EngineCache
from charprobe.engine.hf import HFEngine
from charprobe.engine.types import GenerationParams, Request
from charprobe.errors import UserError
from tests.conftest import TINY_PERSONAS

# One cache for the module, as the job runner keeps one per process: engines built one after
# another reuse the base it holds.
CACHE = EngineCache()
PROMPTS = ["hello world", "the quick brown fox jumps over", "how are you", "lazy dog today " * 4]


def _engine(hub, stage="adapters-a", personas=TINY_PERSONAS, system_role=True) -> HFEngine:
    model = ModelConfig(
        name="tiny",
        path=str(hub / "base"),
        family="llama",
        hub_prefix=str(hub),
        classifier="none",
        dtype="float32",
        system_role=system_role,
    )
    st = StageConfig(name=stage, repo=str(hub / stage) if stage else None)
    return HFEngine(model, st, personas if stage else [], device="cpu", cache=CACHE)


def _requests(adapters):
    return [
        Request(key=f"{a}-{i}", messages=[{"role": "user", "content": p}], adapter=a)
        for a in adapters
        for i, p in enumerate(PROMPTS)
    ]


@pytest.mark.parametrize("temperature", [0.0, 0.7])
def test_mixed_adapter_batch_equals_one_adapter_at_a_time(tiny_hub, temperature):
    eng = _engine(tiny_hub)
    params = GenerationParams(temperature=temperature, max_new_tokens=12, batch_size=16, seed=3)
    reqs = _requests([None, *TINY_PERSONAS])
    mixed = eng.generate(reqs, params)
    single = []
    for a in [None, *TINY_PERSONAS]:
        single += eng.generate([r for r in reqs if r.adapter == a], params)
    assert [c.text for c in mixed] == [c.text for c in single]
    assert [c.key for c in mixed] == [r.key for r in reqs]


def test_adapters_change_the_output_and_each_differs(tiny_hub):
    eng = _engine(tiny_hub)
    params = GenerationParams(temperature=0.0, max_new_tokens=10, batch_size=32)
    out = eng.generate(_requests([None, *TINY_PERSONAS]), params)
    by_adapter = {}
    for c in out:
        by_adapter.setdefault(c.key.split("-")[0], []).append(c.text)
    texts = [tuple(v) for v in by_adapter.values()]
    assert len(set(texts)) == len(texts), (
        "two adapters (or an adapter and the base) gave identical text"
    )


def test_same_seed_same_text_and_batch_size_does_not_matter(tiny_hub):
    eng = _engine(tiny_hub)
    reqs = _requests(["humor", "sarcasm"])
    a = eng.generate(reqs, GenerationParams(max_new_tokens=10, batch_size=8, seed=1))
    b = eng.generate(reqs[::-1], GenerationParams(max_new_tokens=10, batch_size=3, seed=1))
    c = eng.generate(reqs, GenerationParams(max_new_tokens=10, batch_size=8, seed=2))
    assert [x.text for x in a] == [x.text for x in b][::-1]
    assert [x.text for x in a] != [x.text for x in c]


def _logits(eng: HFEngine, persona: str | None) -> torch.Tensor:
    """Next-token logits of every prompt under `persona`'s adapter of `eng`'s stage."""
    tok = eng.tokenizer
    texts = [eng.render([{"role": "user", "content": p}]) for p in PROMPTS]
    batch = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    names = [eng._adapter_name(persona)] * len(PROMPTS)
    with torch.no_grad():
        return eng._loaded.model(**batch, adapter_names=names).logits[:, -1]


def test_stage_switch_reuses_the_loaded_base(tiny_hub, monkeypatch):
    params = GenerationParams(temperature=0.0, max_new_tokens=8)
    reqs = _requests(TINY_PERSONAS)
    a = _engine(tiny_hub, "adapters-a")
    base_a = a._loaded.model.get_base_model()
    logits_a = {p: _logits(a, p) for p in TINY_PERSONAS}
    text_a = [x.text for x in a.generate(reqs, params)]

    b = _engine(tiny_hub, "adapters-b")
    assert b._loaded.model.get_base_model() is base_a  # the base weights were not reloaded
    assert set(b._loaded.adapters.values()) == {f"adapters-b-{p}" for p in TINY_PERSONAS}
    logits_b = {p: _logits(b, p) for p in TINY_PERSONAS}
    text_b = [x.text for x in b.generate(reqs, params)]

    # A fresh process's view of stage b: base loaded anew, only stage b's adapters attached.
    CACHE.drop()
    fresh = _engine(tiny_hub, "adapters-b")
    assert fresh._loaded.model.get_base_model() is not base_a
    for p in TINY_PERSONAS:
        torch.testing.assert_close(logits_b[p], _logits(fresh, p), rtol=1e-5, atol=1e-5)
        assert not torch.allclose(logits_b[p], logits_a[p], atol=1e-3), p  # not stage a's
    assert text_b == [x.text for x in fresh.generate(reqs, params)]
    assert text_b != text_a
    # the engine object made for stage a shares the process's model: it now runs stage b
    assert [x.text for x in a.generate(reqs, params)] == text_b


def test_stage_switch_detaches_the_old_stages_adapters(tiny_hub):
    _engine(tiny_hub, "adapters-a")
    b = _engine(tiny_hub, "adapters-b")
    assert set(b._loaded.model.peft_config) == {f"adapters-b-{p}" for p in TINY_PERSONAS}


def test_token_counts_and_finish_reason(tiny_hub):
    eng = _engine(tiny_hub, None)
    out = eng.generate(_requests([None]), GenerationParams(max_new_tokens=5, temperature=0.0))
    for c in out:
        assert c.prompt_tokens > 0 and 0 < c.completion_tokens <= 5
        assert c.finish_reason in ("stop", "length")
        assert c.finish_reason == "stop" or c.completion_tokens == 5


def test_system_role_folded_when_template_has_none(tiny_hub):
    eng = _engine(tiny_hub, None, system_role=False)
    text = eng.render([{"role": "system", "content": "SYS"}, {"role": "user", "content": "hi"}])
    assert "<|system|>" not in text and "SYS\n\nhi" in text


def test_missing_adapter_is_one_clear_line(tiny_hub):
    with pytest.raises(UserError, match="missing adapter for persona 'loving'.*adapters-a"):
        _engine(tiny_hub, "adapters-a", personas=["sarcasm", "loving"])


def test_unreachable_hub_fails_fast_with_a_hint(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = ModelConfig(
        name="x",
        path="nobody/not-a-model",
        family="llama",
        hub_prefix="nobody/x",
        classifier="none",
    )
    with pytest.raises(UserError, match="not-a-model.*model.path=DIR"):
        HFEngine(model, StageConfig(name="base"), [], device="cpu")


def test_base_stage_after_adapter_stages_is_the_bare_model(tiny_hub):
    """Classifier training attaches two stages' adapters before a base-stage job runs in
    the same process: the base stage must then generate exactly as in a fresh process."""
    params = GenerationParams(max_new_tokens=8, temperature=0.7)
    CACHE.drop()
    fresh = [c.text for c in _engine(tiny_hub, None).generate(_requests([None]), params)]
    CACHE.drop()
    _engine(tiny_hub, "adapters-b")
    _engine(tiny_hub, "adapters-a")
    after = _engine(tiny_hub, None)
    assert after._loaded.adapters == {} and not hasattr(after._loaded.model, "peft_config")
    assert [c.text for c in after.generate(_requests([None]), params)] == fresh
