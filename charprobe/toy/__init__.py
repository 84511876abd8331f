"""The offline toy world: tiny bases and persona adapters, built on first use, cached.

charprobe's tests and its laptop demo need models with no network and no GPU. Rather
than mock them, the project trains its own: three tiny bases of the real families'
architectures and chat-template quirks, taught plain chat and the agentic tool protocol,
and LoRA persona adapters trained on chat only (the study's setting in miniature). Their
folders look like the real Hugging Face repos, so the rest of charprobe loads them with
the usual `from_pretrained` calls and never knows.

    from charprobe.toy import ensure_world
    world = ensure_world()            # builds once (~2 CPU minutes), then cached
    ensure_world(families=("llama",)) # toy_llama alone (what the demo needs), ~1.5 minutes
    base = world / "toy-llama-base"   # + toy-llama-personas/<persona>, ...

The world lives in `<root>/<RECIPE_VERSION>-<platform>/`; root is `$CHARPROBE_TOY_DIR` or
`~/.cache/charprobe/toy`, and `<platform>` a digest of what else shapes its bytes (the
versions of Python, torch, transformers, peft, tokenizers, safetensors and numpy, and the
CPU): a world built under other versions is another world, built anew, never reused. A
file lock makes concurrent callers wait for one build; each build goes to a temporary
folder whose repo folders are moved into place only when complete.
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

# The packages whose versions are part of a world's identity (`platform_identity`).
PACKAGES = ("torch", "transformers", "peft", "tokenizers", "safetensors", "numpy")

__all__ = [
    "RECIPE_VERSION",
    "built_families",
    "default_root",
    "ensure_world",
    "platform_identity",
    "platform_key",
    "world_path",
]


def platform_identity() -> dict[str, str | None]:
    """What a toy world's bytes depend on besides the recipe: the libraries that train and
    save it, and the CPU whose kernels run them (another instruction set picks other
    matmul kernels, which round differently). The build is deterministic where this is
    the same. Read from package metadata and /proc/cpuinfo: nothing is imported."""
    import hashlib
    import platform

    from charprobe.provenance import versions

    out = versions(PACKAGES)
    cpu, flags = platform.processor() or platform.machine(), ""
    try:
        info = Path("/proc/cpuinfo").read_text()
        cpu = next((ln.split(":", 1)[1].strip() for ln in info.splitlines()
                    if ln.startswith("model name")), cpu)  # fmt: skip
        flags = next((ln.split(":", 1)[1] for ln in info.splitlines()
                      if ln.startswith("flags")), "")  # fmt: skip
    except OSError:
        pass
    out["machine"] = platform.machine()
    out["cpu"] = cpu
    out["cpu_flags"] = hashlib.sha256(" ".join(sorted(flags.split())).encode()).hexdigest()[:16]
    return out


def platform_key() -> str:
    """A short digest of `platform_identity()`: the second half of a world's folder name."""
    import hashlib

    text = json.dumps(platform_identity(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def default_root() -> Path:
    env = os.environ.get("CHARPROBE_TOY_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "charprobe" / "toy"


def world_path(root: str | Path | None = None) -> Path:
    """Where the current recipe's world, built on this platform, lives (built or not)."""
    base = Path(root).expanduser() if root is not None else default_root()
    return base / f"{RECIPE_VERSION}-{platform_key()}"


def built_families(folder: Path) -> set[str]:
    """The families whose bases and adapters are complete in a world folder."""
    from charprobe.toy.build import FAMILIES

    if (folder / MANIFEST).is_file():
        return set(FAMILIES)
    return {f for f in FAMILIES if (folder / f".{f}.json").is_file()}


def ensure_world(
    root: str | Path | None = None, force: bool = False, families: tuple[str, ...] | None = None
) -> Path:
    """Return the folder of the built toy world, building first what `families` (default
    all three) need and it lacks: `families=("llama",)` builds toy_llama alone, in about
    two thirds of the whole world's time, and a later call adds the others beside it.

    Safe to call from several processes at once: one builds, the others wait on the lock
    and then find the finished families. Each build goes to a temporary folder whose
    families are moved into place only when complete (`WORLD.json` appears once all three
    are). `force` rebuilds the whole world even if it exists.
    """
    from charprobe.toy.build import FAMILIES

    final = world_path(root)
    want = set(families or FAMILIES)
    if not force and want <= built_families(final):
        return final
    with file_lock(final.parent / f".{final.name}.lock"):
        done = set() if force else built_families(final)
        if want <= done:
            return final  # someone else built it while we waited
        from charprobe.toy.build import build_world

        todo = tuple(f for f in FAMILIES if f in want - done)
        tmp = final.parent / f".{final.name}.building-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        print(
            f"[charprobe.toy] building the toy world (recipe {RECIPE_VERSION}: "
            f"{', '.join(todo)}) into {final} ...",
            file=sys.stderr,
            flush=True,
        )
        t0 = time.time()
        try:
            build_world(tmp, families=todo, llama_from=final if "llama" in done else None)
            part = json.loads((tmp / MANIFEST).read_text())
            (tmp / MANIFEST).unlink()
            part["recipe_version"] = RECIPE_VERSION
            part["platform_key"] = final.name.split("-", 1)[1]
            if final.exists() and force:
                old = final.parent / f".{final.name}.old-{os.getpid()}"
                final.rename(old)
                shutil.rmtree(old, ignore_errors=True)
            final.mkdir(parents=True, exist_ok=True)
            for child in tmp.iterdir():  # each repo folder whole, or not at all
                if not (final / child.name).exists():
                    child.rename(final / child.name)
            built = part.get("families") or list(todo)
            for fam in built:
                (final / f".{fam}.json").write_text(json.dumps(part, indent=2) + "\n")
            if built_families(final) == set(FAMILIES):
                _finish(final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(
            f"[charprobe.toy] world ready in {time.time() - t0:.0f}s: {final}",
            file=sys.stderr,
            flush=True,
        )
    return final


def _finish(world: Path) -> None:
    """All three families are in: the world's one manifest, merged from the builds that
    made it (one, or one per call of `ensure_world`), and the Llama trunk dropped."""
    from charprobe.toy.build import FAMILIES, TRUNK

    parts = []
    for fam in FAMILIES:
        part = json.loads((world / f".{fam}.json").read_text())
        if part not in parts:
            parts.append(part)
    manifest = dict(parts[0])
    if len(parts) > 1:
        for key in ("params", "jobs"):
            manifest[key] = {k: v for p in parts for k, v in (p.get(key) or {}).items()}
        manifest["families"] = list(FAMILIES)
        manifest["build_s"] = round(sum(p.get("build_s", 0) for p in parts), 1)
        manifest["builds"] = [p.get("families") for p in parts]
    (world / TRUNK).unlink(missing_ok=True)
    (world / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
