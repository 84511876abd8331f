"""TF-IDF + logistic regression: a cheap, transparent baseline scorer.

It trains in seconds on CPU, needs no download, and tells whether a persona is carried
by surface vocabulary alone (if tfidf recovers it as well as ModernBERT, the signal is
lexical). Saved as a joblib pickle of the scikit-learn pipeline plus `scorer.json`
holding the label order; load only folders you (or your runs) wrote, as with any pickle.
scikit-learn is imported where a pipeline is built or loaded, not with the module: the
input checks read the class before anything loads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from charprobe.errors import UserError
from charprobe.personas import LABELS
from charprobe.scorers.base import Scorer, ScorerError, check_labels
from charprobe.scorers.classifier import ClassifierScorer, TrainConfig, read_option_json

PIPELINE_FILE = "pipeline.joblib"
META_FILE = "scorer.json"


def build_pipeline(C: float = 10.0, max_features: int = 200_000, seed: int = 0) -> Any:
    """Word 1-2-grams and char 2-5-grams (within words), sublinear tf, multinomial LR."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

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


class TfidfScorer(ClassifierScorer):
    """A fitted pipeline whose probabilities are spread over all `labels` in order.

    Labels absent from training get a zero column, so its output has the same shape as
    the ModernBERT scorer's whatever subset of personas it was trained on.
    """

    kind: ClassVar[str] = "tfidf"

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
        import joblib
        import sklearn

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
        import joblib

        self = cls(meta["labels"], **meta.get("params", {}))
        self.pipeline = joblib.load(directory / PIPELINE_FILE)
        self._fitted = True
        check_labels(meta["trained_labels"], self.trained_labels, f"tfidf pipeline '{directory}'")
        return self

    # ------------------------------------------------------------------ the option's hooks

    @classmethod
    def open(cls, path: str, labels: Sequence[str], **options: Any) -> TfidfScorer:
        return cls.load(path, labels=labels, **options)

    @classmethod
    def fit_folder(
        cls,
        texts: list[str],
        labels: list[str],
        out: Path,
        recipe: TrainConfig,
        label_order: Sequence[str],
        tiny: bool,
        progress: bool,
    ) -> tuple[Scorer, dict[str, Any]]:
        start = time.perf_counter()
        scorer = cls(label_order, C=recipe.C, seed=recipe.seed).fit(texts, labels)
        facts = {"train_seconds": time.perf_counter() - start}
        scorer.save(out)
        return scorer, facts

    @classmethod
    def check_folder(cls, folder: Path, labels: list[str], key: str) -> None:
        missing = [f for f in (META_FILE, PIPELINE_FILE) if not (folder / f).is_file()]
        if missing:
            raise UserError(
                f"{key}: not a tfidf scorer folder (no {', '.join(missing)}); point "
                "scorer.path at one, or at a folder that does not exist yet to train it"
            )
        meta = read_option_json(folder / META_FILE, key)
        saved = meta.get("labels") if isinstance(meta, dict) else None
        if not isinstance(saved, list):
            raise UserError(f"{key}: {folder / META_FILE} holds no label list")
        try:
            check_labels(labels, saved, f"its {META_FILE}")
        except UserError as e:
            raise UserError(f"{key}: {e}") from None

    @classmethod
    def check_hub(cls, path: str, labels: list[str], key: str) -> None:
        raise UserError(
            f"{key}: a tfidf scorer is a local folder, not a hub id; point "
            "scorer.path at a folder (a missing one is trained there)"
        )


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
