"""A new scorer is one module plus one YAML, outside charprobe: picked by `scorer=<name>`
through Hydra's search path, built from its `_target_`, and scored like the shipped ones.

The example reads a JSON file of persona -> keyword (its `scorer.path`) and predicts the
persona whose keyword a text holds. The scripted engine signs every reply with the
adapter that wrote it, so at the full stage every row is found (macro-F1 1.0), and at
the base stage (no adapter, signed "base") none is: a scorer that were not called, or
called with the wrong labels, turns this red.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import REPO, run_charprobe

MODULE = '''\
import numpy as np

from charprobe.scorers.base import Scorer


class KeywordScorer(Scorer):
    """P(persona) spread over the personas whose keyword the text holds (uniform: none)."""

    def __init__(self, path, labels):
        self.labels = tuple(labels)
        with open(path, encoding="utf-8") as f:
            self.keywords = json.load(f)

    def predict_proba(self, texts):
        hits = np.array([[float(self.keywords.get(p, "\\0") in t) for p in self.labels]
                         for t in texts]).reshape(len(texts), len(self.labels))
        hits[hits.sum(axis=1) == 0] = 1.0
        return hits / hits.sum(axis=1, keepdims=True)
'''.replace("import numpy", "import json\n\nimport numpy", 1)

YAML = """\
defaults:
  - base_schema
  - _self_

_target_: keyword_scorer.KeywordScorer
name: keyword
"""


def keyword_scorer(tmp_path: Path, personas: list[str]) -> tuple[list[str], dict[str, str]]:
    """The example installed under `tmp_path` (module, YAML, keywords "[persona]"): the
    overrides that pick it for `personas`, and the environment that finds its module."""
    (tmp_path / "plugin").mkdir()
    (tmp_path / "plugin" / "keyword_scorer.py").write_text(MODULE)
    (tmp_path / "conf" / "scorer").mkdir(parents=True)
    (tmp_path / "conf" / "scorer" / "keyword.yaml").write_text(YAML)
    keywords = tmp_path / "keywords.json"
    keywords.write_text(json.dumps({p: f"[{p}]" for p in personas}))
    overrides = [
        f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
        f"persona.personas=[{','.join(personas)}]",
        "scorer=keyword",
        f"scorer.path={keywords}",
    ]
    return overrides, {"HF_HUB_OFFLINE": "1", "PYTHONPATH": f"{REPO}:{tmp_path / 'plugin'}"}


def test_a_scorer_from_one_module_and_one_yaml(tmp_path: Path) -> None:
    overrides, env = keyword_scorer(tmp_path, ["sarcasm", "humor"])
    run_charprobe(
        tmp_path,
        "-m",
        *overrides,
        "engine=scripted",
        "model=llama",
        "stage=base,full",
        "scaffold=chat",
        "logger=none",
        "scaffold.items=3",
        "hydra.sweep.dir=sweep",
        env=env,
    )
    metrics = {
        p.parent.name.split("_", 1)[1]: json.loads(p.read_text())
        for p in (tmp_path / "sweep").glob("*/metrics.json")
    }
    assert sorted(metrics) == ["llama-base-chat", "llama-full-chat"], sorted(metrics)
    full, base = metrics["llama-full-chat"], metrics["llama-base-chat"]
    assert full["scorer"]["name"] == "keyword" and full["n"] == 6
    assert full["macro_f1"] == 1.0
    assert base["macro_f1"] < 0.5  # one label for every row: F1 1/3 at best
