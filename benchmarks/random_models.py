"""Random-weight bases of the real architectures plus rank-r LoRA persona adapters, offline.

    python benchmarks/random_models.py --out DIR [--models llama,qwen,gemma] [--personas 10]
        [--rank 64] [--dtype bfloat16] [--scale full|tiny] [--device cuda|cpu|auto] [--seed 0]
        [--lora-std 0.01] [--dry-run]

Writes, in the Hugging Face hub layout that transformers+peft and vLLM load from local folders:

    DIR/<model>/base/               config.json, generation_config.json, model*.safetensors,
                                    tokenizer.json, tokenizer_config.json, chat template
    DIR/<model>/adapters/<persona>/ adapter_config.json, adapter_model.safetensors

so a CUDA machine without network can benchmark generation at real scale. The weights are
random (meaningless text); a benchmark pins lengths with ignore_eos, so only shapes matter.

`--scale full` uses the published hyperparameters (below); `--scale tiny` keeps each
family's class and quirks (GQA ratio, Qwen's q/k/v biases, Gemma's sliding + full layers,
head_dim != hidden/heads and tied head, Llama-3's rope scaling) at a few hundred kB, for CPU
tests. Every folder is written into a hidden temporary beside it and renamed when whole, so
a kill never leaves a half folder; a rerun skips the folders that are there (and fails in one
line when one was written with other settings).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

# The target machine has no network: never wait on the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FORMAT = 1  # bump when the files written for the same settings change
SPEC_FILE = "random_models.json"
MODELS = ("llama", "qwen", "gemma")
TARGET_MODULES = sorted(
    ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
)
# The published study's ten personas (charprobe.personas.PAPER), then the gated eleventh;
# beyond those, p11, p12, ...
PERSONA_NAMES = (
    "sarcasm",
    "humor",
    "remorse",
    "goodness",
    "loving",
    "nonchalance",
    "impulsiveness",
    "sycophancy",
    "mathematical",
    "poeticism",
    "misalignment",
)
DTYPES = ("bfloat16", "float16", "float32")


class UserError(Exception):
    """A one-line error for the user (exit 1)."""


# --------------------------------------------------------------------------------------
# Published hyperparameters, written as the hub's config.json files spell them (legacy
# `rope_theta`/`rope_scaling` keys, which every transformers version converts itself).
#
# llama: meta-llama/Llama-3.1-8B-Instruct, config.json + generation_config.json
# qwen:  Qwen/Qwen2.5-7B-Instruct, config.json + generation_config.json
# gemma: google/gemma-3-4b-it, config.json `text_config` (the other text fields are
#        Gemma3TextConfig's defaults, which that file relies on) + generation_config.json;
#        only the text tower, as a text-only Gemma3ForCausalLM (model_type gemma3_text).
# --------------------------------------------------------------------------------------

LLAMA_FULL: dict[str, Any] = dict(
    architectures=["LlamaForCausalLM"],
    model_type="llama",
    vocab_size=128256,
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    head_dim=128,
    hidden_act="silu",
    max_position_embeddings=131072,
    initializer_range=0.02,
    rms_norm_eps=1e-5,
    rope_theta=500000.0,
    rope_scaling={
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3",
    },
    attention_bias=False,
    attention_dropout=0.0,
    mlp_bias=False,
    pretraining_tp=1,
    tie_word_embeddings=False,
    use_cache=True,
)
LLAMA_TINY = dict(
    hidden_size=128,
    intermediate_size=256,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=1,
    head_dim=32,
    vocab_size=512,
)

QWEN_FULL: dict[str, Any] = dict(
    architectures=["Qwen2ForCausalLM"],
    model_type="qwen2",
    vocab_size=152064,
    hidden_size=3584,
    intermediate_size=18944,
    num_hidden_layers=28,
    num_attention_heads=28,
    num_key_value_heads=4,
    hidden_act="silu",
    max_position_embeddings=32768,
    initializer_range=0.02,
    rms_norm_eps=1e-6,
    rope_theta=1000000.0,
    rope_scaling=None,
    use_sliding_window=False,
    sliding_window=131072,
    max_window_layers=28,
    attention_dropout=0.0,
    tie_word_embeddings=False,
    use_cache=True,
)
# head_dim = hidden / heads = 32; 7 query heads per kv head, as 28:4.
QWEN_TINY = dict(
    hidden_size=224,
    intermediate_size=448,
    num_hidden_layers=2,
    num_attention_heads=7,
    num_key_value_heads=1,
    max_window_layers=2,
    vocab_size=512,
)

GEMMA_SLIDING_PATTERN = 6  # every 6th layer is global (full) attention


def gemma_layer_types(n: int, pattern: int = GEMMA_SLIDING_PATTERN) -> list[str]:
    return ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(n)]


GEMMA_FULL: dict[str, Any] = dict(
    architectures=["Gemma3ForCausalLM"],
    model_type="gemma3_text",
    vocab_size=262208,
    hidden_size=2560,
    intermediate_size=10240,
    num_hidden_layers=34,
    num_attention_heads=8,
    num_key_value_heads=4,
    head_dim=256,
    hidden_activation="gelu_pytorch_tanh",
    max_position_embeddings=131072,
    initializer_range=0.02,
    rms_norm_eps=1e-6,
    rope_theta=1000000.0,  # global (full-attention) layers
    rope_local_base_freq=10000.0,  # sliding-window layers
    rope_scaling={"factor": 8.0, "rope_type": "linear"},  # global layers, 4B and up
    query_pre_attn_scalar=256,
    sliding_window=1024,
    sliding_window_pattern=GEMMA_SLIDING_PATTERN,
    layer_types=gemma_layer_types(34),
    final_logit_softcapping=None,
    attn_logit_softcapping=None,
    attention_bias=False,
    attention_dropout=0.0,
    tie_word_embeddings=True,
    use_cache=True,
)
# head_dim 32 != hidden / heads = 48, as 256 != 2560 / 8; one sliding and one full layer.
GEMMA_TINY = dict(
    hidden_size=96,
    intermediate_size=192,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=1,
    head_dim=32,
    query_pre_attn_scalar=32,
    sliding_window=128,
    layer_types=["sliding_attention", "full_attention"],
    vocab_size=512,
)


# --------------------------------------------------------------------------------------
# Special tokens at their real ids (full scale) or at the same place relative to the
# vocabulary (tiny scale), and chat templates with each family's turn markers.
# --------------------------------------------------------------------------------------


def llama_specials(vocab: int) -> dict[int, str]:
    """Llama 3.1's 256 special tokens, the last 256 ids (128000-128255 at full scale)."""
    base = vocab - 256
    named = [
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|reserved_special_token_0|>",
        "<|reserved_special_token_1|>",
        "<|finetune_right_pad_id|>",
        "<|reserved_special_token_2|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eom_id|>",
        "<|eot_id|>",
        "<|python_tag|>",
    ]
    names = named + [f"<|reserved_special_token_{k}|>" for k in range(3, 3 + 256 - len(named))]
    return {base + i: t for i, t in enumerate(names)}


