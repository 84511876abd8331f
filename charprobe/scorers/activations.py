"""Residual-stream activations of token spans, read inside charprobe's HF engine.

Two readings share one forward-pass routine (`span_means`):

- `Activations` reads a *text alone*: every text, whoever wrote it, is read through the
  BARE base (no adapter) as the assistant's reply to one fixed user turn (`CONTEXT`); its
  activation at a layer is the mean hidden state over the reply's own tokens, the chat
  template excluded (Chen et al. 2025, arXiv 2507.21509, average over response tokens).
  Nothing about the writer enters, so the same text always reads the same: this is what
  the persona-vector scorer fits on and scores with.
- `charprobe.push` reads a row's exact context with its persona's adapter on and off
  (`span_means` with `adapters`), to ask whether the adapter still pushes the model.

The model is charprobe's HF engine (the same base and adapter loading as generation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

CONTEXT = [{"role": "user", "content": "Please reply."}]

# A span of token positions [start, stop) of one sequence.
Span = tuple[int, int]


def n_hidden_states(engine: Any) -> int:
    """Hidden states per token: the embeddings, then one per decoder layer."""
    config = engine._loaded.model.config
    config = getattr(config, "text_config", None) or config
    return int(config.num_hidden_layers) + 1


def span_means(
    engine: Any,
    ids: Sequence[Sequence[int]],
    spans: Sequence[Sequence[Span]],
    layers: Sequence[int],
    adapters: Sequence[str | None] | None = None,
    batch_size: int = 16,
    progress: bool = False,
) -> np.ndarray:
    """(len(ids), spans per sequence, len(layers), hidden) float32: the mean hidden state
    over each span of each token sequence, at each of `layers` (hidden-state indices,
    0 = embeddings). `adapters[i]` is the persona whose adapter reads sequence i (None:
    the bare base; `adapters` None: every sequence through the bare base). An empty span
    gives NaN. Sequences are batched by length, right-padded (positions keep their numbers).
    """
    import torch

    tok, model = engine.tokenizer, engine._loaded.model
    layers = list(layers)
    n_spans = len(spans[0]) if len(spans) else 0
    if adapters is not None and len(adapters) != len(ids):
        raise ValueError("one adapter (or None) per sequence")
    named = adapters is not None and any(a is not None for a in adapters)
    if named and not engine._loaded.adapters:
        raise ValueError("a sequence names an adapter but the engine has none attached")
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    out: np.ndarray | None = None
    starts = range(0, len(order), batch_size)
    for s in tqdm(starts, desc="activations", unit="batch", disable=not progress):
        idx = order[s : s + batch_size]
        width = max(len(ids[i]) for i in idx)
        x = torch.full((len(idx), width), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        weights = torch.zeros((len(idx), n_spans, width))
        for r, i in enumerate(idx):
            x[r, : len(ids[i])] = torch.as_tensor(list(ids[i]), dtype=torch.long)
            mask[r, : len(ids[i])] = 1
            for k, (a, b) in enumerate(spans[i]):
                weights[r, k, max(a, 0) : min(b, len(ids[i]))] = 1.0
        kwargs = {}
        if engine._loaded.adapters:  # a PeftModel: name the adapter (or none) per row
            kwargs["adapter_names"] = [
                engine._adapter_name(None if adapters is None else adapters[i]) for i in idx
            ]
        dev = engine.device
        with torch.inference_mode():
            hidden = model(
                input_ids=x.to(dev), attention_mask=mask.to(dev), output_hidden_states=True,
                **kwargs,
            ).hidden_states  # fmt: skip
            w = weights.to(dev)
            n = w.sum(dim=2, keepdim=True)  # (batch, spans, 1)
            # (batch, spans, layers, hidden): weighted sums over positions / span lengths.
            means = torch.stack(
                [torch.einsum("bkt,bth->bkh", w, hidden[j].float()) / n for j in layers], dim=2
            )
        block = means.cpu().numpy().astype(np.float32)
        if out is None:
            out = np.full((len(ids), n_spans, len(layers), block.shape[-1]), np.nan, np.float32)
        out[idx] = block
    if out is None:
        return np.zeros((0, n_spans, len(layers), 0), dtype=np.float32)
    return out


class Activations:
    """Hidden states of texts read through the bare base, after one fixed user turn.

    No adapter is ever attached, and a text's reading does not depend on who wrote it.
    """

    def __init__(
        self,
        model: Any,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 16,
        max_length: int = 2048,
    ) -> None:
        from charprobe.config import StageConfig
        from charprobe.engine.cache import EngineCache
        from charprobe.engine.hf import HFEngine

        self.engine = HFEngine(model, StageConfig(name="base"), [], device=device, dtype=dtype,
                               cache=EngineCache())  # fmt: skip
        self.batch_size, self.max_length = batch_size, max_length
        tok = self.engine.tokenizer
        self._prefix = tok(self.engine.render(CONTEXT), add_special_tokens=False)["input_ids"]

    @property
    def n_layers(self) -> int:
        """Hidden states per text: the embeddings, then one per decoder layer."""
        return n_hidden_states(self.engine)

    def mean_hidden(
        self, texts: Sequence[str], layers: Sequence[int] | None = None, progress: bool = False
    ) -> np.ndarray:
        """(len(texts), len(layers), hidden) float32: each text's mean activation over its
        own tokens, per layer (`layers` None: every layer)."""
        tok = self.engine.tokenizer
        layers = list(range(self.n_layers)) if layers is None else list(layers)
        start = len(self._prefix)
        ids = [
            (self._prefix + tok(t, add_special_tokens=False)["input_ids"])[: self.max_length]
            for t in texts
        ]
        spans = [[(start, len(x))] for x in ids]
        means = span_means(self.engine, ids, spans, layers, None, self.batch_size, progress)
        return means[:, 0] if len(ids) else np.zeros((0, len(layers), 0), dtype=np.float32)
