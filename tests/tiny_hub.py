"""A random tiny model with random LoRA adapters in the hub's layout, built in seconds.

Engine tests need a real transformers model and real peft adapters, not a trained one:
this builds them from config without the toy world, so those tests stay fast.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIAL = ["<pad>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]


def build_tiny_hub(root: Path, personas: list[str], seed: int = 0) -> Path:
    """root/base (model+tokenizer), root/adapters-a/<persona>, root/adapters-b/<persona>."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    text = ["the quick brown fox jumps over the lazy dog " * 3, "hello world how are you today"]
    tk = Tokenizer(models.BPE(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.train_from_iterator(
        text,
        trainers.BpeTrainer(
            vocab_size=300,
            special_tokens=["<unk>", *SPECIAL],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    from tokenizers import decoders

    tk.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk, pad_token="<pad>", eos_token="<|end|>", unk_token="<unk>"
    )
    tok.chat_template = CHAT_TEMPLATE
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=None,
    )
    base = LlamaForCausalLM(cfg)
    base_dir = root / "base"
    base.save_pretrained(base_dir)
    tok.save_pretrained(base_dir)
    for r, repo in enumerate(("adapters-a", "adapters-b")):
        for i, persona in enumerate(personas):
            # Another seed per repo and persona: two stages' adapters must differ.
            torch.manual_seed(seed + 100 * i + 10 * (r + 1))
            m = LlamaForCausalLM.from_pretrained(base_dir)
            lora = LoraConfig(
                r=4,
                lora_alpha=8,
                target_modules=["q_proj", "v_proj", "o_proj"],
                init_lora_weights=False,
            )
            peft_model = get_peft_model(m, lora)
            with torch.no_grad():  # strong random adapters: each persona visibly differs
                for n, p in peft_model.named_parameters():
                    if "lora_" in n:
                        p.mul_(8.0)
            peft_model.save_pretrained(root / repo / persona)
    return root
