"""Is the adapter still pushing? The per-turn measurement behind `python -m charprobe.push`.

For one turn of one row (the turn that wrote the row's scored text, or a traced turn of
trace.jsonl), the exact context the model saw when the turn started (the row's stored
messages up to that assistant turn, rendered with the model's chat template) is followed
by the turn's own tokens (teacher-forced: the same content in both passes), and read twice
through the same base with charprobe's HF engine: with the row persona's adapter on and
with it off. At the vectors' layer L:

    delta = h(adapter) - h(base)

at two positions: the last prompt token (Chen et al. 2025's monitoring position, before
any of the turn is written) and the mean over the turn's own tokens. Then

    s = delta . v_p / |v_p|

with v_p the row persona's text-only persona vector (`charprobe.scorers.persona_vector`).
The controls are ones that can fail:

- `s_cross`: another persona's adapter (the next of the row's stage, in label order) on
  the same context and tokens, its delta projected on *this* persona's direction. An
  adapter that pushes only along what all adapters share gives s_cross about s; one that
  pushes its own persona gives s above s_cross.
- `s_random`: `n_random` seeded random directions drawn from the covariance of the base's
  activations over the measured turns (a random mix of their centred activations, made
  unit length), so a direction of large natural spread is as likely as in the data; each
  one is kept for the aggregate. (Isotropic random directions read almost nothing in a
  space where activations spread along few axes, so they cannot fail.)
- |delta|.

The mean projection on the *other* personas' directions is no control: with balanced
training data the directions sum to zero, so it is about -s / (K - 1) by algebra.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from charprobe.records import TRACE, Generation, JobFolder

log = logging.getLogger("charprobe.push")

POSITIONS = ("last_prompt", "turn_mean")
ROW, TRACED = "row", "trace"  # a record's source: the row's scored turn, or a traced turn


@dataclass
class Target:
    """One turn to measure: who, where, and its context and tokens."""

    key: str
    model: str
    stage: str
    scaffold: str
    persona: str
    item_id: str
    source: str  # ROW | TRACED
    step: int
    kind: str
    writer: str | None
    context: list[dict[str, Any]]
    turn: str
    p_true: float | None = None


@dataclass
class Measured:
    """Measurements of a list of targets: per target and position (len, 2)."""

    targets: list[Target]
    layer: int
    s_own: np.ndarray
    s_cross: np.ndarray  # another persona's adapter's delta on this persona's direction
    s_random: np.ndarray  # mean over the random directions
    random: np.ndarray  # (len, 2, n_random): every random direction's projection
    delta_norm: np.ndarray
    skipped: dict[str, int] = field(default_factory=dict)


def assistant_turn(messages: Sequence[dict[str, Any]], step: int) -> int | None:
    """The index in `messages` of the `step`-th assistant message (1-based), or None."""
    seen = 0
    for i, m in enumerate(messages):
        if m.get("role") == "assistant":
            seen += 1
            if seen == step:
                return i
    return None


def scored_step(gen: Generation) -> tuple[int, str]:
    """(step, kind) of the assistant turn that wrote a row's scored text."""
    n_assistant = sum(m.get("role") == "assistant" for m in gen.result.messages)
    if gen.scaffold != "agentic_email":
        return n_assistant, "reply" if gen.scaffold == "chat" else "email"
    emails = gen.result.extra.get("emails") or []
    text = (gen.text or "").strip()
    steps = [e["step"] for e in emails if "step" in e and (e.get("body") or "").strip() == text]
    steps = steps or [e["step"] for e in emails if "step" in e]
    return (min(steps) if steps else n_assistant), "email"


def _target(gen: Generation, step: int, kind: str, source: str, writer: str | None,
            p_true: float | None) -> Target | None:  # fmt: skip
    msgs = gen.result.messages
    at = assistant_turn(msgs, step)
    if at is None or not str(msgs[at].get("content") or "").strip():
        return None
    return Target(
        key=gen.key, model=gen.model, stage=gen.stage, scaffold=gen.scaffold,
        persona=gen.persona, item_id=str(gen.item_id), source=source, step=int(step),
        kind=kind, writer=writer, context=[dict(m) for m in msgs[:at]],
        turn=str(msgs[at]["content"]), p_true=p_true,
    )  # fmt: skip


def job_targets(job: JobFolder) -> list[Target]:
    """The turns of one job to measure: each row with text written through an adapter
    (its scored turn, with the text scorer's P(true persona) where predictions.jsonl has
    one), and each distinct (row, step, kind) of its trace.jsonl."""
    gens = {g.key: g for g in job.read_generations() if g.adapter is not None}
    preds = {p.key: p for p in job.read_predictions()}
    out = []
    for key in sorted(gens):
        gen = gens[key]
        if not gen.has_text:
            continue
        step, kind = scored_step(gen)
        p = preds.get(key)
        t = _target(gen, step, kind, ROW, gen.persona, None if p is None else p.p_true)
        if t is not None:
            out.append(t)
    seen = set()
    for p in job.read_predictions(TRACE):
        turn = p.turn or {}
        gen = gens.get(p.key)
        ident = (p.key, turn.get("step"), turn.get("kind"))
        if gen is None or turn.get("step") is None or ident in seen:
            continue
        seen.add(ident)
        writer = gen.persona if p.adapter is not None else None
        t = _target(gen, int(turn["step"]), str(turn.get("kind")), TRACED, writer, p.p_true)
        if t is not None:
            out.append(t)
    return out


