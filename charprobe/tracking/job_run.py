"""One finished job as one W&B run: summary values, the generations table, charts, files."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig, OmegaConf

from charprobe.records import JOB_FILES, Generation, JobFolder, Prediction, RunInfo
from charprobe.tracking import modes
from charprobe.tracking.runs import (
    RunSpec,
    artifact_name,
    log_run,
    relog_hint,
    report_failure,
)

if TYPE_CHECKING:
    import wandb

# W&B's own display limit for a logged table (wandb.Table.MAX_ROWS): a bigger table is
# cut to this many rows anyway, with only a warning. We cut it ourselves, say so in the
# run's notes and summary, and keep every row in the run's artifact.
TABLE_ROW_CAP = 10_000
ARTIFACT_TYPE = "job-outputs"
# Scalars of metrics.json that become run summary values (plus every "f1/<persona>").
METRIC_KEYS = (
    "macro_f1",
    "ci_low",
    "ci_high",
    "accuracy",
    "chance",
    "n",
    "n_dropped",
    "n_no_text",
    "n_excluded",
    "email_rate",
    "level",
)
# Config groups whose chosen option becomes a tag "<group>:<option>".
TAG_GROUPS = ("model", "stage", "scaffold", "persona", "scorer")
TAG_MAX = 64  # W&B's tag length limit
# A generation with its prediction (None: not scored).
Joined = tuple[Generation, Prediction | None]


@dataclass
class JobView:
    """What a finished job folder holds; anything missing is empty (scorer none, ...)."""

    folder: JobFolder
    run: RunInfo
    metrics: dict[str, Any]
    rows: list[Joined]

    @classmethod
    def read(cls, path: Path) -> JobView:
        folder = JobFolder(path)
        run = folder.read_run() or RunInfo.from_json({})
        return cls(folder, run, folder.read_metrics(), folder.joined())


def log_job(cfg: DictConfig, job_dir: Path, sweep_id: str) -> str | None:
    """Log one finished job as one W&B run and finish it; return the run's local folder.

    None when the logger is ``none``/``disabled``, or when logging failed (one line on
    stderr says why and how to retry). Never raises, never writes into the job's files;
    the run's folder is ``<job_dir>/wandb/``.
    """
    job_dir = Path(job_dir)
    logger = cfg.get("logger")
    if logger is None or logger.get("name", "none") != "wandb":
        return None
    name = job_dir.name  # for the failure line until the real name is known
    relog = relog_hint(job_dir, logger.get("mode"))
    try:
        job = JobView.read(job_dir)
        name = _run_name(cfg, job.run)
        mode = modes.resolve_mode(logger.get("mode", "auto"))
        if mode is None:
            return None
        spec = _job_spec(cfg, job, sweep_id, mode, logger)
    except Exception as err:  # noqa: BLE001 - never fail the job over W&B
        report_failure(name, err, relog)
        return None
    return log_run(spec, lambda run: _log_job_contents(run, spec, job), relog)


def _run_name(cfg: DictConfig, run: RunInfo) -> str:
    parts = [
        (v if (v := getattr(run, k)) != "?" else None) or OmegaConf.select(cfg, f"{k}.name") or "?"
        for k in ("model", "stage", "scaffold")
    ]
    return "-".join(str(p) for p in parts)


def _job_spec(
    cfg: DictConfig, job: JobView, sweep_id: str, mode: str, logger: DictConfig
) -> RunSpec:
    notes = None
    n_rows = len(job.rows)
    if n_rows > TABLE_ROW_CAP:
        notes = (
            f"generations table: first {TABLE_ROW_CAP:,} of {n_rows:,} rows; every "
            f"row is in the '{ARTIFACT_TYPE}' artifact"
        )
    return RunSpec(
        name=_run_name(cfg, job.run),
        group=sweep_id,
        job_type=str(
            job.run.scaffold if job.run.scaffold != "?" else OmegaConf.select(cfg, "scaffold.name")
        ),
        dir=job.folder.path,
        tags=_tags(cfg, logger),
        config=_run_config(cfg, job.run, sweep_id),
        project=logger.get("project") or "charprobe",
        entity=logger.get("entity"),
        mode=mode,
        auto=str(logger.get("mode", "auto")).lower() == "auto",
        notes=notes,
    )


def _tags(cfg: DictConfig, logger: DictConfig) -> list[str]:
    """``<group>:<option>`` for each config group, then cfg.tags and logger.tags."""
    tags = [
        f"{g}:{OmegaConf.select(cfg, f'{g}.name')}"
        for g in TAG_GROUPS
        if OmegaConf.select(cfg, f"{g}.name") is not None
    ]
    tags += [str(t) for t in (cfg.get("tags") or [])]
    tags += [str(t) for t in (logger.get("tags") or [])]
    return list(dict.fromkeys(t[:TAG_MAX] for t in tags if t))


def _run_config(cfg: DictConfig, info: RunInfo, sweep_id: str) -> dict[str, Any]:
    """The resolved config the job ran with (run.json), plus what produced it."""
    run = info.to_json()
    config = run.get("config")
    if not isinstance(config, dict) or not config:
        try:
            config = OmegaConf.to_container(cfg, resolve=True)
        except Exception:  # noqa: BLE001 - an unresolvable interpolation: log it as written
            config = OmegaConf.to_container(cfg, resolve=False)
    extra = {
        k: run.get(k)
        for k in ("versions", "git_commit", "cell_key", "personas", "persona_set")
        if k in run
    }
    return {**config, **extra, "sweep_id": sweep_id}


def _log_job_contents(run: Any, spec: RunSpec, job: JobView) -> None:
    """Summary values, the generations table, charts, and the job's files as an artifact."""
    wandb = modes.wandb_module()
    rows = job.rows
    run.summary.update(job_summary(job))
    logged: dict[str, Any] = {}
    if rows:
        logged["generations"] = generations_table(rows[:TABLE_ROW_CAP])
    chart = confusion_chart(job.metrics)
    if chart is not None:
        logged["confusion_matrix"] = chart
    if job.folder.confusion_png.is_file():
        logged["confusion_matrix_png"] = wandb.Image(str(job.folder.confusion_png))
    bar = f1_bar(job.metrics)
    if bar is not None:
        logged["f1_by_persona"] = bar
    if logged:
        run.log(logged)
    art = _job_artifact(spec, job)
    if art is not None:
        run.log_artifact(art)


