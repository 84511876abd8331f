"""TF-IDF + logistic regression: a cheap, transparent baseline scorer.

It trains in seconds on CPU, needs no download, and tells whether a persona is carried
by surface vocabulary alone (if tfidf recovers it as well as ModernBERT, the signal is
lexical). Saved as a joblib pickle of the scikit-learn pipeline plus `scorer.json`
holding the label order; load only folders you (or your runs) wrote, as with any pickle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from charprobe.personas import LABELS
from charprobe.scorers.base import Scorer, ScorerError, check_labels

PIPELINE_FILE = "pipeline.joblib"
META_FILE = "scorer.json"


def build_pipeline(C: float = 10.0, max_features: int = 200_000, seed: int = 0) -> Pipeline:
    """Word 1-2-grams and char 2-5-grams (within words), sublinear tf, multinomial LR."""
    features = FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(
                    ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_features=max_features
                ),
            ),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    sublinear_tf=True,
                    min_df=2,
                    max_features=max_features,
                ),
            ),
        ]
    )
    clf = LogisticRegression(C=C, max_iter=2000, random_state=seed)
    return Pipeline([("features", features), ("clf", clf)])


class TfidfScorer(Scorer):
    """A fitted pipeline whose probabilities are spread over all `labels` in order.

    Labels absent from training get a zero column, so its output has the same shape as
    the ModernBERT scorer's whatever subset of personas it was trained on.
    """

    def __init__(self, labels: Sequence[str] = LABELS, C: float = 10.0, seed: int = 0) -> None:
        self.labels = tuple(labels)
        self.pipeline = build_pipeline(C=C, seed=seed)
        self.params = {"C": C, "seed": seed}
        self._fitted = False

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> TfidfScorer:
        texts, labels = list(texts), list(labels)
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise ScorerError(f"training labels {unknown} are not in the label order {self.labels}")
        if len(set(labels)) < 2:
            raise ScorerError(f"need at least 2 personas to train, got {sorted(set(labels))}")
        self.pipeline.fit(texts, labels)
        self._fitted = True
        return self

    @property
    def trained_labels(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_] if self._fitted else []

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if not self._fitted:
            raise ScorerError("TfidfScorer is not fitted; call fit() or TfidfScorer.load()")
        texts = list(texts)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float64)
        if not texts:
            return out
        cols = [self.labels.index(c) for c in self.trained_labels]
        out[:, cols] = self.pipeline.predict_proba(texts)
        return out

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        _canonical(self.pipeline)
        joblib.dump(self.pipeline, directory / PIPELINE_FILE)
        meta = {
            "kind": "tfidf",
            "labels": list(self.labels),
            "trained_labels": self.trained_labels,
            "params": self.params,
            "sklearn_version": sklearn.__version__,
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path, labels: Sequence[str] | None = None) -> TfidfScorer:
        """Load a saved scorer; if `labels` is given it must equal the saved label order."""
        directory = Path(directory)
        if not (directory / META_FILE).is_file() or not (directory / PIPELINE_FILE).is_file():
            raise ScorerError(
                f"no tfidf scorer at '{directory}' (needs {META_FILE}, {PIPELINE_FILE})"
            )
        meta = json.loads((directory / META_FILE).read_text())
        if labels is not None:
            check_labels(labels, meta["labels"], f"tfidf scorer '{directory}'")
        self = cls(meta["labels"], **meta.get("params", {}))
        self.pipeline = joblib.load(directory / PIPELINE_FILE)
        self._fitted = True
        check_labels(meta["trained_labels"], self.trained_labels, f"tfidf pipeline '{directory}'")
        return self


def _canonical(pipeline) -> None:
    """Make the pickle's bytes depend on the fit alone: a vectorizer's vocabulary dict and
    stop-word set come out of the fit in per-process hash order, so the same classifier
    trained twice would pickle (and fingerprint) differently, and so would a memo of an
    id(). `stop_words_` is only a
    record of what was dropped; scikit-learn documents that it may be removed."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    stack = [pipeline]
    while stack:
        obj = stack.pop()
        if isinstance(obj, TfidfVectorizer) and hasattr(obj, "vocabulary_"):
            obj.vocabulary_ = dict(sorted(obj.vocabulary_.items()))
            if hasattr(obj, "stop_words_"):
                obj.stop_words_ = None
            # id() of the stop-word list, a memo that differs in every process; without it
            # scikit-learn checks the stop words once more at predict time.
            obj.__dict__.pop("_stop_words_id", None)
        stack.extend(step for _, step in getattr(obj, "steps", []))
        stack.extend(t for _, t in getattr(obj, "transformer_list", []))
