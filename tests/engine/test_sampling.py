"""KeyedSampler: counter-based Gumbel noise, batch independent and an exact draw.

Every test here is deterministic (the noise is a hash, not a generator), so a statistical
bound either always holds or always fails; the bounds are set at alpha 1e-4, not tuned.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np
import pytest
import torch
from scipy import stats

from charprobe.engine import sampling
from charprobe.engine.sampling import KeyedSampler, keyed_uniform, row_seed

CPU = torch.device("cpu")
ALPHA = 1e-4


def _seeds(n: int, seed: int = 11) -> list[int]:
    return [row_seed(seed, f"item-{i}") for i in range(n)]


def _noise(seeds: list[int], vocab: int, first_len: int = 5, steps: int = 1) -> list[torch.Tensor]:
    """The sampler's Gumbel noise (flat zero logits, T=1, no top-p) at steps 0..steps-1."""
    s = KeyedSampler(seeds, 1.0, 1.0, CPU)
    zeros = torch.zeros(len(seeds), vocab)
    return [
        s(torch.zeros(len(seeds), first_len + k, dtype=torch.long), zeros) for k in range(steps)
    ]


def _row_keys(seeds: list[int]) -> torch.Tensor:
    return KeyedSampler(seeds, 1.0, 1.0, CPU).row_keys


def _draws(logits: list[float], seeds: list[int], temperature=1.0, top_p=1.0, steps=1):
    """Tokens drawn by argmax(sampler(scores)) for each row, one column per step."""
    s = KeyedSampler(seeds, temperature, top_p, CPU)
    scores = torch.tensor(logits).repeat(len(seeds), 1)
    cols = [
        s(torch.zeros(len(seeds), 3 + k, dtype=torch.long), scores).argmax(-1) for k in range(steps)
    ]
    return torch.stack(cols, dim=1).numpy()


def _chi2_p(counts: np.ndarray, probs: np.ndarray) -> float:
    return stats.chisquare(counts, counts.sum() * probs).pvalue


# --- the hash ---------------------------------------------------------------------------


def test_row_seed_unchanged():
    """row_seed is the request key's identity: a change would change every sampled text."""
    assert row_seed(0, "a") == 7462446685336499101  # the value before the rewrite
    assert row_seed(3, "persona/x-7") == int.from_bytes(
        hashlib.sha256(b"3:persona/x-7").digest()[:8], "little"
    ) & ((1 << 63) - 1)
    assert all(0 <= row_seed(s, str(k)) < 1 << 63 for s in range(5) for k in range(50))


def test_int64_mix_matches_the_64bit_reference():
    """torch's int64 ops (wrapping multiply, masked arithmetic shift) compute splitmix64."""
    rng = random.Random(0)
    words = [rng.getrandbits(64) for _ in range(5000)]
    words += [0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1]
    t = torch.tensor([w - (1 << 64) if w >= 1 << 63 else w for w in words], dtype=torch.int64)
    got = [v & ((1 << 64) - 1) for v in sampling._mix(t).tolist()]
    assert got == [sampling._mix_int(w) for w in words]
    # splitmix64's published first output for seed 0.
    assert sampling._mix_int(0x9E3779B97F4A7C15) == 0xE220A8397B1DCDAF


def test_unit_is_strictly_inside_0_1_at_the_extremes():
    words = torch.tensor([0, -1, -(1 << 63), (1 << 63) - 1, 1 << 12, (1 << 12) - 1])
    u = sampling._unit(words.clone())
    assert (u > 0).all() and (u < 1).all()
    assert u.min().item() == 0.5 * 2.0**-52 and u.max().item() == 1 - 0.5 * 2.0**-52
    g = -torch.log(-torch.log(u))
    assert torch.isfinite(g).all()


def test_uniforms_in_open_interval_and_uniform():
    """100k uniforms (100 rows x 1000 tokens): inside (0, 1) and KS-uniform; the Gumbel noise
    the sampler adds is KS-standard-Gumbel."""
    seeds = _seeds(100)
    u = keyed_uniform(_row_keys(seeds), 3, 1000).flatten().numpy()
    assert u.size == 100_000 and u.min() > 0 and u.max() < 1
    assert stats.kstest(u, "uniform").pvalue > ALPHA
    g = _noise(seeds, 1000)[0].flatten().numpy()
    assert stats.kstest(g, "gumbel_r").pvalue > ALPHA