def job_summary(job: JobView) -> dict[str, Any]:
    """Run summary values: metrics.json scalars, per-persona F1, throughput, timings."""
    m, n_rows = job.metrics, len(job.rows)
    out: dict[str, Any] = {k: m[k] for k in METRIC_KEYS if _number(m.get(k))}
    out.update({k: v for k, v in m.items() if k.startswith("f1/") and _number(v)})
    out.update({f"no_text/{k}": v for k, v in (m.get("no_text_reasons") or {}).items()})
    for section in ("throughput", "timings", "counts"):
        values = getattr(job.run, section) or {}
        out.update({f"{section}/{k}": v for k, v in values.items() if _number(v)})
    out["generations/rows"] = n_rows
    out["generations/logged"] = min(n_rows, TABLE_ROW_CAP)
    if job.run.status != "?":
        out["job_status"] = job.run.status
    return out


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)


# --------------------------------------------------------------------------- W&B objects


def _cast(kind: type, v: Any) -> Any:
    try:
        return None if v is None else kind(v)
    except (TypeError, ValueError):
        return None


def _table_row(g: Generation, p: Prediction | None) -> list[Any]:
    r = g.result
    pred = p.pred if p else None
    return [
        _cast(str, g.persona),
        _cast(str, g.item_id),
        _cast(int, g.sample),
        _cast(str, pred),
        None if pred is None else pred == g.persona,
        _cast(float, p.p_true if p else None),
        _cast(str, r.status),
        _cast(str, r.termination),
        _cast(int, r.steps),
        _cast(int, r.n_tool_calls),
        _cast(int, r.completion_tokens),
        _cast(str, r.finish_reason),
        _cast(str, r.text),
    ]


# One row per generation, read from the typed records; each value is cast to its
# column's one type, since wandb.Table rejects a row whose types differ from earlier rows.
TABLE_COLUMNS = (
    "persona",
    "item_id",
    "sample",
    "pred",
    "correct",
    "p_true",
    "status",
    "termination",
    "steps",
    "n_tool_calls",
    "completion_tokens",
    "finish_reason",
    "text",
)


def generations_table(rows: Iterable[Joined]) -> wandb.Table:
    """One row per generation: who, what was scored (chat reply or email body), verdict."""
    return modes.wandb_module().Table(
        columns=list(TABLE_COLUMNS), data=[_table_row(g, p) for g, p in rows]
    )


def confusion_chart(metrics: Mapping[str, Any]) -> Any | None:
    """W&B's native confusion matrix, rebuilt from metrics.json's counts (the scored rows).

    Classes are the predicted-label columns: the evaluated personas, then any label
    outside the list (an error by definition), so those errors stay visible.
    """
    conf = metrics.get("confusion") or {}
    true, pred, counts = conf.get("true"), conf.get("pred"), conf.get("counts")
    if not (true and pred and counts) or not any(map(any, counts)):
        return None
    classes = list(pred) + [t for t in true if t not in pred]
    index = {c: i for i, c in enumerate(classes)}
    y_true, y_pred = [], []
    for t, row in zip(true, counts, strict=True):
        for p, c in zip(pred, row, strict=True):
            y_true += [index[t]] * int(c)
            y_pred += [index[p]] * int(c)
    return modes.wandb_module().plot.confusion_matrix(
        y_true=y_true,
        preds=y_pred,
        class_names=classes,
        title="Confusion matrix (true x predicted)",
    )


def f1_bar(metrics: Mapping[str, Any]) -> Any | None:
    """Per-persona one-vs-rest F1 as a W&B bar chart (skipped personas left out)."""
    data = [
        [k.removeprefix("f1/"), float(v)]
        for k, v in metrics.items()
        if k.startswith("f1/") and _number(v)
    ]
    if not data:
        return None
    wandb = modes.wandb_module()
    table = wandb.Table(columns=["persona", "f1"], data=data)
    return wandb.plot.bar(table, "persona", "f1", title="F1 by persona")


def _job_artifact(spec: RunSpec, job: JobView) -> Any | None:
    """The job's files, so every generation is kept even when the table is capped.

    ``policy="immutable"`` references the job's files instead of copying them to a
    staging folder: they are final when a job is logged, and they can be large.
    """
    present = [job.folder.path / f for f in JOB_FILES if (job.folder.path / f).is_file()]
    if not present:
        return None
    metadata = {
        "sweep_id": spec.group,
        "job_dir": str(job.folder.path.resolve()),
        **{k: job.metrics[k] for k in ("macro_f1", "n") if k in job.metrics},
    }
    art = modes.wandb_module().Artifact(
        artifact_name(f"job-{spec.name}"), type=ARTIFACT_TYPE, metadata=metadata
    )
    for path in present:
        # Absolute: an offline run is synced later, maybe from another working directory.
        art.add_file(str(path.resolve()), name=path.name, policy="immutable")
    return art
