"""ModernBERT persona classifier: a sequence-classification checkpoint as a scorer.

Loads the published per-base classifiers (`maius/{slug}-pt-classifier`) or one trained
by `charprobe.scorers.train`. Two failure modes are made loud on purpose:

- a label order that disagrees with the checkpoint's `config.id2label` (every number
  downstream would be wrong yet plausible), and
- an unreachable hub (transformers would otherwise retry for half a minute and then
  print a multi-line message); we fail in about a second with one line.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from charprobe.engine import devices, hub
from charprobe.engine.devices import resolve_device
from charprobe.errors import UserError
from charprobe.personas import LABELS
from charprobe.scorers.base import Scorer, ScorerError, check_labels, checkpoint_labels


def _one_line(err: BaseException) -> str:
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


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """'auto': bf16 on a GPU that supports it (the recipe trained in bf16), else fp32."""
    try:
        return devices.resolve_dtype(dtype, device, "bfloat16")
    except ValueError as e:
        raise ScorerError(str(e)) from None


class ModernBertScorer(Scorer):
    """Score texts with an `AutoModelForSequenceClassification` checkpoint.

    Inference is batched over texts sorted by token length (little padding), under
    `torch.inference_mode()`, truncated at `max_length` (capped at the model's
    `max_position_embeddings`); results come back in input order.
    """

    def __init__(
        self,
        path: str,
        labels: Sequence[str] = LABELS,
        max_length: int = 8192,
        batch_size: int = 16,
        device: str | torch.device = "auto",
        dtype: str | torch.dtype = "auto",
        progress: bool | None = None,
    ) -> None:
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

        where, local_only = resolve_checkpoint(path)
        try:
            config = AutoConfig.from_pretrained(where, local_files_only=local_only)
        except Exception as err:
            raise ScorerError(f"cannot load classifier config '{path}': {_one_line(err)}") from None
        self.labels = tuple(labels)
        self._check_config(config, path)
        dev = resolve_device(device)
        try:
            tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=local_only)
            model = AutoModelForSequenceClassification.from_pretrained(
                where, local_files_only=local_only, dtype=resolve_dtype(dtype, dev)
            )
        except Exception as err:
            raise ScorerError(f"cannot load classifier '{path}': {_one_line(err)}") from None
        self._setup(model.to(dev), tokenizer, max_length, batch_size, progress)
        self.path = path

    @classmethod
    def from_model(
        cls,
        model: torch.nn.Module,
        tokenizer: Any,
        labels: Sequence[str] = LABELS,
        max_length: int = 8192,
        batch_size: int = 16,
        progress: bool | None = None,
    ) -> ModernBertScorer:
        """Wrap an in-memory model (e.g. right after training) with the same inference code."""
        self = cls.__new__(cls)
        self.labels = tuple(labels)
        self._check_config(model.config, "<in-memory model>")
        self._setup(model, tokenizer, max_length, batch_size, progress)
        self.path = None
        return self

    def _check_config(self, config: Any, where: str) -> None:
        if config.num_labels != len(self.labels):
            raise ScorerError(
                f"classifier '{where}' has {config.num_labels} labels, expected "
                f"{len(self.labels)}: {list(self.labels)}; point scorer.path at a classifier "
                "of these labels, or set scorer.labels to the checkpoint's"
            )
        names = checkpoint_labels(config.id2label)
        if names is None:
            warnings.warn(
                f"classifier '{where}' has only generic LABEL_i names; assuming the configured "
                f"order {list(self.labels)}",
                stacklevel=3,
            )
        else:
            check_labels(self.labels, names, f"classifier '{where}' config.id2label")

    def _setup(
        self, model: Any, tokenizer: Any, max_length: int, batch_size: int, progress: bool | None
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        limit = getattr(model.config, "max_position_embeddings", None) or max_length
        self.max_length = min(max_length, limit)
        self.batch_size = batch_size
        self.progress = progress

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise TypeError(
                f"texts must be strings; row {bad[0]} is {type(texts[bad[0]]).__name__}"
            )
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float64)
        if not texts:
            return out
        enc = self.tokenizer(texts, truncation=True, max_length=self.max_length)
        order = sorted(range(len(texts)), key=lambda i: -len(enc["input_ids"][i]))
        starts = range(0, len(order), self.batch_size)
        show = self.progress if self.progress is not None else len(starts) > 8
        with torch.inference_mode():
            for start in tqdm(starts, desc="scoring", disable=not show, leave=False):
                idx = order[start : start + self.batch_size]
                batch = self.tokenizer.pad(
                    {k: [enc[k][i] for i in idx] for k in ("input_ids", "attention_mask")},
                    return_tensors="pt",
                ).to(self.device)
                logits = self.model(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                ).logits
                out[idx] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return out

    def __repr__(self) -> str:
        return (
            f"ModernBertScorer({self.path!r}, max_length={self.max_length}, device={self.device})"
        )
