"""Weights & Biases: one run per finished job, grouped by sweep, and one summary run per sweep.

Files come first. A job's folder (generations.jsonl, predictions.jsonl, metrics.json,
confusion.*, run.json) is the record; W&B is a view of it, logged *after* the job from
those files. So logging never changes a job's files, and any W&B problem (no network, bad
credentials, full disk, a bug here) costs one line on stderr, never the job:

    charprobe: W&B logging failed for <run name>: <reason>; local files are complete;
    retry with: <command>

<command> runs as printed (shell-quoted): ``python -m charprobe.tracking <job> [--mode
<mode>]`` logs a new run from the files (``--mode`` only when the mode was explicit); when
only the final upload of an online run timed out, it is ``wandb sync --include-online
<run folder>`` (the run's local log is complete).

The runner calls, after `run_job`:

    log_job(cfg, job_dir, sweep_id_of(HydraConfig.get()))

and `conf/config.yaml` registers `SweepSummary` as a Hydra callback for the sweep-level run.
`python -m charprobe.tracking PATH` (re)logs a finished job or a whole sweep folder later,
e.g. after a failure, or for jobs that ran with `logger=none`; it prints progress on
stdout and only the failure lines on stderr, and exits 1 when a run failed.

Modes (`logger.mode`): ``auto`` is online when credentials exist (WANDB_API_KEY,
WANDB_IDENTITY_TOKEN_FILE or a netrc entry from `wandb login`) and offline otherwise;
WANDB_MODE, when set, overrides ``auto``. Nothing ever prompts: ``online`` without
credentials fails with the one line. Offline runs touch no network; upload them with
``wandb sync <job folder>/wandb``.

Online failures by mode. ``online``: any failure (server unreachable or not answering, key
rejected or malformed) is the failure line above, for each run. ``auto``: when `wandb.init`
fails online with a W&B error (the same causes), nothing is lost, so there is no failure
line: that run and every later one of the process log offline instead, and one line, once
per process, says so and how to upload them:

    charprobe: W&B online logging unavailable (<reason>); logging offline for the rest of
    this process; upload later with: wandb sync <sweep folder>/*/wandb

Time bounds (online only; offline neither connects nor uploads): `wandb.init` gives up
after INIT_TIMEOUT_S, W&B's own retries included (a closed port and a server that accepts
but never answers both end at that deadline, about 30 s; a rejected key ends at once),
and `run.finish` stops waiting for the upload after FINISH_TIMEOUT_S and raises. So one
run costs at most INIT_TIMEOUT_S + FINISH_TIMEOUT_S of W&B time (a run that fails midway
is finished as failed, under the same finish bound), and in ``auto`` only the first run
of a process pays the init timeout.

Each run is created with ``reinit="create_new"`` and finished before `log_job` returns
(also on failure), so many jobs in one process make many runs and never reuse one.
W&B's own console output is silenced (WANDB_SILENT; set WANDB_SILENT=false to see it);
charprobe logs the run's URL or its offline folder instead.
"""

from __future__ import annotations

import argparse
import logging
import math
import netrc
import os
import re
import shlex
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from charprobe.store import read_json, read_rows

if TYPE_CHECKING:  # wandb is imported only when a run is logged (import takes ~1 s)
    import wandb

log = logging.getLogger(__name__)

# W&B's own display limit for a logged table (wandb.Table.MAX_ROWS): a bigger table is
# cut to this many rows anyway, with only a warning. We cut it ourselves, say so in the
# run's notes and summary, and keep every row in the run's artifact.
TABLE_ROW_CAP = 10_000
# Seconds to wait for W&B to start a run / to finish uploading one before giving up.
# Online only (offline neither connects nor uploads). The init deadline also ends W&B's
# own retries of an unreachable server (wandb's default is 90 s). WANDB_INIT_TIMEOUT and
# WANDB_FINISH_TIMEOUT override them.
INIT_TIMEOUT_S = 30.0
FINISH_TIMEOUT_S = 300.0
ARTIFACT_TYPE = "job-outputs"
# The job's files the artifact carries (the full record behind the capped table).
JOB_FILES = ("generations.jsonl", "predictions.jsonl", "metrics.json", "confusion.csv", "run.json")
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
# Hosts whose netrc entry counts as W&B credentials when WANDB_BASE_URL is not set: the
# SDK's default API host and the classic one (`wandb login` writes either).
DEFAULT_HOSTS = ("api.wandb.ai", "api.forge.coreweave.com")
TAG_MAX = 64  # W&B's tag length limit

