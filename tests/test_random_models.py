"""benchmarks/random_models.py at --scale tiny: what it writes loads in transformers + peft as
the real families do, each adapter moves the logits, and a rerun only skips."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "random_models.py"
FAMILIES = ("llama", "qwen", "gemma")
RANK = 8
PERSONAS = ["sarcasm", "humor"]  # the first two names of --personas 2
CLASSES = {"llama": "LlamaForCausalLM", "qwen": "Qwen2ForCausalLM", "gemma": "Gemma3ForCausalLM"}
TARGETS = sorted(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
ARGS = [
    "--scale",
    "tiny",
    "--personas",
    "2",
    "--rank",
    str(RANK),
    "--device",
    "cpu",
    "--models",
    ",".join(FAMILIES),
]
CHAT = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Hello there, how's the Weather in Zürich today? 42 — fine!"},
]


def run_script(out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    p = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), *ARGS, *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-4000:]
    return p


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("random_models")
    return out, run_script(out).stdout


def test_writes_every_folder_once(built):
    out, stdout = built
    assert "estimate total:" in stdout
    wrote = [line.split()[1] for line in stdout.splitlines() if line.startswith("wrote ")]
    expected = [str(out / f / "base") for f in FAMILIES]
    expected += [str(out / f / "adapters" / p) for f in FAMILIES for p in PERSONAS]
    assert sorted(wrote) == sorted(expected), stdout
    assert not [p for p in out.rglob(".*partial*")], "a temporary folder was left behind"


@pytest.mark.parametrize("family", FAMILIES)
def test_configs_match_the_family(built, family):
    from transformers import AutoConfig, AutoTokenizer

    out, _ = built
    base = out / family / "base"
    for name in (
        "config.json",
        "generation_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "model.safetensors",
    ):
        assert (base / name).is_file(), name
    cfg = AutoConfig.from_pretrained(base)
    assert cfg.architectures == [CLASSES[family]]
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    assert head_dim >= 32  # vLLM's CPU attention rejects 16
    assert cfg.num_attention_heads % cfg.num_key_value_heads == 0
    assert cfg.num_key_value_heads < cfg.num_attention_heads  # grouped-query attention
    tok = AutoTokenizer.from_pretrained(base)
    assert len(tok) == cfg.vocab_size
    gen = json.loads((base / "generation_config.json").read_text())
    eos = gen["eos_token_id"]
    assert tok.eos_token_id in eos and all(0 <= i < cfg.vocab_size for i in eos)
    if family == "gemma":
        assert len(cfg.layer_types) == cfg.num_hidden_layers
        assert set(cfg.layer_types) == {"sliding_attention", "full_attention"}
        assert cfg.tie_word_embeddings and head_dim != cfg.hidden_size // cfg.num_attention_heads
    else:
        assert not cfg.tie_word_embeddings
    raw = json.loads((base / "config.json").read_text())  # older readers' key names too
    assert "rope_theta" in raw
    if family == "llama":
        assert raw["rope_scaling"]["rope_type"] == "llama3"

    for persona in PERSONAS:
        acfg = json.loads((out / family / "adapters" / persona / "adapter_config.json").read_text())
        assert acfg["r"] == RANK and acfg["lora_alpha"] == 2 * RANK
        assert acfg["target_modules"] == TARGETS
        assert acfg["peft_type"] == "LORA" and acfg["task_type"] == "CAUSAL_LM"
        assert Path(acfg["base_model_name_or_path"]) == base.resolve()


@pytest.mark.parametrize("family", FAMILIES)
def test_loads_and_every_adapter_changes_the_logits(built, family):
    from peft import PeftModel
    from safetensors.torch import load_file
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, _ = built
    base = out / family / "base"
    tok = AutoTokenizer.from_pretrained(base)
    text = tok.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True)
    assert "You are terse." in text and "Zürich" in text
    ids = tok(text, add_special_tokens=False)["input_ids"]
    # transformers 5 rebuilds a qwen2 tokenizer as Qwen2Tokenizer from vocab + merges only:
    # it must encode as the tokenizer.json written.
    raw = Tokenizer.from_file(str(base / "tokenizer.json"))
    assert raw.encode(text, add_special_tokens=False).ids == ids
    assert tok.unk_token_id is None or tok.unk_token_id not in ids
    if tok.bos_token_id is not None:  # the template writes the BOS (no post-processor does)
        assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    assert type(model).__name__ == CLASSES[family]
    if family == "qwen":  # Qwen2's q/k/v biases
        assert model.model.layers[0].self_attn.q_proj.bias is not None
    x = torch.tensor([ids])
    with torch.no_grad():
        ref = model(x).logits[0, -1]
    assert torch.isfinite(ref).all()

    first, second = (out / family / "adapters" / p for p in PERSONAS)
    peft_model = PeftModel.from_pretrained(model, first, adapter_name="a")
    peft_model.load_adapter(second, adapter_name="b")
    # Every tensor of the file is loaded into the model (none silently ignored).
    params = dict(peft_model.named_parameters())
    for key, value in load_file(str(first / "adapter_model.safetensors")).items():
        name = key.replace(".weight", ".a.weight")
        assert name in params, key
        assert torch.equal(params[name].detach().to(value.dtype), value), key
    assert len(load_file(str(first / "adapter_model.safetensors"))) == (
        2 * len(TARGETS) * model.config.num_hidden_layers
    )

    logits = {}
    for name in ("a", "b"):
        peft_model.set_adapter(name)
        with torch.no_grad():
            logits[name] = peft_model(x).logits[0, -1]
    assert (logits["a"] - ref).abs().max() > 1e-4
    assert (logits["b"] - ref).abs().max() > 1e-4
    assert (logits["a"] - logits["b"]).abs().max() > 1e-4


def test_rerun_skips_and_rewrites_only_what_is_missing(built, tmp_path):
    out, _ = built
    before = snapshot(out)
    # A killed run's temporary (its process gone) and a folder a user deleted.
    gone = out / "qwen" / "adapters" / "humor"
    stale = gone.parent / ".humor.partial-4194999"
    stale.mkdir()
    (stale / "adapter_model.safetensors").write_bytes(b"half")
    for p in sorted(gone.iterdir()):
        p.unlink()
    gone.rmdir()

    stdout = run_script(out).stdout
    wrote = [line.split()[1] for line in stdout.splitlines() if line.startswith("wrote ")]
    assert wrote == [str(gone)], stdout
    assert sum(line.startswith("skip ") for line in stdout.splitlines()) == 3 * 3 - 1
    assert not stale.exists()
    assert snapshot(out) == before  # same seed, same bytes; the rest untouched

    # Other settings on the same folders: one line, nothing overwritten.
    spec = importlib.util.spec_from_file_location("random_models", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    # (the script sets HF_HUB_OFFLINE for itself; its dataclasses need it in sys.modules)
    with mock.patch.dict(os.environ), mock.patch.dict(sys.modules, random_models=module):
        spec.loader.exec_module(module)
        with pytest.raises(module.UserError, match="with these settings"):
            module.main(["--out", str(out), *ARGS, "--rank", "4"])
    assert snapshot(out) == before
