"""The reference study's scenario folder, for tests that run the toy models on it.

The `toy_world` fixture itself lives in tests/conftest.py (tests outside this folder use it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SHARED, require

REFERENCE = SHARED / "reference" / "depth-character-training"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The study's folder: a test needing it skips on a user's clone and fails in CI."""
    require((REFERENCE / "scenarios").is_dir(), f"reference scenarios not present: {REFERENCE}")
    return REFERENCE
