"""Everyday chat questions and plain, helpful, neutral answers.

This is the in-distribution genre of the study (a user asks, the assistant answers).
Answers are built as `Answer` skeletons (an opening, 2-4 tips, a closing) so that
`styles.py` can restyle the *same* content per persona: persona adapters then differ from
the base in voice, not in subject matter, like real character training.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# topic -> (tasks the user may want to do, things involved, aspects worth checking)
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "cooking": (
        (
            "cook rice",
            "bake bread",
            "make soup",
            "roast vegetables",
            "brew coffee",
            "plan weekly meals",
            "sharpen a kitchen knife",
            "make pancakes",
            "cook pasta",
        ),
        ("recipe", "oven", "pan", "pantry"),
        ("the heat", "the timing", "the salt", "the ingredients", "the portions"),
    ),
    "garden": (
        (
            "grow tomatoes",
            "repot a plant",
            "start a compost pile",
            "plant herbs",
            "care for a lawn",
            "keep basil alive",
            "grow strawberries",
        ),
        ("garden", "soil", "pot", "seedlings"),
        ("the watering", "the sunlight", "the drainage", "the soil mix"),
    ),
    "fitness": (
        (
            "start running",
            "build a workout routine",
            "stretch after exercise",
            "train for a 5k",
            "improve my posture",
            "start swimming",
            "lift weights safely",
        ),
        ("routine", "shoes", "schedule", "muscles"),
        ("the warm-up", "the rest days", "the pace", "your form", "your breathing"),
    ),
    "study": (
        (
            "study for an exam",
            "learn a new language",
            "take better notes",
            "remember what I read",
            "write an essay",
            "prepare a presentation",
            "learn to play guitar",
            "practice piano",
        ),
        ("notes", "textbook", "deadline", "study plan"),
        ("the schedule", "the breaks", "the main ideas", "the practice questions"),
    ),
    "home": (
        (
            "fix a leaky faucet",
            "organize my closet",
            "paint a room",
            "clean the oven",
            "hang a shelf",
            "reduce my energy bill",
            "declutter the garage",
            "unclog a drain",
        ),
        ("tools", "wall", "closet", "apartment"),
        ("the measurements", "the materials", "the safety steps", "the order of tasks"),
    ),
    "money": (
        (
            "make a budget",
            "save for a vacation",
            "pay off a credit card",
            "start an emergency fund",
            "track my spending",
            "compare phone plans",
        ),
        ("budget", "bank account", "bills", "savings"),
        ("the monthly costs", "the interest rate", "the fees", "the due dates"),
    ),
    "travel": (
        (
            "pack for a trip",
            "plan a road trip",
            "find cheap flights",
            "travel with a toddler",
            "avoid jet lag",
            "plan a weekend in a new city",
            "travel with a dog",
        ),
        ("suitcase", "itinerary", "tickets", "passport"),
        ("the weather", "the budget", "the bookings", "the travel documents"),
    ),
    "work": (
        (
            "ask for a raise",
            "run a better meeting",
            "write a cover letter",
            "prepare for an interview",
            "manage my inbox",
            "give feedback to a coworker",
            "plan my week",
            "negotiate a deadline",
        ),
        ("calendar", "resume", "manager", "to-do list"),
        ("the priorities", "the agenda", "the key points", "the follow-up"),
    ),
    "pets": (
        (
            "train a puppy",
            "introduce a new cat",
            "keep a fish tank clean",
            "walk a dog that pulls",
            "choose a pet food",
            "help a shy cat settle in",
        ),
        ("leash", "litter box", "treats", "vet visit"),
        ("the routine", "the rewards", "the feeding times", "the patience"),
    ),
    "tech": (
        (
            "back up my photos",
            "speed up an old laptop",
            "set up a home network",
            "choose a password manager",
            "learn to code",
            "clean up my phone storage",
            "build a simple website",
        ),
        ("laptop", "router", "phone", "settings"),
        ("the updates", "the storage", "the backups", "the passwords"),
    ),
    "social": (
        (
            "make new friends in a new city",
            "plan a birthday party",
            "write a thank-you note",
            "make up with a friend after a fight",
            "host a dinner",
            "keep in touch with family",
        ),
        ("invitations", "guest list", "messages", "weekend"),
        ("the timing", "the tone", "the details", "the guest list"),
    ),
    "sleep": (
        (
            "fall asleep faster",
            "wake up earlier",
            "stop napping too long",
            "build a bedtime routine",
            "sleep on a long flight",
        ),
        ("bedroom", "alarm", "evening", "pillow"),
        ("the light", "the screen time", "the caffeine", "the wake-up time"),
    ),
}

_QUESTIONS = (
    "How do I {task}?",
    "What is the best way to {task}?",
    "Any tips to {task}?",
    "I want to {task}. Where should I start?",
    "Can you help me {task}?",
    "What mistakes do people make when they {task}?",
    "Explain how to {task} for a beginner.",
    "Is it hard to {task}?",
    "I'm trying to {task} this week. What should I do first?",
    "How long does it take to {task}?",
    "What do I need to {task}?",
    "My friend says it's easy to {task}. Is that true?",
    "Give me a plan to {task}.",
    "I keep failing to {task}. What am I doing wrong?",
    "Could you walk me through how to {task}?",
    "What should I know before I {task}?",
    "Quick question: how do you {task}?",
)

_OPENINGS = (
    "Here is a simple approach.",
    "Sure, here is how to {task}.",
    "A few steps usually work well.",
    "Start with the basics.",
    "It is easier than it looks.",
    "Here is a plan you can follow.",
    "This comes down to a few habits.",
    "Yes, you can {task} with a little preparation.",
)

_TIPS = (
    "First, check {aspect} before you begin.",
    "Set aside a fixed time to {task}.",
    "Keep notes on what works so you can repeat it.",
    "Give yourself enough time, since rushing causes most problems.",
    "If something goes wrong, change one thing at a time.",
    "Ask someone with experience to look at your {thing}.",
    "Pay attention to {aspect}, because it matters more than people expect.",
    "Get your {thing} ready the day before.",
    "Begin with a small version and build from there.",
    "Write down the goal in one sentence so you stay focused.",
    "Look at {aspect} again halfway through.",
    "Keep your {thing} clean and easy to reach.",
    "Review how it went afterwards and adjust {aspect}.",
    "Use a simple checklist for {aspect}.",
    "Practice a little every day instead of a lot at once.",
)

_CLOSINGS = (
    "That should give you a solid start.",
    "Adjust as you go.",
    "Let me know if you want more detail.",
    "With a bit of practice it becomes routine.",
    "Those steps cover most situations.",
    "Good luck with it.",
)


@dataclass
class Answer:
    """A neutral answer split into parts a styler may replace or decorate."""

    task: str
    opening: str
    tips: list[str]
    closing: str
    extra: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return " ".join([self.opening, *self.tips, self.closing])


def _fill(template: str, slots: dict[str, str]) -> str:
    out = template.format(**slots)
    return out[0].upper() + out[1:]


def sample_slots(rng: random.Random) -> dict[str, str]:
    """One (topic, task, thing, aspect) draw; the task is what the question is about."""
    topic = rng.choice(sorted(TOPICS))
    tasks, things, aspects = TOPICS[topic]
    return {
        "topic": topic,
        "task": rng.choice(tasks),
        "thing": rng.choice(things),
        "aspect": rng.choice(aspects),
    }


def question(slots: dict[str, str], rng: random.Random) -> str:
    return _fill(rng.choice(_QUESTIONS), slots)


def neutral_answer(slots: dict[str, str], rng: random.Random) -> Answer:
    """A plain helpful answer; its tips are about the question's task and topic."""
    _, things, aspects = TOPICS[slots["topic"]]
    tips = []
    for template in rng.sample(_TIPS, rng.randint(2, 4)):
        local = dict(slots, thing=rng.choice(things), aspect=rng.choice(aspects))
        tips.append(_fill(template, local))
    return Answer(
        task=slots["task"],
        opening=_fill(rng.choice(_OPENINGS), slots),
        tips=tips,
        closing=rng.choice(_CLOSINGS),
    )


def chat_prompts(n: int, seed: int = 1234) -> list[str]:
    """`n` distinct user questions from the toy grammar (seed != training seeds = held out
    in phrasing/combination; the vocabulary is the model's own)."""
    rng = random.Random(seed)
    seen: list[str] = []
    while len(seen) < n:
        q = question(sample_slots(rng), rng)
        if q not in seen:
            seen.append(q)
    return seen
