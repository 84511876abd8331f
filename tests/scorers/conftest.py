from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.scorers.synthetic import make_corpus

torch.set_num_threads(min(2, torch.get_num_threads()))  # the test machine is shared


@pytest.fixture(scope="session")
def corpus() -> dict[str, list]:
    """440 texts: 40 items x 11 personas, 15-30 words each."""
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