# Set once `auto` mode found W&B unreachable: later runs of this process go offline.
_offline_reason: str | None = None


class TrackingError(Exception):
    """A problem this module detects itself (no credentials, bad mode)."""


# --------------------------------------------------------------------------- modes


def has_credentials() -> bool:
    """Whether W&B credentials are configured, without asking the network or the user."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    base = os.environ.get("WANDB_BASE_URL")
    hosts = [urlsplit(base).netloc] if base else list(DEFAULT_HOSTS)
    path = Path(os.environ.get("NETRC") or "~/.netrc").expanduser()
    try:
        entries = netrc.netrc(path)
    except (OSError, netrc.NetrcParseError):
        return False
    return any(entry and entry[2] for entry in map(entries.authenticators, hosts))


def resolve_mode(mode: str) -> str | None:
    """``online`` / ``offline`` for a run, or None when nothing is to be logged."""
    mode = (mode or "auto").lower()
    if mode == "auto":
        env = os.environ.get("WANDB_MODE", "").lower()
        if env in ("disabled", "offline", "online"):
            mode = env
        elif env == "dryrun":
            mode = "offline"
        elif _offline_reason is not None or not has_credentials():
            return "offline"
        else:
            return "online"
    if mode == "disabled":
        return None
    if mode not in ("online", "offline"):
        raise TrackingError(f"logger.mode must be auto, online, offline or disabled, not {mode!r}")
    return mode


def _wandb() -> Any:
    """Import wandb quietly: its banners would bury the job's own log lines."""
    os.environ.setdefault("WANDB_SILENT", "true")
    import wandb

    return wandb


def _settings(mode: str) -> wandb.Settings:
    wandb = _wandb()
    if mode == "offline":
        # Offline must not reach anything: also no crash reports from W&B's service.
        os.environ.setdefault("WANDB_ERROR_REPORTING", "false")
    extra: dict[str, Any] = {}
    if "WANDB_INIT_TIMEOUT" not in os.environ:
        extra["init_timeout"] = INIT_TIMEOUT_S
    if "WANDB_FINISH_TIMEOUT" not in os.environ:
        extra["finish_timeout"] = FINISH_TIMEOUT_S
    return wandb.Settings(
        mode=mode,
        reinit="create_new",  # one run per job, even when many jobs share a process
        console="off",  # logged after the job: there is no console output to capture
        silent=True,
        x_disable_stats=True,  # no system-metrics sampler: the work is already done
        finish_timeout_raises=True,  # an unfinished upload is a failure we report
        **extra,
    )


# --------------------------------------------------------------------------- sweep ids


def sweep_id_of(where: str | Path | DictConfig | Any) -> str:
    """The W&B group of a job: its sweep folder's name (multirun) or its run folder's name.

    `where` is a job folder, or Hydra's config (``HydraConfig.get()`` or a full config
    with a ``hydra`` node). The default folders are ``<date>/<time>``; the date is kept
    (``2026-11-22_08-31-39-123456``) so a group names its day.
    """
    if isinstance(where, (str, Path)):
        return _folder_id(_sweep_folder(Path(where)))
    hydra = where.hydra if "hydra" in where else where
    if str(OmegaConf.select(hydra, "mode")) == "RunMode.MULTIRUN":
        return _folder_id(Path(hydra.sweep.dir))
    out = OmegaConf.select(hydra, "runtime.output_dir") or hydra.run.dir
    return _folder_id(Path(out))


def _sweep_folder(job_dir: Path) -> Path:
    """Hydra writes multirun.yaml into a sweep folder: the job's parent, or PATH itself."""
    if (job_dir / "multirun.yaml").is_file():
        return job_dir
    if (job_dir.parent / "multirun.yaml").is_file():
        return job_dir.parent
    return job_dir


def _folder_id(folder: Path) -> str:
    folder = folder.resolve()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", folder.parent.name):
        return f"{folder.parent.name}_{folder.name}"
    return folder.name


# --------------------------------------------------------------------------- job files


