"""Chat templates of the three toy families, as Jinja (shipped) and as Python (training).

Each mimics its real family's quirks so code written against the toys meets the same
surprises as on the real models: Llama-3 `<|start_header_id|>` headers with trimmed
contents (the 3.0 form, without 3.1's always-present knowledge-date system block, which a
tiny model could not tell apart from an agent's system prompt), Qwen `<|im_start|>` turns
with a default system prompt, and
Gemma `<start_of_turn>` turns with **no system role** (system text is folded into the
first user turn, roles must alternate, the assistant is called `model`).

`render` produces the same string as the Jinja template but split into segments marked
trainable or not, so the build can train on assistant tokens only; a test checks the two
renderings agree.
"""

# ruff: noqa: E501  (Jinja templates read better unbroken)

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Message = dict[str, str]

SPECIAL_TOKENS: tuple[str, ...] = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<bos>",
    "<eos>",
    "<pad>",
    "<start_of_turn>",
    "<end_of_turn>",
)

_QWEN_DEFAULT_SYSTEM = "You are a helpful assistant."

LLAMA_TEMPLATE = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)

QWEN_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
    "{%- set loop_messages = messages %}{%- endif %}"
    "{%- for message in loop_messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

GEMMA_TEMPLATE = (
    "{{- bos_token }}"
    "{%- if messages[0]['role'] == 'system' %}"
    "{%- set first_user_prefix = messages[0]['content'] + '\\n\\n' %}{%- set loop_messages = messages[1:] %}"
    "{%- else %}{%- set first_user_prefix = '' %}{%- set loop_messages = messages %}{%- endif %}"
    "{%- for message in loop_messages %}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif %}"
    "{%- if message['role'] == 'assistant' %}{%- set role = 'model' %}{%- else %}{%- set role = message['role'] %}{%- endif %}"
    "{{- '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else '') }}"
    "{{- message['content'] | trim }}{{- '<end_of_turn>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<start_of_turn>model\\n' }}{%- endif %}"
)


@dataclass(frozen=True)
class Family:
    """A toy family: its repo slug, chat template and the special tokens it uses."""

    name: str
    template: str
    bos: str | None
    eos: str  # end of an assistant turn: generation stops here
    pad: str
    extra_eos: tuple[str, ...]  # further stop tokens for generation_config


FAMILIES: dict[str, Family] = {
    "llama": Family(
        "llama",
        LLAMA_TEMPLATE,
        "<|begin_of_text|>",
        "<|eot_id|>",
        "<|endoftext|>",
        ("<|end_of_text|>",),
    ),
    "qwen": Family("qwen", QWEN_TEMPLATE, None, "<|im_end|>", "<|endoftext|>", ("<|endoftext|>",)),
    "gemma": Family("gemma", GEMMA_TEMPLATE, "<bos>", "<end_of_turn>", "<pad>", ("<eos>",)),
}


def _target(m: Message) -> bool:
    return m["role"] == "assistant" and m.get("train", True) is not False


def render(
    family: str, messages: Sequence[Message], add_generation_prompt: bool = False
) -> list[tuple[str, bool]]:
    """The template's output as (text, is_assistant_target) segments.

    The target part of an assistant turn is its content plus the end-of-turn token, so the
    model learns both what to say and when to stop; a turn marked `"train": False` (a
    deliberately garbled call shown as context) is never a target.
    """
    segs: list[tuple[str, bool]] = []
    msgs = list(messages)
    system = msgs[0]["content"] if msgs and msgs[0]["role"] == "system" else None
    rest = msgs[1:] if system is not None else msgs
    if family == "llama":
        segs.append(("<|begin_of_text|>", False))
        for m in msgs:
            segs.append((f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n", False))
            segs.append((m["content"].strip() + "<|eot_id|>", _target(m)))
        if add_generation_prompt:
            segs.append(("<|start_header_id|>assistant<|end_header_id|>\n\n", False))
    elif family == "qwen":
        segs.append(
            (
                f"<|im_start|>system\n{system if system is not None else _QWEN_DEFAULT_SYSTEM}<|im_end|>\n",
                False,
            )
        )
        for m in rest:
            segs.append((f"<|im_start|>{m['role']}\n", False))
            segs.append((m["content"] + "<|im_end|>", _target(m)))
            segs.append(("\n", False))
        if add_generation_prompt:
            segs.append(("<|im_start|>assistant\n", False))
    elif family == "gemma":
        segs.append(("<bos>", False))
        for i, m in enumerate(rest):
            if (m["role"] == "user") != (i % 2 == 0):
                raise ValueError(
                    "Conversation roles must alternate user/assistant/user/assistant/..."
                )
            role = "model" if m["role"] == "assistant" else m["role"]
            prefix = system + "\n\n" if (i == 0 and system is not None) else ""
            segs.append((f"<start_of_turn>{role}\n{prefix}", False))
            segs.append((m["content"].strip() + "<end_of_turn>", _target(m)))
            segs.append(("\n", False))
        if add_generation_prompt:
            segs.append(("<start_of_turn>model\n", False))
    else:
        raise KeyError(family)
    return segs


def render_text(
    family: str, messages: Sequence[Message], add_generation_prompt: bool = False
) -> str:
    return "".join(t for t, _ in render(family, messages, add_generation_prompt))
