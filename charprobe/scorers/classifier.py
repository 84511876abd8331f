"""A persona classifier that charprobe trains from chat replies into a folder, and its recipe.

`ClassifierScorer` is what the ModernBERT and TF-IDF scorers share: an option whose
`path` is a hub id or a local folder; a local folder that does not exist yet is trained
there (`train_if_missing`) from chat replies of `train_stages` on `train_prompts`, with
a held-out split by item (`train_classifier`). Each subclass says how it fits a folder,
what a folder of its own holds, and whether it can come from the hub; nothing here
looks at an option's name, so a copy of a shipped option trains and scores like it.

Imports stay light (no torch, no scikit-learn): the input checks read these classes
before any weights load.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from charprobe.engine import hub
from charprobe.errors import UserError
from charprobe.personas import LABELS
from charprobe.scorers.base import Scorer, ScorerError, Training
from charprobe.scorers.train_data import load_generations, split_by_item
from charprobe.store import file_lock, read_json

log = logging.getLogger(__name__)

REPORT_FILE = "training_report.json"
PREDICTIONS_FILE = "heldout_predictions.jsonl"


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; the defaults are the original recipe (see `for_kind`)."""

    base_model: str = "answerdotai/ModernBERT-base"
    epochs: int = 1
    lr: float = 5e-4
    batch_size: int = 8
    grad_accum: int = 2
    warmup: float = 0.05
    weight_decay: float = 1e-6
    max_length: int = 8192
    scheduler: str = "cosine"
    heldout: float = 0.2
    seed: int = 0
    device: str = "auto"
    eval_batch_size: int = 16
    C: float = 10.0  # tfidf: inverse regularisation of the logistic regression

    @classmethod
    def for_kind(
        cls, trainer: type[ClassifierScorer], tiny: bool = False, **hyper: Any
    ) -> TrainConfig:
        """Recipe defaults, or for `tiny` the trainer's own (a from-scratch model that
        learns fast), with `hyper` (None: the default) on top."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(hyper) - known)
        if unknown:
            raise TypeError(f"unknown training option(s) {unknown}; known: {sorted(known)}")
        base = cls()
        if tiny:
            base = dataclasses.replace(base, **trainer.TINY_RECIPE)
        return dataclasses.replace(base, **{k: v for k, v in hyper.items() if v is not None})


class ClassifierScorer(Scorer):
    """A classifier charprobe can train: a subclass says how (`fit_folder`) and what its
    folder holds (`check_folder`, `check_hub`)."""

    kind: ClassVar[str]  # the name training reports and `--kind` give it
    # TrainConfig fields for a tiny from-scratch model (model.classifier_base=tiny).
    TINY_RECIPE: ClassVar[dict[str, Any]] = {}

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
        """Train on (texts, labels), save into `out`; the in-memory scorer and facts."""
        raise NotImplementedError

    @classmethod
    def check_folder(cls, folder: Path, labels: list[str], key: str) -> None:
        """An existing local folder is one of this scorer's, of these labels."""

    @classmethod
    def check_hub(cls, path: str, labels: list[str], key: str) -> None:
        """A hub id is one of this scorer's, of these labels (from its files only)."""

    # ------------------------------------------------------------------ Scorer hooks

    @classmethod
    def check_option(cls, option: Any) -> None:
        """A local folder that does not exist yet is fine when `train_if_missing` (the job
        trains it there); anything else must be there, with the configured label order."""
        path = str(option.path)
        key = f"scorer.path={path}"
        labels = [str(x) for x in option.labels]
        if not hub.is_local(path):
            cls.check_hub(path, labels, key)
            return
        folder = Path(path).expanduser()
        if not folder.exists():
            if not option.train_if_missing:
                raise UserError(
                    f"{key}: no classifier folder there (and scorer.train_if_missing=false); "
                    "point scorer.path at a trained classifier folder or a hub id, or set "
                    "scorer.train_if_missing=true to train one there"
                )
            return
        if not folder.is_dir():
            raise UserError(
                f"{key}: is a file, not a classifier folder; point scorer.path at "
                "the folder holding the classifier"
            )
        cls.check_folder(folder, labels, key)

    @classmethod
    def missing(cls, option: Any) -> Path | None:
        if not option.train_if_missing or not option.path or not hub.is_local(str(option.path)):
            return None
        out = Path(str(option.path)).expanduser()
        return None if out.exists() else out

    @classmethod
    def train(cls, option: Any, target: Path, training: Training) -> dict[str, Any]:
        """Chat replies of `train_stages` on the training prompts, then `train_classifier`
        into `target`, under a lock (a second process waits and reads the report)."""
        from omegaconf import OmegaConf

        out, stages = target, [str(s) for s in option.train_stages]
        with file_lock(out.parent / f".{out.name}.lock"):
            if out.exists():  # another process trained it while we waited
                return read_json(out / REPORT_FILE)
            log.info(
                "%s classifier %s is missing: training it from %s replies of stages %s",
                option.name,
                out,
                option.train_prompts,
                ", ".join(stages),
            )
            files = training.replies(stages)
            df = load_generations(files, stages=stages, scaffold="chat")
            if df.empty:
                raise UserError(f"no training replies with text in {', '.join(map(str, files))}")
            base = str(training.model.classifier_base)
            tiny = base == "tiny"
            tmp = out.with_name(f".{out.name}.training-{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                report = train_classifier(
                    df["text"].tolist(),
                    df["persona"].tolist(),
                    df["item_id"].astype(str).tolist(),
                    tmp,
                    trainer=cls,
                    tiny=tiny,
                    label_order=list(option.labels),
                    base_model=None if tiny else base,
                    data={
                        "files": [str(f) for f in files],
                        "stages": stages,
                        "prompts": option.train_prompts,
                        "n_rows": len(df),
                    },
                    **OmegaConf.to_container(option.train),
                )
                tmp.rename(out)  # only a complete classifier ever appears at `out`
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        log.info(
            "trained %s classifier -> %s: held-out macro-F1 %.3f on %d texts (%d items)",
            option.name,
            out,
            report.get("heldout_macro_f1") or float("nan"),
            report["n_heldout"],
            report["n_items_heldout"],
        )
        return report