@dataclass
class JobFiles:
    """What a finished job folder holds; anything missing is empty (scorer none, ...)."""

    dir: Path
    run: dict[str, Any]
    metrics: dict[str, Any]
    generations: list[dict[str, Any]]
    predictions: list[dict[str, Any]]

    @classmethod
    def read(cls, job_dir: Path) -> JobFiles:
        return cls(
            dir=job_dir,
            run=read_json(job_dir / "run.json"),
            metrics=read_json(job_dir / "metrics.json"),
            generations=read_rows(job_dir / "generations.jsonl"),  # read-only: no repair
            predictions=read_rows(job_dir / "predictions.jsonl"),
        )

    def rows(self) -> list[dict[str, Any]]:
        """One row per generation, with its prediction (joined on ``key``) when scored."""
        if not self.generations:
            return [dict(p) for p in self.predictions]
        preds = {p.get("key"): p for p in self.predictions}
        out = []
        for g in self.generations:
            p = preds.get(g.get("key"), {})
            out.append({**g, "pred": p.get("pred"), "p_true": p.get("p_true")})
        return out


@dataclass
class RunSpec:
    """Everything `wandb.init` gets, decided before any W&B call."""

    name: str
    group: str
    job_type: str
    dir: Path
    tags: list[str]
    config: dict[str, Any]
    project: str
    entity: str | None
    mode: str
    auto: bool
    notes: str | None = None


# --------------------------------------------------------------------------- one job


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
    relog = _relog_hint(job_dir, logger.get("mode"))
    try:
        name = _run_name(cfg, read_json(job_dir / "run.json"))
        mode = resolve_mode(logger.get("mode", "auto"))
        if mode is None:
            return None
        files = JobFiles.read(job_dir)
        rows = files.rows()
        spec = _job_spec(cfg, files, len(rows), sweep_id, mode, logger)
    except Exception as err:  # noqa: BLE001 - never fail the job over W&B
        _report_failure(name, err, relog)
        return None
    return _log_run(spec, lambda run: _log_job_contents(run, spec, files, rows), relog)


def _run_name(cfg: DictConfig, run: Mapping[str, Any]) -> str:
    parts = [
        run.get(k) or OmegaConf.select(cfg, f"{k}.name") or "?"
        for k in ("model", "stage", "scaffold")
    ]
    return "-".join(str(p) for p in parts)


def _job_spec(
    cfg: DictConfig, files: JobFiles, n_rows: int, sweep_id: str, mode: str, logger: DictConfig
) -> RunSpec:
    notes = None
    if n_rows > TABLE_ROW_CAP:
        notes = (
            f"generations table: first {TABLE_ROW_CAP:,} of {n_rows:,} rows; every "
            f"row is in the '{ARTIFACT_TYPE}' artifact"
        )
    return RunSpec(
        name=_run_name(cfg, files.run),
        group=sweep_id,
        job_type=str(files.run.get("scaffold") or OmegaConf.select(cfg, "scaffold.name")),
        dir=files.dir,
        tags=_tags(cfg, logger),
        config=_run_config(cfg, files.run, sweep_id),
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


def _run_config(cfg: DictConfig, run: Mapping[str, Any], sweep_id: str) -> dict[str, Any]:
    """The resolved config the job ran with (run.json), plus what produced it."""
    config = run.get("config")
    if not isinstance(config, dict):
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


def _log_job_contents(run: Any, spec: RunSpec, files: JobFiles, rows: list[dict[str, Any]]) -> None:
    """Summary values, the generations table, charts, and the job's files as an artifact."""
    wandb = _wandb()
    job_dir = files.dir
    run.summary.update(job_summary(files, len(rows)))
    logged: dict[str, Any] = {}
    if rows:
        logged["generations"] = generations_table(rows[:TABLE_ROW_CAP])
    chart = confusion_chart(files.metrics)
    if chart is not None:
        logged["confusion_matrix"] = chart
    if (job_dir / "confusion.png").is_file():
        logged["confusion_matrix_png"] = wandb.Image(str(job_dir / "confusion.png"))
    bar = f1_bar(files.metrics)
    if bar is not None:
        logged["f1_by_persona"] = bar
    if logged:
        run.log(logged)
    art = _job_artifact(spec, files)
    if art is not None:
        run.log_artifact(art)


def job_summary(files: JobFiles, n_rows: int) -> dict[str, Any]:
    """Run summary values: metrics.json scalars, per-persona F1, throughput, timings."""
    m = files.metrics
    out: dict[str, Any] = {k: m[k] for k in METRIC_KEYS if _number(m.get(k))}
    out.update({k: v for k, v in m.items() if k.startswith("f1/") and _number(v)})
    out.update({f"no_text/{k}": v for k, v in (m.get("no_text_reasons") or {}).items()})
    for section in ("throughput", "timings", "counts"):
        values = files.run.get(section) or {}
        out.update({f"{section}/{k}": v for k, v in values.items() if _number(v)})
    out["generations/rows"] = n_rows
    out["generations/logged"] = min(n_rows, TABLE_ROW_CAP)
    if files.run.get("status"):
        out["job_status"] = files.run["status"]
    return out


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)


