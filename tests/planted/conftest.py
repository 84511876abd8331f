"""The planted sweep shared by the planted-world tests: `experiment=planted` through the
real CLI (9 jobs, W&B offline), once per test run (all pytest-xdist workers share it), with
its own cache folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import once_per_run, run_charprobe


@pytest.fixture(scope="session")
def planted_sweep(tmp_path_factory) -> Path:
    """The sweep folder of `python -m charprobe -m experiment=planted` (report included)."""

    def sweep(root: Path) -> None:
        p = run_charprobe(
            root,
            "-m",
            "experiment=planted",
            "hydra.sweep.dir=sweep",
            env={"CHARPROBE_PLANTED_DIR": str(root / "cache")},
            timeout=600,
        )
        print(p.stdout[-6000:])

    return once_per_run(tmp_path_factory, "planted", sweep) / "sweep"


@pytest.fixture(scope="session")
def planted_config(planted_sweep) -> dict:
    """A job's resolved config (the world, the scorer, the persona set)."""
    run = next(planted_sweep.glob("*full-chat/run.json"))
    return json.loads(run.read_text())["config"]


@pytest.fixture(scope="session")
def planted_scorer(planted_config):
    """The TF-IDF classifier the sweep trained on the planted world's chat replies."""
    from omegaconf import OmegaConf

    from charprobe.scorers import make_scorer

    return make_scorer(OmegaConf.create(planted_config["scorer"]))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]
