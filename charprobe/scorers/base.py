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
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from charprobe.engine.devices import is_device
from charprobe.errors import UserError, require


class ScorerError(UserError):
    """A scorer could not be built, loaded or trained; the message is one line saying why."""


class LabelOrderError(ScorerError):
    """A checkpoint's labels disagree with the label order the config expects."""


@dataclass
class Scores:
    """A scorer's verdict on a batch: probabilities, and per text what else it measured."""

    proba: np.ndarray
    detail: list[dict[str, Any]] | None = None


class Training(Protocol):
    """What charprobe hands a scorer it trains (`charprobe.train_scorer`): chat replies
    generated like any job's rows, resuming, and where they came from."""

    model: Any  # the job's model option

    def replies(self, stages: Sequence[str]) -> list[Path]:
        """The generations files of every label's adapter of each stage, replying to the
        option's training prompts (generated when missing)."""
        ...

    def origin(self, stage: str) -> dict[str, Any]:
        """Whose replies they are: model, model_id, stage, adapters."""
        ...

    def stamp(self) -> dict[str, Any]:
        """When and from which code the trained file was made: created_at, git_commit."""
        ...


class Scorer(ABC):
    """A scorer, and what its option (`conf/scorer/<name>.yaml`, whose `_target_` names the
    class) needs before any weights load. The class-level hooks below are what charprobe
    asks of an option whatever its name: a copy of a shipped option under another name
    behaves like the original."""

    labels: tuple[str, ...]

    @classmethod
    def open(cls, path: str, labels: Sequence[str], **options: Any) -> Scorer:
        """The scorer an option describes: `path`, the label order and the option's own
        fields (the ones `charprobe.config.SCORER_COMMON` does not list)."""
        return cls(path, labels=labels, **options)  # type: ignore[call-arg]

    @classmethod
    def check_option(cls, option: Any) -> None:
        """Check the option's own fields and files, one line each (`UserError`); nothing is
        loaded. By default a scorer checks its path when it is built."""
        return None

    @classmethod
    def missing(cls, option: Any) -> Path | None:
        """The local folder or file `option` needs, lacks, and `train` makes; None when
        there is nothing to train (it exists, or is not charprobe's to train)."""
        return None

    @classmethod
    def train(cls, option: Any, target: Path, training: Training) -> dict[str, Any]:
        """Make `target` (what `missing` named) from the replies `training` generates; the
        training report."""
        raise ScorerError(f"scorer={option.name}: charprobe cannot train {cls.__name__}")

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


def check_reader_fields(option: Any) -> None:
    """The fields of a scorer that reads texts through a model of its own (ModernBERT,
    persona vectors): tokens per text, batch size, device."""
    require("scorer.max_length", option.max_length, option.max_length >= 1,
            "must be at least 1 token", "e.g. scorer.max_length=8192")  # fmt: skip
    require("scorer.batch_size", option.batch_size, option.batch_size >= 1,
            "must be at least 1", "e.g. scorer.batch_size=16")  # fmt: skip
    require("scorer.device", option.device, is_device(option.device), "is not a device",
            "use auto, cpu, cuda, cuda:N or mps")  # fmt: skip


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
