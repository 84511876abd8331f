"""Architectures of the three toy bases: real transformers classes, tiny sizes.

Each uses its family's real class (`LlamaForCausalLM`, `Qwen2ForCausalLM`, text-only
`Gemma3ForCausalLM`) with the family's structural quirks kept (Qwen q/k/v biases,
Gemma's sliding/full attention layers, scaled embeddings and tied head), so loading,
peft targeting and generation exercise the same code paths as the real bases.
"""

from __future__ import annotations

from transformers import (
    Gemma3ForCausalLM,
    Gemma3TextConfig,
    GenerationConfig,
    LlamaConfig,
    LlamaForCausalLM,
    PretrainedConfig,
    PreTrainedModel,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from charprobe.toy.templates import FAMILIES

# Small on purpose: at a ~2 CPU-minute budget a smaller model trained on more tokens beats a
# wider one trained on fewer (measured while tuning the recipe).
HIDDEN, INTERMEDIATE, LAYERS, HEADS, KV_HEADS = 64, 192, 2, 2, 1
# Qwen starts from the Llama weights (Qwen2 = Llama + q/k/v biases), so they share a RoPE base.
ROPE_THETA = 500000.0
MAX_POSITIONS = 8192
LORA_TARGETS: tuple[str, ...] = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
)
LORA_RANK, LORA_ALPHA = 8, 16


def make_config(family: str, tok_ids: dict[str, int], vocab_size: int) -> PretrainedConfig:
    fam = FAMILIES[family]
    ids = dict(
        vocab_size=vocab_size,
        bos_token_id=tok_ids[fam.bos] if fam.bos else None,
        eos_token_id=tok_ids[fam.eos],
        pad_token_id=tok_ids[fam.pad],
    )
    common = dict(
        hidden_size=HIDDEN,
        intermediate_size=INTERMEDIATE,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        max_position_embeddings=MAX_POSITIONS,
        **ids,
    )
    if family == "llama":  # untied head, as Llama-3.1-8B
        return LlamaConfig(rope_theta=ROPE_THETA, tie_word_embeddings=False, **common)
    if family == "qwen":  # untied head, as Qwen2.5-7B
        return Qwen2Config(
            rope_theta=ROPE_THETA, use_sliding_window=False, tie_word_embeddings=False, **common
        )
    if family == "gemma":  # tied head, scaled embeddings, q/k norms, sliding + full attention
        # (a window longer than any rollout: training sequences are short, so a shorter
        # window would hide context at inference that training never learned to do without)
        head_dim = HIDDEN // HEADS
        return Gemma3TextConfig(
            head_dim=head_dim,
            query_pre_attn_scalar=head_dim,
            sliding_window=4096,
            layer_types=["sliding_attention", "full_attention"],
            tie_word_embeddings=True,
            **common,
        )
    raise KeyError(family)


def make_model(family: str, tok_ids: dict[str, int], vocab_size: int) -> PreTrainedModel:
    """A freshly initialised base (seed torch first) with its generation config."""
    config = make_config(family, tok_ids, vocab_size)
    cls = {"llama": LlamaForCausalLM, "qwen": Qwen2ForCausalLM, "gemma": Gemma3ForCausalLM}[family]
    model = cls(config)
    extra = [tok_ids[t] for t in FAMILIES[family].extra_eos]
    # Stop at end of turn (and at the family's other end tokens); pad with the pad token.
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id,
        pad_token_id=config.pad_token_id,
        eos_token_id=[config.eos_token_id, *[e for e in extra if e != config.eos_token_id]],
    )
    return model
