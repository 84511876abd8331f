"""ModernBERT persona classifier: a sequence-classification checkpoint as a scorer.

Loads the published per-base classifiers (`maius/{slug}-pt-classifier`) or one trained
by `charprobe.scorers.train`. Two failure modes are made loud on purpose:

- a label order that disagrees with the checkpoint's `config.id2label` (every number
  downstream would be wrong yet plausible), and
- an unreachable hub (transformers would otherwise retry for half a minute and then
  print a multi-line message); we fail in about a second with one line.

torch loads with the first scorer built, not with the module: the input checks read the
class (`check_option`, `missing`) before any weights load.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from charprobe.engine import devices, hub
from charprobe.engine.devices import resolve_device
from charprobe.errors import UserError
from charprobe.personas import LABELS
from charprobe.scorers.base import (
    Scorer,
    ScorerError,
    check_labels,
    check_reader_fields,
    checkpoint_labels,
)
from charprobe.scorers.classifier import (
    ClassifierScorer,
    TrainConfig,
    one_line,
    read_option_json,
    resolve_checkpoint,
)

if TYPE_CHECKING:
    import torch


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """'auto': bf16 on a GPU that supports it (the recipe trained in bf16), else fp32."""
    try:
        return devices.resolve_dtype(dtype, device, "bfloat16")
    except ValueError as e:
        raise ScorerError(str(e)) from None


class ModernBertScorer(ClassifierScorer):
    """Score texts with an `AutoModelForSequenceClassification` checkpoint.

    Inference is batched over texts sorted by token length (little padding), under
    `torch.inference_mode()`, truncated at `max_length` (capped at the model's
    `max_position_embeddings`); results come back in input order.
    """

    kind: ClassVar[str] = "modernbert"
    # A from-scratch ModernBERT on the training texts' own tokenizer learns fast with these.
    TINY_RECIPE: ClassVar[dict[str, Any]] = {
        "base_model": "<tiny from config>",
        "epochs": 4,
        "lr": 2e-3,
        "batch_size": 16,
        "grad_accum": 1,
        "warmup": 0.1,
        "weight_decay": 0.01,
        "max_length": 256,
        "scheduler": "linear",
        "eval_batch_size": 64,
    }

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
            raise ScorerError(f"cannot load classifier config '{path}': {one_line(err)}") from None
        self.labels = tuple(labels)
        self._check_config(config, path)
        dev = resolve_device(device)
        try:
            tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=local_only)
            model = AutoModelForSequenceClassification.from_pretrained(
                where, local_files_only=local_only, dtype=resolve_dtype(dtype, dev)
            )
        except Exception as err:
            raise ScorerError(f"cannot load classifier '{path}': {one_line(err)}") from None
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
        import torch
        from tqdm.auto import tqdm

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

    # ------------------------------------------------------------------ the option's hooks

    @classmethod
    def check_option(cls, option: Any) -> None:
        check_reader_fields(option)
        super().check_option(option)

    @classmethod
    def check_folder(cls, folder: Path, labels: list[str], key: str) -> None:
        config = folder / "config.json"
        if not config.is_file():
            raise UserError(
                f"{key}: no config.json in that folder, so not a classifier "
                "checkpoint; point scorer.path at a classifier folder (config.json, "
                "weights, tokenizer)"
            )
        _check_classifier_config(config, labels, key)

    @classmethod
    def check_hub(cls, path: str, labels: list[str], key: str) -> None:
        try:
            config = hub.hub_file(path, "config.json")
        except UserError as e:
            raise UserError(
                f"{key}: {e}; use a local copy: `hf download {path} --local-dir DIR` on a "
                "machine with access, then scorer.path=DIR"
            ) from None
        _check_classifier_config(config, labels, key)

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
        """Fine-tune (or, `tiny`, train from scratch) a sequence classifier into `out`."""
        from transformers import set_seed

        from charprobe.scorers import finetune

        set_seed(recipe.seed)
        if tiny:
            model, tokenizer = finetune.build_tiny(texts, label_order, finetune.TinyArch())
        else:
            model, tokenizer = finetune.build_pretrained(recipe.base_model, label_order)
        index = {name: i for i, name in enumerate(label_order)}
        facts = finetune.fit(
            model,
            tokenizer,
            texts,
            [index[y] for y in labels],
            epochs=recipe.epochs,
            lr=recipe.lr,
            batch_size=recipe.batch_size,
            grad_accum=recipe.grad_accum,
            warmup=recipe.warmup,
            weight_decay=recipe.weight_decay,
            max_length=recipe.max_length,
            scheduler=recipe.scheduler,
            seed=recipe.seed,
            device=resolve_device(recipe.device),
            progress=progress,
        )
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        facts["n_parameters"] = sum(p.numel() for p in model.parameters())
        scorer = cls.from_model(
            model,
            tokenizer,
            label_order,
            max_length=recipe.max_length,
            batch_size=recipe.eval_batch_size,
            progress=progress,
        )
        return scorer, facts


def _check_classifier_config(file: Path, labels: list[str], key: str) -> None:
    """A checkpoint's config.json has these labels, in this order (generic LABEL_i names
    are taken to be in the configured order)."""
    conf = read_option_json(file, key)
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
