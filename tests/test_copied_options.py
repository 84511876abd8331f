"""A shipped option copied under another file name and `name:` behaves like the original.

What an option does is its class's own (the `_target_` and the schema it composes on),
never a switch on its name: `conf/scorer/tfidf.yaml` copied to `tfidf_copy.yaml` with
`name: tfidf_copy` and a new `scorer.path` trains its classifier there and scores the
same cell to the same numbers. Each copy lives in a config folder of the test's own,
found through `hydra.searchpath`, as a user's would. The original and the copy train
from the same training replies (one folder, `model.training_replies`), so every number
must agree; only the scorer's name and folder differ.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import REPO, run_charprobe

# A cell in seconds: the scripted engine signs every reply with the adapter that wrote it.
SCRIPTED = [
    "engine=scripted",
    "model=llama",
    "model.classifier_base=tiny",  # a ModernBERT trained from scratch: no download
    "stage=full",
    "scaffold=chat",
    "scaffold.items=4",
    "persona.personas=[sarcasm,humor,poeticism]",
    "scorer.labels=[sarcasm,humor,poeticism]",
    "scorer.train_items=6",
    "scorer.train_stages=[full]",
    "logger=none",
    "stats.n_boot=50",
]


def copy_option(conf: Path, group: str, name: str) -> str:
    """`conf/<group>/<name>.yaml` copied to `<conf>/<group>/<name>_copy.yaml`, renamed."""
    text = (REPO / "conf" / group / f"{name}.yaml").read_text()
    copy = f"{name}_copy"
    renamed, n = re.subn(rf"^name: {name}$", f"name: {copy}", text, flags=re.M)
    assert n == 1, f"conf/{group}/{name}.yaml has no line 'name: {name}'"
    (conf / group).mkdir(parents=True, exist_ok=True)
    (conf / group / f"{copy}.yaml").write_text(renamed)
    return copy


def _run(tmp_path: Path, cell: list[str], option: str, out: str, *extra: str) -> dict:
    run_charprobe(
        tmp_path,
        *cell,
        f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
        f"scorer={option}",
        *extra,
        f"hydra.run.dir={out}",
    )
    job = tmp_path / out
    scored = (job / "metrics.json").is_file()  # scorer=none writes generations only
    return {
        "metrics": json.loads((job / "metrics.json").read_text()) if scored else None,
        "predictions": (job / "predictions.jsonl").read_text() if scored else None,
        "generations": (job / "generations.jsonl").read_text(),
        "run": json.loads((job / "run.json").read_text()),
    }


def _same_but_the_name(orig: dict, copy: dict, name: str) -> None:
    assert copy["generations"] == orig["generations"]
    assert copy["predictions"] == orig["predictions"]
    m_orig, m_copy = dict(orig["metrics"]), dict(copy["metrics"])
    s_orig, s_copy = m_orig.pop("scorer"), m_copy.pop("scorer")
    assert m_copy == m_orig
    assert s_copy["name"] == f"{name}_copy" and s_orig["name"] == name
    assert s_copy["labels"] == s_orig["labels"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tfidf", "modernbert"])
def test_a_copied_classifier_option_trains_and_scores_like_the_original(tmp_path, name):
    copy = copy_option(tmp_path / "conf", "scorer", name)
    replies = f"model.training_replies={tmp_path / 'replies'}"
    orig = _run(tmp_path, SCRIPTED, name, "orig", replies, f"scorer.path={tmp_path / 'a'}")
    got = _run(tmp_path, SCRIPTED, copy, "copy", replies, f"scorer.path={tmp_path / 'b'}")
    for folder in ("a", "b"):  # each trained its own classifier, on the same replies
        report = json.loads((tmp_path / folder / "training_report.json").read_text())
        assert report["n_train"] > 0 and report["data"]["stages"] == ["full"]
    _same_but_the_name(orig, got, name)
    assert orig["metrics"]["n"] == 4 * 3 and orig["metrics"]["macro_f1"] > 0
    assert got["run"]["scorer"]["path"] == str(tmp_path / "b")


@pytest.mark.slow
def test_a_copied_persona_vector_option_fits_and_scores_like_the_original(toy_world, tmp_path):
    copy = copy_option(tmp_path / "conf", "scorer", "persona_vector")
    cell = [
        "model=toy_llama",
        "stage=full",
        "scaffold=chat",
        "scaffold.items=3",
        "scorer.train_items=6",
        f"model.training_replies={tmp_path / 'replies'}",
        "generation.max_new_tokens=32",
        "logger=none",
        "stats.n_boot=50",
    ]
    orig = _run(tmp_path, cell, "persona_vector", "orig", f"scorer.path={tmp_path / 'a'}")
    got = _run(tmp_path, cell, copy, "copy", f"scorer.path={tmp_path / 'b'}")
    for folder in ("a", "b"):
        assert (tmp_path / folder / "full.safetensors").is_file()
    _same_but_the_name(orig, got, "persona_vector")


@pytest.mark.slow
def test_a_copied_judge_and_none_option_work_like_the_originals(toy_world, tmp_path):
    base = toy_world / "toy-llama-base"
    cell = [
        "model=toy_llama",
        "stage=full",
        "scaffold=chat",
        "scaffold.items=2",
        "generation.max_new_tokens=32",
        "logger=none",
        "stats.n_boot=50",
    ]
    copy = copy_option(tmp_path / "conf", "scorer", "judge")
    orig = _run(tmp_path, cell, "judge", "orig", f"scorer.path={base}")
    got = _run(tmp_path, cell, copy, "copy", f"scorer.path={base}")
    _same_but_the_name(orig, got, "judge")
    assert orig["metrics"]["n_rows"] == 2 * 10

    none = copy_option(tmp_path / "conf", "scorer", "none")
    nothing = _run(tmp_path, cell, none, "none")
    assert nothing["metrics"] is None and nothing["generations"] == orig["generations"]
