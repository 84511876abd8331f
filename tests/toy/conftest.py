"""The reference study's scenario folder, for tests that run the toy models on it.

The `toy_world` fixture itself lives in tests/conftest.py (tests outside this folder use it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

REFERENCE = (
    Path(__file__).resolve().parents[3] / "shared" / "reference" / "depth-character-training"
)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not (REFERENCE / "scenarios").is_dir():
        pytest.skip("reference scenarios not available (../shared/reference is absent)")
    return REFERENCE
