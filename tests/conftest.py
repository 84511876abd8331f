"""Shared fixtures: a random tiny hub (seconds) and the toy world (cached, minutes to build).

The toy world is the cache under $CHARPROBE_TOY_DIR (or the user cache): the first test
session on a machine builds it (~3 CPU minutes); later sessions reuse it. While no world
is cached, tests that need one count as `slow`, so `-m "not slow"` stays fast on a fresh
checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tiny_hub import build_tiny_hub

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

TINY_PERSONAS = ["sarcasm", "humor", "poeticism"]
# CI sets CI=true: there a missing prerequisite is a failure, never a silent skip.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Under pytest-xdist (scripts/test.sh runs the suite on every core), each worker is a
# process of its own: torch gets cores // workers threads in it, set before torch loads,
# and so does every `python -m charprobe` a test starts (it inherits the environment).
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, str(max(1, (os.cpu_count() or 1) // _WORKERS)))


def require(ok: bool, reason: str) -> None:
    """Skip a test whose prerequisite is missing on a user's machine; fail it in CI."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"missing prerequisite (CI=true): {reason}", pytrace=False)
    pytest.skip(reason)


def run_charprobe(
    cwd: Path,
    *args: str,
    module: str = "charprobe",
    check: bool = True,
    timeout: int = 900,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """`python -m <module> ARGS` in `cwd` as a user runs it: this checkout importable, W&B
    offline (never the network), Hydra's one-line errors, plus `env`. With `check`, a
    non-zero exit fails the test with the tail of stderr."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "WANDB_MODE": "offline",
        "HYDRA_FULL_ERROR": "0",
        **(env or {}),
    }
    p = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert p.returncode == 0, p.stderr[-4000:]
    return p


def once_per_run(tmp_path_factory, name: str, build: Callable[[Path], object]) -> Path:
    """`build(folder)` run once for the whole test run, however many pytest-xdist workers
    ask: a session fixture runs once per worker, so an expensive one guards itself with a
    file lock in the folder every worker's temporary root shares (the pattern
    pytest-xdist documents). The first worker builds; the others wait and reuse."""
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # pytest-of-<user>/pytest-<n>/, above each worker's popen-gw<i>
    folder, done = shared / name, shared / f"{name}.done"
    with FileLock(str(shared / f"{name}.lock")):
        if not done.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            build(folder)
            done.touch()  # only a build that returned counts; a failed one runs again
    return folder


@pytest.fixture(scope="session")
def tfidf_dir(tmp_path_factory) -> Path:
    """A tfidf scorer trained on a synthetic corpus (random-model text scores as noise)."""
    from charprobe.scorers.tfidf import TfidfScorer
    from tests.scorers.synthetic import make_corpus

    corpus = make_corpus(n_items=10, seed=1)
    out = tmp_path_factory.mktemp("tfidf")
    TfidfScorer().fit(corpus["texts"], corpus["labels"]).save(out)
    return out


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


@pytest.fixture(scope="session")
def corpus() -> dict[str, list]:
    """440 texts: 40 items x 11 personas, 15-30 words each."""
    from tests.scorers.synthetic import make_corpus

    return make_corpus(n_items=40, seed=0)


@pytest.fixture(scope="session")
def tiny_run(corpus, tmp_path_factory) -> tuple[Path, dict]:
    """A tiny ModernBERT trained from config on the corpus (a few seconds): (dir, report)."""
    from charprobe.scorers.train import train_classifier

    out = tmp_path_factory.mktemp("tiny_modernbert")
    report = train_classifier(
        corpus["texts"],
        corpus["labels"],
        corpus["groups"],
        out,
        kind="modernbert",
        tiny=True,
        progress=False,
    )
    return out, report
