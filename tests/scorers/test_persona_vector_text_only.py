"""Persona vectors read the text alone: a verdict follows the text, never the row's label.

The defect this guards against: vectors that read each text inside its writer's adapter
(and directions holding the adapter's own offset) predicted the label, not the text:
rotating every row's persona to the next one left their macro-F1 at 0.95 while the
classifier's fell to chance. Here:

- rotation (toy world, stage full, chat): the same texts under rotated personas, rescored,
  give a macro-F1 inside the permutation null (predictions shuffled across rows), and the
  true personas one above it;
- swapping two rows' texts swaps their predictions, and the scorer is only ever handed
  the distinct texts (`charprobe.scoring.score_texts`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from charprobe.personas import LABELS
from charprobe.scorers.base import Scorer
from charprobe.scoring import score_texts
from charprobe.stats import macro_f1
from tests.conftest import run_charprobe

N_PERM = 2000
_TOY: dict[str, tuple[Path, Path]] = {}


def toy_pv_job(tmp_path_factory) -> tuple[Path, Path]:
    """(vectors folder, job folder): text-only vectors of toy_llama's full stage fitted on
    20 training prompts, and one job (full, chat, 10 items, short replies) scored by them.
    Built once per test session (test_push.py measures the same job)."""
    if "job" not in _TOY:
        root = tmp_path_factory.mktemp("toy_pv")
        vectors, job = root / "vectors", root / "job"
        common = ["model=toy_llama", "stage=full", "scorer=persona_vector",
                  f"scorer.path={vectors}", "logger=none", "generation.max_new_tokens=48"]  # fmt: skip
        run_charprobe(root, *common, "scorer.train_items=20", module="charprobe.train_scorer")
        run_charprobe(root, *common, "scaffold=chat", "scaffold.items=10", f"hydra.run.dir={job}")
        _TOY["job"] = (vectors, job)
    return _TOY["job"]


def _rows(job: Path, name: str) -> list[dict]:
    return [json.loads(x) for x in (job / name).read_text().splitlines() if x.strip()]


def permutation_q99(truth: list[str], pred: list[str], personas: list[str]) -> float:
    """99th percentile of macro-F1 with the predictions shuffled across rows (seeded)."""
    rng = np.random.default_rng(0)
    pred = np.asarray(pred, dtype=object)
    null = [macro_f1(truth, list(rng.permutation(pred)), personas) for _ in range(N_PERM)]
    return float(np.quantile(null, 0.99))


@pytest.mark.slow
def test_rotated_personas_fall_to_the_permutation_null(toy_world: Path, tmp_path_factory) -> None:
    vectors, job = toy_pv_job(tmp_path_factory)
    personas = json.loads((job / "metrics.json").read_text())["scorer"]["labels"]
    evaluated = sorted({r["persona"] for r in _rows(job, "generations.jsonl")},
                       key=personas.index)  # fmt: skip
    rotated = job.parent / "rotated"
    rotated.mkdir()
    shutil.copytree(job / ".hydra", rotated / ".hydra")
    shutil.copy2(job / "run.json", rotated / "run.json")
    nxt = {p: evaluated[(i + 1) % len(evaluated)] for i, p in enumerate(evaluated)}
    with (rotated / "generations.jsonl").open("w") as f:
        for r in _rows(job, "generations.jsonl"):
            f.write(json.dumps({**r, "persona": nxt[r["persona"]]}) + "\n")
    run_charprobe(job.parent, str(rotated), "scorer=persona_vector", f"scorer.path={vectors}",
                  module="charprobe.rescore")  # fmt: skip

    f1, q99 = {}, {}
    for name, folder in (("true", job), ("rotated", rotated)):
        preds = [r for r in _rows(folder, "predictions.jsonl") if r["pred"] is not None]
        truth, pred = [r["persona"] for r in preds], [r["pred"] for r in preds]
        f1[name] = macro_f1(truth, pred, evaluated)
        q99[name] = permutation_q99(truth, pred, evaluated)
    by_key = {r["key"]: r["pred"] for r in _rows(job, "predictions.jsonl")}
    # Same texts, same predictions: the label moved, the verdict did not.
    assert all(by_key[r["key"]] == r["pred"] for r in _rows(rotated, "predictions.jsonl"))
    print(f"persona-vector macro-F1 true {f1['true']:.3f} (null q99 {q99['true']:.3f}), "
          f"rotated {f1['rotated']:.3f} (null q99 {q99['rotated']:.3f})")  # fmt: skip
    assert f1["true"] > q99["true"], (f1, q99)
    assert f1["rotated"] < q99["rotated"], (f1, q99)


class _Spy(Scorer):
    """Reads the first letter of a text; notes what it was handed."""

    labels = tuple(LABELS)

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def predict_proba(self, texts):
        self.calls.append(list(texts))
        out = np.full((len(texts), len(self.labels)), 0.01)
        for i, t in enumerate(texts):
            out[i, self.labels.index(next(x for x in self.labels if x[0] == t[0]))] = 1.0
        return out / out.sum(1, keepdims=True)


def test_the_scorer_sees_distinct_texts_only_and_a_swap_swaps_predictions() -> None:
    spy = _Spy()
    a, b = "sarcastic, obviously", "humorous, surely"
    first = score_texts(spy, [a, b, a])
    second = score_texts(spy, [b, a, b])
    assert spy.calls == [[a, b], [b, a]]  # texts alone, each once
    assert [v[0] for v in first] == ["sarcasm", "humor", "sarcasm"]
    assert [v[0] for v in second] == ["humor", "sarcasm", "humor"]


def test_persona_vectors_swap_with_the_texts(tiny_hub: Path, tmp_path: Path) -> None:
    """Random directions read inside a random tiny base: whatever they predict, swapping
    two rows' texts swaps the predictions and the probabilities."""
    from charprobe.scorers.persona_vector import (
        VECTORS_VERSION,
        PersonaVectorScorer,
        save_vectors,
        vectors_file,
    )

    rng = np.random.default_rng(0)
    vectors = {"directions": rng.normal(size=(len(LABELS), 32)),
               "mean": np.zeros(len(LABELS)), "std": np.ones(len(LABELS))}  # fmt: skip
    save_vectors(vectors_file(tmp_path, "full"), vectors,
                 {"labels": list(LABELS), "layer": 1, "version": VECTORS_VERSION})  # fmt: skip
    model = {"name": "tiny", "path": str(tiny_hub / "base"), "revision": None,
             "system_role": True, "dtype": "float32"}  # fmt: skip
    scorer = PersonaVectorScorer(str(tmp_path), list(LABELS), model, {"name": "base",
                                 "repo": None}, device="cpu")  # fmt: skip
    texts = [f"text number {i} about {w}" for i, w in enumerate(["tea", "rain", "maps", "ice"])]
    one = scorer.score(texts)
    swapped = [texts[1], texts[0], *texts[2:]]
    two = scorer.score(swapped)
    np.testing.assert_allclose(two.proba[[1, 0, 2, 3]], one.proba, rtol=1e-5, atol=1e-6)
    preds = [v[0] for v in score_texts(scorer, texts)]
    assert [v[0] for v in score_texts(scorer, swapped)] == [preds[1], preds[0], *preds[2:]]
    assert one.detail[0]["layer"] == 1
