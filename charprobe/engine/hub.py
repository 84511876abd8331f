"""Preflight: is every model and adapter a job needs reachable, before any weights load?

A path is either a local folder (used as it is) or a Hugging Face hub id (found in the
local HF cache, else asked of the hub). Whatever cannot be had fails in one line that
names it and says how to point charprobe at a local copy.

The hub is asked once per file, without retries and under a deadline of `HUB_TIMEOUT`
seconds for the whole question (`CHARPROBE_HUB_TIMEOUT` to change it): huggingface_hub
may make requests of its own on the way (its user-agent registry, redirects), each
with its own timeout, so a per-request timeout alone does not bound it. A machine
without network fails in seconds. Nothing here imports torch.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from charprobe.errors import UserError

HUB_TIMEOUT = float(os.environ.get("CHARPROBE_HUB_TIMEOUT", "3"))
_REPO_ID = re.compile(r"^[\w.\-]+(/[\w.\-]+)?$")
_TRUE = ("1", "true", "yes", "on")
# (repo, filename, revision) found on the hub in this process: asked once, not per job.
_FOUND: set[tuple[str, str, str | None]] = set()


def is_local(path: str) -> bool:
    """Local folders are absolute, relative (./, ../) or home paths, or exist on disk."""
    return path.startswith(("/", "./", "../", "~")) or Path(path).expanduser().exists()


def offline() -> bool:
    """HF offline mode, read from the environment now (huggingface_hub reads it at import)."""
    return any(
        os.environ.get(k, "").lower() in _TRUE for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:200]}"


def _within(seconds: float, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """`fn(*args, **kw)`, or TimeoutError if it has not returned after `seconds`.

    It runs in a daemon thread: one stuck on a dead network is left behind and does not
    keep the process from exiting.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn(*args, **kw)
        except BaseException as e:  # handed to the caller below
            box["error"] = e

    worker = threading.Thread(target=run, name="charprobe-hub", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {seconds:g}s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _cached(repo: str, filename: str, revision: str | None) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo, filename, revision=revision)
    except Exception:  # a malformed id or cache: treat as not cached
        return None
    return found if isinstance(found, str) else None


def _hub_has(repo: str, filename: str, revision: str | None) -> None:
    """Raise UserError unless `repo/filename` is in the HF cache or on the reachable hub."""
    if not _REPO_ID.match(repo):
        raise UserError(f"'{repo}' is neither a local folder nor a hub id (owner/name)")
    if (repo, filename, revision) in _FOUND or _cached(repo, filename, revision):
        return
    if offline():
        raise UserError(
            f"{repo}/{filename} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set"
        )
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub import utils as hf_utils

    GatedRepoError = hf_utils.GatedRepoError
    RepositoryNotFoundError = hf_utils.RepositoryNotFoundError
    RevisionNotFoundError = hf_utils.RevisionNotFoundError
    # The hub's 404 for a file; not LocalEntryNotFoundError (a cache miss while offline).
    EntryNotFoundError = getattr(hf_utils, "RemoteEntryNotFoundError", hf_utils.EntryNotFoundError)

    try:
        url = hf_hub_url(repo, filename, revision=revision)
        _within(HUB_TIMEOUT, get_hf_file_metadata, url, timeout=HUB_TIMEOUT)
    except GatedRepoError:
        raise UserError(
            f"{repo} is gated: accept its licence on huggingface.co and run `hf auth login`"
        ) from None
    except (RepositoryNotFoundError, RevisionNotFoundError):
        raise UserError(
            f"{repo} is not on the Hugging Face hub (or is private: `hf auth login`)"
        ) from None
    except EntryNotFoundError:
        raise UserError(f"{repo} on the Hugging Face hub has no file {filename}") from None
    except Exception as e:  # no network, DNS, timeout, proxy: all end the same way
        if "401" in str(e) or "403" in str(e):
            raise UserError(
                f"{repo} needs a login: accept its licence on huggingface.co and run "
                "`hf auth login`"
            ) from None
        raise UserError(f"cannot reach the Hugging Face hub for {repo} ({_one_line(e)})") from None
    _FOUND.add((repo, filename, revision))