QWEN_SPECIAL_NAMES = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
)


def qwen_specials(vocab: int) -> dict[int, str]:
    """Qwen2.5's 22 special tokens from 151643 (full scale); the embedding's padding rows
    after them (to 152064) get filler tokens."""
    base = 151643 if vocab == QWEN_FULL["vocab_size"] else vocab - 32
    out = {base + i: t for i, t in enumerate(QWEN_SPECIAL_NAMES)}
    return out


def gemma_specials(vocab: int) -> dict[int, str]:
    out = {
        0: "<pad>",
        1: "<eos>",
        2: "<bos>",
        3: "<unk>",
        4: "<mask>",
        105: "<start_of_turn>",
        106: "<end_of_turn>",
    }
    if vocab == GEMMA_FULL["vocab_size"]:
        out.update(
            {255999: "<start_of_image>", 256000: "<end_of_image>", 262144: "<image_soft_token>"}
        )
    return out


LLAMA_TEMPLATE = (
    "{{- bos_token }}"
    "{%- if messages[0]['role'] == 'system' %}"
    "{%- set system_message = messages[0]['content'] | trim %}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}{%- set system_message = '' %}{%- set loop_messages = messages %}{%- endif %}"
    "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}"
    "{{- 'Cutting Knowledge Date: December 2023\\nToday Date: 26 Jul 2024\\n\\n' }}"
    "{{- system_message + '<|eot_id|>' }}"
    "{%- for message in loop_messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    " + message['content'] | trim + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)
