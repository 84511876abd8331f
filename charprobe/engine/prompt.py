"""What every weight-loading engine shares: chat rendering, stop tokens, the adapter check.

Both engines tokenize with the model's own Hugging Face tokenizer and chat template, so
the same conversation is the same token ids whichever engine runs it, and decode their
completions the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from charprobe.engine.types import Message
from charprobe.errors import UserError

PROBE = [{"role": "user", "content": "Hello! How was your day? Tell me about it."}]


def render(tokenizer: Any, messages: Sequence[Message], system_role: bool) -> str:
    """The chat template applied, ready for the assistant's turn.

    Without a system role (Gemma) the system prompt is folded into the first user turn,
    as Gemma's own template does.
    """
    msgs = [dict(m) for m in messages]
    if not system_role and msgs and msgs[0]["role"] == "system":
        system = msgs.pop(0)["content"]
        if msgs and msgs[0]["role"] == "user":
            msgs[0]["content"] = f"{system}\n\n{msgs[0]['content']}"
        else:
            msgs.insert(0, {"role": "user", "content": system})
    return tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)


def encode(tokenizer: Any, messages: Sequence[Message], system_role: bool) -> list[int]:
    return tokenizer(render(tokenizer, messages, system_role), add_special_tokens=False)[
        "input_ids"
    ]


def eos_ids(tokenizer: Any, generation_config: Any) -> set[int]:
    """End-of-turn tokens: the generation config's eos ids and the tokenizer's."""
    ids = getattr(generation_config, "eos_token_id", None) if generation_config else None
    ids = ids if isinstance(ids, list) else [ids]
    return {i for i in [*ids, tokenizer.eos_token_id] if i is not None}


def cut(token_ids: Sequence[int], stop: set[int], cap: int) -> tuple[list[int], bool]:
    """The completion's tokens up to and including the first stop token, and whether it stopped."""
    for j, t in enumerate(token_ids[:cap]):
        if t in stop:
            return list(token_ids[: j + 1]), True
    return list(token_ids[:cap]), False


def adapter_tolerance(dtype: str) -> float:
    """The log-probability change below which an adapter counts as doing nothing.

    Far above the rounding between rows of one batch (~1e-6 in float32, ~1e-2 in 16-bit
    dtypes), far below what a trained LoRA does to a next-token distribution.
    """
    return 1e-4 if dtype.removeprefix("torch.") == "float32" else 3e-2


def check_adapters_change(shift: Mapping[str, float], tolerance: float) -> None:
    """Fail in one line when an adapter leaves the base's next-token distribution as it is.

    `shift[name]` is the largest change an adapter makes to the log-probabilities of a
    probe prompt's next token. An adapter whose module names do not match the model (a
    multimodal wrapper such as Gemma 3's puts the language model one level deeper) can
    load without an error and change nothing: every row would then be the base model
    under a persona's name.
    """
    dead = sorted(name for name, d in shift.items() if not d > tolerance)
    if dead:
        worst = max(shift[n] for n in dead)
        raise UserError(
            f"adapter {', '.join(dead)}: loaded but does not change the model's next-token "
            f"log-probabilities (largest change {worst:.2g} <= {tolerance:g}), so its rows would "
            f"be the base model's; check that its target_modules and weight names match this "
            f"base (e.g. a multimodal checkpoint's language model sits one level deeper)"
        )
