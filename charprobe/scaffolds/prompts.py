"""Chat prompt sources: the built-in sets, PURE-DOVE, or a user's JSONL/CSV file.

Order follows the study: shuffle the whole source with a seed, then keep the first N
non-empty prompts. The permutation is numpy's `default_rng(seed).permutation(n)`, the one
`datasets.Dataset.shuffle(seed=...)` uses, so a local copy of PURE-DOVE gives the same
items as the hub.
"""

from __future__ import annotations

import csv
import functools
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


class _BadLine(UserError):
    pass


_FORMAT = (
    "one JSON object per line, or a CSV with a header, each with a 'prompt' (or "
    "'input', 'text', 'conversation[0].input') field"
)


def _read_file(path: Path, key: str = "scaffold.prompts") -> list[tuple[str, str | None]]:
    if path.is_dir():
        raise UserError(
            f"{key}={path}: is a folder, not a prompts file; point {key} at a JSONL or CSV file"
        )
    if not path.is_file():
        raise UserError(
            f"{key}={path}: no such file; point {key} at a JSONL or CSV file, or use {key}=builtin"
        )
    rows: list[dict] = []
    try:
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
        else:
            rows = [row for _, row in iter_jsonl(path, _BadLine, "not valid JSON")]
    except _BadLine as e:
        raise UserError(
            f"{key}: {e}; fix or delete that line (each line is one JSON object "
            "with a 'prompt' field)"
        ) from None
    except UnicodeDecodeError as e:
        raise UserError(
            f"{key}={path}: cannot read, not UTF-8 text ({e}); save it as UTF-8"
        ) from None
    except (OSError, csv.Error) as e:
        raise UserError(
            f"{key}={path}: cannot read ({type(e).__name__}: {e}); check the "
            f"file or point {key} at another one"
        ) from None
    out = []
    for n, row in enumerate(rows):
        if not isinstance(row, dict):
            raise UserError(f"{key}: {path}: row {n + 1} is not an object; write {_FORMAT}")
        prompt = _prompt_of(row)
        if prompt is None and n == 0:
            raise UserError(f"{key}: {path}: row 1 has no prompt; write {_FORMAT}")
        out.append((str(row.get("id") or f"{path.stem}-{n}"), prompt))
    return out


@functools.lru_cache(maxsize=1)  # read once per process: the input check, then the job
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
        raise UserError(f"scaffold.prompts={source}: no non-empty prompt; write {_FORMAT}")
    if len({i for i, _ in picked}) != len(picked):
        raise UserError(
            f"scaffold.prompts={source}: item ids are not unique; give every row its own 'id'"
        )
    return picked


def load_suffix(suffix: str, path: str | None) -> str:
    """A break-character suffix by id (v0..v7) from the shipped file or the user's."""
    file = Path(path).expanduser() if path else SUFFIXES
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(
            f"scaffold.suffixes_file={file}: cannot read ({e}); point it at a "
            f"JSON file of id: suffix, or null for charprobe's own"
        ) from None
    table = data.get("suffixes", data) if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise UserError(f"scaffold.suffixes_file={file}: not a JSON object of id: suffix")
    if suffix not in table:
        raise UserError(
            f"scaffold.suffix={suffix}: unknown suffix '{suffix}' in {file}; use "
            f"one of {', '.join(table)}"
        )
    return table[suffix]
