"""Persona vectors that read the text alone: which persona does a text sound like inside the base?

After Chen et al. 2025, "Persona Vectors: Monitoring and Controlling Character Traits in
Language Models" (arXiv 2507.21509): a trait's direction is a difference of mean
residual-stream activations, at a layer chosen on held-out data; a text is monitored by
projecting onto it.

Every text, in fitting and in scoring, is read through the BARE base (no adapter, and no
knowledge of who wrote it) as the reply to one fixed user turn
(`charprobe.scorers.activations`): its activation is the mean hidden state over the
reply's own tokens, template excluded. For one base and stage, persona p's direction at
layer L is the mean activation of p's replies minus the mean over the other personas'
replies (the stage's adapters' chat replies on the classifier's training prompts). Each
projection is standardised by its mean and spread over the training replies; the
prediction is the argmax of the standardised projections, the probabilities a softmax
over them (a ranking, not a calibrated probability). The layer is the decoder layer whose
argmax rule, fitted on the training items, reaches the highest macro-F1 on one half of
the held-out items (split by item: no held-out item is used in fitting; ties go to the
larger mean standardised projection of those replies on their own persona's direction);
the reported `heldout_macro_f1` is the chosen layer's on the other half, items that
played no part in choosing it (`selection_macro_f1`, the best layer on the items that
chose it, is biased upwards). The directions are then refitted there on every item.
Every scored row keeps its raw and standardised projections (`detail`).

Because nothing about the writer enters, a text gets the same verdict whoever is said to
have written it: rotate the rows' personas and the predictions stay, so macro-F1 falls to
chance (`tests/scorers/test_persona_vector_text_only.py`). Whether the *adapter* is still
active while the model writes is a different question, measured by `charprobe.push`.

A vectors file is `<scorer.path>/<stage>.safetensors` (directions, standardisation, the
layer and provenance in its metadata) beside `<stage>.json` (the same, readable);
`python -m charprobe.train_scorer scorer=persona_vector stage=S` fits it, and every later
sweep reuses it while its `version` is `VECTORS_VERSION` (an older file, e.g. one read
inside the writer's adapter, is refitted, never reused). Base-stage texts are projected
onto `base_stage` (default full)'s vectors.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from charprobe.errors import UserError
from charprobe.scorers.base import (
    Scorer,
    ScorerError,
    Scores,
    Training,
    check_labels,
    check_reader_fields,
)
from charprobe.store import file_lock, read_json

log = logging.getLogger(__name__)

# 3: the layer chosen on half the held-out items, reported on the other half.
# 2: texts read through the bare base with a fixed context; p minus the other personas.
# (1 read each text inside its writer's adapter, p minus the base's replies: the
# prediction carried the label.) A file of another version is refitted.
VECTORS_VERSION = 3
READING = "bare base, fixed context; persona minus other personas"


def vectors_file(path: str | Path, stage: str) -> Path:
    return Path(path).expanduser() / f"{stage}.safetensors"


def directions(acts: np.ndarray, writers: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """(labels, ..., hidden): each persona's mean activation minus the mean activation of
    the other personas' replies. `acts` is (texts, ..., hidden), `writers` each text's
    persona."""
    w = np.asarray(list(writers), dtype=object)
    missing = [p for p in labels if not (w == p).any() or not (w != p).any()]
    if missing:
        raise ScorerError(f"persona vectors: no training replies to contrast for {missing}")
    return np.stack([acts[w == p].mean(axis=0) - acts[w != p].mean(axis=0) for p in labels])


def standardiser(acts: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread of each direction's projection over the training replies."""
    proj = acts @ dirs.T
    std = proj.std(axis=0)
    return proj.mean(axis=0), np.where(std > 0, std, 1.0)


