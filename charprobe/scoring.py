"""Scoring a job: its generations -> predictions.jsonl -> metrics.json, confusion.csv/.png.

The scorer is chosen by the `scorer` config group and built from its `_target_`
(`charprobe.scorers.make_scorer`). A local classifier that does not exist yet is trained
before this, as its own step (`charprobe.train_scorer`), never while building a scorer.

Re-scoring a finished sweep with another scorer is `python -m charprobe.rescore`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict

import numpy as np
from omegaconf import DictConfig

from charprobe import identity
from charprobe.records import TRACE, Generation, JobFolder, Prediction
from charprobe.report import write_job_outputs
from charprobe.scaffolds.trace import email_step, turns_of
from charprobe.scorers import Scorer, make_scorer
from charprobe.stats import CellMetrics, Settings

log = logging.getLogger(__name__)

# The status of a row with text that the scorer gave no verdict on (counted, never guessed).
NO_PREDICTION = "no_prediction"


def build_scorer(cfg: DictConfig, cache: dict | None = None) -> Scorer | None:
    """The scorer of `cfg.scorer` (None for `none`); `cache` keeps the last one built."""
    sc = cfg.scorer
    if sc._target_ is None:
        return None
    key = repr(sorted((k, str(v)) for k, v in sc.items()))
    if cache is not None and key in cache:
        return cache[key]
    # One line before any weights load: no path, a missing classifier, another label order,
    # an unreachable hub (rescore comes here without the job's input check).
    from charprobe.checks import check_scorer

    check_scorer(cfg)
    scorer = make_scorer(sc)
    if cache is not None:
        cache.clear()
        cache[key] = scorer
    return scorer


def score_texts(
    scorer: Scorer, texts: list[str]
) -> list[tuple[str, dict[str, float], dict | None]]:
    """(label, probabilities, detail) of each text, label and probabilities None where
    the scorer gave none. Each distinct text is scored once (the base stage writes one text
    for every persona), and the scorer sees the texts alone, never who wrote them: the
    same text gets the same verdict in every row."""
    labels = list(scorer.labels)
    unique = list(dict.fromkeys(texts))
    if not unique:
        return []
    scores = scorer.score(unique)
    details = scores.detail or [None] * len(unique)
    out = {}
    for u, p, d in zip(unique, scores.proba, details, strict=True):
        if np.isnan(p).any():  # the scorer gave no verdict (a judge's unreadable answer)
            out[u] = (None, None, d)
            continue
        probs = {lab: round(float(x), 6) for lab, x in zip(labels, p, strict=True)}
        out[u] = (labels[int(p.argmax())], probs, d)
    return [out[u] for u in texts]


def _predict(gen: Generation, verdict: tuple | None, **turn) -> Prediction:
    if verdict is None:
        return Prediction.of(gen)
    pred = Prediction.of(gen, verdict[0], verdict[1])
    pred.detail = verdict[2]
    if verdict[0] is None:
        pred.status = NO_PREDICTION
    if turn:
        pred.text = turn.pop("text")
        pred.adapter = gen.adapter if turn.pop("writer") else None
        pred.turn = turn
    return pred


def trace_job(job: JobFolder, rows: list[Generation], scorer: Scorer) -> int:
    """Score every traced turn of every row (`scaffold.trace`); write trace.jsonl."""
    turns = [(g, t) for g in rows for t in turns_of(g)]
    verdicts = score_texts(scorer, [t.text for _, t in turns])
    preds = [
        _predict(g, v, **asdict(t), email_step=email_step(g))
        for (g, t), v in zip(turns, verdicts, strict=True)
    ]
    job.write_predictions(preds, TRACE)
    return len(preds)


def score_job(cfg: DictConfig, job: JobFolder, scorer: Scorer) -> CellMetrics:
    """Score every row of the job's generations; write predictions and metrics.

    Rows without text (an agentic rollout that sent no email) keep a prediction row with
    `pred: null`, so the statistics can drop them or count them wrong (`stats.no_email`)
    and report why they had none. With `scaffold.trace`, every turn of every row is
    scored too (trace.jsonl). Records the scorer and its numbers in run.json too.
    """
    # Key order: the same predictions file whatever order the rows were generated in.
    rows = sorted(job.read_generations(), key=lambda g: g.key)
    labels = list(scorer.labels)
    scored = [g for g in rows if g.has_text]
    t0 = time.perf_counter()
    verdicts = score_texts(scorer, [g.text for g in scored])
    seconds = time.perf_counter() - t0
    traced = {"turns_traced": trace_job(job, rows, scorer)} if cfg.scaffold.get("trace") else {}
    by_key = {g.key: v for g, v in zip(scored, verdicts, strict=True)}
    preds = [_predict(g, by_key.get(g.key)) for g in rows]
    job.write_predictions(preds)
    texts_per_s = len(scored) / seconds if seconds > 0 else None
    # metrics.json holds what decides the numbers (the scorer's identity, not its folder,
    # nor timings), so the same cell scored anywhere gives the same file.
    scorer_info = {
        "name": cfg.scorer.name,
        "id": identity.model_identity(str(cfg.scorer.path)),
        "labels": labels,
    }
    m = write_job_outputs(
        job.path,
        [p.to_json() for p in preds],
        list(cfg.persona.personas),
        Settings.of(cfg.stats),
        extra={"scorer": scorer_info, "texts_scored": len(scored), **traced},
    )
    # run.json says which scorer the job's files hold, where it was, and how fast it ran.
    run = job.read_run()
    run.scorer = {**scorer_info, "path": str(cfg.scorer.path)}
    run.timings["score_s"] = seconds
    run.throughput = {**(run.throughput or {}), "texts_per_s_scored": texts_per_s}
    headline = m.to_dict(confusion=False)  # NaN (nothing to score) becomes null
    run.metrics = {
        k: headline[k]
        for k in (
            "macro_f1",
            "ci_low",
            "ci_high",
            "macro_f1_strict",
            "n",
            "n_items",
            "n_dropped",
            "email_rate",
            "thin",
        )  # fmt: skip
    }
    job.write_run(run)
    log.info(
        "scored %d texts with %s (%.1f texts/s): macro-F1 %.3f [%.3f, %.3f], n=%d, dropped %d",
        len(scored),
        cfg.scorer.name,
        texts_per_s or 0,
        m.macro_f1,
        m.ci_low,
        m.ci_high,
        m.n,
        m.n_dropped,
    )
    return m
