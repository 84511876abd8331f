"""Persona vectors: is the persona still active inside the model, whatever the text reads as?

After Chen et al. 2025, "Persona Vectors: Monitoring and Controlling Character Traits in
Language Models" (arXiv 2507.21509): a trait's direction is the difference of mean
residual-stream activations between responses that show it and responses that do not,
at the layer that separates them best; a text is monitored by projecting onto it.

Here, for one base and stage, persona p's direction is the mean activation of p's
adapter's chat replies (through that adapter) minus the mean activation of the bare
base's replies to the same prompts (through the base), on the classifier's training
prompts (`charprobe.scorers.activations`). The layer is the one whose directions,
fitted on the training items, best separate held-out items' persona replies from base
replies (mean over personas of Cohen's d of the projections on the persona's own
direction; the held-out split is by item). The directions are then refitted on every
item. Each projection is standardised by its mean and spread over the persona replies;
the prediction is the argmax of the standardised projections, and the probabilities a
softmax over them (a ranking, not a calibrated probability). Every scored row keeps its
raw projections (`detail`).

A vectors file is `<scorer.path>/<stage>.safetensors` (directions, standardisation, the
layer and provenance in its metadata) beside `<stage>.json` (the same, readable);
`python -m charprobe.train_scorer scorer=persona_vector stage=S` fits it, and every later
sweep reuses it. Base-stage texts are projected onto `base_stage` (default full)'s
vectors through the bare base: the chance line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from charprobe.scorers.base import Scorer, ScorerError, Scores, check_labels


def vectors_file(path: str | Path, stage: str) -> Path:
    return Path(path).expanduser() / f"{stage}.safetensors"


def directions(
    acts: np.ndarray, writers: Sequence[str | None], labels: Sequence[str]
) -> np.ndarray:
    """(labels, ..., hidden): each persona's mean activation minus the base replies' mean.

    `acts` is (texts, ..., hidden); a writer None is a base reply."""
    w = np.asarray([x if x is not None else "" for x in writers], dtype=object)
    base = acts[w == ""].mean(axis=0)
    return np.stack([acts[w == p].mean(axis=0) - base for p in labels])


def separation(
    acts: np.ndarray, writers: Sequence[str | None], labels: Sequence[str], dirs: np.ndarray
) -> float:
    """Mean over personas of Cohen's d between persona p's replies and the base replies,
    projected on p's direction (`acts` (texts, hidden), `dirs` (labels, hidden))."""
    w = np.asarray([x if x is not None else "" for x in writers], dtype=object)
    ds = []
    for j, p in enumerate(labels):
        a, b = acts[w == p] @ dirs[j], acts[w == ""] @ dirs[j]
        if len(a) < 2 or len(b) < 2:
            continue
        pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
        ds.append((a.mean() - b.mean()) / pooled if pooled > 0 else 0.0)
    return float(np.mean(ds)) if ds else float("nan")


def standardiser(
    acts: np.ndarray, writers: Sequence[str | None], dirs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread of each direction's projection over the persona replies."""
    proj = acts[[x is not None for x in writers]] @ dirs.T
    std = proj.std(axis=0)
    return proj.mean(axis=0), np.where(std > 0, std, 1.0)


def standardised(proj: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return (proj - mean) / std


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def fit(
    acts: np.ndarray,
    writers: Sequence[str | None],
    items: Sequence[str],
    labels: Sequence[str],
    heldout: float = 0.25,
    seed: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Choose the layer on held-out items, refit there on every item.

    `acts` (texts, layers, hidden); `writers` the persona of each text (None: a base
    reply); `items` each text's prompt id (the split keeps an item on one side)."""
    from charprobe.scorers.train_data import split_by_item
    from charprobe.stats import macro_f1

    train, held = split_by_item(list(items), heldout, seed)
    w_train = [writers[i] for i in train]
    w_held = [writers[i] for i in held]
    dirs_by_layer = directions(acts[train], w_train, labels)  # (labels, layers, hidden)
    seps = [
        separation(acts[held, layer], w_held, labels, dirs_by_layer[:, layer])
        for layer in range(acts.shape[1])
    ]
    layer = int(np.nanargmax(seps))
    # Held-out macro-F1 of the argmax rule at that layer (fitted on the training items).
    dirs = dirs_by_layer[:, layer]
    mean, std = standardiser(acts[train, layer], w_train, dirs)
    rows = [i for i in held if writers[i] is not None]
    z = standardised(acts[rows, layer] @ dirs.T, mean, std)
    pred = [labels[j] for j in z.argmax(axis=1)]
    truth = [writers[i] for i in rows]
    dirs = directions(acts[:, layer], writers, labels)
    mean, std = standardiser(acts[:, layer], writers, dirs)
    report = {
        "layer": layer,
        "n_layers": acts.shape[1],
        "heldout_separation": [round(float(x), 4) for x in seps],
        "heldout_macro_f1": macro_f1(truth, pred, list(labels)),
        "n_texts": len(writers),
        "n_heldout": len(held),
        "n_items_heldout": len({items[i] for i in held}),
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


def load_vectors(file: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    from safetensors import safe_open

    if not file.is_file():
        raise ScorerError(
            f"no persona vectors at {file}; fit them with: python -m charprobe.train_scorer "
            f"scorer=persona_vector model=... stage={file.stem} (or keep "
            "scorer.train_if_missing=true)"
        )
    try:
        with safe_open(str(file), framework="numpy") as f:
            meta = json.loads((f.metadata() or {})["charprobe"])
            return {k: f.get_tensor(k) for k in f.keys()}, meta  # noqa: SIM118
    except (OSError, KeyError, ValueError) as e:
        raise ScorerError(f"{file}: not a charprobe persona-vectors file ({e})") from None


class PersonaVectorScorer(Scorer):
    """Argmax of standardised projections on the persona vectors of the writer's stage.

    Args:
        path: the folder of vectors files (one per stage).
        labels: the label order (must be the vectors file's).
        model, stage: the job's base and stage configs (the model that wrote the texts).
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
        personas = list(self.labels) if stage.repo is not None else []
        self.acts = Activations(model, stage, personas, device, dtype, batch_size, max_length)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        raise ScorerError(
            "scorer=persona_vector reads a text inside the model that wrote it: score "
            "through Scorer.score(texts, writers)"
        )

    def score(self, texts: Sequence[str], writers: Sequence[str | None]) -> Scores:
        acts = self.acts.mean_hidden(texts, writers, [self.layer])[:, 0]
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