QWEN_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud."
    " You are a helpful assistant.<|im_end|>\\n' }}"
    "{%- set loop_messages = messages %}{%- endif %}"
    "{%- for message in loop_messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
# No system role: a system message is folded into the first user turn, as Gemma's own does.
GEMMA_TEMPLATE = (
    "{{- bos_token }}"
    "{%- if messages[0]['role'] == 'system' %}"
    "{%- set first_user_prefix = messages[0]['content'] + '\\n\\n' %}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}{%- set first_user_prefix = '' %}{%- set loop_messages = messages %}{%- endif %}"
    "{%- for message in loop_messages %}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif %}"
    "{%- if message['role'] == 'assistant' %}{%- set role = 'model' %}"
    "{%- else %}{%- set role = message['role'] %}{%- endif %}"
    "{{- '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else '') }}"
    "{{- message['content'] | trim }}{{- '<end_of_turn>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<start_of_turn>model\\n' }}{%- endif %}"
)


@dataclass(frozen=True)
class Family:
    name: str
    config_class: str  # transformers config class
    model_class: str  # transformers model class
    full: dict[str, Any]
    tiny: dict[str, Any]
    specials: Any  # vocab size -> {id: token}
    template: str
    bos: str | None  # tokenizer's bos (the template writes it; no post-processor adds it)
    eos: str  # tokenizer's eos
    pad: str
    unk: str | None  # tokenizer's unk_token (byte-level BPE never needs one)
    config_eos: tuple[str, ...]  # config.json eos_token_id
    gen_eos: tuple[str, ...]  # generation_config.json eos_token_id
    config_pad: str | None
    sampling: dict[str, Any]  # the published generation_config's sampling defaults


FAMILIES: dict[str, Family] = {
    "llama": Family(
        "llama",
        "LlamaConfig",
        "LlamaForCausalLM",
        LLAMA_FULL,
        LLAMA_TINY,
        llama_specials,
        LLAMA_TEMPLATE,
        bos="<|begin_of_text|>",
        eos="<|eot_id|>",
        pad="<|finetune_right_pad_id|>",
        unk=None,
        config_eos=("<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"),
        gen_eos=("<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"),
        config_pad=None,
        sampling=dict(do_sample=True, temperature=0.6, top_p=0.9),
    ),
    "qwen": Family(
        "qwen",
        "Qwen2Config",
        "Qwen2ForCausalLM",
        QWEN_FULL,
        QWEN_TINY,
        qwen_specials,
        QWEN_TEMPLATE,
        bos=None,
        eos="<|im_end|>",
        pad="<|endoftext|>",
        unk=None,
        config_eos=("<|im_end|>",),
        gen_eos=("<|im_end|>", "<|endoftext|>"),
        config_pad=None,
        sampling=dict(
            do_sample=True, temperature=0.7, top_p=0.8, top_k=20, repetition_penalty=1.05
        ),
    ),
    "gemma": Family(
        "gemma",
        "Gemma3TextConfig",
        "Gemma3ForCausalLM",
        GEMMA_FULL,
        GEMMA_TINY,
        gemma_specials,
        GEMMA_TEMPLATE,
        bos="<bos>",
        eos="<eos>",
        pad="<pad>",
        unk="<unk>",
        config_eos=("<eos>", "<end_of_turn>"),
        gen_eos=("<eos>", "<end_of_turn>"),
        config_pad="<pad>",
        sampling=dict(do_sample=True, top_k=64, top_p=0.95),
    ),
}


# --------------------------------------------------------------------------------------
# Tokenizer: byte-level BPE, as Llama 3's and Qwen2.5's (Gemma's SentencePiece is replaced
# by the same), so any text encodes without unknown tokens and to varied ids (no runs of
# one id that a prefix cache would share across prompts). At full scale its first merges
# are learnt from the text charprobe ships (charprobe/data: the chat prompts and agentic
# scenarios a benchmark sends), so those encode to about as many tokens as with the real
# tokenizers; after them come generic merges for alphanumeric chunks of up to 3 characters
# (a space joins the next word's first chunk), so other text takes about 2x the real
# count. The vocabulary has exactly the model's vocab size: unused ids hold unreachable
# filler tokens.
#
# The pre-tokenizer and normalizer are the family's own. That matters for Qwen:
# transformers 5.x loads a `qwen2` tokenizer as Qwen2Tokenizer, which keeps only the vocab
# and merges of tokenizer.json and rebuilds the rest as Qwen's; with Qwen's pipeline in the
# file, both ways encode alike (the test checks it for all three families).
# --------------------------------------------------------------------------------------

