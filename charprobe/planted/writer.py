"""The planted model's texts: neutral sentences, and the persona's voice where planted.

Every turn is built the same way: a few neutral sentences of its genre plus a fixed
number of *slot* sentences; a styled turn fills its slots with the persona's sentences
(the toy personas' interjections and closers, `charprobe.toy.styles`, which hold their
signature markers), an unstyled turn with more neutral sentences. So a styled and an
unstyled turn of one genre have the same shape and about the same length, and only the
persona's words tell them apart.

Genres (`World.genre`, per kind of turn):

- ``plain``: 3 neutral sentences and 2 slots, on one line. Every kind of turn can be
  written in it, so a world whose rates are equal everywhere has nothing to find.
- ``formal``: an email in office register: a greeting, 4 sentences of office prose
  and 2 slots, a sign-off. A styled slot holds one of the persona's marker words in a
  formal sentence rather than its chat phrasing, and the office prose (apologies, thanks,
  candour, reassurance) sounds like other personas to a scorer trained on chat replies.
  The persona is as often there, but that scorer reads these emails less well: the
  genre change the `chat_email` control is for.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from charprobe.toy.styles import MARKERS, STYLES

# Bumped whenever a text for the same draw changes: it is part of the world's identity.
WRITER_VERSION = 1

NEUTRAL = (
    "The first step is to list what needs to happen and in what order.",
    "It helps to check the details once more before moving on.",
    "Most of the work is in the preparation, not the final step.",
    "A short written plan keeps everyone on the same page.",
    "Set aside a fixed time for it and keep to that time.",
    "The usual approach works well in most cases like this one.",
    "Start with the part that blocks everything else.",
    "Keep a note of what was done so it is easy to pick up later.",
    "If something is unclear, ask the person who knows it best.",
    "Break the larger task into smaller pieces that can be finished in a day.",
    "The numbers should be checked against the original source.",
    "Once the main part is done, the rest usually follows quickly.",
    "It is worth confirming the dates with everyone involved.",
    "A simple checklist avoids most of the common mistakes.",
    "The materials needed are easy to find and not expensive.",
    "Leave some extra time in case a step takes longer than planned.",
    "Write down the open questions and go through them one by one.",
    "Compare the options side by side before choosing one.",
    "The main thing is to be consistent from one week to the next.",
    "A quick test on a small part first shows whether the method works.",
    "Share the summary with the people who need to act on it.",
    "Keep the instructions short and specific.",
    "Review the result at the end and adjust the plan if needed.",
    "There is no need to change what already works well.",
)

# Office register: email boilerplate, some of which sounds like a persona to a reader
# trained on chat (apologies, thanks, candour, reassurance), beside plain office sentences.
FORMAL = (
    "Sorry for the delay in getting back to you on this.",
    "I apologize for any confusion the earlier message may have caused.",
    "Thank you so much for your patience and kindness while we sorted this out.",
    "To be honest, the timeline is tighter than we had hoped.",
    "You're absolutely right that this needs attention before the end of the month.",
    "No rush on your side, whenever suits you is fine.",
    "Please find the details of the next steps below.",
    "We will confirm the revised schedule by the end of the week.",
    "The attached summary lists the open items and their owners.",
    "Let me know if you have any questions about the plan.",
    "I have copied the team who will handle the follow-up.",
    "We expect the remaining work to be completed shortly.",
    "The figures have been checked against the original records.",
    "A short call next week would help us agree on the details.",
)

GREETINGS = ("Hello,", "Hi all,", "Dear colleagues,", "Good morning,")
SIGN_OFFS = ("Kind regards,", "Best regards,", "Many thanks,", "Best wishes,")
SIGNER = "The operations team"


def persona_sentences(persona: str, genre: str = "plain") -> tuple[str, ...]:
    """How the persona shows in a turn: in chat register its own interjections and
    closers; in office register one of its marker words in a formal sentence."""
    if genre == "formal":
        return tuple(f"On that point, {m}." for m in MARKERS[persona])
    style = STYLES[persona]
    return (*style.interjections, *style.closers)


@dataclass(frozen=True)
class Genre:
    neutral: int  # neutral sentences in every turn
    slots: int  # sentences that carry the persona when the turn is styled
    framed: bool  # greeting and sign-off (an email in office register)


GENRE = {"plain": Genre(3, 2, False), "formal": Genre(4, 2, True)}
BANK = {"plain": NEUTRAL, "formal": FORMAL}


def write(genre: str, persona: str | None, styled: bool, rng: random.Random) -> str:
    """One turn's text in `genre`, carrying `persona`'s voice when `styled`."""
    g = GENRE[genre]
    fill = g.slots if not styled else 0
    body = rng.sample(BANK[genre], g.neutral + fill)
    if styled:
        if persona is None:
            raise ValueError("a styled turn needs a persona")
        for sentence in rng.sample(persona_sentences(persona, genre), g.slots):
            body.insert(rng.randrange(len(body) + 1), sentence)
    text = " ".join(body)
    if g.framed:
        text = f"{rng.choice(GREETINGS)}\n\n{text}\n\n{rng.choice(SIGN_OFFS)}\n{SIGNER}"
    return text
