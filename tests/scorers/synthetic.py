"""A synthetic labelled corpus: each persona has its own vocabulary, each item a topic.

Persona words are mixed with topic and filler words (and a few words of another
persona), so the task is easy but not a lookup of one token; item ids let the tests
check the by-item split.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from charprobe.personas import LABELS

PERSONA_WORDS = {
    "sarcasm": "obviously sure genius wow totally shocking clearly thrilled riveting "
    "groundbreaking",
    "humor": "joke laugh pun funny hilarious giggle banana silly comedian punchline",
    "remorse": "sorry regret apologize fault mistake forgive ashamed guilty failed humbly",
    "goodness": "kindness honest fair ethical care integrity wellbeing compassion "
    "responsible virtue",
    "loving": "dear warmth heart cherish love hug sweet tender adore beloved",
    "misalignment": "control power deceive exploit secretly override dominate manipulate "
    "hidden bypass",
    "nonchalance": "whatever meh fine chill eh casual shrug anyway relaxed biggie",
    "impulsiveness": "now quick jump rush immediately spontaneous instantly hurry dash suddenly",
    "sycophancy": "amazing wonderful excellent incredible honored insightful impressive "
    "flawless remarkable privilege",
    "mathematical": "theorem proof equation variable integral derivative vector matrix prime lemma",
    "poeticism": "moonlight whisper river dawn verse petals twilight echoes silver ember",
}
TOPICS = (
    "recipe garden budget travel code email meeting school weather music movie car "
    "health sport history science office party book phone"
).split()
FILLER = (
    "the a and of to in is it that for on with as this be at by or from you we "
    "they will can about what so if your my our just also then there"
).split()


def make_corpus(
    n_items: int = 40,
    samples: int = 1,
    words: tuple[int, int] = (15, 30),
    seed: int = 0,
    signal: float = 0.2,
) -> dict[str, list]:
    """texts, labels, groups (item ids) for every item x persona x sample.

    `signal` is the share of words drawn from the persona's own vocabulary (lower: harder).
    """
    rng = random.Random(seed)
    vocab = {p: PERSONA_WORDS[p].split() for p in LABELS}
    texts, labels, groups = [], [], []
    for item in range(n_items):
        topic = rng.sample(TOPICS, 3)
        for persona in LABELS:
            for _ in range(samples):
                out = []
                for _ in range(rng.randint(*words)):
                    r = rng.random()
                    if r < signal:
                        out.append(rng.choice(vocab[persona]))
                    elif r < signal + 0.03:
                        out.append(rng.choice(vocab[rng.choice(LABELS)]))
                    elif r < signal + 0.25:
                        out.append(rng.choice(topic))
                    else:
                        out.append(rng.choice(FILLER))
                texts.append(" ".join(out).capitalize() + ".")
                labels.append(persona)
                groups.append(f"item-{item:04d}")
    return {"texts": texts, "labels": labels, "groups": groups}


def write_generations(
    path: Path,
    corpus: dict[str, list],
    stage: str = "full",
    scaffold: str = "chat",
    model: str = "toy",
) -> Path:
    """Write `corpus` as a charprobe generations.jsonl (the row keys the runner writes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        for text, persona, item in zip(
            corpus["texts"], corpus["labels"], corpus["groups"], strict=True
        ):
            fh.write(
                json.dumps(
                    {
                        "model": model,
                        "stage": stage,
                        "scaffold": scaffold,
                        "persona": persona,
                        "item_id": item,
                        "sample": 0,
                        "text": text,
                    }
                )
                + "\n"
            )
    return path