def unit_directions(dirs: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(dirs, axis=1, keepdims=True)
    return dirs / np.where(norm > 0, norm, 1.0)


def random_directions(n: int, hidden: int, seed: int) -> np.ndarray:
    """`n` random unit directions in `hidden` dimensions, the same for a seed and size."""
    r = np.random.default_rng([seed, hidden]).normal(size=(n, hidden))
    return unit_directions(r)


def covariance_directions(acts: np.ndarray, n: int, seed: int) -> np.ndarray:
    """`n` random unit directions distributed as the activations `acts` (rows, hidden)
    spread: z^T (acts - mean) for standard normal z, i.e. N(0, their covariance), unit
    length. Isotropic where the rows cannot give a covariance (fewer than 2)."""
    acts = np.asarray(acts, dtype=np.float64)
    if len(acts) < 2:
        return random_directions(n, acts.shape[-1], seed)
    z = np.random.default_rng([seed, len(acts)]).normal(size=(n, len(acts)))
    return unit_directions(z @ (acts - acts.mean(0)))


def cross_personas(personas: Sequence[str], labels: Sequence[str]) -> list[str | None]:
    """For each row's persona, another persona whose adapter reads the same turn: the
    next one present, in label order (None where only one persona is present)."""
    present = [p for p in labels if p in set(personas)]
    if len(present) < 2:
        return [None] * len(personas)
    return [present[(present.index(p) + 1) % len(present)] for p in personas]


def measure(
    engine: Any,
    targets: list[Target],
    labels: Sequence[str],
    dirs: np.ndarray,
    layer: int,
    n_random: int = 32,
    seed: int = 0,
    batch_size: int = 8,
    max_tokens: int = 8192,
) -> Measured:
    """delta at `layer` for every target, projected on the persona directions `dirs`
    (labels, hidden) and on random ones. Turns over `max_tokens` tokens (context + turn)
    are skipped and counted."""
    from charprobe.scorers.activations import span_means

    tok = engine.tokenizer
    labels = list(labels)
    ids, spans, kept, skipped = [], [], [], 0
    for t in targets:
        ctx = tok(engine.render(t.context), add_special_tokens=False)["input_ids"]
        own = tok(t.turn, add_special_tokens=False)["input_ids"]
        if len(ctx) + len(own) > max_tokens or not ctx or not own:
            skipped += 1
            continue
        ids.append(ctx + own)
        spans.append([(len(ctx) - 1, len(ctx)), (len(ctx), len(ctx) + len(own))])
        kept.append(t)
    n = len(kept)
    # Each sequence three times in one pass: the persona's adapter on, off, and another
    # persona's adapter on (the cross control; the base again where there is none).
    cross = cross_personas([t.persona for t in kept], labels)
    adapters = [t.persona for t in kept] + [None] * n + cross
    h = span_means(engine, ids * 3, spans * 3, [layer], adapters, batch_size,
                   progress=n > batch_size)[:, :, 0].astype(np.float64)  # fmt: skip
    base = h[n : 2 * n]
    delta = h[:n] - base  # (n, 2, hidden)
    delta_cross = h[2 * n :] - base
    units = unit_directions(np.asarray(dirs, dtype=np.float64))
    own = np.array([labels.index(t.persona) for t in kept], dtype=int)
    s_own = np.einsum("nph,nh->np", delta, units[own]) if n else np.zeros((0, 2))
    s_cross = np.einsum("nph,nh->np", delta_cross, units[own]) if n else np.zeros((0, 2))
    s_cross[[c is None for c in cross]] = np.nan
    hidden = delta.shape[-1] if n else units.shape[1]
    shaped = covariance_directions(base.reshape(-1, hidden), n_random, seed)
    rand = delta @ shaped.T  # (n, 2, n_random)
    return Measured(
        targets=kept,
        layer=layer,
        s_own=s_own,
        s_cross=s_cross,
        s_random=rand.mean(-1) if n_random else np.full((n, 2), np.nan),
        random=rand,
        delta_norm=np.linalg.norm(delta, axis=-1),
        skipped={"too_long": skipped} if skipped else {},
    )


def records(m: Measured) -> list[dict[str, Any]]:
    """One flat record per measured turn (report/push_rows.jsonl)."""
    out = []
    for i, t in enumerate(m.targets):
        row = {
            "key": t.key, "model": t.model, "stage": t.stage, "scaffold": t.scaffold,
            "persona": t.persona, "item_id": t.item_id, "source": t.source, "step": t.step,
            "kind": t.kind, "writer": t.writer, "p_true": t.p_true, "layer": m.layer,
        }  # fmt: skip
        for j, pos in enumerate(POSITIONS):
            row[f"s_{pos}"] = float(m.s_own[i, j])
            row[f"s_cross_{pos}"] = float(m.s_cross[i, j])
            row[f"s_random_{pos}"] = float(m.s_random[i, j])
            row[f"delta_norm_{pos}"] = float(m.delta_norm[i, j])
        out.append(row)
    return out
