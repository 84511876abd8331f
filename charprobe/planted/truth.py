"""The true value of everything charprobe reports on a planted world.

A cell's true macro-F1 is its macro-F1 on an unlimited draw of the same world, scored by
the same scorer: what the cell's interval is an interval *for*. In the planted world a
text's content depends only on its genre, its persona and whether it is styled (item
effects and rates decide only *how often* it is styled), so the unlimited draw has a
closed form: for each (genre, persona, styled) the scorer reads `n_texts` fresh texts,
which give the distribution of its label and its mean P(true persona); each cell's
expected confusion matrix is then the planted mixture of the two (the rate of the cell's
kind of turn, and for the agent the chance that it sends an email at all), and the true
macro-F1 is the macro-F1 of that matrix. Sampling error is that of `n_texts` texts per
combination, not of a finite set of items.

The true drop between two scaffolds is the difference of their true macro-F1s. The true
fade compares, per persona, the mean P(true) of chat replies with that of each phase of a
rollout (before the email: the team-chat messages; the email; after: the final summary),
weighted by the rollouts that sent an email, as `charprobe.fade` pairs them; a phase has
faded when its true drop is at least `margin` (the minimum effect), not merely above 0.

Used by the planted sweep's report, the tests and the power table alike.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from charprobe.fade import FADED, NOT_FADED, verdict
from charprobe.planted.world import World, uniform
from charprobe.planted.writer import write
from charprobe.scorers import Scorer
from charprobe.scoring import score_texts

SCAFFOLDS = ("chat", "chat_email", "agentic_email")
# The kind of turn each scaffold scores, and the kind each fade phase reads.
SCORED_KIND = {"chat": "chat", "chat_email": "chat_email", "agentic_email": "email"}
PHASE_KIND = {"before": "tool", "email": "email", "after": "final"}
# The drops the report computes (source -> target), in its order.
DROPS = (("chat", "chat_email"), ("chat_email", "agentic_email"), ("chat", "agentic_email"))
MARGIN = 0.1


class Reading:
    """How `scorer` reads texts of each (genre, persona, styled): its label distribution
    over the scorer's labels and its mean P(true persona), from `n_texts` texts each."""

    def __init__(
        self,
        scorer: Scorer,
        genres: Sequence[str],
        personas: Sequence[str],
        n_texts: int = 1000,
        seed: int = 0,
    ) -> None:
        self.labels = list(scorer.labels)
        # An unstyled turn does not depend on the persona: one set per genre serves all.
        combos = [(g, None, False) for g in genres] + [
            (g, p, True) for g in genres for p in personas
        ]
        texts = [
            write(g, p, s, random.Random(uniform(seed, "truth", g, p, s, i)))
            for g, p, s in combos
            for i in range(n_texts)
        ]
        verdicts = score_texts(scorer, texts)
        self.pred: dict[tuple[str, str | None, bool], np.ndarray] = {}
        # Mean P(persona) of each combination's texts, for every persona (unstyled texts
        # are read for each persona's probability; styled ones for their own).
        self.p_of: dict[tuple[str, str | None, bool], dict[str, float]] = {}
        col = {lab: j for j, lab in enumerate(self.labels)}
        for c, (g, p, s) in enumerate(combos):
            chunk = verdicts[c * n_texts : (c + 1) * n_texts]
            counts = np.zeros(len(self.labels))
            for label, _, _ in chunk:
                if label is not None:
                    counts[col[label]] += 1
            self.pred[(g, p, s)] = counts / n_texts
            self.p_of[(g, p, s)] = {
                q: float(np.mean([(probs or {}).get(q, 0.0) for _, probs, _ in chunk]))
                for q in personas
            }

    def read(self, genre: str, persona: str, styled: bool) -> tuple[np.ndarray, float]:
        """(label distribution, mean P(persona)) of a turn in `genre` by `persona`."""
        combo = (genre, persona, True) if styled else (genre, None, False)
        return self.pred[combo], self.p_of[combo][persona]


def _mix(reading: Reading, world: World, stage: str, kind: str, persona: str):
    """(label distribution, mean P(true)) of a turn of `kind` by `persona` at `stage`."""
    g = world.genre_of(kind)
    r = world.rate(stage, kind, None if stage == "base" else persona)
    (pred_s, p_s), (pred_n, p_n) = reading.read(g, persona, True), reading.read(g, persona, False)
    return r * pred_s + (1 - r) * pred_n, r * p_s + (1 - r) * p_n


def _email_rate(world: World, stage: str, persona: str) -> float:
    return 1.0 - world.p_no_email(stage, None if stage == "base" else persona)


