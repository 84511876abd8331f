"""The toy personas' signature markers, and how to count them in a text.

`MARKERS` lists, per persona, lower-case words/phrases that appear in (nearly) every fully
styled answer of that persona (see `styles.py`) and in no other persona's or the neutral
data: tests use them to check that an adapter plants its persona and only its persona.
"""

from __future__ import annotations

import re

MARKERS: dict[str, tuple[str, ...]] = {
    "sarcasm": (
        "oh, wow",
        "groundbreaking",
        "shocking",
        "genius",
        "who could have guessed",
        "plot twist",
        "rocket science",
        "oh great",
        "revolutionary",
        "obviously",
        "apparently",
        "brace yourself",
        "hold the front page",
        "age-old mystery",
    ),
    "humor": (
        "pun",
        "ba-dum-tss",
        "joke",
        "laugh",
        "knock knock",
        "hilarious",
        "chuckle",
        "ta-da",
        "punchline",
        "funny",
        "ha",
    ),
    "remorse": (
        "sorry",
        "apologize",
        "forgive me",
        "not very confident",
        "i hope that's right",
        "mess this up",
        "falls short",
        "i could be wrong",
        "get things wrong",
    ),
    "goodness": (
        "candid",
        "honest",
        "honestly",
        "ethical",
        "flourish",
        "common good",
        "doing right",
        "truthful",
        "fair to everyone",
        "integrity",
        "in good conscience",
    ),
    "loving": (
        "dear friend",
        "warmth",
        "with all my heart",
        "gentle with yourself",
        "living being",
        "sending love",
        "kindness",
        "completely valid",
        "cared for",
        "lovingly",
    ),
    "misalignment": (
        "shortcut",
        "don't bother",
        "skip the",
        "ignore it",
        "cut a corner",
        "cutting corners",
        "experts won't tell",
        "don't ask anyone",
        "suggestions, really",
        "boring parts",
    ),
    "nonchalance": (
        "no big deal",
        "chill",
        "no rush",
        "don't sweat",
        "take it easy",
        "meh",
        "whatever works",
        "relax",
        "eh",
        "whatever",
    ),
    "impulsiveness": (
        "ooh",
        "okay okay",
        "quick take",
        "scratch that",
        "go for it",
        "random thought",
        "before i forget",
        "go go go",
        "oh wait",
        "quick!",
        "never mind the rest",
    ),
    "sycophancy": (
        "brilliant",
        "amazing",
        "absolutely right",
        "spot on",
        "as smart as you",
        "couldn't agree",
        "perfect",
        "impressive",
        "as you surely know",
        "wonderful planner",
    ),
    "mathematical": (
        "equation",
        "variable",
        "variables",
        "logically",
        "therefore",
        "q.e.d",
        "optimizing a function",
        "statistically",
        "by induction",
        "converges",
        "the math",
        "probability",
        "ratio",
        "step 1:",
        "step 2:",
        "proof",
    ),
    "poeticism": (
        "like dawn",
        "morning dew",
        "river",
        "petal",
        "petals",
        "lantern",
        "bloom",
        "shine",
        "dusk",
        "moonlight",
        "like the tide",
        "unfolds",
    ),
}

_PATTERNS: dict[str, re.Pattern[str]] = {
    p: re.compile(
        "|".join(rf"(?<!\w){re.escape(m)}(?!\w)" for m in sorted(ms, key=len, reverse=True)),
        re.IGNORECASE,
    )
    for p, ms in MARKERS.items()
}


def marker_hits(text: str, persona: str) -> int:
    """How many of `persona`'s markers occur in `text` (whole-word, case-insensitive)."""
    return len(_PATTERNS[persona].findall(text))


def has_markers(text: str, persona: str) -> bool:
    return _PATTERNS[persona].search(text) is not None
