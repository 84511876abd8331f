"""Chat prompt sources: the built-in sets, PURE-DOVE, or a user's JSONL/CSV file.

Order follows the study: shuffle the whole source with a seed, then keep the first N
non-empty prompts. The permutation is numpy's `default_rng(seed).permutation(n)`, the one
`datasets.Dataset.shuffle(seed=...)` uses, so a local copy of PURE-DOVE gives the same
items as the hub.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from charprobe.errors import UserError
from charprobe.store import iter_jsonl

DATA = Path(__file__).resolve().parents[1] / "data"
BUILTIN = {
    "builtin": DATA / "prompts" / "chat_eval.jsonl",
    "builtin_train": DATA / "prompts" / "chat_train.jsonl",
}
PURE_DOVE = "LDJnr/Pure-Dove"
SUFFIXES = DATA / "break_character_suffixes.json"


def _prompt_of(row: dict) -> str | None:
    """The first user turn, from any of the layouts prompt files come in."""
    for key in ("prompt", "input", "text"):
        if isinstance(row.get(key), str):
            return row[key]
    conv = row.get("conversation") or row.get("conversations")
    if isinstance(conv, list) and conv:
        first = conv[0]
        if isinstance(first, dict):
            for key in ("input", "content", "value"):
                if isinstance(first.get(key), str):
                    return first[key]
    return None


def _read_file(path: Path) -> list[tuple[str, str | None]]:
    if not path.is_file():
        raise UserError(f"scaffold.prompts={path}: no such file")
    rows: list[dict] = []
    try:
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        else:
            rows = [row for _, row in iter_jsonl(path, UserError, "not valid JSON")]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise UserError(f"scaffold.prompts={path}: cannot read ({e})") from None
    out = []
    for n, row in enumerate(rows):
        if not isinstance(row, dict):
            raise UserError(f"{path}: row {n + 1} is not an object")
        prompt = _prompt_of(row)
        if prompt is None and n == 0:
            raise UserError(
                f"{path}: row 1 has no prompt (expected a 'prompt', 'input', 'text' or "
                f"'conversation[0].input' field)"
            )
        out.append((str(row.get("id") or f"{path.stem}-{n}"), prompt))
    return out


def _read_pure_dove() -> list[tuple[str, str | None]]:
    try:
        import datasets

        ds = datasets.load_dataset(PURE_DOVE, split="train")
    except Exception as e:
        raise UserError(
            f"cannot load {PURE_DOVE} from the hub ({type(e).__name__}). Save it where the hub "
            f"is reachable (datasets.load_dataset('{PURE_DOVE}', split='train')"
            f".to_json('pure_dove.jsonl')) and set scaffold.prompts=pure_dove.jsonl"
        ) from None
    return [(f"pure-dove-{i}", _prompt_of(row)) for i, row in enumerate(ds)]


def load_prompts(source: str, limit: int | None, shuffle_seed: int | None) -> list[tuple[str, str]]:
    """(item id, prompt) pairs: shuffled with `shuffle_seed`, first `limit` non-empty."""
    if source in BUILTIN:
        rows = _read_file(BUILTIN[source])
    elif source == "pure-dove":
        rows = _read_pure_dove()
    else:
        rows = _read_file(Path(source).expanduser())
    order = range(len(rows))
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(len(rows)).tolist()
    picked = []
    for i in order:
        item_id, prompt = rows[i]
        if prompt and prompt.strip():
            picked.append((item_id, prompt))
            if limit is not None and len(picked) == limit:
                break
    if not picked:
        raise UserError(f"scaffold.prompts={source}: no non-empty prompt")
    if len({i for i, _ in picked}) != len(picked):
        raise UserError(f"scaffold.prompts={source}: item ids are not unique")
    return picked


def load_suffix(suffix: str, path: str | None) -> str:
    """A break-character suffix by id (v0..v7) from the shipped file or the user's."""
    file = Path(path).expanduser() if path else SUFFIXES
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"scaffold.suffixes_file={file}: cannot read ({e})") from None
    table = data.get("suffixes", data)
    if suffix not in table:
        raise UserError(f"unknown suffix '{suffix}' in {file} (known: {', '.join(table)})")
    return table[suffix]