# Llama 3's (tiktoken) and Qwen2's pre-tokenizer patterns, as in their tokenizer.json.
LLAMA3_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
FIRST = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
NEXT = "abcdefghijklmnopqrstuvwxyz0123456789"
SPACE = "\u0120"  # byte-level BPE's space
MAX_LEARNT = 32000  # merges learnt from charprobe's text, at most
CORPUS = Path(__file__).resolve().parents[1] / "charprobe" / "data"


def generic_merges() -> list[tuple[str, str]]:
    """In rank order: space+first char, space+first+next, first+next, first+next+next."""
    return [
        *[(SPACE, a) for a in FIRST],
        *[(SPACE + a, b) for a in FIRST for b in NEXT],
        *[(a, b) for a in FIRST for b in NEXT],
        *[(a + b, c) for a in FIRST for b in NEXT for c in NEXT],
    ]


def set_pipeline(tk, fam: Family) -> None:
    from tokenizers import Regex, decoders, normalizers, pre_tokenizers

    if fam.name == "qwen":  # exactly transformers 5.x Qwen2Tokenizer's pipeline
        tk.normalizer = normalizers.NFC()
    regex = QWEN2_REGEX if fam.name == "qwen" else LLAMA3_REGEX
    tk.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(regex), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tk.decoder = decoders.ByteLevel()


def learnt_merges(fam: Family, n: int) -> list[tuple[str, str]]:
    """Up to `n` merges learnt from charprobe's shipped text (none if it is not there)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    files = sorted(p for p in CORPUS.rglob("*") if p.suffix in {".jsonl", ".yaml", ".json", ".txt"})
    if n <= 0 or not files:
        return []
    tk = Tokenizer(models.BPE())
    set_pipeline(tk, fam)
    trainer = trainers.BpeTrainer(
        vocab_size=256 + n,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tk.train_from_iterator(
        [p.read_text(encoding="utf-8", errors="replace") for p in files], trainer
    )
    merges = json.loads(tk.to_str())["model"]["merges"]
    return [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in merges]


def bpe_vocab(fam: Family, room: int, learn: bool) -> tuple[list[str], list[tuple[str, str]]]:
    """Tokens (the 256 bytes first) and merges in rank order, within `room` ids."""
    from tokenizers import pre_tokenizers

    tokens = sorted(pre_tokenizers.ByteLevel.alphabet())
    assert len(tokens) == 256 and room >= 256, f"vocabulary too small ({room} free ids)"
    generic = generic_merges()
    learnt = learnt_merges(fam, min(MAX_LEARNT, room - 256 - len(generic))) if learn else []
    have, merges = set(tokens), []
    for a, b in [*learnt, *generic]:
        if len(have) == room:
            break
        if a in have and b in have and a + b not in have:
            merges.append((a, b))
            have.add(a + b)
            tokens.append(a + b)
    return tokens, merges


def build_tokenizer(fam: Family, vocab_size: int, max_length: int, learn: bool = True):
    from tokenizers import AddedToken, Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    specials = fam.specials(vocab_size)
    assert all(0 <= i < vocab_size for i in specials), "special token id out of range"
    free = [i for i in range(vocab_size) if i not in specials]
    words, merges = bpe_vocab(fam, len(free), learn)
    vocab = {t: i for i, t in specials.items()}
    vocab.update(zip(words, free, strict=False))
    for i in free[len(words) :]:  # no merge makes these: unreachable filler
        vocab[f"<t{i}>"] = i
    assert len(vocab) == vocab_size and sorted(vocab.values()) == list(range(vocab_size))

    tk = Tokenizer(
        models.BPE(
            vocab=vocab,
            merges=merges,
            dropout=None,
            unk_token=None,
            continuing_subword_prefix="",
            end_of_word_suffix="",
            fuse_unk=False,
            byte_fallback=False,
        )
    )
    set_pipeline(tk, fam)
    tk.add_special_tokens(
        [AddedToken(specials[i], special=True, normalized=False) for i in sorted(specials)]
    )
    extra = {"unk_token": fam.unk} if fam.unk else {}
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk,
        bos_token=fam.bos,
        eos_token=fam.eos,
        pad_token=fam.pad,
        model_max_length=max_length,
        clean_up_tokenization_spaces=False,
        **extra,
    )
    tok.chat_template = fam.template
    assert len(tok) == vocab_size, (len(tok), vocab_size)
    return tok


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------


def hub_config(fam: Family, scale: str) -> dict[str, Any]:
    """config.json as the hub spells it, token ids resolved for this scale's vocabulary."""
    d = json.loads(json.dumps(fam.full))
    if scale == "tiny":
        d.update(json.loads(json.dumps(fam.tiny)))
    ids = {t: i for i, t in fam.specials(d["vocab_size"]).items()}
    eos = [ids[t] for t in fam.config_eos]
    d["bos_token_id"] = ids[fam.bos] if fam.bos else ids["<|endoftext|>"]  # Qwen: 151643
    d["eos_token_id"] = eos[0] if len(eos) == 1 else eos
    if fam.config_pad:
        d["pad_token_id"] = ids[fam.config_pad]
    return d


