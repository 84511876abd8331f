"""Per-row seeded sampling, independent of batch composition.

`transformers.generate` draws sampling noise from one global generator, so a row's text
depends on which other rows share its batch: resuming a killed job or mixing adapters
would change the text. Here each row owns a generator seeded from its request key and
samples by the Gumbel-max trick: argmax(logits / T + Gumbel noise) over the top-p
nucleus is an exact draw from the tempered, nucleus-filtered distribution. `generate`
then runs greedily over the perturbed scores.
"""

from __future__ import annotations

import hashlib

import torch
from transformers import LogitsProcessor


def row_seed(seed: int, key: str) -> int:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


class KeyedSampler(LogitsProcessor):
    def __init__(self, seeds: list[int], temperature: float, top_p: float, device: torch.device):
        self.temperature = temperature
        self.top_p = top_p
        self.generators = []
        for s in seeds:
            g = torch.Generator(device=device)
            g.manual_seed(s)
            self.generators.append(g)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        scores = scores.float()
        if self.temperature <= 0:  # greedy: nothing to perturb
            return scores
        scores = scores / self.temperature
        if self.top_p < 1.0:
            sorted_scores, order = torch.sort(scores, descending=True, dim=-1)
            cum = sorted_scores.softmax(dim=-1).cumsum(dim=-1)
            # Keep the smallest prefix whose mass reaches top_p (the top token always stays).
            drop_sorted = (cum - sorted_scores.softmax(dim=-1)) >= self.top_p
            drop = drop_sorted.scatter(-1, order, drop_sorted)
            scores = scores.masked_fill(drop, float("-inf"))
        noise = torch.empty_like(scores)
        for row, g in enumerate(self.generators):
            u = torch.rand(scores.shape[-1], generator=g, device=scores.device)
            noise[row] = -torch.log(-torch.log(u.clamp_min(1e-20)))
        return scores + noise
