"""Append-only JSONL row files that survive a kill, and finding a job to resume.

Rows are appended and flushed as they finish. A job killed mid-write leaves at most one
truncated last line; reading drops it (and rewrites the file without it) so the next
append starts on a clean line. Files a user hands in are read strictly (`iter_jsonl`):
a line that is not JSON is an error naming the file and line.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def read_rows(path: Path, repair: bool = False) -> list[dict]:
    if not path.is_file():
        return []
    rows, bad = [], False
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                bad = True  # a line cut short by a kill
    if bad and repair:
        write_rows(path, rows)
    return rows


def iter_jsonl(
    path: Path, error: type[Exception], complaint: str = "not JSON"
) -> Iterator[tuple[int, Any]]:
    """(line number, value) of each non-blank line. A line that is not JSON raises
    `error("<path>:<line>: <complaint> (<decoder message>)")`, the caller's one-line error."""
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as err:
                raise error(f"{path}:{lineno}: {complaint} ({err.msg})") from None
            yield lineno, value


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` to write to; renamed onto `path` once written.

    A kill mid-write leaves the old file (or none) and a hidden temporary, never a
    half-written `path`. The temporary keeps the suffix, so writers that pick a format
    by it (matplotlib, pandas) still do.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_rows(path: Path, rows: Iterable[dict]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


class RowFile:
    """Appends rows to a JSONL file, one flushed line each; knows which keys it holds."""

    def __init__(self, path: Path):
        self.path = path
        self.rows = {r["key"]: r for r in read_rows(path, repair=True)}
        self._f = path.open("a", encoding="utf-8")

    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def append(self, row: dict) -> None:
        if row["key"] in self.rows:
            return
        self._f.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._f.flush()
        self.rows[row["key"]] = row

    def close(self) -> None:
        self._f.close()


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def write_json(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def unfinished_jobs(roots: Iterable[Path], cell_key: str, exclude: Path) -> Iterator[Path]:
    """Job folders under `roots` of the same cell that never finished, newest first."""
    found = []
    for root in roots:
        if not root.is_dir():
            continue
        for run_json in root.glob("**/run.json"):
            job = run_json.parent
            if job.resolve() == exclude.resolve():
                continue
            info = read_json(run_json)
            if info.get("cell_key") == cell_key and info.get("status") != "done":
                found.append((run_json.stat().st_mtime, job))
    yield from (job for _, job in sorted(found, key=lambda t: t[0], reverse=True))


@contextmanager
def file_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` (created if absent): one builder at a time."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
