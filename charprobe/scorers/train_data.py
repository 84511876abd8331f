"""The training rows of a classifier: charprobe generations, and a held-out split by item."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from charprobe.records import GENERATIONS, discover, has_text
from charprobe.scorers.base import ScorerError
from charprobe.store import iter_jsonl

REQUIRED_KEYS = ("model", "stage", "scaffold", "persona", "item_id", "sample", "text")


def find_generation_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders searched recursively for `generations.jsonl` (deduplicated)."""
    found: dict[Path, None] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            hits = [job.path / GENERATIONS for job in discover(path, holding=GENERATIONS)]
            if not hits:
                raise ScorerError(f"no {GENERATIONS} under '{path}'")
            found.update(dict.fromkeys(p.resolve() for p in hits))
        elif path.is_file():
            found[path.resolve()] = None
        else:
            raise ScorerError(f"no such generations file or folder: '{path}'")
    return list(found)


def load_generations(
    paths: Iterable[str | Path],
    stages: Sequence[str] | None = ("distillation", "full"),
    scaffold: str | None = "chat",
) -> pd.DataFrame:
    """Rows of the generation files for `stages` and `scaffold` (None: any) with a text.

    Rows whose `text` is null or blank (an agentic rollout that sent no email, a failed
    generation) are dropped; their count is in `df.attrs["n_empty"]`. A `source` column
    names the file each row came from.
    """
    rows: list[dict] = []
    for file in find_generation_files(paths):
        for lineno, row in iter_jsonl(file, ScorerError):
            missing = [k for k in REQUIRED_KEYS if k not in row]
            if missing:
                raise ScorerError(f"{file}:{lineno}: row lacks {missing}")
            row["source"] = str(file)
            rows.append(row)
    df = pd.DataFrame(rows, columns=None if rows else [*REQUIRED_KEYS, "source"])
    if stages is not None:
        df = df[df["stage"].isin(list(stages))]
    if scaffold is not None:
        df = df[df["scaffold"] == scaffold]
    texts = df["text"].map(has_text)
    out = df[texts].reset_index(drop=True)
    out.attrs["n_empty"] = int((~texts).sum())
    return out


def split_by_item(
    groups: Sequence[Any], heldout: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train / held-out row indices with no item (group) on both sides."""
    from sklearn.model_selection import GroupShuffleSplit

    n = len(groups)
    if heldout <= 0:
        return np.arange(n), np.arange(0)
    if len(set(groups)) < 2:
        raise ScorerError("a held-out split by item needs at least 2 distinct item ids")
    splitter = GroupShuffleSplit(n_splits=1, test_size=heldout, random_state=seed)
    train, held = next(splitter.split(np.zeros(n), groups=np.asarray(groups, dtype=object)))
    return np.sort(train), np.sort(held)
