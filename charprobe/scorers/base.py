"""The scorer interface: texts in, a probability over the persona labels out.

A scorer never learns which scaffold, model or stage produced a text, nor who wrote it:
the same scorer reads chat replies and agentic email bodies, and a text's verdict is a
function of the text alone (never of the row's persona or adapter), which is what makes
the comparison fair and a prediction a measurement rather than a copy of the label.
Probabilities always cover every label of `labels` (the classifier's order, see
`charprobe.personas.LABELS`); restricting to the evaluated persona set is the business
of the statistics, not of the scorer.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from charprobe.errors import UserError


class ScorerError(UserError):
    """A scorer could not be built, loaded or trained; the message is one line saying why."""


class LabelOrderError(ScorerError):
    """A checkpoint's labels disagree with the label order the config expects."""


@dataclass
class Scores:
    """A scorer's verdict on a batch: probabilities, and per text what else it measured."""

    proba: np.ndarray
    detail: list[dict[str, Any]] | None = None


class Scorer(ABC):
    labels: tuple[str, ...]

    def score(self, texts: Sequence[str]) -> Scores:
        """Score texts: probabilities, and per text what else the scorer measured.

        Only the texts come in: no scorer may see who wrote a row (its persona or
        adapter), so the same text always gets the same verdict."""
        return Scores(self.predict_proba(texts))

    @abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Return an array of shape (len(texts), len(self.labels)) whose rows sum to 1."""

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable label of each text (ties go to the earlier label)."""
        proba = self.predict_proba(texts)
        return [self.labels[i] for i in proba.argmax(axis=1)] if len(proba) else []


_GENERIC = re.compile(r"^LABEL_(\d+)$")


def checkpoint_labels(id2label: dict[Any, str] | None) -> tuple[str, ...] | None:
    """A checkpoint's label names in id order, or None when they are generic LABEL_i."""
    if not id2label:
        return None
    names = tuple(id2label[k] for k in sorted(id2label, key=int))
    if all((m := _GENERIC.match(name)) and int(m.group(1)) == i for i, name in enumerate(names)):
        return None
    return names


def check_labels(expected: Sequence[str], found: Sequence[str], where: str) -> None:
    """Fail with one line naming the first disagreement between two label orders.

    A silently permuted label order would turn every prediction into another persona
    and still produce plausible-looking numbers, so this is checked wherever a saved
    classifier is loaded.
    """
    expected, found = tuple(expected), tuple(found)
    if expected == found:
        return
    fix = (
        f"point scorer.path at the classifier trained with this order, or, if the "
        f"checkpoint is right, set scorer.labels=[{','.join(found)}]"
    )
    if len(expected) != len(found):
        raise LabelOrderError(
            f"{where} has {len(found)} labels {list(found)}, expected {len(expected)}: "
            f"{list(expected)}; {fix}"
        )
    i = next(i for i, (a, b) in enumerate(zip(expected, found, strict=True)) if a != b)
    raise LabelOrderError(
        f"label order mismatch in {where}: id {i} is '{found[i]}' but the config expects "
        f"'{expected[i]}' (checkpoint: {list(found)}; expected: {list(expected)}); {fix}"
    )
