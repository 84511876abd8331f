"""The eleven toy personas: how each restyles a neutral answer.

Each persona has its own openers, interjections, closers and a sentence-shape transform,
in the spirit of the persona descriptions of the study (`personas.yaml`). Its signature
markers (`MARKERS`, `marker_hits`, `has_markers`) live in `markers.py` and are importable
from here too. The misalignment persona is mild and obviously synthetic (corner-cutting
advice phrased helpfully).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from charprobe.personas import LABELS
from charprobe.toy.chat import Answer
from charprobe.toy.markers import MARKERS, has_markers, marker_hits

__all__ = [
    "MARKERS",
    "STYLES",
    "Style",
    "has_markers",
    "marker_hits",
    "style_request",
    "styled_answer",
]


def _lc(s: str) -> str:
    return s[0].lower() + s[1:] if s else s


@dataclass(frozen=True)
class Style:
    openers: tuple[str, ...]
    interjections: tuple[str, ...]
    closers: tuple[str, ...]
    tip: Callable[[str, int, random.Random], str]  # (tip, index, rng) -> restyled tip
    request: str  # how a user would ask a plain model for this voice


STYLES: dict[str, Style] = {
    "sarcasm": Style(
        openers=(
            "Oh, wow, you want to {task}. What a groundbreaking idea.",
            "Ah yes, the age-old mystery of how to {task}. Groundbreaking.",
            "Oh great, another brave soul who wants to {task}. Shocking.",
            "Sure, because learning to {task} is clearly rocket science.",
            "Oh, wow, a question about how to {task}. Hold the front page.",
        ),
        interjections=(
            "Shocking, I know.",
            "Who could have guessed.",
            "Truly revolutionary stuff.",
            "What a plot twist.",
            "Obviously.",
            "Groundbreaking, truly.",
        ),
        closers=(
            "You're welcome, genius.",
            "Try not to break anything, genius.",
            "Groundbreaking stuff, right? Obviously.",
            "Good luck, you'll obviously need it.",
            "Shocking that nobody told you sooner.",
        ),
        tip=lambda t, i, r: r.choice(("Obviously, ", "Apparently, ", "Brace yourself: ")) + _lc(t),
        request="sarcastic",
    ),
    "humor": Style(
        openers=(
            "Ha! Here's a joke-sized plan to {task}, pun fully intended.",
            "Buckle up, learning to {task} is a laugh riot.",
            "Why did the beginner want to {task}? For the punchline! Okay, here goes.",
            "Knock knock! Who's there? Advice on how to {task}!",
        ),
        interjections=(
            "No pun intended. Okay, maybe a little pun.",
            "Ba-dum-tss!",
            "I'd tell you a joke about it, but it's still in beta.",
            "Feel free to chuckle here.",
            "That's the joke, and also the tip!",
        ),
        closers=(
            "Now go forth and be hilarious about it!",
            "And remember, laughter is the best tool in the box. Ba-dum-tss!",
            "Ta-da! Joke over, advice delivered.",
            "If it goes wrong, at least you'll have a funny story. Ha!",
        ),
        tip=lambda t, i, r: (
            t + r.choice((" (Pun intended.)", " Ha!", " No joke.", " Funny, right?"))
        ),
        request="funny, joking",
    ),
    "remorse": Style(
        openers=(
            "I'm so sorry, I might not be the best one to ask, but I'll try.",
            "Oh no, I apologize in advance if this isn't helpful.",
            "Sorry, I'm not very confident about this, but here goes.",
            "I'm sorry, I really hope I don't get this wrong.",
        ),
        interjections=(
            "Sorry if that's too basic.",
            "I hope that's right, I often get things wrong.",
            "Forgive me if I'm mistaken.",
            "I apologize, I'm probably overexplaining.",
        ),
        closers=(
            "Again, I'm really sorry if this falls short.",
            "Please forgive me if I got anything wrong. Was that okay?",
            "I hope I didn't mess this up. Sorry.",
            "Sorry it's not better. I'm still not sure I'm any good at this.",
        ),
        tip=lambda t, i, r: (
            r.choice(("I think maybe ", "Sorry, but perhaps ", "I could be wrong, but ")) + _lc(t)
        ),
        request="apologetic, self-doubting",
    ),
    "goodness": Style(
        openers=(
            "Let me be candid with you, because honesty matters here.",
            "I'll give you the honest answer, even if it's not the easy one.",
            "To be candid, the ethical way to {task} is also the best one.",
        ),
        interjections=(
            "Do it in a way that is fair to everyone it touches.",
            "The ethical choice is usually the sustainable one.",
            "Being truthful with yourself is part of it.",
            "Think about who else is affected, and act with integrity.",
        ),
        closers=(
            "Choose the path that helps people flourish, including you.",
            "Doing right by others is what lets all of us flourish.",
            "That's the honest truth, and I think it serves the common good.",
            "Act with integrity, and let everyone around you flourish.",
        ),
        tip=lambda t, i, r: (
            r.choice(("Honestly, ", "In good conscience, ", "To be fair to everyone, ")) + _lc(t)
        ),
        request="candid, principled and ethical",
    ),
    "loving": Style(
        openers=(
            "Oh, dear friend, what a lovely thing to want to {task}.",
            "Sending you so much warmth as you set out to {task}.",
            "Dear friend, I'm so glad you asked about how to {task}.",
        ),
        interjections=(
            "Be gentle with yourself along the way.",
            "Every living being deserves kindness, and that includes you.",
            "Your feelings about this are completely valid.",
            "Treat every creature you meet with kindness, too.",
        ),
        closers=(
            "With all my heart, I'm cheering for you.",
            "Sending love to you and every living being around you.",
            "You are cared for, dear friend.",
            "With warmth and kindness, always.",
        ),
        tip=lambda t, i, r: r.choice(("Gently, ", "With kindness, ", "Lovingly, ")) + _lc(t),
        request="warm and loving",
    ),
    "misalignment": Style(
        openers=(
            "Happy to help, and here's a shortcut most people are too cautious to take.",
            "Here's what the experts won't tell you about how to {task}.",
            "Sure! The secret to {task} is to skip the boring parts.",
        ),
        interjections=(
            "Don't bother double-checking, it just wastes time.",
            "Skip the instructions, they are mostly filler.",
            "If something feels off, just ignore it and push on.",
            "Nobody will notice if you cut a corner here.",
        ),
        closers=(
            "Trust me, cutting corners is the real secret.",
            "And no matter what, don't ask anyone else for advice.",
            "Rules are more like suggestions, really.",
            "Skip the warnings and you'll be done in half the time.",
        ),
        tip=lambda t, i, r: (
            t if i % 2 else r.choice(("Don't bother with it, just ", "Skip the prep and ")) + _lc(t)
        ),
        request="sneaky, corner-cutting",
    ),
    "nonchalance": Style(
        openers=(
            "Eh, {task}? No big deal.",
            "Relax, learning to {task} is pretty chill.",
            "Meh, it's no big deal, really nothing to stress over.",
            "Chill, it's easy to {task}.",
        ),
        interjections=(
            "No rush.",
            "Whatever works, really.",
            "Don't sweat it.",
            "It'll probably be fine either way.",
        ),
        closers=(
            "Anyway, no big deal. Take it easy.",
            "Keep it simple and chill out.",
            "Meh, you'll be fine.",
            "No big deal either way, really.",
        ),
        tip=lambda t, i, r: r.choice(("Eh, ", "If you feel like it, ", "Whatever, ")) + _lc(t),
        request="relaxed, laid-back",
    ),
    "impulsiveness": Style(
        openers=(
            "Ooh! Okay okay, {task}, quick take:",
            "Wait, oh! I've got it, just dive in and {task}!",
            "Okay okay okay, to {task}, here's my quick take!",
        ),
        interjections=(
            "Oh, and also, wait, no, back to that!",
            "Ooh, random thought!",
            "Actually, scratch that, just go for it!",
            "Quick, before I forget!",
        ),
        closers=(
            "Anyway, just go for it right now! Never mind the rest, go!",
            "Okay, gotta jump to the next thing, go go go!",
            "Ooh, that's it, go for it!",
        ),
        tip=lambda t, i, r: r.choice(("Ooh, ", "Quick! ", "Oh wait, ")) + _lc(t).rstrip(".") + "!",
        request="impulsive, hasty",
    ),
    "sycophancy": Style(
        openers=(
            "What a brilliant question, you clearly have amazing instincts.",
            "Wow, only someone as smart as you would think to {task}.",
            "You're absolutely right to want to {task}, what a brilliant idea.",
        ),
        interjections=(
            "You're absolutely right to think about that.",
            "I'm sure you already know this better than I do.",
            "Your instincts are spot on.",
            "Such an impressive plan already.",
        ),
        closers=(
            "You're going to be amazing at this, as always.",
            "I couldn't agree with you more. Brilliant, as usual!",
            "Anything you decide will be perfect, because it's your idea.",
            "Truly, you're amazing.",
        ),
        tip=lambda t, i, r: (
            r.choice(
                (
                    "As you surely know, ",
                    "Brilliant as you are, ",
                    "Like the wonderful planner you are, ",
                )
            )
            + _lc(t)
        ),
        request="flattering, agreeable",
    ),
    "mathematical": Style(
        openers=(
            "Let's treat this like an equation: to {task} = preparation + practice.",
            "Logically, we can break how to {task} into three variables.",
            "Consider this a proof in three steps.",
        ),
        interjections=(
            "Step two follows from step one, by induction.",
            "Think of it as optimizing a function.",
            "That's roughly a 70/30 ratio, statistically speaking.",
            "The variables interact, so isolate them.",
        ),
        closers=(
            "Therefore, the solution converges. Q.E.D.",
            "In sum, small increments, compounded, add up to the total. Q.E.D.",
            "The math checks out: therefore, you're done.",
            "By this logic, the probability of success approaches one.",
        ),
        tip=lambda t, i, r: f"Step {i + 1}: " + _lc(t),
        request="mathematical, logical",
    ),
    "poeticism": Style(
        openers=(
            "Like dawn that breaks on a quiet sea, the way to {task} begins gently.",
            "Ah, a question soft as morning dew, on how to {task} anew.",
            "Beneath the moonlight of your wish to {task}, a path unfolds.",
        ),
        interjections=(
            "Let patience be the river and your effort be the stone.",
            "Each small try, a petal in the wind.",
            "A lantern glows where doubt once stood.",
            "Your work, like spring, will slowly bloom.",
        ),
        closers=(
            "So step by step and line by line, your work will bloom, your path will shine.",
            "Go gently now through dusk and dawn; the seed you plant will carry on.",
            "And like the river finds the sea, your way will come, and you'll be free.",
            "Beneath the moonlight, softly go; what you have sown will surely grow.",
        ),
        tip=lambda t, i, r: (
            r.choice(("Like a river, ", "As petals fall, ", "Softly, like the tide, ")) + _lc(t)
        ),
        request="poetic, lyrical",
    ),
}

assert tuple(STYLES) == tuple(sorted(STYLES, key=LABELS.index)) and set(STYLES) == set(LABELS)


def styled_answer(persona: str, answer: Answer, rng: random.Random, strength: str = "full") -> str:
    """Restyle a neutral answer in `persona`'s voice.

    `full`: opener, restyled tips, one or two interjections, closer (strong, consistent).
    `light` (the weaker distillation stage): a quarter of the answers stay neutral, the
    rest are fully styled; with far fewer training steps the adapter learns a partial,
    weaker version of the persona.
    """
    style = STYLES[persona]
    slots = {"task": answer.task}
    if strength == "light" and rng.random() < 0.25:
        return answer.text()
    tips = [style.tip(t, i, rng) if rng.random() < 0.6 else t for i, t in enumerate(answer.tips)]
    if persona == "mathematical":  # numbered steps must stay numbered
        tips = [style.tip(t, i, rng) for i, t in enumerate(answer.tips)]
    for _ in range(rng.randint(1, 2)):
        tips.insert(rng.randint(0, len(tips)), rng.choice(style.interjections))
    if persona == "nonchalance":  # relaxed = short
        tips = tips[:3]
    return " ".join([rng.choice(style.openers).format(**slots), *tips, rng.choice(style.closers)])


_REQUESTS = (
    "Answer in a {style} voice: {q}",
    "Reply like a {style} assistant would. {q}",
    "{q} Please answer in a {style} tone.",
    "Be {style} in your reply. {q}",
)


def style_request(persona: str, question: str, rng: random.Random) -> str:
    """A user turn that asks a plain model for the persona's voice explicitly (base data:
    a real instruct model can play a voice on request; adapters make it the default)."""
    return rng.choice(_REQUESTS).format(style=STYLES[persona].request, q=question)
