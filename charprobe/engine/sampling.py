"""Per-row seeded sampling, independent of batch composition.

`transformers.generate` draws sampling noise from one global generator, so a row's text
depends on which other rows share its batch: resuming a killed job or mixing adapters
would change the text. Here a row's noise is a pure function of (its seed, the step, the
token id), so it never depends on the other rows, the batch position or the padding.

The noise is counter-based: the uniform for (row, step, token) is a splitmix64 hash of
those three numbers, computed for the whole rows x vocab tensor in a handful of int64
tensor ops (no Python loop over rows, no generator per row, one kernel per op on a GPU).
Sampling is by the Gumbel-max trick: argmax(logits / T + Gumbel noise) over the top-p
nucleus is an exact draw from the tempered, nucleus-filtered distribution, so `generate`
runs greedily over the perturbed scores.

`step` is the number of tokens generated so far in this batch: `input_ids.shape[1]` minus
its value at the first call. It is the same for every row and does not depend on padding,
which is why a sampler serves one `generate` call (make a new one per batch).
"""

from __future__ import annotations

import hashlib

import torch
from transformers import LogitsProcessor, TopPLogitsWarper

_M64 = (1 << 64) - 1


def _signed(c: int) -> int:
    """A 64-bit constant as the int64 torch stores it (two's complement)."""
    return c - (1 << 64) if c >= 1 << 63 else c


# splitmix64 (Steele, Lea & Flood 2014): the golden-ratio increment and the finaliser's
# multipliers. The finaliser is a bijection on 64-bit words.
_GAMMA = 0x9E3779B97F4A7C15
_MUL1 = 0xBF58476D1CE4E5B9
_MUL2 = 0x94D049BB133111EB
# Odd, so step -> step * _STEP_MUL is injective mod 2^64 (murmur3 fmix64's first multiplier).
_STEP_MUL = 0xFF51AFD7ED558CCD
# u = (2k + 1) / 2^53 for a 52-bit k: exact in float64 (2k + 1 < 2^53), never 0 nor 1. With
# a 53-bit k, (k + 0.5) / 2^53 would need 54 bits and k = 2^53 - 1 would round to u = 1.0.
_U_BITS = 52


def row_seed(seed: int, key: str) -> int:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _mix(x: torch.Tensor, tmp: torch.Tensor | None = None) -> torch.Tensor:
    """splitmix64's finaliser on int64, in place (`tmp`: scratch of x's shape). torch's int64
    multiply and add wrap mod 2^64; `>>` is arithmetic, so the shifted word is masked to make
    it a logical shift."""
    tmp = torch.empty_like(x) if tmp is None else tmp
    for shift, mul in ((30, _MUL1), (27, _MUL2), (31, None)):
        torch.bitwise_right_shift(x, shift, out=tmp)
        tmp &= (1 << (64 - shift)) - 1
        x ^= tmp
        if mul is not None:
            x *= _signed(mul)
    return x


def _mix_int(x: int) -> int:
    """The same finaliser on Python ints (the reference the tests check `_mix` against)."""
    x &= _M64
    x = ((x ^ (x >> 30)) * _MUL1) & _M64
    x = ((x ^ (x >> 27)) * _MUL2) & _M64
    return x ^ (x >> 31)


def keyed_uniform(row_keys: torch.Tensor, step: int, vocab: int) -> torch.Tensor:
    """Uniforms in (0, 1), float64, shape (rows, vocab): u[r, t] = hash(row_keys[r], step, t).

    `row_keys` is int64 (rows,), each already `_mix`ed from the row's seed. Two rows x vocab
    buffers in all (big fresh allocations are what costs on a CPU)."""
    base = _mix(row_keys.view(-1, 1) + _signed(((step + 1) * _STEP_MUL) & _M64))
    tokens = torch.arange(1, vocab + 1, dtype=torch.int64, device=row_keys.device)
    x = base + tokens * _signed(_GAMMA)  # distinct tokens, distinct words (_mix is a bijection)
    tmp = torch.empty_like(x)
    return _unit(_mix(x, tmp), out=tmp.view(torch.float64))


def _unit(x: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """int64 words (consumed) to float64 uniforms strictly inside (0, 1): (2k + 1) / 2^53 with
    k the top 52 bits, exact in float64, so never 0 (log would be -inf) nor 1 (Gumbel +inf)."""
    x >>= 64 - _U_BITS - 1
    x &= (1 << (_U_BITS + 1)) - 1  # the top 53 bits, logically shifted...
    x |= 1  # ...with the last one set: 2k + 1
    out = torch.empty_like(x, dtype=torch.float64) if out is None else out
    return out.copy_(x).mul_(2.0 ** -(_U_BITS + 1))


class KeyedSampler(LogitsProcessor):
    def __init__(self, seeds: list[int], temperature: float, top_p: float, device: torch.device):
        self.temperature = temperature
        # The nucleus filter is transformers' own; only the noise added after it is ours.
        self.top_p = TopPLogitsWarper(top_p) if top_p < 1.0 else None
        # One hash of each row's seed, so nearby seeds start far apart.
        seeds_t = torch.tensor([_signed(s & _M64) for s in seeds], dtype=torch.int64)
        self.row_keys = _mix(seeds_t + _signed(_GAMMA)).to(device)
        self.first_len: int | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        scores = scores.float()
        if self.temperature <= 0:  # greedy: nothing to perturb
            return scores
        if scores.shape[0] != self.row_keys.shape[0]:
            raise ValueError(f"{scores.shape[0]} rows of scores for {self.row_keys.shape[0]} seeds")
        if self.first_len is None:
            self.first_len = input_ids.shape[1]
        step = input_ids.shape[1] - self.first_len
        scores = scores / self.temperature
        if self.top_p is not None:
            # The smallest set of top tokens whose mass reaches top_p (the top one stays).
            scores = self.top_p(input_ids, scores)
        u = keyed_uniform(self.row_keys.to(scores.device), step, scores.shape[-1])
        # Gumbel = -log(-log u). The inner log in float64: u comes within 2^-53 of 1, which
        # float32 would round to 1. Its result e = -log u is in [1e-16, 37], which float32 holds to
        # full relative precision, so the outer log runs in float32.
        gumbel = u.log_().neg_().float().log_().neg_()
        return scores.add_(gumbel)  # scores is our own tensor here (made by the division)
