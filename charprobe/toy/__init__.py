"""The offline toy world: tiny bases and persona adapters, built on first use, cached.

charprobe's tests and its laptop demo need models with no network and no GPU. Rather
than mock them, the project trains its own: three tiny bases of the real families'
architectures and chat-template quirks, taught plain chat and the agentic tool protocol,
and LoRA persona adapters trained on chat only (the study's setting in miniature). Their
folders look like the real Hugging Face repos, so the rest of charprobe loads them with
the usual `from_pretrained` calls and never knows.

    from charprobe.toy import ensure_world
    world = ensure_world()            # builds once (~2 CPU minutes), then cached
    base = world / "toy-llama-base"   # + toy-llama-personas/<persona>, ...

The world lives in `<root>/<RECIPE_VERSION>/`; root is `$CHARPROBE_TOY_DIR` or
`~/.cache/charprobe/toy`. A file lock makes concurrent callers wait for one build; the
build goes to a temporary folder renamed into place only when complete.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

from charprobe.store import file_lock

# Bump whenever anything that shapes the world changes (data, tokenizer, sizes, steps).
RECIPE_VERSION = "v3"
MANIFEST = "WORLD.json"

__all__ = ["RECIPE_VERSION", "default_root", "ensure_world", "world_path"]


def default_root() -> Path:
    env = os.environ.get("CHARPROBE_TOY_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "charprobe" / "toy"


def world_path(root: str | Path | None = None) -> Path:
    """Where the current recipe's world lives (built or not)."""
    return (Path(root).expanduser() if root is not None else default_root()) / RECIPE_VERSION


def _complete(folder: Path) -> bool:
    return (folder / MANIFEST).is_file()


def ensure_world(root: str | Path | None = None, force: bool = False) -> Path:
    """Return the folder of the built toy world, building it first if absent.

    Safe to call from several processes at once: one builds, the others wait on the lock
    and then find the finished world. `force` rebuilds even if a world exists.
    """
    final = world_path(root)
    if _complete(final) and not force:
        return final
    with file_lock(final.parent / f".{RECIPE_VERSION}.lock"):
        if _complete(final) and not force:
            return final  # someone else built it while we waited
        from charprobe.toy.build import build_world

        tmp = final.parent / f".{RECIPE_VERSION}.building-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        print(
            f"[charprobe.toy] building the toy world (recipe {RECIPE_VERSION}) into {final} ...",
            file=sys.stderr,
            flush=True,
        )
        t0 = time.time()
        try:
            build_world(tmp)
            manifest = tmp / MANIFEST
            data = json.loads(manifest.read_text())
            data["recipe_version"] = RECIPE_VERSION
            manifest.write_text(json.dumps(data, indent=2) + "\n")
            if final.exists():  # forced rebuild, or a half-built folder from another layout
                old = final.parent / f".{RECIPE_VERSION}.old-{os.getpid()}"
                final.rename(old)
                shutil.rmtree(old, ignore_errors=True)
            tmp.rename(final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        print(
            f"[charprobe.toy] world ready in {time.time() - t0:.0f}s: {final}",
            file=sys.stderr,
            flush=True,
        )
    return final