def test_distinct_seeds_steps_tokens_never_collide():
    """64 rows (adjacent integer seeds and hashed ones) x 8 steps x 64 tokens: 32768 words, all
    distinct (a 52-bit collision among them has chance ~1e-7)."""
    seeds = list(range(32)) + _seeds(32)
    keys = _row_keys(seeds)
    u = torch.stack([keyed_uniform(keys, step, 64) for step in range(8)])
    assert u.numel() == 64 * 8 * 64
    assert torch.unique(u).numel() == u.numel()


def test_neighbours_are_uncorrelated():
    """Adjacent seeds, adjacent steps and adjacent tokens: |Pearson r| under the alpha 1e-4
    bound for independent uniforms (z / sqrt(n))."""
    keys = _row_keys(list(range(200)))  # adjacent integer seeds, the hardest case
    u = torch.stack([keyed_uniform(keys, step, 200) for step in range(2)]).numpy()
    pairs = {
        "seed": (u[0, :-1, :], u[0, 1:, :]),
        "step": (u[0], u[1]),
        "token": (u[0, :, :-1], u[0, :, 1:]),
    }
    z = stats.norm.isf(ALPHA / 2)
    for name, (a, b) in pairs.items():
        r = np.corrcoef(a.ravel(), b.ravel())[0, 1]
        assert abs(r) < z / np.sqrt(a.size), (name, r)


# --- batch independence ------------------------------------------------------------------


def test_row_noise_independent_of_batch_position_company_and_padding():
    me = row_seed(4, "the-row")
    others = _seeds(6, seed=99)
    alone = _noise([me], 300, first_len=5, steps=4)
    layouts = {
        "second of three": ([others[0], me, others[1]], 1, 5),
        "last of five": (others[2:6] + [me], 4, 5),
        "first, other company": ([me] + others[:3], 0, 5),
        "longer padded prompt": ([others[4], me], 1, 17),
        "duplicate seed": ([me, me], 1, 2),
    }
    for name, (seeds, pos, first_len) in layouts.items():
        got = _noise(seeds, 300, first_len=first_len, steps=4)
        for step in range(4):
            assert torch.equal(got[step][pos], alone[step][0]), (name, step)
    # ...and the noise does change from step to step and from seed to seed.
    assert not torch.equal(alone[0], alone[1])
    assert not torch.equal(_noise([me + 1], 300)[0], alone[0])


def test_sampled_tokens_independent_of_batch_with_top_p():
    """Full path (temperature, top-p, noise): a row's draws are the same alone or in a batch
    of other rows with other logits."""
    torch.manual_seed(0)
    seeds = _seeds(8)
    logits = torch.randn(8, 50) * 3
    batch = KeyedSampler(seeds, 0.7, 0.9, CPU)
    singles = [KeyedSampler([s], 0.7, 0.9, CPU) for s in seeds]
    for step in range(3):
        out = batch(torch.zeros(8, 6 + step, dtype=torch.long), logits)
        for i, single in enumerate(singles):
            one = single(torch.zeros(1, 2 + step, dtype=torch.long), logits[i : i + 1])
            assert torch.equal(out[i], one[0]), (i, step)


def test_step_is_generated_tokens_not_input_length():
    seeds = _seeds(3)
    keys = _row_keys(seeds)
    s = KeyedSampler(seeds, 1.0, 1.0, CPU)
    zeros = torch.zeros(3, 40)
    for step in range(3):
        out = s(torch.zeros(3, 9 + step, dtype=torch.long), zeros)
        want = -torch.log(-torch.log(keyed_uniform(keys, step, 40)))  # float64
        torch.testing.assert_close(out, want.float(), rtol=1e-6, atol=1e-6)


