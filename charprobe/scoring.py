"""Scoring a job: its generations -> predictions.jsonl -> metrics.json, confusion.csv/.png.

The scorer is chosen by the `scorer` config group. A classifier whose `path` is a local
folder that does not exist yet is trained there first (`train_if_missing`): chat replies
of the `train_stages` (every label's adapter) on the `train_prompts` set are generated
with the job runner itself (so they resume like any job), then `charprobe.scorers.train`
fits the classifier with a held-out split by item. That is how the toy bases get their
classifiers on first use; real bases use the published ones from the hub.

Re-scoring a finished sweep with another scorer is `python -m charprobe.rescore`.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from charprobe import identity
from charprobe.config import CONF_DIR, PersonaSetConfig, ScaffoldConfig, StageConfig
from charprobe.engine.hub import is_local
from charprobe.errors import UserError
from charprobe.report import write_job_outputs
from charprobe.scorers import Scorer, load_scorer
from charprobe.stats import CellMetrics
from charprobe.store import file_lock, read_json, read_rows, write_json, write_rows

log = logging.getLogger(__name__)

# One scorer per process, reused by the later jobs of a multirun (like the engine's base).
_CACHE: dict[tuple, Scorer] = {}


def build_scorer(cfg: DictConfig) -> Scorer | None:
    """The scorer of `cfg.scorer` (None for `none`), trained first where that is asked for."""
    sc = cfg.scorer
    if sc.name == "none":
        return None
    path = sc.path
    if not path:
        raise UserError(f"scorer={sc.name} needs scorer.path (a hub id or a local folder)")
    key = (sc.name, str(path), tuple(sc.labels), sc.max_length, sc.batch_size, sc.device)
    if key in _CACHE:
        return _CACHE[key]
    # One line before any weights load or training starts: a missing classifier, another
    # label order, an unreachable hub (rescore comes here without the job's input check).
    from charprobe.checks import check_scorer

    check_scorer(cfg)
    if sc.train_if_missing and is_local(path) and not Path(path).expanduser().exists():
        train_missing(cfg, Path(path).expanduser())
    kw: dict[str, Any] = {}
    if sc.name == "modernbert":
        kw = {"max_length": sc.max_length, "batch_size": sc.batch_size, "device": sc.device}
    scorer = load_scorer(sc.name, str(path), labels=list(sc.labels), **kw)
    _CACHE.clear()
    _CACHE[key] = scorer
    return scorer


def score_job(cfg: DictConfig, job_dir: Path, scorer: Scorer) -> CellMetrics:
    """Score every row of `job_dir/generations.jsonl`; write predictions and metrics.

    Rows without text (an agentic rollout that sent no email) keep a prediction row with
    `pred: null`, so the statistics can drop them or count them wrong (`stats.no_email`)
    and report why they had none. Records the scorer and its numbers in run.json too.
    """
    # Key order: the same predictions file whatever order the rows were generated in.
    rows = sorted(read_rows(job_dir / "generations.jsonl"), key=lambda r: r["key"])
    labels = list(scorer.labels)
    scored = [r for r in rows if isinstance(r.get("text"), str) and r["text"].strip()]
    t0 = time.perf_counter()
    proba = scorer.predict_proba([r["text"] for r in scored]) if scored else []
    seconds = time.perf_counter() - t0
    by_key = {r["key"]: p for r, p in zip(scored, proba, strict=True)}
    preds = []
    for r in rows:
        p = by_key.get(r["key"])
        probs = None
        if p is not None:
            probs = {lab: round(float(x), 6) for lab, x in zip(labels, p, strict=True)}
        preds.append({
            **{k: r.get(k) for k in PRED_KEYS if k in r},
            "pred": None if p is None else labels[int(p.argmax())],
            "p_true": None if probs is None else probs.get(r["persona"]),
            "probs": probs,
        })
    write_rows(job_dir / "predictions.jsonl", preds)
    st = cfg.stats
    texts_per_s = len(scored) / seconds if seconds > 0 else None
    # metrics.json holds what decides the numbers (the scorer's identity, not its folder,
    # nor timings), so the same cell scored anywhere gives the same file.
    scorer_info = {"name": cfg.scorer.name, "id": identity.model_identity(str(cfg.scorer.path)),
                   "labels": labels}
    m = write_job_outputs(
        job_dir, preds, list(cfg.persona.personas), no_email=st.no_email, n_boot=st.n_boot,
        seed=st.seed, level=st.level, extra={"scorer": scorer_info, "texts_scored": len(scored)},
    )
    # run.json says which scorer the job's files hold, where it was, and how fast it ran.
    run = read_json(job_dir / "run.json")
    run["scorer"] = {**scorer_info, "path": str(cfg.scorer.path)}
    run.setdefault("timings", {})["score_s"] = seconds
    run.setdefault("throughput", {})["texts_per_s_scored"] = texts_per_s
    headline = m.to_dict(confusion=False)  # NaN (nothing to score) becomes null
    run["metrics"] = {k: headline[k] for k in ("macro_f1", "ci_low", "ci_high", "n",
                                               "n_dropped", "email_rate")}
    write_json(job_dir / "run.json", run)
    log.info("scored %d texts with %s (%.1f texts/s): macro-F1 %.3f [%.3f, %.3f], n=%d, "
             "dropped %d", len(scored), cfg.scorer.name, texts_per_s or 0, m.macro_f1,
             m.ci_low, m.ci_high, m.n, m.n_dropped)
    return m


# What a prediction row keeps of its generation row: enough to read it on its own.
PRED_KEYS = ("key", "model", "stage", "scaffold", "persona", "adapter", "item_id", "sample",
             "scenario_id", "status", "termination", "text")


# --------------------------------------------------------------------------- training


def train_missing(cfg: DictConfig, out: Path) -> dict[str, Any]:
    """Generate training replies for this base and train the scorer into `out`."""
    from charprobe.job import Cell, generate  # the job runner imports this module
    from charprobe.scorers.train import load_generations, train_classifier

    sc = cfg.scorer
    with file_lock(out.parent / f".{out.name}.lock"):
        if out.exists():  # another process trained it while we waited
            return read_json(out / "training_report.json")
        log.info("%s classifier %s is missing: training it from %s replies of stages %s",
                 sc.name, out, sc.train_prompts, ", ".join(sc.train_stages))
        files = []
        for stage in sc.train_stages:
            sub = training_config(cfg, stage)
            key = Cell.from_config(sub).key()[:10]  # other generation settings, other folder
            data_dir = out.parent / "data" / cfg.model.name / f"{stage}-{key}"
            generate(sub, data_dir)
            files.append(data_dir / "generations.jsonl")
        df = load_generations(files, stages=list(sc.train_stages), scaffold="chat")
        if df.empty:
            raise UserError(f"no training replies with text in {', '.join(map(str, files))}")
        tiny = cfg.model.classifier_base == "tiny"
        tmp = out.with_name(f".{out.name}.training-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            report = train_classifier(
                df["text"].tolist(), df["persona"].tolist(), df["item_id"].astype(str).tolist(),
                tmp, kind=sc.name, tiny=tiny, label_order=list(sc.labels),
                base_model=None if tiny else cfg.model.classifier_base,
                data={"files": [str(f) for f in files], "stages": list(sc.train_stages),
                      "prompts": sc.train_prompts, "n_rows": len(df)},
                **OmegaConf.to_container(sc.train),
            )
            tmp.rename(out)  # only a complete classifier ever appears at `out`
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    log.info("trained %s classifier -> %s: held-out macro-F1 %.3f on %d texts (%d items)",
             sc.name, out, report.get("heldout_macro_f1") or float("nan"), report["n_heldout"],
             report["n_items_heldout"])
    return report


def training_config(cfg: DictConfig, stage: str) -> DictConfig:
    """The job config that generates one stage's classifier-training replies."""
    path = CONF_DIR / "stage" / f"{stage}.yaml"
    if not path.is_file():
        raise UserError(f"scorer.train_stages: unknown stage '{stage}' (no {path})")
    sub = copy.deepcopy(cfg)
    # Replace (not merge) the stage node: another stage's persona_repos must not linger.
    sub.stage = OmegaConf.merge(OmegaConf.structured(StageConfig), OmegaConf.load(path))
    sub.scaffold = OmegaConf.structured(ScaffoldConfig(
        name="chat", prompts=cfg.scorer.train_prompts, items=cfg.scorer.train_items))
    sub.persona = OmegaConf.structured(
        PersonaSetConfig(name="classifier-labels", personas=list(cfg.scorer.labels)))
    sub.resume = False  # its own folder is the only place its rows live
    return sub