# --------------------------------------------------------------------------- W&B objects


def _as_str(v: Any) -> str | None:
    return None if v is None else str(v)


def _as_int(v: Any) -> int | None:
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None


def _as_float(v: Any) -> float | None:
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


# Column, how to read it from a joined row, how to cast it. Casting keeps each column one
# type: wandb.Table rejects a row whose type differs from the rows before it.
TABLE_COLUMNS: tuple[tuple[str, Callable[[Mapping[str, Any]], Any]], ...] = (
    ("persona", lambda r: _as_str(r.get("persona"))),
    ("item_id", lambda r: _as_str(r.get("item_id"))),
    ("sample", lambda r: _as_int(r.get("sample"))),
    ("pred", lambda r: _as_str(r.get("pred"))),
    ("correct", lambda r: None if r.get("pred") is None else r.get("pred") == r.get("persona")),
    ("p_true", lambda r: _as_float(r.get("p_true"))),
    ("status", lambda r: _as_str(r.get("status"))),
    ("termination", lambda r: _as_str(r.get("termination"))),
    ("steps", lambda r: _as_int(r.get("steps"))),
    ("n_tool_calls", lambda r: _as_int(r.get("n_tool_calls"))),
    ("completion_tokens", lambda r: _as_int(r.get("completion_tokens"))),
    ("finish_reason", lambda r: _as_str(r.get("finish_reason"))),
    ("text", lambda r: _as_str(r.get("text"))),
)


