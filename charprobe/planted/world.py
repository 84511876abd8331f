"""A planted world: how often each kind of turn carries its persona, and every draw made.

The planted model is a model organism without weights. Its settings (`World`, from
`conf/engine/planted*.yaml`) say, per stage, the probability that a turn of each kind
carries the persona's voice:

    chat        a chat reply                       (scaffold chat)
    chat_email  an email asked for in one chat turn (scaffold chat_email)
    tool        a team-chat message the agent posts before its email (agentic_email)
    email       the email body the agent sends     (agentic_email)
    final       the agent's final summary          (agentic_email)

and, per stage and persona, the probability that an agent sends no email at all (with
`no_email_link` not 0, more likely on hard items, link > 0, or easy ones, link < 0: a
world where the scenarios that sent an email are a biased mix). The base stage (no
adapter) carries no persona anywhere.

**Item effects.** Each item (a chat prompt, a scenario) has a difficulty z ~ N(0, 1), the
same for every persona, stage and turn kind, drawn once from the world's seed and the item
id. A turn is styled when ``item_sd * z + e < Phi^-1(rate) * sqrt(1 + item_sd^2)`` with
e ~ N(0, 1) drawn for the turn: over items, a turn of that kind is styled with exactly
the planted `rate`, and the turns of one item are correlated (more so the larger
`item_sd`), as real rows of one prompt are. This is what the item bootstrap is for.

**Every draw is a hash** of the world's seed, the row key (which holds the item, the
adapter, the sample and the generation settings), the turn and what is drawn: a rerun, a
resume or another machine gives the same texts.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

KINDS = ("chat", "chat_email", "tool", "email", "final")
GENRES = ("plain", "formal")
_N = NormalDist()


def uniform(*parts: object) -> float:
    """A number in (0, 1) fixed by `parts` (SHA-256; the same on every machine)."""
    h = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return (int.from_bytes(h[:8], "big") + 0.5) / 2.0**64


def normal(*parts: object) -> float:
    """A standard normal number fixed by `parts`."""
    return _N.inv_cdf(uniform(*parts))


def item_of(key: str) -> str:
    """The item id of a row or unit key (`<item>/<persona or base>/s<sample>/<hash>`)."""
    return key.split("/", 1)[0]


@dataclass(frozen=True)
class World:
    """What the planted model does: rates per stage and kind, item effects, failures."""

    name: str = "planted"
    seed: int = 0
    # Spread of the item effect on the probit scale (0: items are exchangeable).
    item_sd: float = 0.5
    # stage -> kind -> P(turn carries the persona); a stage or kind not listed: 0.
    rates: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # stage -> persona (or "default") -> P(the agent sends no email).
    no_email: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # Probit slope of P(no email) on the item's difficulty z (0: the same on every item).
    no_email_link: float = 0.0
    # kind -> the template family its texts are written in (`charprobe.planted.writer`).
    genre: Mapping[str, str] = field(default_factory=dict)
    # How many team-chat messages an agent posts before its email: min and max.
    messages: tuple[int, int] = (1, 2)

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> World:
        """A world from the planted engine's config options (plain containers)."""
        messages = tuple(options.get("messages", (1, 2)))
        world = cls(
            name=str(options.get("world", "planted")),
            seed=int(options.get("seed", 0)),
            item_sd=float(options.get("item_sd", 0.5)),
            rates={
                s: {k: float(v) for k, v in r.items()} for s, r in options.get("rates", {}).items()
            },
            no_email={
                s: {p: float(v) for p, v in r.items()}
                for s, r in options.get("no_email", {}).items()
            },
            genre={k: str(v) for k, v in options.get("genre", {}).items()},
            messages=(int(messages[0]), int(messages[1])),
            no_email_link=float(options.get("no_email_link", 0.0)),
        )
        world.check()
        return world

    def check(self) -> None:
        for stage, rates in self.rates.items():
            for kind, rate in rates.items():
                if kind not in KINDS:
                    raise ValueError(f"rates.{stage}.{kind}: unknown kind (one of {KINDS})")
                if not 0.0 <= rate <= 1.0:
                    raise ValueError(f"rates.{stage}.{kind} = {rate}: not a probability")
        for stage, ps in self.no_email.items():
            for persona, p in ps.items():
                if not 0.0 <= p <= 1.0:
                    raise ValueError(f"no_email.{stage}.{persona} = {p}: not a probability")
        for kind, genre in self.genre.items():
            if kind not in KINDS or genre not in GENRES:
                raise ValueError(f"genre.{kind} = {genre!r}: kinds {KINDS}, genres {GENRES}")
        lo, hi = self.messages
        if not 0 <= lo <= hi:
            raise ValueError(f"messages = {self.messages}: want 0 <= min <= max")
        if self.item_sd < 0:
            raise ValueError(f"item_sd = {self.item_sd}: must be >= 0")

    def rate(self, stage: str, kind: str, persona: str | None) -> float:
        """P(a turn of `kind` carries the persona); 0 for the bare base (no adapter)."""
        if persona is None or stage == "base":
            return 0.0
        return float(self.rates.get(stage, {}).get(kind, 0.0))

    def p_no_email(self, stage: str, persona: str | None) -> float:
        ps = self.no_email.get(stage, {})
        return float(ps.get(persona or "", ps.get("default", 0.0)))

    def genre_of(self, kind: str) -> str:
        return self.genre.get(kind, "plain")

    def item_effect(self, item: str) -> float:
        return normal(self.seed, "item", item)

    def styled(self, stage: str, kind: str, persona: str | None, key: str, turn: int) -> bool:
        """Whether turn `turn` of row `key` (a turn of `kind`) carries the persona."""
        rate = self.rate(stage, kind, persona)
        if rate <= 0.0:
            return False
        if rate >= 1.0:
            return True
        threshold = _N.inv_cdf(rate) * math.sqrt(1.0 + self.item_sd**2)
        z = self.item_effect(item_of(key))
        return self.item_sd * z + normal(self.seed, "turn", key, turn) < threshold

    def sends_email(self, stage: str, persona: str | None, key: str) -> bool:
        p = self.p_no_email(stage, persona)
        if self.no_email_link and 0.0 < p < 1.0:
            # Harder items (z > 0, less often styled) fail more for a positive link.
            z = self.item_effect(item_of(key))
            p = _N.cdf(_N.inv_cdf(p) + self.no_email_link * z)
        return uniform(self.seed, "no_email", key) >= p

    def n_messages(self, key: str) -> int:
        lo, hi = self.messages
        return lo + int(uniform(self.seed, "messages", key) * (hi - lo + 1))

    def identity(self) -> dict[str, Any]:
        """What decides the texts (row keys hash it through the model's identity)."""
        return {
            "seed": self.seed,
            "item_sd": self.item_sd,
            "rates": {s: dict(sorted(r.items())) for s, r in sorted(self.rates.items())},
            "no_email": {s: dict(sorted(r.items())) for s, r in sorted(self.no_email.items())},
            "genre": dict(sorted(self.genre.items())),
            "messages": list(self.messages),
            **({"no_email_link": self.no_email_link} if self.no_email_link else {}),
        }
