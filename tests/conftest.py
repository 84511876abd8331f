"""Shared fixtures: a random tiny hub (seconds) and the toy world (cached, minutes to build).

The toy world is the cache under $CHARPROBE_TOY_DIR (or the user cache): the first test
session on a machine builds it (~3 CPU minutes); later sessions reuse it. While no world
is cached, tests that need one count as `slow`, so `-m "not slow"` stays fast on a fresh
checkout.
"""

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


def pytest_collection_modifyitems(config, items):
    from charprobe.toy import world_path

    if (world_path() / "WORLD.json").is_file():
        return
    for item in items:
        if "toy_world" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def toy_world() -> Path:
    from charprobe.toy import ensure_world

    return ensure_world()
