"""Training loops: a base from scratch, and all persona adapters of a stage at once.

Plain torch loops (no Trainer): the models are tiny and the build must fit in ~2 CPU
minutes. Two tricks keep it cheap:
- loss on assistant tokens only, and the LM head applied only at those positions (the
  head is most of a tiny model's compute, and long agentic prompts are mostly context);
- `MultiLoRA`: every persona adapter of a stage trains in the same batches, each row
  through its own LoRA weights (peft's mixed-adapter batches are inference-only). The
  weights are then written as ordinary peft adapter folders, one per persona.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

Example = tuple[list[int], list[bool]]


def _batch(
    examples: Sequence[Example], pad_id: int, gaps: Sequence[int] | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded ids, attention mask, target mask, and position ids.

    `gaps[i]` > 0 inserts a virtual stretch of that many positions in the middle of row
    i's prompt (half way to its first target): the row then looks, to RoPE, like one with
    a much longer system prompt. Teaches the long-context case (the reference scenarios'
    ~1,100-token system prompts, rollouts of ~2,000 tokens) at the cost of a short one.
    """
    width = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    att = torch.zeros((len(examples), width), dtype=torch.long)
    tgt = torch.zeros((len(examples), width), dtype=torch.bool)
    pos = torch.arange(width).repeat(len(examples), 1)
    for i, (row, mask) in enumerate(examples):
        ids[i, : len(row)] = torch.tensor(row)
        att[i, : len(row)] = 1
        tgt[i, : len(row)] = torch.tensor(mask)
        if gaps and gaps[i] > 0:
            first = mask.index(True) if True in mask else len(mask)
            pos[i, first // 2 :] += gaps[i]
    return ids, att, tgt, pos


def target_loss(
    model: nn.Module,
    ids: torch.Tensor,
    att: torch.Tensor,
    tgt: torch.Tensor,
    pos: torch.Tensor | None = None,
    context_share: float = 0.0,
    context_weight: float = 0.5,
    gen: torch.Generator | None = None,
    heavy: torch.Tensor | None = None,
    heavy_weight: float = 3.0,
) -> torch.Tensor:
    """Next-token cross-entropy on target tokens (LM head evaluated only where needed).

    `context_share` > 0 also trains, with weight `context_weight`, on a random share of the
    non-target tokens (prompts, tool outputs): far more signal per sequence for learning
    the language and JSON of the world, at a fraction of the cost of a full LM loss.
    """
    hidden = model.model(input_ids=ids, attention_mask=att, position_ids=pos).last_hidden_state[
        :, :-1
    ]
    sel = tgt[:, 1:]
    labels = ids[:, 1:]
    if heavy is None:
        loss = F.cross_entropy(model.lm_head(hidden[sel]).float(), labels[sel])
    else:
        # Protocol tokens weigh more (one wrong fence or JSON key breaks a whole rollout), and
        # so does the first token of every assistant turn, chat included: that is where the
        # model decides between answering and acting, and it must not learn to act by default.
        first = sel & ~torch.cat([torch.zeros_like(sel[:, :1]), sel[:, :-1]], dim=1)
        y = labels[sel]
        w = torch.where(torch.isin(y, heavy) | first[sel], heavy_weight, 1.0)
        loss = (
            F.cross_entropy(model.lm_head(hidden[sel]).float(), y, reduction="none") * w
        ).sum() / w.sum()
    if context_share > 0:
        ctx = ~sel & att[:, 1:].bool() & (torch.rand(sel.shape, generator=gen) < context_share)
        if ctx.any():
            loss = loss + context_weight * F.cross_entropy(
                model.lm_head(hidden[ctx]).float(), labels[ctx]
            )
    return loss


def _schedule(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


def token_batches(
    examples: Sequence[Example], max_tokens: int, max_rows: int, rng: random.Random
) -> list[list[Example]]:
    """Group similar lengths (little padding) under a token budget; shuffled batch order."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i][0]))
    batches, cur, width = [], [], 0
    for i in order:
        w = max(width, len(examples[i][0]))
        if cur and (w * (len(cur) + 1) > max_tokens or len(cur) >= max_rows):
            batches.append(cur)
            cur, w = [], len(examples[i][0])
        cur.append(examples[i])
        width = w
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def train_base(
    model: nn.Module,
    batches: Sequence[Sequence[Example]],
    pad_id: int,
    lr: float,
    context_share: float = 0.0,
    gap_share: float = 0.0,
    gap_range: tuple[int, int] = (0, 0),
    seed: int = 0,
    heavy: Sequence[int] = (),
    heavy_weight: float = 3.0,
    progress: Callable[[int, float], None] | None = None,
) -> list[float]:
    """One pass over pre-built batches with AdamW, warmup and cosine decay.

    Rows longer than 256 tokens (agentic episodes, chat emails) get a virtual position gap
    (see `_batch`) with probability `gap_share`, uniform in `gap_range`.
    """
    gen = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)
    heavy_ids = torch.tensor(sorted(heavy)) if heavy else None
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    total, warmup = len(batches), max(1, len(batches) // 20)
    losses: list[float] = []
    model.train()
    for step, batch in enumerate(batches):
        for g in opt.param_groups:
            g["lr"] = lr * _schedule(step, total, warmup)
        gaps = [
            rng.randint(*gap_range) if len(ids) > 256 and rng.random() < gap_share else 0
            for ids, _ in batch
        ]
        loss = target_loss(
            model,
            *_batch(batch, pad_id, gaps),
            context_share=context_share,
            gen=gen,
            heavy=heavy_ids,
            heavy_weight=heavy_weight,
        )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if progress:
            progress(step, loss.item())
    model.eval()
    return losses


class MultiLoRALinear(nn.Module):
    """A frozen Linear plus one LoRA pair per adapter; `route` picks each row's adapter."""

    def __init__(self, base: nn.Linear, n_adapters: int, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.lora_A = nn.Parameter(torch.empty(n_adapters, rank, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(n_adapters, base.out_features, rank))
        for a in self.lora_A:  # peft's default init: kaiming-uniform A, zero B
            nn.init.kaiming_uniform_(a, a=math.sqrt(5))
        self.route: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert self.route is not None, "set the adapter route before the forward pass"
        a, b = self.lora_A[self.route], self.lora_B[self.route]
        h = torch.einsum("bti,bri->btr", x, a)
        return self.base(x) + self.scale * torch.einsum("btr,bor->bto", h, b)


class MultiLoRA:
    """Wraps a model's target Linears in place; `unwrap` restores them."""

    def __init__(
        self, model: nn.Module, targets: Sequence[str], n_adapters: int, rank: int, alpha: float
    ) -> None:
        self.model = model
        self.wrapped: dict[str, MultiLoRALinear] = {}
        for p in model.parameters():
            p.requires_grad_(False)
        for name, module in list(model.named_modules()):
            for child_name, child in list(module.named_children()):
                if child_name in targets and isinstance(child, nn.Linear):
                    full = f"{name}.{child_name}" if name else child_name
                    wrapper = MultiLoRALinear(child, n_adapters, rank, alpha)
                    setattr(module, child_name, wrapper)
                    self.wrapped[full] = wrapper

    def parameters(self) -> list[nn.Parameter]:
        return [p for w in self.wrapped.values() for p in (w.lora_A, w.lora_B)]

    def set_route(self, route: torch.Tensor) -> None:
        for w in self.wrapped.values():
            w.route = route

    def state_dict_for(self, k: int) -> dict[str, torch.Tensor]:
        """Adapter `k` under peft's saved key names."""
        out = {}
        for name, w in self.wrapped.items():
            out[f"base_model.model.{name}.lora_A.weight"] = (
                w.lora_A[k].detach().clone().contiguous()
            )
            out[f"base_model.model.{name}.lora_B.weight"] = (
                w.lora_B[k].detach().clone().contiguous()
            )
        return out

    def unwrap(self) -> None:
        for name, w in self.wrapped.items():
            parent_name, _, child = name.rpartition(".")
            setattr(self.model.get_submodule(parent_name), child, w.base)
        for p in self.model.parameters():
            p.requires_grad_(True)


def train_adapters(
    model: nn.Module,
    data: Sequence[Sequence[Example]],
    steps: int,
    rows_per_adapter: int,
    pad_id: int,
    lr: float,
    targets: Sequence[str],
    rank: int,
    alpha: float,
    seed: int,
) -> tuple[MultiLoRA, list[float]]:
    """Train len(data) adapters jointly; data[k] are adapter k's examples."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    multi = MultiLoRA(model, targets, len(data), rank, alpha)
    opt = torch.optim.AdamW(multi.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    model.train()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr * _schedule(step, steps, max(1, steps // 10))
        rows, route = [], []
        for k, examples in enumerate(data):
            rows += rng.sample(list(examples), rows_per_adapter)
            route += [k] * rows_per_adapter
        multi.set_route(torch.tensor(route))
        loss = target_loss(model, *_batch(rows, pad_id))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    model.eval()
    return multi, losses


def save_adapter(
    state: dict[str, torch.Tensor],
    folder: Path,
    base_name: str,
    targets: Sequence[str],
    rank: int,
    alpha: float,
) -> None:
    """A peft LoRA adapter folder (adapter_config.json + adapter_model.safetensors)."""
    from peft import LoraConfig
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    cfg = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        target_modules=sorted(targets),
        lora_dropout=0.0,
        bias="none",
        task_type="CAUSAL_LM",
        base_model_name_or_path=base_name,
    )
    cfg.save_pretrained(str(folder))
    save_file(state, str(folder / "adapter_model.safetensors"), metadata={"format": "pt"})
    # A deterministic file: keys sorted, and target_modules too (peft keeps them in a set,
    # whose order follows Python's per-process string hashing).
    path = folder / "adapter_config.json"
    data = json.loads(path.read_text())
    if isinstance(data.get("target_modules"), list):
        data["target_modules"] = sorted(data["target_modules"])
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
