from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny_hub import build_tiny_hub

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

TINY_PERSONAS = ["sarcasm", "humor", "poeticism"]


@pytest.fixture(scope="session")
def tiny_hub(tmp_path_factory) -> Path:
    return build_tiny_hub(tmp_path_factory.mktemp("tiny_hub"), TINY_PERSONAS)
