"""What vLLM needs to know of a stage's LoRA adapters before it loads them: where they
are on disk, the rank to reserve, and whether they fit the base (checked here, in one
line, because vLLM raising inside its engine process kills it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from charprobe.config import ModelConfig, StageConfig
from charprobe.engine import hub
from charprobe.errors import UserError

# The LoRA ranks vLLM accepts for max_lora_rank.
RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def adapter_folder(stage: StageConfig, persona: str) -> Path:
    """The local folder of a persona's adapter: a local repo as is, a hub repo downloaded."""
    repo = hub.adapter_repo(stage, persona)
    if hub.is_local(repo):
        return Path(repo).expanduser() / persona
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo, allow_patterns=[f"{persona}/*"])) / persona


def lora_rank(folders: Sequence[Path]) -> int:
    """The smallest rank vLLM accepts that holds every adapter's own rank."""
    top = max(
        (json.loads((f / "adapter_config.json").read_text())["r"] for f in folders),
        default=RANKS[1],
    )
    return next((r for r in RANKS if r >= top), top)


def module_names(model: ModelConfig) -> set[str] | None:
    """The last name part of every weight-bearing module of a base (q_proj, ...), read
    from its safetensors headers; None when the base is not on disk yet."""
    from safetensors import safe_open

    folder = Path(model.path).expanduser()
    if not hub.is_local(model.path):
        from huggingface_hub import snapshot_download

        try:
            folder = Path(
                snapshot_download(
                    model.path,
                    revision=model.revision,
                    allow_patterns=["*.safetensors"],
                    local_files_only=True,
                )
            )
        except Exception:  # not in the HF cache: vLLM fetches it and checks on its own
            return None
    names = set()
    for f in folder.glob("*.safetensors"):
        with safe_open(str(f), "pt") as st:
            names.update(k.rsplit(".", 2)[-2] for k in st.keys() if k.count(".") >= 1)
    return names or None


def check_target_modules(model: ModelConfig, folders: dict[str, Path], stage: str) -> None:
    """Fail in one line for an adapter aimed at modules the base does not have.

    vLLM raises on such an adapter inside its engine process, which then dies; checked
    here, the line names the adapter and the engine stays up.
    """
    names = module_names(model)
    if names is None:
        return
    for persona, folder in folders.items():
        targets = json.loads((folder / "adapter_config.json").read_text()).get("target_modules")
        if isinstance(targets, str):  # a regex: vLLM matches it itself
            continue
        missing = sorted(set(targets or []) - names)
        if missing:
            raise UserError(
                f"adapter {stage}/{persona} ({folder}): targets modules {', '.join(missing)} that "
                f"{model.path} does not have (it has {', '.join(sorted(names)[:12])}, ...); "
                f"it was trained for another architecture or names its modules differently"
            )