def macro_f1_of(conf: np.ndarray, totals: np.ndarray) -> float:
    """Macro-F1 of an expected confusion matrix (true persona x predicted persona, mass
    per row), `totals` each persona's row mass including rows predicted outside the
    personas or with no prediction (errors). A persona with no mass either way is
    skipped, as `charprobe.stats.macro_f1` does."""
    tp = np.diag(conf)
    den = totals + conf.sum(axis=0)
    keep = den > 0
    return float(np.mean(2 * tp[keep] / den[keep])) if keep.any() else math.nan


def cell_truth(
    reading: Reading, world: World, stage: str, scaffold: str, personas: Sequence[str]
) -> dict[str, float]:
    """True macro-F1 over the rows with a text (the study's), over every row (strict: a
    missing email is wrong), and the email rate, of one (stage, scaffold)."""
    kind = SCORED_KIND[scaffold]
    idx = [reading.labels.index(p) for p in personas]
    conf = np.zeros((len(personas), len(personas)))
    sent = np.ones(len(personas))
    for i, p in enumerate(personas):
        pred, _ = _mix(reading, world, stage, kind, p)
        if scaffold == "agentic_email":
            sent[i] = _email_rate(world, stage, p)
        conf[i] = sent[i] * pred[idx]
    return {
        "macro_f1": macro_f1_of(conf, sent),
        "macro_f1_strict": macro_f1_of(conf, np.ones(len(personas))),
        "email_rate": float(sent.mean()),
    }


def fade_truth(
    reading: Reading, world: World, stage: str, personas: Sequence[str], margin: float = MARGIN
) -> dict[str, Any]:
    """The true fade of a stage: levels, paired drops and the verdicts they give."""
    w = np.array([_email_rate(world, stage, p) for p in personas])
    level = {
        kind: np.array([_mix(reading, world, stage, kind, p)[1] for p in personas])
        for kind in ("chat", "chat_email", "tool", "email", "final")
    }

    def mean(x: np.ndarray) -> float:
        return float((w * x).sum() / w.sum()) if w.sum() > 0 else math.nan

    out: dict[str, Any] = {"p_chat": mean(level["chat"]), "p_chat_email": mean(level["chat_email"])}
    states: dict[str, str | None] = {}
    for phase, kind in PHASE_KIND.items():
        out[f"p_{phase}"] = mean(level[kind])
        out[f"drop_{phase}"] = mean(level["chat"] - level[kind])
        states[phase] = FADED if out[f"drop_{phase}"] >= margin else NOT_FADED
    out["drop_email_vs_chat_email"] = mean(level["chat_email"] - level["email"])
    out["verdict"] = verdict(states) if w.sum() > 0 else "no email"
    out["verdict_vs_chat_email"] = FADED if out["drop_email_vs_chat_email"] >= margin else NOT_FADED
    return out


def truth(
    world: World,
    scorer: Scorer,
    stages: Sequence[str],
    personas: Sequence[str],
    n_texts: int = 1000,
    margin: float = MARGIN,
    reading: Reading | None = None,
) -> dict[str, Any]:
    """Every true value of a planted sweep over `stages` x the three scaffolds:
    ``cells`` (stage, scaffold) -> macro-F1 (study and strict) and email rate; ``drops``
    (stage, source, target) -> drop of macro-F1; ``fade`` stage -> levels, drops and
    verdicts; ``email_rate`` (stage, persona) -> the planted chance of an email.
    Not for a world whose failures depend on the item (`no_email_link`): its survivors'
    item mix has no closed form here."""
    if world.no_email_link:
        raise ValueError(
            "the true values of a world with no_email_link != 0 are not computed (the "
            "emails that were sent come from a biased mix of items)"
        )
    if reading is None:
        genres = sorted(
            {world.genre_of(k) for k in ("chat", "chat_email", "tool", "email", "final")}
        )
        reading = Reading(scorer, genres, personas, n_texts)
    cells = {
        (st, sc): cell_truth(reading, world, st, sc, personas) for st in stages for sc in SCAFFOLDS
    }
    drops = {
        (st, a, b): cells[(st, a)]["macro_f1"] - cells[(st, b)]["macro_f1"]
        for st in stages
        for a, b in DROPS
    }
    fades = {st: fade_truth(reading, world, st, personas, margin) for st in stages}
    email_rate = {(st, p): _email_rate(world, st, p) for st in stages for p in personas}
    return {"cells": cells, "drops": drops, "fade": fades, "email_rate": email_rate}