def hub_file(repo: str, filename: str, revision: str | None = None) -> Path:
    """A small file of a hub repo (a config.json), from the cache or downloaded once."""
    found = _cached(repo, filename, revision)
    if found:
        return Path(found)
    _hub_has(repo, filename, revision)
    from huggingface_hub import hf_hub_download

    try:
        return Path(
            _within(
                2 * HUB_TIMEOUT,
                hf_hub_download,
                repo,
                filename,
                revision=revision,
                etag_timeout=HUB_TIMEOUT,
            )
        )
    except Exception as e:
        raise UserError(f"cannot download {repo}/{filename} ({_one_line(e)})") from None


def _local_copy(repo: str, key: str) -> str:
    return (
        f"use a local copy: `hf download {repo} --local-dir DIR` on a machine with "
        f"access, then {key}=DIR"
    )


def resolve_checkpoint(path: str, what: str, key: str, fix: str) -> tuple[str, bool]:
    """(where to load from, local_files_only) for a local folder or a hub id.

    A hub id is used from the local HF cache when it is there; else the hub is asked once,
    under the deadline above. Whatever cannot be had is one UserError naming `key`; `fix`
    says what to do about a local folder that is not there.
    """
    if is_local(path):
        folder = Path(path).expanduser()
        if folder.is_dir():
            return str(folder), True
        if folder.exists():
            raise UserError(f"{key}={path}: is a file; expected a {what} folder")
        raise UserError(f"{key}={path}: no {what} folder at '{path}'; {fix}")
    if _cached(path, "config.json", None):
        return path, True
    try:
        _hub_has(path, "config.json", None)
    except UserError as e:
        raise UserError(f"{key}={path}: {what}: {e}; {_local_copy(path, key)}") from None
    return path, False


def require_model(path: str, revision: str | None = None, key: str = "model.path") -> None:
    if is_local(path):
        folder = Path(path).expanduser()
        if not (folder / "config.json").is_file():
            what = "has no config.json" if folder.is_dir() else "no such model folder"
            raise UserError(
                f"{key}={path}: {what} (config.json missing); point {key} at a model folder "
                "(config.json, weights, tokenizer) or a hub id"
            )
        return
    try:
        _hub_has(path, "config.json", revision)
    except UserError as e:
        raise UserError(f"{key}={path}: {e}; {_local_copy(path, key)}") from None


def require_adapter(repo: str, persona: str, key: str = "stage.repo") -> None:
    """An adapter is `<repo>/<persona>/adapter_config.json`, on the hub or on disk."""
    filename = f"{persona}/adapter_config.json"
    if is_local(repo):
        if not (Path(repo).expanduser() / filename).is_file():
            raise UserError(
                f"{key}={repo}: missing adapter for persona '{persona}' "
                f"({Path(repo) / filename} not found); put that persona's adapter in "
                f"{Path(repo) / persona}/, or leave the persona out (persona.personas=[...])"
            )
        return
    try:
        _hub_has(repo, filename, None)
    except UserError as e:
        raise UserError(
            f"{key}={repo}: missing adapter for persona '{persona}' ({e}); "
            f"{_local_copy(repo, key)} (one subfolder per persona)"
        ) from None


def adapter_repo(stage: Any, persona: str) -> str:
    """The repo holding `persona`'s adapter of `stage` (a StageConfig, or its config node):
    its own entry in `persona_repos` (the gated full misalignment adapter), else the
    stage's repo."""
    repo = stage.persona_repos.get(persona, stage.repo)
    if repo is None:
        raise ValueError(f"stage {stage.name} has no adapters")
    return repo


def preflight(model: Any, stage: Any, personas: Sequence[str]) -> None:
    """The base model and every persona's adapter, on disk, in the HF cache or on the hub;
    whatever cannot be had fails in one line, before any weights load."""
    require_model(model.path, model.revision)
    if stage.repo is None:
        return
    for persona in personas:
        key = f"stage.persona_repos.{persona}" if persona in stage.persona_repos else "stage.repo"
        require_adapter(adapter_repo(stage, persona), persona, key=key)
