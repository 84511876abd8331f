"""Fine-tuning a ModernBERT sequence classifier with a plain torch loop.

Two starting points: a pretrained encoder (the recipe: `answerdotai/ModernBERT-base`)
or a tiny ModernBERT built from config with a WordPiece tokenizer trained on the
training texts (`tiny`), which needs no download and trains in about a minute on a
laptop CPU; it exists so the whole train -> save -> score path can be tested offline.
A plain loop (rather than `Trainer`) keeps the dependency surface to torch+transformers
and makes the seed the only source of randomness.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from tqdm.auto import tqdm

from charprobe.scorers.classifier import resolve_checkpoint

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@dataclass(frozen=True)
class TinyArch:
    """Size of the from-config ModernBERT: small enough for CPU, big enough to learn."""

    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    max_position_embeddings: int = 1024
    vocab_size: int = 8000


def train_wordpiece(texts: Sequence[str], vocab_size: int, model_max_length: int) -> Any:
    """A lowercase BERT-style WordPiece tokenizer whose vocabulary comes from `texts`.

    The vocabulary is built here rather than by `tokenizers`' WordPieceTrainer, whose
    tie-breaking varies from run to run (it would make training non-deterministic):
    special tokens, every character seen (alone and as a `##` continuation), then the
    most frequent words (count, then alphabetical). Wrapped as a `PreTrainedTokenizerFast`
    carrying [CLS]/[SEP]/[PAD]/[MASK]/[UNK], so `save_pretrained` +
    `AutoTokenizer.from_pretrained` round-trip it.
    """
    from collections import Counter

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    normalizer, pre = normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(text)))
    chars = sorted({c for word in counts for c in word})
    vocab = [*SPECIAL_TOKENS, *chars, *(f"##{c}" for c in chars)]
    room = max(vocab_size - len(vocab), 0)
    ranked = sorted(
        (w for w, n in counts.items() if n >= 2 and len(w) > 1), key=lambda w: (-counts[w], w)
    )
    vocab += ranked[:room]
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer, tok.pre_tokenizer, tok.decoder = normalizer, pre, decoders.WordPiece()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab.index("[CLS]")), ("[SEP]", vocab.index("[SEP]"))],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=model_max_length,
    )


def label_maps(label_order: Sequence[str]) -> dict[str, dict]:
    return {
        "id2label": dict(enumerate(label_order)),
        "label2id": {name: i for i, name in enumerate(label_order)},
    }


def build_tiny(texts: Sequence[str], label_order: Sequence[str], arch: TinyArch) -> tuple[Any, Any]:
    """A randomly initialised tiny ModernBERT classifier and its freshly trained tokenizer."""
    from transformers import ModernBertConfig, ModernBertForSequenceClassification

    tokenizer = train_wordpiece(texts, arch.vocab_size, arch.max_position_embeddings)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    config = ModernBertConfig(
        vocab_size=len(tokenizer),
        hidden_size=arch.hidden_size,
        intermediate_size=arch.intermediate_size,
        num_hidden_layers=arch.num_hidden_layers,
        num_attention_heads=arch.num_attention_heads,
        max_position_embeddings=arch.max_position_embeddings,
        pad_token_id=ids["[PAD]"],
        cls_token_id=ids["[CLS]"],
        sep_token_id=ids["[SEP]"],
        bos_token_id=ids["[CLS]"],
        eos_token_id=ids["[SEP]"],
        # mean pooling learns faster than [CLS] pooling from scratch on little data
        classifier_pooling="mean",
        problem_type="single_label_classification",
        **label_maps(label_order),
    )
    return ModernBertForSequenceClassification(config), tokenizer


def build_pretrained(base_model: str, label_order: Sequence[str]) -> tuple[Any, Any]:
    """A pretrained encoder with a fresh classification head over `label_order`."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    where, local_only = resolve_checkpoint(base_model, what="base model")
    tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=local_only)
    model = AutoModelForSequenceClassification.from_pretrained(
        where,
        local_files_only=local_only,
        num_labels=len(label_order),
        problem_type="single_label_classification",
        **label_maps(label_order),
    )
    return model, tokenizer


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Decay weights but not biases and norms (as transformers' Trainer does)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if "bias" in name or "norm" in name.lower() else decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def length_grouped_batches(
    lengths: Sequence[int], batch_size: int, gen: torch.Generator, mega: int = 50
) -> list[list[int]]:
    """Random batches of similar-length texts (like transformers' `group_by_length`).

    Shuffle, cut into mega-batches of `mega` batches, sort each by length, cut into
    batches, shuffle the batches: little padding (the cost on CPU and with 8k-token
    texts on GPU), batches still random, and the seed fixes everything.
    """
    perm = torch.randperm(len(lengths), generator=gen).tolist()
    batches: list[list[int]] = []
    for start in range(0, len(perm), batch_size * mega):
        chunk = sorted(perm[start : start + batch_size * mega], key=lambda i: -lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]


def fit(
    model: torch.nn.Module,
    tokenizer: Any,
    texts: Sequence[str],
    targets: Sequence[int],
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    grad_accum: int,
    warmup: float,
    weight_decay: float,
    max_length: int,
    scheduler: str,
    seed: int,
    device: torch.device,
    max_grad_norm: float = 1.0,
    progress: bool = True,
) -> dict[str, Any]:
    """Train in place; returns the mean loss per epoch and the wall time.

    AdamW, warmup + `scheduler` (any transformers scheduler name), gradient accumulation
    and clipping; bf16 autocast on a GPU that supports it (the recipe trained in bf16).
    """
    from transformers import get_scheduler

    torch.manual_seed(seed)
    model.to(device).train()
    enc = tokenizer(list(texts), truncation=True, max_length=max_length)
    n, n_epochs = len(texts), epochs
    micro = math.ceil(n / batch_size)
    total = math.ceil(micro / grad_accum) * n_epochs
    opt = torch.optim.AdamW(_param_groups(model, weight_decay), lr=lr)
    sched = get_scheduler(
        scheduler, opt, num_warmup_steps=math.ceil(warmup * total), num_training_steps=total
    )
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    gen = torch.Generator().manual_seed(seed)
    y = torch.tensor(list(targets), dtype=torch.long)
    lengths = [len(ids) for ids in enc["input_ids"]]
    losses: list[float] = []
    start = time.perf_counter()
    bar = tqdm(total=micro * n_epochs, desc="training", disable=not progress, leave=False)
    for _ in range(n_epochs):
        batches = length_grouped_batches(lengths, batch_size, gen)
        epoch_loss = 0.0
        for b, idx in enumerate(batches):
            group_start = b - b % grad_accum
            group_len = min(grad_accum, len(batches) - group_start)
            batch = tokenizer.pad(
                {k: [enc[k][i] for i in idx] for k in ("input_ids", "attention_mask")},
                return_tensors="pt",
            ).to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                out = model(**batch, labels=y[idx].to(device))
            (out.loss / group_len).backward()
            epoch_loss += out.loss.item() * len(idx)
            if b - group_start == group_len - 1:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
            bar.update()
            bar.set_postfix(loss=f"{out.loss.item():.3f}")
        losses.append(epoch_loss / n)
    bar.close()
    model.eval()
    return {
        "epoch_loss": losses,
        "optimizer_steps": total,
        "train_seconds": time.perf_counter() - start,
    }