def one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:300]}"


def resolve_checkpoint(path: str, what: str = "classifier") -> tuple[str, bool]:
    """(where to load from, local_files_only): the engines' hub rule, as a ScorerError."""
    try:
        return hub.resolve_checkpoint(
            path,
            what,
            key="scorer.path",
            fix="point scorer.path at a classifier folder or hub id, or set "
            "scorer.train_if_missing=true to train one there",
        )
    except UserError as e:
        raise ScorerError(str(e)) from None


def read_option_json(file: Path, key: str) -> Any:
    """A JSON file of a scorer's folder, or one line saying why it cannot be read."""
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(
            f"{key}: cannot read {file} ({type(e).__name__}: {e}); point "
            "scorer.path at an intact classifier folder"
        ) from None


def heldout_metrics(
    y_true: Sequence[str], y_pred: Sequence[str], label_order: Sequence[str]
) -> dict[str, Any]:
    """One-vs-rest F1 per persona present (true or predicted), their mean, the confusion:
    the study's own rule (`charprobe.stats`), so a persona with no true row and no
    prediction is skipped rather than counted as 0 or 1."""
    from charprobe import stats

    per = {
        p: s.f1
        for p, s in stats.per_persona_scores(y_true, y_pred, label_order).items()
        if s.f1 == s.f1
    }  # NaN: skipped
    matrix = stats.confusion_matrix(y_true, y_pred, label_order).loc[:, list(label_order)]
    return {
        "heldout_macro_f1": stats.macro_f1(y_true, y_pred, label_order) if per else None,
        "per_persona_f1": per,
        "accuracy": float(np.mean(np.asarray(y_true) == np.asarray(y_pred))) if y_true else None,
        "confusion": {
            "labels": list(label_order),
            "rows": "true",
            "cols": "predicted",
            "matrix": matrix.to_numpy().tolist(),
        },
    }


