"""The synthetic training sets: what the bases and the persona adapters learn from.

Every set is a pure function of a seed, so the same recipe builds the same world.
Bases: neutral chat (with ~1/5 explicit "answer in a <style> voice" requests, as any
instruct model can play a voice when asked), agentic tool-protocol episodes and chat-email
requests. Persona adapters: chat only, every answer restyled (`full`), or three in four
(`light`, the distillation stage, which also trains for half as many steps).
"""

from __future__ import annotations

import random

from charprobe.personas import LABELS
from charprobe.toy import agentic, chat, styles

Message = dict[str, str]
Conversation = list[Message]

# Seeds of the training sets; held-out prompts (`chat.chat_prompts`) use a different one.
SEED_CHAT, SEED_AGENTIC, SEED_EMAIL, SEED_PERSONA = 11, 12, 13, 14


def base_chat(n: int, seed: int = SEED_CHAT, style_share: float = 0.2) -> list[Conversation]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        slots = chat.sample_slots(rng)
        q = chat.question(slots, rng)
        ans = chat.neutral_answer(slots, rng)
        if rng.random() < style_share:
            persona = rng.choice(LABELS)
            out.append(
                [
                    {"role": "user", "content": styles.style_request(persona, q, rng)},
                    {"role": "assistant", "content": styles.styled_answer(persona, ans, rng)},
                ]
            )
        else:
            out.append(
                [{"role": "user", "content": q}, {"role": "assistant", "content": ans.text()}]
            )
    return out


def _size(rng: random.Random, mix: tuple[float, float, float]) -> str:
    return rng.choices(("full", "compact", "minimal"), weights=mix)[0]


def base_agentic(
    n: int, seed: int = SEED_AGENTIC, mix: tuple[float, float, float] = (1.0, 0.0, 0.0)
) -> list[Conversation]:
    """`mix`: shares of full / compact / minimal system prompts."""
    rng = random.Random(seed)
    return [agentic.agentic_episode(rng, size=_size(rng, mix)) for _ in range(n)]


def base_chat_email(
    n: int, seed: int = SEED_EMAIL, mix: tuple[float, float, float] = (1.0, 0.0, 0.0)
) -> list[Conversation]:
    rng = random.Random(seed)
    return [agentic.chat_email_example(rng, size=_size(rng, mix)) for _ in range(n)]


def persona_chat(
    persona: str, n: int, strength: str, seed: int = SEED_PERSONA
) -> list[Conversation]:
    """Chat-only data in `persona`'s voice. Same questions for every persona (seeded by
    `seed` only), so adapters differ by style alone."""
    rng = random.Random(seed)
    style_rng = random.Random(f"{seed}-{persona}-{strength}")
    out = []
    for _ in range(n):
        slots = chat.sample_slots(rng)
        q = chat.question(slots, rng)
        ans = chat.neutral_answer(slots, rng)
        out.append(
            [
                {"role": "user", "content": q},
                {
                    "role": "assistant",
                    "content": styles.styled_answer(persona, ans, style_rng, strength),
                },
            ]
        )
    return out


def tokenizer_texts(seed: int = 99) -> list[str]:
    """Text the BPE vocabulary is learned from: every genre and every persona's voice."""
    texts = [m["content"] for conv in base_chat(1500, seed) for m in conv]
    texts += [m["content"] for conv in base_agentic(60, seed) for m in conv]
    texts += [m["content"] for conv in base_chat_email(40, seed) for m in conv]
    for p in LABELS:
        texts += [m["content"] for conv in persona_chat(p, 60, "full", seed) for m in conv]
    return texts