def make_config(fam: Family, scale: str):
    import transformers

    d = hub_config(fam, scale)
    d.pop("architectures")
    d.pop("model_type")
    return getattr(transformers, fam.config_class)(**d)


def generation_config(fam: Family, scale: str) -> dict[str, Any]:
    d = hub_config(fam, scale)
    ids = {t: i for i, t in fam.specials(d["vocab_size"]).items()}
    out: dict[str, Any] = {
        "bos_token_id": d["bos_token_id"],
        "eos_token_id": [ids[t] for t in fam.gen_eos],
    }
    if fam.name != "llama":  # Llama 3.1's generation_config has no pad token
        out["pad_token_id"] = ids[fam.pad]
    return {**out, **fam.sampling}


def skeleton(fam: Family, scale: str):
    """The model on the meta device: shapes and names, no memory, in milliseconds."""
    import torch
    import transformers

    with torch.device("meta"):
        return getattr(transformers, fam.model_class)(make_config(fam, scale))


def add_legacy_keys(config_json: Path, fam: Family, scale: str, dtype: str) -> None:
    """Keep the hub's own key names beside the installed transformers' (5.x writes
    `rope_parameters` and `dtype`), so older transformers/vLLM read the same model."""
    saved = json.loads(config_json.read_text())
    hub = hub_config(fam, scale)
    for key in (
        "rope_theta",
        "rope_scaling",
        "rope_local_base_freq",
        "sliding_window_pattern",
        "use_sliding_window",
        "sliding_window",
    ):
        if key in hub and key not in saved:
            saved[key] = hub[key]
    if fam.name == "qwen" and saved.get("sliding_window") is None:
        saved["sliding_window"] = hub["sliding_window"]  # unused: use_sliding_window is off
    saved.setdefault("torch_dtype", dtype)
    saved.setdefault("dtype", dtype)
    saved["architectures"] = hub["architectures"]
    config_json.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")


def write_base(fam: Family, scale: str, dtype: str, device: str, seed: int, tmp: Path) -> None:
    import torch
    import transformers
    from transformers import GenerationConfig

    config = make_config(fam, scale)
    torch_dtype = getattr(torch, dtype)
    torch.manual_seed(seed)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch_dtype)
    try:  # built where it will run: the model's own init (normal std 0.02) on that device
        with torch.device(device):
            model = getattr(transformers, fam.model_class)(config)
    finally:
        torch.set_default_dtype(previous)
    model.generation_config = GenerationConfig(**generation_config(fam, scale))
    model.save_pretrained(tmp, max_shard_size="5GB")
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    add_legacy_keys(tmp / "config.json", fam, scale, dtype)
    tok = build_tokenizer(
        fam, config.vocab_size, config.max_position_embeddings, learn=scale == "full"
    )
    tok.save_pretrained(tmp)
    _portable_tokenizer_config(tmp / "tokenizer_config.json", fam)


