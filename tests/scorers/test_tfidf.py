from __future__ import annotations

import random

import numpy as np
import pytest

from charprobe.config import TfidfScorerConfig
from charprobe.personas import LABELS
from charprobe.scorers import LabelOrderError, ScorerError, make_scorer
from charprobe.scorers.tfidf import TfidfScorer
from charprobe.scorers.train import train_classifier


def test_tfidf_learns_the_personas(corpus, tmp_path):
    report = train_classifier(
        corpus["texts"], corpus["labels"], corpus["groups"], tmp_path, kind="tfidf", progress=False
    )
    assert report["heldout_macro_f1"] > 0.9
    assert set(report["per_persona_f1"]) == set(LABELS)
    assert (tmp_path / "training_report.json").is_file()


def test_tfidf_is_at_chance_on_shuffled_labels(corpus, tmp_path):
    labels = list(corpus["labels"])
    random.Random(1).shuffle(labels)
    report = train_classifier(
        corpus["texts"], labels, corpus["groups"], tmp_path, kind="tfidf", progress=False
    )
    assert report["heldout_macro_f1"] < 0.25  # chance is 1/11


def test_absent_labels_get_zero_columns(corpus):
    keep = [i for i, y in enumerate(corpus["labels"]) if y in ("humor", "poeticism", "remorse")]
    scorer = TfidfScorer().fit(
        [corpus["texts"][i] for i in keep], [corpus["labels"][i] for i in keep]
    )
    proba = scorer.predict_proba(corpus["texts"][:20])
    assert proba.shape == (20, len(LABELS))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    absent = [j for j, name in enumerate(LABELS) if name not in ("humor", "poeticism", "remorse")]
    assert not proba[:, absent].any()
    assert set(scorer.predict(corpus["texts"][:20])) <= {"humor", "poeticism", "remorse"}
    assert scorer.predict_proba([]).shape == (0, len(LABELS))


def test_save_load_round_trip_and_label_check(corpus, tmp_path):
    scorer = TfidfScorer().fit(corpus["texts"], corpus["labels"])
    scorer.save(tmp_path)
    again = make_scorer(TfidfScorerConfig(path=str(tmp_path)))
    np.testing.assert_array_equal(
        again.predict_proba(corpus["texts"][:30]), scorer.predict_proba(corpus["texts"][:30])
    )
    permuted = (LABELS[1], LABELS[0], *LABELS[2:])
    with pytest.raises(LabelOrderError, match="id 0 is 'sarcasm' but the config expects 'humor'"):
        TfidfScorer.load(tmp_path, labels=permuted)


def test_unfitted_and_bad_labels_fail_clearly(tmp_path):
    with pytest.raises(ScorerError, match="not fitted"):
        TfidfScorer().predict_proba(["x"])
    with pytest.raises(ScorerError, match="not in the label order"):
        TfidfScorer().fit(["a", "b"], ["humor", "pirate"])
    with pytest.raises(ScorerError, match="no tfidf scorer"):
        TfidfScorer.load(tmp_path)
