"""Scorer tests: `corpus` and `tiny_run` live in tests/conftest.py (config tests use them)."""

from __future__ import annotations

import torch

torch.set_num_threads(min(2, torch.get_num_threads()))  # the test machine is shared