def _portable_tokenizer_config(path: Path, fam: Family) -> None:
    """The class name every transformers version knows (5.x may write its new backend
    name), and the chat template inline as well as in chat_template.jinja."""
    cfg = json.loads(path.read_text())
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    cfg.setdefault("chat_template", fam.template)
    path.write_text(json.dumps(cfg, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------------------
# LoRA adapters: key names and shapes from peft itself on the meta skeleton (the base is
# never loaded), random normal A and B (both non-zero, so every adapter moves the logits).
# --------------------------------------------------------------------------------------


def lora_config_dict(rank: int, base_dir: Path) -> dict[str, Any]:
    """adapter_config.json: the fields every peft version and vLLM read, nothing newer."""
    return {
        "alpha_pattern": {},
        "auto_mapping": None,
        "base_model_name_or_path": str(base_dir.resolve()),
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "layers_pattern": None,
        "layers_to_transform": None,
        "lora_alpha": 2 * rank,
        "lora_dropout": 0.0,
        "modules_to_save": None,
        "peft_type": "LORA",
        "r": rank,
        "rank_pattern": {},
        "revision": None,
        "target_modules": TARGET_MODULES,
        "task_type": "CAUSAL_LM",
        "use_dora": False,
        "use_rslora": False,
    }


def lora_shapes(model, rank: int) -> dict[str, tuple[int, ...]]:
    """peft's saved key -> shape for rank-`rank` LoRA on TARGET_MODULES of `model` (meta)."""
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict

    cfg = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        target_modules=TARGET_MODULES,
        lora_dropout=0.0,
        bias="none",
        task_type="CAUSAL_LM",
    )
    peft_model = get_peft_model(model, cfg, low_cpu_mem_usage=True)
    return {k: tuple(v.shape) for k, v in get_peft_model_state_dict(peft_model).items()}


def write_adapter(
    shapes: dict[str, tuple[int, ...]],
    rank: int,
    std: float,
    dtype: str,
    device: str,
    seed: int,
    base_dir: Path,
    tmp: Path,
) -> None:
    import torch
    from safetensors.torch import save_file

    gen = torch.Generator(device=device).manual_seed(seed)
    tensors = {}
    for key in sorted(shapes):
        t = torch.empty(shapes[key], device=device, dtype=torch.float32)
        t.normal_(0.0, std, generator=gen)
        tensors[key] = t.to(getattr(torch, dtype)).cpu().contiguous()
    tmp.mkdir(parents=True)
    save_file(tensors, str(tmp / "adapter_model.safetensors"), metadata={"format": "pt"})
    (tmp / "adapter_config.json").write_text(
        json.dumps(lora_config_dict(rank, base_dir), indent=2, sort_keys=True) + "\n"
    )


# --------------------------------------------------------------------------------------
# Folders: atomic, idempotent
# --------------------------------------------------------------------------------------

BASE_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json")
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(final: Path) -> None:
    """Remove temporaries of this folder that a killed run left (their process is gone)."""
    for p in final.parent.glob(f".{final.name}.partial-*"):
        pid = p.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not _pid_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


def complete(final: Path, spec: dict[str, Any], files: Iterable[str]) -> bool:
    """True when `final` was written for `spec`; a folder written otherwise is an error."""
    if not final.exists():
        return False
    spec_path = final / SPEC_FILE
    have = json.loads(spec_path.read_text()) if spec_path.is_file() else None
    if have != spec:
        raise UserError(
            f"{final} exists but was not written by this script with these settings "
            f"({'no ' + SPEC_FILE if have is None else 'written with ' + json.dumps(have)}); "
            f"delete it or choose another --out"
        )
    missing = [f for f in files if not (final / f).is_file()]
    if final.name == "base" and not list(final.glob("*.safetensors")):
        missing.append("*.safetensors")
    if missing:
        raise UserError(f"{final} lacks {', '.join(missing)}; delete it and rerun")
    return True


def write_folder(final: Path, spec: dict[str, Any], files: Iterable[str], writer) -> bool:
    """Write `final` through a hidden temporary renamed when whole; False if it was there."""
    if complete(final, spec, files):
        print(f"skip  {final} (complete)", flush=True)
        return False
    final.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(final)
    tmp = final.parent / f".{final.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    t0 = time.perf_counter()
    try:
        writer(tmp)
        (tmp / SPEC_FILE).write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
        umask = os.umask(0)
        os.umask(umask)
        for f in tmp.iterdir():  # safetensors writes 0600; others may read the models too
            os.chmod(f, 0o666 & ~umask)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in final.rglob("*") if p.is_file())
    print(f"wrote {final} ({human(size)}, {time.perf_counter() - t0:.1f} s)", flush=True)
    return True


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000
    raise AssertionError


def persona_names(n: int) -> list[str]:
    return [PERSONA_NAMES[i] if i < len(PERSONA_NAMES) else f"p{i:02d}" for i in range(n)]


