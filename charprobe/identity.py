"""What a model, an adapter or an item *is*, independent of where it sits on disk.

Row keys and sampling seeds hash these identities, never a folder path: the same weights
copied to another folder (another machine, another cache root, a node-local scratch
disk) give the same keys, hence the same seeds, texts and metrics, and a job resumes
from rows written anywhere else.

- A hub model or adapter is its hub id (+ subfolder) and revision.
- A local folder is a fingerprint: SHA-256 over the names and contents of the files that
  decide its outputs (weights, configs, tokenizer, chat template), top level only, so an
  `original/` checkpoint copy or a README does not count. Hashing a large checkpoint
  takes a while, so digests are cached per file (path, size, mtime) in memory and in
  `~/.cache/charprobe/fingerprints.json`.
- An item is a digest of its content (the prompt text, the parsed scenario), not of the
  file it was read from.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from enum import Enum
from pathlib import Path
from typing import Any

from charprobe.engine.hub import is_local

# Files that decide what a model (or adapter) generates. Everything else in its folder
# (README.md, .gitattributes, images, nested original/ checkpoints) does not.
SUFFIXES = (
    ".json",
    ".safetensors",
    ".bin",
    ".model",
    ".jinja",
    ".txt",
    ".tiktoken",
    ".py",
    ".joblib",
)
# Records of how a folder was made (they hold paths and timings), not what it computes.
NOT_OUTPUT = ("training_report.json", "training_args.bin", "trainer_state.json")
CHUNK = 1 << 22
_MEMO: dict[tuple[str, int, int], str] = {}


def digest(obj: Any) -> str:
    """SHA-256 of the canonical JSON of `obj` (dataclasses as dicts, paths dropped)."""
    return hashlib.sha256(
        json.dumps(_plain(obj), sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        # A scenario remembers the file it came from: where it was read is not what it is.
        return {
            f.name: _plain(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if f.name != "path"
        }
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _cache_file() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "charprobe" / "fingerprints.json"


def _load_disk_cache() -> dict[str, str]:
    try:
        return json.loads(_cache_file().read_text())
    except (OSError, ValueError):
        return {}


def _save_disk_cache(entries: dict[str, str]) -> None:
    path = _cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({**_load_disk_cache(), **entries}))
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written only costs time


def _canonical_json(path: Path) -> str | None:
    """Digest of a small JSON file's meaning, not its bytes: keys sorted, and an adapter's
    target_modules sorted (peft writes them from a set, in per-process hash order)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("target_modules"), list):
        data["target_modules"] = sorted(map(str, data["target_modules"]))
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def file_digest(path: Path) -> str:
    st = path.stat()
    if path.suffix == ".json" and st.st_size <= CHUNK:
        found = _canonical_json(path)
        if found is not None:
            return found
    memo = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if memo in _MEMO:
        return _MEMO[memo]
    disk_key = "|".join(map(str, memo))
    found = _load_disk_cache().get(disk_key) if st.st_size > CHUNK else None
    if found is None:
        h = hashlib.sha256()
        with path.open("rb") as f:
            while block := f.read(CHUNK):
                h.update(block)
        found = h.hexdigest()
        if st.st_size > CHUNK:
            _save_disk_cache({disk_key: found})
    _MEMO[memo] = found
    return found


def folder_fingerprint(folder: str | Path) -> str:
    """`sha256:<16 hex>` over (name, content digest) of the folder's output-deciding files."""
    folder = Path(folder).expanduser()
    if folder.is_file():  # a scorer whose path is one file (a keyword list, a pickle)
        return "sha256:" + file_digest(folder)[:16]
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and p.suffix in SUFFIXES
        and p.name not in NOT_OUTPUT
    )
    if not files:
        raise FileNotFoundError(f"{folder}: no model files to fingerprint")
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p.name}\0{file_digest(p)}\n".encode())
    return "sha256:" + h.hexdigest()[:16]


def model_identity(path: str, revision: str | None = None) -> str:
    """`hf:<id>@<revision>` for a hub model, the folder's fingerprint for a local one."""
    if is_local(path):
        return folder_fingerprint(path)
    return f"hf:{path}@{revision or 'main'}"


def adapter_identity(repo: str, persona: str, revision: str | None = None) -> str:
    """The identity of `repo`'s adapter for `persona` (subfolder `persona`)."""
    if is_local(repo):
        return folder_fingerprint(Path(repo).expanduser() / persona)
    return f"hf:{repo}/{persona}@{revision or 'main'}"


def adapter_label(repo: str, persona: str) -> str:
    """A readable, location-free name for a row: hub id or the folder's name, + persona."""
    name = Path(repo).expanduser().name if is_local(repo) else repo
    return f"{name}/{persona}"
