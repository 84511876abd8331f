"""Persona vectors: the fit on planted activations, and the toy world end to end.

Planted: at one layer each persona's replies are shifted along a direction of their own,
at the others not at all. The fit must find that layer and recover the personas on held-out
items; forced to a wrong layer, the same rule is at chance. In the toy world the adapters
themselves are the signal: texts read through the adapter that wrote them are recognised,
read through the next persona's adapter (swapped adapters) they are not.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from charprobe.personas import LABELS
from charprobe.scorers.persona_vector import (
    PersonaVectorScorer,
    directions,
    fit,
    load_vectors,
    standardised,
    standardiser,
    vectors_file,
)
from charprobe.stats import macro_f1
from tests.conftest import run_charprobe

LAB = list(LABELS)


def planted(n_items: int = 30, hidden: int = 32, layer: int = 2, seed: int = 0):
    """(acts, writers, items): 11 personas + base replies per item, 4 layers."""
    rng = np.random.default_rng(seed)
    shift = rng.normal(size=(len(LAB), hidden)) * 3
    writers, items, acts = [], [], []
    for i in range(n_items):
        for w in [None, *LAB]:
            a = rng.normal(size=(4, hidden))
            if w is not None:
                a[layer] += shift[LAB.index(w)]
            writers.append(w)
            items.append(f"item{i}")
            acts.append(a)
    return np.stack(acts), writers, items


def test_the_fit_finds_the_planted_layer_and_the_personas() -> None:
    acts, writers, items = planted()
    vectors, report = fit(acts, writers, items, LAB)
    assert report["layer"] == 2, report
    # A shift of 3 standard normals per coordinate over 32 coordinates: the held-out
    # projections separate by far more than their noise, so nothing is misread.
    assert report["heldout_macro_f1"] > 0.95, report
    assert vectors["directions"].shape == (len(LAB), 32)


def test_a_wrong_layer_is_at_chance() -> None:
    acts, writers, _ = planted(seed=1)
    # Directions from layer 0 (no signal) against the planted layer 2, scored in sample.
    for layer, lo, hi in ((0, 0.0, 0.35), (2, 0.9, 1.0)):
        dirs = directions(acts[:, layer], writers, LAB)
        mean, std = standardiser(acts[:, layer], writers, dirs)
        rows = [i for i, w in enumerate(writers) if w is not None]
        z = standardised(acts[rows, layer] @ dirs.T, mean, std)
        f1 = macro_f1([writers[i] for i in rows], [LAB[j] for j in z.argmax(1)], LAB)
        # Layer 0 holds noise only: in sample, 30 texts per persona give each noise
        # direction a small edge over chance (1/11), nowhere near the planted layer's.
        assert lo <= f1 <= hi, (layer, f1)


@pytest.mark.slow
def test_toy_vectors_recognise_the_writer_adapter_and_not_a_swapped_one(
    toy_world: Path, tmp_path: Path
) -> None:
    path = tmp_path / "vectors"
    common = ["model=toy_llama", "scorer=persona_vector", f"scorer.path={path}", "logger=none"]
    run_charprobe(tmp_path, "stage=full", "scorer.train_items=20", *common,
                  module="charprobe.train_scorer")  # fmt: skip
    tensors, meta = load_vectors(vectors_file(path, "full"))
    assert meta["stage"] == "full" and meta["labels"] == LAB
    assert 0 <= meta["layer"] < meta["n_layers"]
    assert tensors["directions"].shape[0] == len(LAB)
    # Held out by item, 11 labels: chance is 1/11.
    assert meta["heldout_macro_f1"] > 0.5, meta

    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from charprobe.config import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=["model=toy_llama", "stage=full", *common[1:3]])
    model, stage = (OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stage"))
    scorer = PersonaVectorScorer(str(path), LAB, model, stage)
    rows = [json.loads(x) for f in sorted((path / "data").glob("full-*/generations.jsonl"))
            for x in f.read_text().splitlines()]  # fmt: skip
    texts, truth = [r["text"] for r in rows], [r["persona"] for r in rows]
    right = scorer.score(texts, truth)
    swapped = scorer.score(texts, [LAB[(LAB.index(p) + 1) % len(LAB)] for p in truth])
    f1 = {k: macro_f1(truth, [LAB[j] for j in s.proba.argmax(1)], LAB)
          for k, s in (("right", right), ("swapped", swapped))}  # fmt: skip
    assert f1["right"] > 0.7 and f1["swapped"] < 0.3, f1
    # Each persona's replies project far above the base's replies on its own direction.
    base = [json.loads(x)["text"] for f in sorted((path / "data").glob("base-*/generations.jsonl"))
            for x in f.read_text().splitlines()]  # fmt: skip
    base_z = np.array(
        [[d["z"][p] for p in LAB] for d in scorer.score(base, [None] * len(base)).detail]
    )
    own_z = {
        p: np.mean([d["z"][p] for d, t in zip(right.detail, truth, strict=True) if t == p])
        for p in LAB
    }
    assert all(own_z[p] > base_z[:, j].mean() + 1 for j, p in enumerate(LAB)), (
        own_z,
        base_z.mean(0),
    )
