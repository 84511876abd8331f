"""The scorer a job will score with, and its training inputs: checked from files, no weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from charprobe.config import CONF_DIR, ModernBertScorerConfig, TfidfScorerConfig
from charprobe.engine import hub
from charprobe.errors import UserError

# The folders charprobe's own scorers read (and train when missing), by `_target_`.
LAYOUTS = {ModernBertScorerConfig._target_: "checkpoint", TfidfScorerConfig._target_: "tfidf"}


def check_scorer(cfg: DictConfig) -> None:
    """The classifier a job will score with, read from its config file (no weights).

    A local folder that does not exist yet is fine when `scorer.train_if_missing` (the
    job trains it there); anything else must be there, with the configured label order.
    """
    sc = cfg.scorer
    if sc._target_ is None:
        return
    labels = [str(x) for x in sc.labels]
    if not labels or len(set(labels)) != len(labels):
        raise UserError(
            f"scorer.labels={labels}: must list each label once; e.g. the default "
            "order of charprobe.personas.LABELS"
        )
    if sc.get("train_if_missing") and sc.get("train_prompts"):
        _check_prompts_apart(cfg)
    path = sc.path
    if not path:
        raise UserError(
            f"scorer={sc.name} needs scorer.path (a hub id or a local folder); "
            f"set scorer.path=DIR, or scorer=none to generate only"
        )
    path = str(path)
    key = f"scorer.path={path}"
    layout = LAYOUTS.get(str(sc._target_))
    if layout is None:  # another scorer: it checks its own path when it is built
        return
    if hub.is_local(path):
        folder = Path(path).expanduser()
        if not folder.exists():
            if not sc.train_if_missing:
                raise UserError(
                    f"{key}: no classifier folder there (and scorer.train_if_missing=false); "
                    "point scorer.path at a trained classifier folder or a hub id, or set "
                    "scorer.train_if_missing=true to train one there"
                )
            _check_training(cfg)
            return
        if not folder.is_dir():
            raise UserError(
                f"{key}: is a file, not a classifier folder; point scorer.path at "
                "the folder holding the classifier"
            )
        if layout == "tfidf":
            _check_tfidf(folder, labels, key)
            return
        config = folder / "config.json"
        if not config.is_file():
            raise UserError(
                f"{key}: no config.json in that folder, so not a classifier "
                "checkpoint; point scorer.path at a classifier folder (config.json, "
                "weights, tokenizer)"
            )
    else:
        if layout == "tfidf":
            raise UserError(
                f"{key}: a tfidf scorer is a local folder, not a hub id; point "
                "scorer.path at a folder (a missing one is trained there)"
            )
        try:
            config = hub.hub_file(path, "config.json")
        except UserError as e:
            raise UserError(
                f"{key}: {e}; use a local copy: `hf download {path} --local-dir DIR` on a "
                "machine with access, then scorer.path=DIR"
            ) from None
    _check_classifier_config(config, labels, key)


def _read_json(file: Path, key: str) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(
            f"{key}: cannot read {file} ({type(e).__name__}: {e}); point "
            "scorer.path at an intact classifier folder"
        ) from None


def _check_classifier_config(file: Path, labels: list[str], key: str) -> None:
    from charprobe.scorers.base import check_labels, checkpoint_labels

    conf = _read_json(file, key)
    if not isinstance(conf, dict):
        raise UserError(f"{key}: {file} is not a model config (a JSON object)")
    id2label = conf.get("id2label") or None
    n = len(id2label) if id2label else conf.get("num_labels", 2)  # transformers' default
    if n != len(labels):
        raise UserError(
            f"{key}: the classifier has {n} labels, the config expects {len(labels)} "
            f"({', '.join(labels)}); point scorer.path at a classifier of these labels, or set "
            "scorer.labels to the checkpoint's"
        )
    try:
        names = checkpoint_labels(id2label)
    except (ValueError, TypeError, KeyError):
        raise UserError(f"{key}: {file} has a malformed id2label (ids must be 0..n-1)") from None
    if names is not None:
        try:
            check_labels(labels, names, "its config.json id2label")
        except UserError as e:
            raise UserError(f"{key}: {e}") from None


def _check_tfidf(folder: Path, labels: list[str], key: str) -> None:
    from charprobe.scorers.base import check_labels
    from charprobe.scorers.tfidf import META_FILE, PIPELINE_FILE

    missing = [f for f in (META_FILE, PIPELINE_FILE) if not (folder / f).is_file()]
    if missing:
        raise UserError(
            f"{key}: not a tfidf scorer folder (no {', '.join(missing)}); point "
            "scorer.path at one, or at a folder that does not exist yet to train it"
        )
    meta = _read_json(folder / META_FILE, key)
    saved = meta.get("labels") if isinstance(meta, dict) else None
    if not isinstance(saved, list):
        raise UserError(f"{key}: {folder / META_FILE} holds no label list")
    try:
        check_labels(labels, saved, f"its {META_FILE}")
    except UserError as e:
        raise UserError(f"{key}: {e}") from None


def _check_prompts_apart(cfg: DictConfig) -> None:
    """A scorer charprobe trains on `scorer.train_prompts` must not then score replies to
    the same prompts in the chat cell: its chat macro-F1 would be read on its own
    training prompts (in-sample), and every drop from chat would be inflated."""
    from charprobe.scaffolds import make_scaffold
    from charprobe.scaffolds.chat import ChatScaffold
    from charprobe.scaffolds.prompts import load_prompts

    made = make_scaffold(cfg.scaffold)
    if not isinstance(made, ChatScaffold):
        return
    sc = cfg.scorer

    def texts(pairs: list[tuple[str, str]]) -> dict[str, str]:
        return {" ".join(p.split()): p for _, p in pairs}

    try:
        asked = texts(load_prompts(made.source, made.limit, made.shuffle_seed))
        train = texts(load_prompts(str(sc.train_prompts), sc.train_items, 0))
    except UserError:
        return  # each is checked, with its own message, where it is read
    shared = [asked[t] for t in asked if t in train]
    if shared:
        example = shared[0] if len(shared[0]) <= 60 else shared[0][:57] + "..."
        raise UserError(
            f"scaffold.prompts={made.source} and scorer.train_prompts={sc.train_prompts} share "
            f"{len(shared)} prompt(s) (e.g. {example!r}): the scorer would be read on replies "
            "to its own training prompts; point one of them at other prompts"
        )


def _check_training(cfg: DictConfig) -> None:
    """What training a missing classifier will need: known stages and training prompts."""
    sc = cfg.scorer
    for stage in sc.train_stages:
        if not (CONF_DIR / "stage" / f"{stage}.yaml").is_file():
            known = sorted(p.stem for p in (CONF_DIR / "stage").glob("*.yaml"))
            raise UserError(
                f"scorer.train_stages: unknown stage '{stage}'; use some of {', '.join(known)}"
            )
    from charprobe.scaffolds.prompts import load_prompts

    try:
        load_prompts(str(sc.train_prompts), sc.train_items, 0)
    except UserError as e:
        raise UserError(f"scorer.train_prompts: {e}") from None