def test_rows_must_match_seeds():
    s = KeyedSampler(_seeds(3), 1.0, 1.0, CPU)
    with pytest.raises(ValueError, match="2 rows of scores for 3 seeds"):
        s(torch.zeros(2, 4, dtype=torch.long), torch.zeros(2, 10))


# --- the draw ----------------------------------------------------------------------------

LOGITS = [2.0, 1.0, 0.5, 0.0, -1.0]


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_draw_frequencies_match_softmax(temperature):
    """20000 rows with distinct seeds over fixed logits: token counts are chi-square
    consistent (p > 1e-4) with softmax(logits / T), at step 0 and at step 5."""
    draws = _draws(LOGITS, _seeds(20_000), temperature=temperature, steps=6)
    probs = torch.softmax(torch.tensor(LOGITS, dtype=torch.float64) / temperature, -1).numpy()
    for step in (0, 5):
        counts = np.bincount(draws[:, step], minlength=len(LOGITS))
        assert _chi2_p(counts, probs) > ALPHA, (step, counts, counts.sum() * probs)


def test_draws_at_successive_steps_are_independent():
    """A row's token at step 0 and at step 1: the 5x5 contingency table is chi-square
    consistent with independence (p > 1e-4)."""
    draws = _draws(LOGITS, _seeds(20_000, seed=5), steps=2)
    table = np.zeros((5, 5), dtype=np.int64)
    np.add.at(table, (draws[:, 0], draws[:, 1]), 1)
    assert stats.chi2_contingency(table).pvalue > ALPHA, table


def test_top_p_draws_only_from_the_nucleus_in_proportion():
    """probs 0.5, 0.3, 0.1, 0.06, 0.04 and top_p 0.75: the nucleus is the first two tokens
    (mass before the third is 0.8 >= 0.75); nothing else is ever drawn, and the two come
    in proportion 0.625 : 0.375."""
    probs = np.array([0.5, 0.3, 0.1, 0.06, 0.04])
    draws = _draws(np.log(probs).tolist(), _seeds(20_000, seed=8), top_p=0.75, steps=2)
    for step in range(2):
        counts = np.bincount(draws[:, step], minlength=5)
        assert counts[2:].sum() == 0, counts
        assert _chi2_p(counts[:2], np.array([0.625, 0.375])) > ALPHA, counts


def test_top_p_tiny_keeps_only_the_top_token():
    draws = _draws([0.1, 3.0, 0.2, -1.0], _seeds(500), top_p=0.01)
    assert (draws == 1).all()


@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_greedy_returns_scores_unchanged_as_float(temperature):
    torch.manual_seed(1)
    scores = (torch.randn(6, 30) * 2).to(torch.bfloat16)
    s = KeyedSampler(_seeds(6), temperature, 0.5, CPU)
    for k in range(2):
        out = s(torch.zeros(6, 4 + k, dtype=torch.long), scores)
        assert out.dtype == torch.float32
        assert torch.equal(out, scores.float())
        assert torch.equal(out.argmax(-1), scores.float().argmax(-1))


@pytest.mark.parametrize("top_p", [0.05, 0.5, 0.9, 0.99])
def test_top_p_mask_is_the_nucleus_rule(top_p):
    """The nucleus (transformers' TopPLogitsWarper) is exactly the tokens whose strictly
    more probable tokens hold less than top_p of the mass: the sampler draws only there."""
    torch.manual_seed(3)
    scores = torch.randn(400, 64) * 3
    s = KeyedSampler(_seeds(400), 1.0, top_p, CPU)
    kept = torch.isfinite(s(torch.zeros(400, 2, dtype=torch.long), scores))
    probs = scores.softmax(dim=-1)
    above = (probs.unsqueeze(1) > probs.unsqueeze(2)).float() @ probs.unsqueeze(2)
    rule = above.squeeze(2) < top_p
    margin = (above.squeeze(2) - top_p).abs() > 1e-5  # float rounding right at the edge
    assert torch.equal(kept[margin], rule[margin])
    assert margin.float().mean() > 0.99  # the rule decides nearly every token
    if top_p >= 0.5:
        assert kept.sum() > 400  # more than the top token alone, somewhere