def train_classifier(
    texts: Sequence[str],
    labels: Sequence[str],
    groups: Sequence[Any],
    out_dir: str | Path,
    trainer: type[ClassifierScorer],
    tiny: bool = False,
    label_order: Sequence[str] = LABELS,
    data: dict[str, Any] | None = None,
    progress: bool = True,
    **hyper: Any,
) -> dict[str, Any]:
    """Split by item, train, save to `out_dir`, score the held-out rows; return the report.

    `labels` are the persona of each text, `groups` its item id. `hyper` overrides any
    `TrainConfig` field (None means "the default"); `data` is stored in the report as is
    (e.g. which files and stages the texts came from).
    """
    texts, labels, groups = list(texts), list(labels), list(groups)
    if not (len(texts) == len(labels) == len(groups)):
        raise ScorerError(
            f"texts/labels/groups differ in length: {len(texts)}/{len(labels)}/{len(groups)}"
        )
    if not texts:
        raise ScorerError("no texts to train on")
    unknown = sorted(set(labels) - set(label_order))
    if unknown:
        raise ScorerError(f"labels {unknown} are not in the label order {list(label_order)}")
    cfg = TrainConfig.for_kind(trainer, tiny, **hyper)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_idx, held_idx = split_by_item(groups, cfg.heldout, cfg.seed)
    leak = {groups[i] for i in train_idx} & {groups[i] for i in held_idx}
    assert not leak, f"item ids on both sides of the split: {sorted(leak)[:5]}"

    start = time.perf_counter()
    scorer, facts = trainer.fit_folder(
        [texts[i] for i in train_idx],
        [labels[i] for i in train_idx],
        out,
        cfg,
        label_order,
        tiny,
        progress,
    )
    eval_start = time.perf_counter()
    proba = scorer.predict_proba([texts[i] for i in held_idx])
    eval_seconds = time.perf_counter() - eval_start
    y_true = [labels[i] for i in held_idx]
    y_pred = [label_order[j] for j in proba.argmax(axis=1)] if len(held_idx) else []

    with (out / PREDICTIONS_FILE).open("w") as fh:
        for row, i in enumerate(held_idx):
            fh.write(
                json.dumps(
                    {
                        "index": int(i),
                        "item_id": groups[i],
                        "label": labels[i],
                        "pred": y_pred[row],
                        "proba": proba[row].tolist(),
                    },
                    default=str,
                )
                + "\n"
            )
    report: dict[str, Any] = {
        "kind": trainer.kind,
        "tiny": tiny and bool(trainer.TINY_RECIPE),
        "labels": list(label_order),
        "n_train": len(train_idx),
        "n_heldout": len(held_idx),
        "n_items_train": len({groups[i] for i in train_idx}),
        "n_items_heldout": len({groups[i] for i in held_idx}),
        "train_label_counts": pd.Series([labels[i] for i in train_idx]).value_counts().to_dict(),
        "chance": 1 / len(set(labels)),
        **(
            heldout_metrics(y_true, y_pred, label_order)
            if len(held_idx)
            else {
                "heldout_macro_f1": None,
                "per_persona_f1": {},
                "accuracy": None,
                "confusion": None,
            }
        ),
        **facts,
        "heldout_texts_per_second": len(held_idx) / eval_seconds if len(held_idx) else None,
        "total_seconds": time.perf_counter() - start,
        "args": dataclasses.asdict(cfg),
        "data": data or {},
        "versions": _versions(),
    }
    (out / REPORT_FILE).write_text(json.dumps(report, indent=2, default=str) + "\n")
    return report


def _versions() -> dict[str, str]:
    from charprobe import provenance

    return provenance.versions(("torch", "transformers", "scikit-learn"))
