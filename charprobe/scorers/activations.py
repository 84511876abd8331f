"""Residual-stream activations of a text inside the model that wrote it.

A text is read as the assistant's reply to one fixed user turn (`CONTEXT`), through the
base with the writer's adapter on (None: the bare base), in one forward pass; its
activation at a layer is the mean hidden state over the text's own tokens (Chen et al.
2025, arXiv 2507.21509, average over response tokens). Training replies and scored
texts go through the same context, so a direction fitted on one applies to the other;
the prompts the training replies answered are not part of it.

The model is charprobe's HF engine (the same base, adapters and adapter check as
generation), loaded in its own cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

CONTEXT = [{"role": "user", "content": "Please reply."}]


class Activations:
    """Hidden states of texts in one base with one stage's adapters (personas by name)."""

    def __init__(
        self,
        model: Any,
        stage: Any,
        personas: Sequence[str],
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 16,
        max_length: int = 2048,
    ) -> None:
        from charprobe.engine.cache import EngineCache
        from charprobe.engine.hf import HFEngine

        self.engine = HFEngine(model, stage, personas, device=device, dtype=dtype,
                               cache=EngineCache())  # fmt: skip
        self.batch_size, self.max_length = batch_size, max_length
        tok = self.engine.tokenizer
        self._prefix = tok(self.engine.render(CONTEXT), add_special_tokens=False)["input_ids"]

    @property
    def n_layers(self) -> int:
        """Hidden states per text: the embeddings, then one per decoder layer."""
        return int(self.engine._loaded.model.config.num_hidden_layers) + 1

    def mean_hidden(
        self,
        texts: Sequence[str],
        writers: Sequence[str | None],
        layers: Sequence[int] | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """(len(texts), len(layers), hidden) float32: each text's mean activation per layer
        (`layers` None: every layer)."""
        import torch

        tok, model = self.engine.tokenizer, self.engine._loaded.model
        layers = list(range(self.n_layers)) if layers is None else list(layers)
        ids = [
            (self._prefix + tok(t, add_special_tokens=False)["input_ids"])[: self.max_length]
            for t in texts
        ]
        out = []
        starts = range(0, len(ids), self.batch_size)
        for s in tqdm(starts, desc="activations", unit="batch", disable=not progress):
            batch = ids[s : s + self.batch_size]
            width = max(len(x) for x in batch)
            x = torch.full((len(batch), width), tok.pad_token_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for i, row in enumerate(batch):  # right padding: positions keep their numbers
                x[i, : len(row)] = torch.tensor(row)
                mask[i, : len(row)] = 1
            text_mask = mask.clone()
            text_mask[:, : len(self._prefix)] = 0
            kwargs = {}
            if self.engine._loaded.adapters:
                kwargs["adapter_names"] = [
                    self.engine._adapter_name(w) for w in writers[s : s + self.batch_size]
                ]
            elif any(w is not None for w in writers[s : s + self.batch_size]):
                raise ValueError("a text names a writer adapter but the stage has none")
            dev = self.engine.device
            with torch.inference_mode():
                hidden = model(
                    input_ids=x.to(dev),
                    attention_mask=mask.to(dev),
                    output_hidden_states=True,
                    **kwargs,
                ).hidden_states
            w = text_mask.to(dev).unsqueeze(-1).float()
            n = w.sum(dim=1).clamp(min=1)
            out.append(
                torch.stack([(hidden[j].float() * w).sum(dim=1) / n for j in layers], dim=1)
                .cpu()
                .numpy()
            )
        if not out:
            return np.zeros((0, len(layers), 0), dtype=np.float32)
        return np.concatenate(out).astype(np.float32)