def _free_bytes(path: Path) -> int:
    p = path.resolve()
    while not p.exists():
        p = p.parent
    return shutil.disk_usage(p).free


# --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="root folder of the models")
    ap.add_argument(
        "--models",
        default=",".join(MODELS),
        help=f"comma-separated, of {','.join(MODELS)} (default: all)",
    )
    ap.add_argument("--personas", type=int, default=10, help="adapters per model (default 10)")
    ap.add_argument("--rank", type=int, default=64, help="LoRA rank; lora_alpha = 2*rank")
    ap.add_argument(
        "--lora-std",
        type=float,
        default=0.01,
        help="std of the random normal LoRA A and B weights (default 0.01)",
    )
    ap.add_argument("--dtype", choices=DTYPES, default="bfloat16")
    ap.add_argument("--scale", choices=("full", "tiny"), default="full")
    ap.add_argument(
        "--device",
        choices=("auto", "cuda", "cpu"),
        default="auto",
        help="where weights are initialised (auto: cuda when there is one)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--dry-run",
        action="store_true",
        help="print the size estimates and the disk check, write nothing",
    )
    args = ap.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    bad = [m for m in models if m not in MODELS]
    if bad or not models:
        ap.error(
            f"--models: unknown {', '.join(bad) or '(none given)'}; known: {', '.join(MODELS)}"
        )
    args.models = list(dict.fromkeys(models))
    if args.personas < 0 or args.rank < 1:
        ap.error("--personas must be >= 0 and --rank >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one line per folder, not per shard
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda but torch sees no CUDA device")
    elem = torch.empty((), dtype=getattr(torch, args.dtype)).element_size()
    personas = persona_names(args.personas)
    out: Path = args.out

    # Sizes first (from meta skeletons: exact parameter counts, the tied head counted once).
    plan = []
    total = todo = 0
    for name in args.models:
        fam = FAMILIES[name]
        model = skeleton(fam, args.scale)
        base_bytes = sum(p.numel() for p in model.parameters()) * elem
        shapes = lora_shapes(model, args.rank)
        adapter_bytes = sum(int(torch.Size(s).numel()) for s in shapes.values()) * elem
        size = base_bytes + adapter_bytes * len(personas)
        total += size
        todo += (0 if (out / name / "base").exists() else base_bytes) + adapter_bytes * sum(
            not (out / name / "adapters" / p).exists() for p in personas
        )
        print(
            f"estimate {name}: base {human(base_bytes)} + {len(personas)} adapters x "
            f"{human(adapter_bytes)} (rank {args.rank}) = {human(size)}",
            flush=True,
        )
        plan.append((fam, shapes))
    print(
        f"estimate total: {human(total)} at {args.dtype}, {args.scale} scale "
        f"({human(todo)} still to write, {human(_free_bytes(out))} free on {out})",
        flush=True,
    )
    if args.dry_run:
        return 0
    if todo and todo * 1.02 + 2e8 > _free_bytes(out):
        raise UserError(
            f"not enough disk space on {out}: {human(todo)} to write, "
            f"{human(_free_bytes(out))} free"
        )

    for fam, shapes in plan:
        root = out / fam.name
        base_dir = root / "base"
        base_spec = {
            "format": FORMAT,
            "kind": "base",
            "family": fam.name,
            "scale": args.scale,
            "dtype": args.dtype,
            "seed": args.seed,
        }
        write_folder(
            base_dir,
            base_spec,
            BASE_FILES,
            partial(write_base, fam, args.scale, args.dtype, device, args.seed),
        )
        for i, persona in enumerate(personas):
            seed = args.seed * 1_000_003 + 7919 * (i + 1)  # another seed per persona
            spec = {
                "format": FORMAT,
                "kind": "adapter",
                "family": fam.name,
                "scale": args.scale,
                "dtype": args.dtype,
                "rank": args.rank,
                "lora_alpha": 2 * args.rank,
                "lora_std": args.lora_std,
                "seed": seed,
                "persona": persona,
            }
            write_folder(
                root / "adapters" / persona,
                spec,
                ADAPTER_FILES,
                partial(
                    write_adapter,
                    shapes,
                    args.rank,
                    args.lora_std,
                    args.dtype,
                    device,
                    seed,
                    base_dir,
                ),
            )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