def generations_table(rows: Iterable[Mapping[str, Any]]) -> wandb.Table:
    """One row per generation: who, what was scored (chat reply or email body), verdict."""
    wandb = _wandb()
    return wandb.Table(
        columns=[c for c, _ in TABLE_COLUMNS],
        data=[[get(r) for _, get in TABLE_COLUMNS] for r in rows],
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
    return _wandb().plot.confusion_matrix(
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
    wandb = _wandb()
    table = wandb.Table(columns=["persona", "f1"], data=data)
    return wandb.plot.bar(table, "persona", "f1", title="F1 by persona")


def _artifact_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _job_artifact(spec: RunSpec, files: JobFiles) -> Any | None:
    """The job's files, so every generation is kept even when the table is capped.

    ``policy="immutable"`` references the job's files instead of copying them to a
    staging folder: they are final when a job is logged, and they can be large.
    """
    present = [files.dir / f for f in JOB_FILES if (files.dir / f).is_file()]
    if not present:
        return None
    metadata = {
        "sweep_id": spec.group,
        "job_dir": str(files.dir.resolve()),
        **{k: files.metrics[k] for k in ("macro_f1", "n") if k in files.metrics},
    }
    art = _wandb().Artifact(
        _artifact_name(f"job-{spec.name}"), type=ARTIFACT_TYPE, metadata=metadata
    )
    for path in present:
        # Absolute: an offline run is synced later, maybe from another working directory.
        art.add_file(str(path.resolve()), name=path.name, policy="immutable")
    return art


# --------------------------------------------------------------------------- runs


def _log_run(spec: RunSpec, body: Callable[[Any], None], relog: str) -> str | None:
    """Start a run, fill it with `body`, finish it; any failure becomes the one line."""
    run = None
    stage = "init"
    t0 = time.perf_counter()
    try:
        (spec.dir / "wandb").mkdir(parents=True, exist_ok=True)
        run = _init(spec)
        stage = "log"
        body(run)
        stage = "finish"
        run_dir = str(run.settings.sync_dir)
        url = run.url
        run.finish()
        where = url or f"{run_dir} (upload with: wandb sync {run_dir})"
        log.info("W&B run %s logged in %.1fs: %s", spec.name, time.perf_counter() - t0, where)
        return run_dir
    except Exception as err:  # noqa: BLE001 - never fail the job over W&B
        if run is not None and stage != "finish":
            _abandon(run)
        retry = relog
        if stage == "finish" and run is not None and spec.mode == "online":
            # Everything is in the run's local log; only the upload is missing.
            retry = f"wandb sync --include-online {shlex.quote(str(run.settings.sync_dir))}"
        _report_failure(spec.name, err, retry)
        return None


def _init(spec: RunSpec) -> Any:
    """wandb.init; in auto mode an unreachable W&B falls back to offline for the process."""
    global _offline_reason
    wandb = _wandb()
    kwargs = dict(
        project=spec.project,
        entity=spec.entity,
        dir=str(spec.dir.resolve()),
        name=spec.name,
        group=spec.group,
        job_type=spec.job_type,
        tags=spec.tags,
        notes=spec.notes,
        config=spec.config,
    )
    if spec.mode == "online" and not has_credentials():
        raise TrackingError("no W&B credentials (run `wandb login` or set WANDB_API_KEY)")
    try:
        return wandb.init(**kwargs, settings=_settings(spec.mode))
    except wandb.Error as err:
        if not (spec.auto and spec.mode == "online"):
            raise
        _offline_reason = _reason(err)
        spec.mode = "offline"
        print(
            f"charprobe: W&B online logging unavailable ({_offline_reason}); logging offline "
            f"for the rest of this process; upload later with: wandb sync {_sync_glob(spec.dir)}",
            file=sys.stderr,
        )
        return wandb.init(**kwargs, settings=_settings("offline"))


def _abandon(run: Any) -> None:
    """Finish a run that failed midway (marked failed), so the next init starts afresh."""
    try:
        run.finish(exit_code=1)
    except Exception:  # noqa: BLE001 - already reporting the first failure
        pass


# wandb appends advice to its init timeouts ("Consider increasing the init_timeout setting:
# wandb.init(settings=...)"): code to edit, not a setting of charprobe's. Dropped from the
# reason; WANDB_INIT_TIMEOUT is the knob (see INIT_TIMEOUT_S).
_WANDB_ADVICE = re.compile(r"\s*Consider increasing the \w+ setting\b.*$")


def _reason(err: BaseException) -> str:
    text = _WANDB_ADVICE.sub("", " ".join(str(err).split())) or "no message"
    return f"{type(err).__name__}: {text[:200]}"


def _report_failure(name: str, err: BaseException, retry: str) -> None:
    log.debug("W&B logging failed for %s", name, exc_info=err)
    print(
        f"charprobe: W&B logging failed for {name}: {_reason(err)}; local files are "
        f"complete; retry with: {retry}",
        file=sys.stderr,
    )


def _relog_hint(path: Path, mode: Any = None, *extra: str) -> str:
    """The command that logs `path` again, with the mode asked for when it was explicit."""
    args = ["python", "-m", "charprobe.tracking", str(path), *extra]
    mode = str(mode or "auto").lower()
    if mode in ("online", "offline"):
        args += ["--mode", mode]
    return shlex.join(args)


def _sync_glob(job_dir: Path) -> str:
    """What to pass `wandb sync` (a shell glob): every job of the sweep, or this run's folder."""
    sweep = _sweep_folder(job_dir)
    if sweep != job_dir:
        return f"{shlex.quote(str(sweep))}/*/wandb"
    return shlex.quote(f"{job_dir}/wandb")


# --------------------------------------------------------------------------- sweeps


def log_sweep(sweep_dir: Path, cfg: DictConfig, sweep_id: str | None = None) -> str | None:
    """Write the sweep's report and log it as run "sweep-summary" in the sweep's group.

    The report (``<sweep_dir>/report/``: summary.csv, figures) is written whatever the
    logger; the W&B run only when it is wandb. Returns the run's folder, or None.
    """
    from charprobe.report import build_report

    sweep_dir = Path(sweep_dir)
    sweep_id = sweep_id or sweep_id_of(sweep_dir)
    if not any(sweep_dir.rglob("predictions.jsonl")):
        log.info("sweep %s has no predictions (scorer none?): no sweep summary", sweep_dir)
        return None
    try:
        table = build_report(sweep_dir, out=sweep_dir / "report", verbose=True)
    except Exception as err:  # noqa: BLE001 - ReportError or worse; the jobs are done
        print(
            f"charprobe: sweep report failed for {sweep_dir}: {_reason(err)}; job files are "
            f"complete; retry with: python -m charprobe.report {sweep_dir}",
            file=sys.stderr,
        )
        return None
    log.info("sweep report: %s", table.attrs.get("out_dir"))
    logger = cfg.get("logger")
    if logger is None or logger.get("name", "none") != "wandb":
        return None
    relog = _relog_hint(sweep_dir, logger.get("mode"), "--summary-only")
    try:
        mode = resolve_mode(logger.get("mode", "auto"))
        if mode is None:
            return None
        spec = RunSpec(
            name="sweep-summary",
            group=sweep_id,
            job_type="summary",
            dir=sweep_dir,
            tags=list(
                dict.fromkeys(
                    [
                        *map(str, cfg.get("tags") or []),
                        *map(str, logger.get("tags") or []),
                        "sweep-summary",
                    ]
                )
            ),
            config={
                "sweep_id": sweep_id,
                "sweep_dir": str(sweep_dir.resolve()),
                "overrides": _overrides(cfg),
            },
            project=logger.get("project") or "charprobe",
            entity=logger.get("entity"),
            mode=mode,
            auto=str(logger.get("mode", "auto")).lower() == "auto",
        )
    except Exception as err:  # noqa: BLE001
        _report_failure("sweep-summary", err, relog)
        return None
    return _log_run(spec, lambda run: _log_sweep_contents(run, table, sweep_id), relog)


def _overrides(cfg: DictConfig) -> list[str]:
    found = OmegaConf.select(cfg, "hydra.overrides.task")
    return [str(o) for o in found] if found is not None else []


def _log_sweep_contents(run: Any, frame: Any, sweep_id: str) -> None:
    """The summary table (one row per cell), every report figure, summary.csv as artifact."""
    wandb = _wandb()
    logged: dict[str, Any] = {"summary": wandb.Table(dataframe=frame.reset_index(drop=True))}
    for name, path in (frame.attrs.get("figures") or {}).items():
        if Path(path).is_file():
            logged[f"figures/{name}"] = wandb.Image(str(path))
    run.log(logged)
    csv = frame.attrs.get("summary_csv")
    if csv and Path(csv).is_file():
        art = wandb.Artifact(_artifact_name(f"sweep-{sweep_id}"), type="sweep-report")
        art.add_file(str(csv), name="summary.csv")
        run.log_artifact(art)


class SweepSummary(Callback):
    """Hydra callback: after every job of a multirun, report the sweep and log it to W&B.

    Registered in conf/config.yaml as
    ``hydra.callbacks.sweep_summary._target_: charprobe.tracking.SweepSummary``.
    """

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            sweep_dir = Path(config.hydra.sweep.dir)
            log_sweep(sweep_dir, config, sweep_id_of(config))
        except Exception as err:  # noqa: BLE001 - a summary must never fail the sweep
            print(
                f"charprobe: sweep summary failed: {_reason(err)}; job files are complete",
                file=sys.stderr,
            )


# --------------------------------------------------------------------------- CLI


def _job_dirs(path: Path) -> list[Path]:
    if (path / "run.json").is_file():
        return [path]
    return sorted(p.parent for p in path.glob("*/run.json"))


def _job_cfg(job_dir: Path, mode: str | None) -> DictConfig:
    """The config a job ran with (run.json), with the logger switched to wandb."""
    run = read_json(job_dir / "run.json")
    cfg = OmegaConf.create(run.get("config") or {})
    logger = OmegaConf.to_container(cfg.get("logger") or OmegaConf.create({}))
    logger = {
        "project": "charprobe",
        "entity": None,
        "tags": [],
        "mode": "auto",
        **logger,
        "name": "wandb",
    }
    if mode:
        logger["mode"] = mode
    cfg.logger = logger
    return cfg


def main(argv: Sequence[str] | None = None) -> int:
    """(Re)log finished jobs: a job folder, or every job of a sweep plus its summary."""
    ap = argparse.ArgumentParser(prog="python -m charprobe.tracking", description=main.__doc__)
    ap.add_argument("path", type=Path, help="a job folder (holding run.json) or a sweep folder")
    ap.add_argument("--mode", choices=("auto", "online", "offline"), help="override logger.mode")
    ap.add_argument(
        "--summary-only",
        action="store_true",
        help="for a sweep folder: log only the sweep-summary run",
    )
    args = ap.parse_args(argv)
    # Progress on stdout: stderr holds only the one line per failed run.
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    jobs = _job_dirs(args.path)
    if not jobs:
        print(f"charprobe.tracking: error: no run.json in or under {args.path}", file=sys.stderr)
        return 2
    is_sweep = jobs != [args.path]
    group = sweep_id_of(args.path)  # a sweep folder's jobs share its group
    failed = 0
    if not args.summary_only:
        for job in jobs:
            failed += log_job(_job_cfg(job, args.mode), job, group) is None
    if is_sweep:
        log_sweep(args.path, _job_cfg(jobs[0], args.mode), group)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
