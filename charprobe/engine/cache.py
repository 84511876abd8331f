"""The loaded base model a process keeps between jobs, owned by whoever runs the jobs.

Loading a base is the slow part of a job; the jobs of a multirun run in one process
(Hydra's default launcher), so the job runner hands one `EngineCache` to every engine it
builds, and each stage of a base reuses what the previous stage loaded. One entry at a
time: a new base replaces the old one, which is closed first (a vLLM engine process, a
GPU's memory), so two bases never sit in memory together.
"""

from __future__ import annotations

import atexit
import gc
from typing import Any


class EngineCache:
    """Holds one loaded thing (an HF model, a vLLM runtime); the engine decides reuse."""

    def __init__(self) -> None:
        self._held: Any = None

    @property
    def current(self) -> Any:
        """What is held now, or None; the engine compares its own key with it."""
        return self._held

    def hold(self, value: Any) -> Any:
        """Keep `value` in place of what was held (closed first); returns `value`."""
        if value is not self._held:
            self.drop()
            self._held = value
            # Closed at exit before the libraries' own exit handlers run (they run last
            # registered first): a vLLM engine shut down after vLLM's own clean-up dies
            # noisily instead.
            atexit.unregister(self.drop)
            atexit.register(self.drop)
        return value

    def drop(self) -> None:
        """Close and forget what is held, and hand its memory back."""
        held, self._held = self._held, None
        if held is None:
            return
        close = getattr(held, "close", None)
        if callable(close):
            close()
        del held
        gc.collect()
        try:
            import torch
        except ImportError:  # nothing to free without torch
            return
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
