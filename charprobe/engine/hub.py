"""Preflight: is every model and adapter a job needs reachable, before any weights load?

A path is either a local folder (used as it is) or a Hugging Face hub id (found in the
local HF cache, else asked of the hub). Whatever cannot be had fails in one line that
names it and says how to point charprobe at a local copy.
"""

from __future__ import annotations

import os
from pathlib import Path

from charprobe.errors import UserError


def is_local(path: str) -> bool:
    """Local folders are absolute, relative (./, ../) or home paths, or exist on disk."""
    return path.startswith(("/", "./", "../", "~")) or Path(path).expanduser().exists()


def _hub_has(repo: str, filename: str, revision: str | None) -> None:
    """Raise UserError unless `repo/filename` is in the HF cache or on the reachable hub."""
    from huggingface_hub import HfApi, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(repo, filename, revision=revision), str):
        return
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        raise UserError(
            f"{repo}/{filename} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set"
        )
    try:
        exists = HfApi().file_exists(repo, filename, revision=revision)
    except Exception as e:  # no network, DNS, gated repo, bad token: all end the same way
        name = type(e).__name__
        if "Gated" in name or "401" in str(e) or "403" in str(e):
            raise UserError(
                f"{repo} is gated: accept its licence on huggingface.co and run `hf auth login`"
            ) from e
        raise UserError(f"cannot reach the Hugging Face hub for {repo} ({name}: {e})") from e
    if not exists:
        raise UserError(f"{repo} on the Hugging Face hub has no file {filename}")


def require_model(path: str, revision: str | None = None, key: str = "model.path") -> None:
    if is_local(path):
        if not (Path(path).expanduser() / "config.json").is_file():
            raise UserError(f"{key}={path}: no such model folder (config.json missing)")
        return
    try:
        _hub_has(path, "config.json", revision)
    except UserError as e:
        raise UserError(
            f"{e}. Use a local copy: `hf download {path} --local-dir DIR` on a machine with "
            f"access, then {key}=DIR"
        ) from None


def require_adapter(repo: str, persona: str, key: str = "stage.repo") -> None:
    """An adapter is `<repo>/<persona>/adapter_config.json`, on the hub or on disk."""
    filename = f"{persona}/adapter_config.json"
    if is_local(repo):
        if not (Path(repo).expanduser() / filename).is_file():
            raise UserError(
                f"missing adapter for persona '{persona}': {Path(repo) / filename} not found "
                f"({key}={repo})"
            )
        return
    try:
        _hub_has(repo, filename, None)
    except UserError as e:
        raise UserError(
            f"{e}. Use a local copy: `hf download {repo} --local-dir DIR`, then {key}=DIR "
            f"(one subfolder per persona)"
        ) from None