def standardised(proj: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return (proj - mean) / std


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def argmax_rule(
    train: np.ndarray, w_train: Sequence[str], test: np.ndarray, labels: Sequence[str]
) -> tuple[list[str], np.ndarray]:
    """Fit directions and standardisation on `train` (texts, hidden); the predicted label
    and the standardised projections (texts, labels) of `test`."""
    dirs = directions(train, w_train, labels)
    mean, std = standardiser(train, dirs)
    z = standardised(test @ dirs.T, mean, std)
    return [labels[j] for j in z.argmax(axis=1)], z


def fit(
    acts: np.ndarray,
    writers: Sequence[str],
    items: Sequence[str],
    labels: Sequence[str],
    heldout: float = 0.25,
    seed: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Choose the layer by held-out-item macro-F1 of the argmax rule, refit there on every
    item.

    `acts` (texts, hidden states, hidden), index 0 the embeddings (never chosen: the layer
    is a decoder layer's output); `writers` the persona of each text; `items` each text's
    prompt id (the split keeps an item on one side)."""
    from charprobe.scorers.train_data import split_by_item
    from charprobe.stats import macro_f1

    labels = list(labels)
    writers = list(writers)
    train, held = split_by_item(list(items), heldout, seed)
    # The held-out items in two halves, by item: one chooses the layer, the other says how
    # well the chosen layer reads new items (the best of many layers on the items that
    # chose it is biased upwards: on noise it is well above chance).
    if len({items[i] for i in held}) >= 2:
        a, b = split_by_item([items[i] for i in held], 0.5, seed)
        select, check = [held[i] for i in a], [held[i] for i in b]
    else:
        select, check = held, []
    w_train = [writers[i] for i in train]
    truth = [writers[i] for i in select]
    f1s, margins = [float("nan")], [float("nan")]
    for layer in range(1, acts.shape[1]):
        pred, z = argmax_rule(acts[train, layer], w_train, acts[select, layer], labels)
        f1s.append(macro_f1(truth, pred, labels))
        own = [labels.index(t) for t in truth]
        margins.append(float(z[np.arange(len(own)), own].mean()) if own else float("nan"))
    keys = [(f, m) if f == f else (-1.0, -np.inf) for f, m in zip(f1s, margins, strict=True)]
    layer = max(range(1, acts.shape[1]), key=lambda i: keys[i])
    heldout_f1 = float("nan")
    if check:
        pred, _ = argmax_rule(acts[train, layer], w_train, acts[check, layer], labels)
        heldout_f1 = macro_f1([writers[i] for i in check], pred, labels)
    dirs = directions(acts[:, layer], writers, labels)
    mean, std = standardiser(acts[:, layer], dirs)
    report = {
        "version": VECTORS_VERSION,
        "reading": READING,
        "layer": layer,
        "n_layers": acts.shape[1],
        # On held-out items that did not choose the layer (NaN: too few items to split).
        "heldout_macro_f1": heldout_f1,
        "n_heldout": len(check),
        "n_items_heldout": len({items[i] for i in check}),
        # On the items that chose it: the best of all layers, so biased upwards.
        "selection_macro_f1": f1s[layer],
        "selection_macro_f1_by_layer": [None if f != f else round(f, 4) for f in f1s],
        "n_selection": len(select),
        "n_texts": len(writers),
    }
    return {"directions": dirs, "mean": mean, "std": std}, report


def save_vectors(file: Path, vectors: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """The safetensors file (tensors + metadata) and a readable JSON beside it."""
    from safetensors.numpy import save_file

    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.name}.tmp")
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in vectors.items()},
              str(tmp), metadata={"charprobe": json.dumps(meta)})  # fmt: skip
    file.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    tmp.rename(file)  # only a complete file ever appears under its name


def read_meta(file: Path) -> dict[str, Any] | None:
    """A vectors file's metadata (no tensors read), or None when there is no readable file."""
    from safetensors import safe_open

    if not file.is_file():
        return None
    try:
        with safe_open(str(file), framework="numpy") as f:
            return json.loads((f.metadata() or {})["charprobe"])
    except (OSError, KeyError, ValueError):
        return None


def is_current(file: Path) -> bool:
    """Whether `file` holds vectors fitted the current way (`VECTORS_VERSION`)."""
    meta = read_meta(file)
    return meta is not None and meta.get("version") == VECTORS_VERSION


def load_vectors(file: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    from safetensors import safe_open

    refit = (
        f"fit them with: python -m charprobe.train_scorer scorer=persona_vector model=... "
        f"stage={file.stem} (or keep scorer.train_if_missing=true)"
    )
    if not file.is_file():
        raise ScorerError(f"no persona vectors at {file}; {refit}")
    try:
        with safe_open(str(file), framework="numpy") as f:
            meta = json.loads((f.metadata() or {})["charprobe"])
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    except (OSError, KeyError, ValueError) as e:
        raise ScorerError(f"{file}: not a charprobe persona-vectors file ({e})") from None
    if meta.get("version") != VECTORS_VERSION:
        raise ScorerError(
            f"{file}: persona vectors of version {meta.get('version', 1)}, this charprobe "
            f"reads version {VECTORS_VERSION} ({READING}); {refit}"
        )
    return tensors, meta


class PersonaVectorScorer(Scorer):
    """Argmax of standardised projections on a stage's persona vectors, each text read
    through the bare base: the verdict depends on the text alone.

    Args:
        path: the folder of vectors files (one per stage).
        labels: the label order (must be the vectors file's).
        model, stage: the job's base and stage configs (the stage picks the vectors file;
            no adapter is loaded).
        base_stage: whose vectors score base-stage texts.
    """

    def __init__(
        self,
        path: str,
        labels: Sequence[str],
        model: Any,
        stage: Any,
        base_stage: str = "full",
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 16,
        max_length: int = 2048,
    ) -> None:
        from omegaconf import OmegaConf

        from charprobe.scorers.activations import Activations

        self.labels = tuple(labels)
        model, stage = OmegaConf.create(model), OmegaConf.create(stage)
        name = stage.name if stage.repo is not None else base_stage
        self.file = vectors_file(path, name)
        tensors, self.meta = load_vectors(self.file)
        check_labels(self.labels, self.meta["labels"], str(self.file))
        self.layer = int(self.meta["layer"])
        self.dirs, self.mean, self.std = tensors["directions"], tensors["mean"], tensors["std"]
        self.acts = Activations(model, device, dtype, batch_size, max_length)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.score(texts).proba

    # ------------------------------------------------------------------ the option's hooks

    @classmethod
    def check_option(cls, option: Any) -> None:
        check_reader_fields(option)

    @classmethod
    def missing(cls, option: Any) -> Path | None:
        """The vectors file the job's stage needs and lacks (or holds from an older
        charprobe: it is refitted, never reused)."""
        if not option.train_if_missing:
            return None
        stage = option.stage
        file = vectors_file(option.path, stage.name if stage.repo else option.base_stage)
        return None if is_current(file) else file

    @classmethod
    def train(cls, option: Any, target: Path, training: Training) -> dict[str, Any]:
        """Chat replies of the stage's adapters on the training prompts, each read through
        the bare base (no adapter, one fixed context), and the vectors fitted on them."""
        from omegaconf import OmegaConf

        from charprobe.scorers.activations import Activations
        from charprobe.scorers.train_data import load_generations

        file, stage, labels = target, target.stem, list(option.labels)
        with file_lock(file.parent / f".{file.name}.lock"):
            if is_current(file):  # another process fitted them while we waited
                return read_json(file.with_suffix(".json"))
            log.info("persona vectors %s are missing or outdated: fitting them", file)
            files = training.replies([stage])
            df = load_generations(files, stages=[stage], scaffold="chat")
            df = df[df["persona"].isin(labels)]
            if df.empty:
                raise UserError(f"no training replies with text in {', '.join(map(str, files))}")
            acts = Activations(
                training.model, option.device, str(option.dtype), option.batch_size,
                option.max_length,
            ).mean_hidden(df["text"].tolist(), progress=True)  # fmt: skip
            vectors, report = fit(
                acts, df["persona"].tolist(), df["item_id"].astype(str).tolist(), labels,
                **OmegaConf.to_container(option.train),
            )  # fmt: skip
            meta = {
                "labels": labels,
                **report,
                **training.origin(stage),
                "data": {"files": [str(f) for f in files], "prompts": option.train_prompts},
                **training.stamp(),
            }
            save_vectors(file, vectors, meta)
        log.info(
            "persona vectors -> %s: layer %d of %d, held-out macro-F1 %.3f on %d texts",
            file, report["layer"], report["n_layers"], report["heldout_macro_f1"],
            report["n_heldout"],
        )  # fmt: skip
        return meta

    def score(self, texts: Sequence[str]) -> Scores:
        acts = self.acts.mean_hidden(texts, [self.layer])[:, 0]
        if not len(texts):
            return Scores(np.zeros((0, len(self.labels))), [])
        proj = acts @ self.dirs.T
        z = standardised(proj, self.mean, self.std)
        detail = [
            {
                "layer": self.layer,
                "projection": _rounded(self.labels, p),
                "z": _rounded(self.labels, q),
            }
            for p, q in zip(proj, z, strict=True)
        ]
        return Scores(softmax(z), detail)


def _rounded(labels: Sequence[str], values: np.ndarray) -> dict[str, float]:
    return {lab: round(float(v), 4) for lab, v in zip(labels, values, strict=True)}
