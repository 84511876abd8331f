"""One W&B run: its spec, starting it, filling it, finishing it, and the one failure line."""

from __future__ import annotations

import logging
import re
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from charprobe.tracking import modes
from charprobe.tracking.modes import TrackingError, has_credentials

log = logging.getLogger("charprobe.tracking")


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


# --------------------------------------------------------------------------- sweep ids


def sweep_id_of(where: str | Path | DictConfig | Any) -> str:
    """The W&B group of a job: its sweep folder's name (multirun) or its run folder's name.

    `where` is a job folder, or Hydra's config (``HydraConfig.get()`` or a full config
    with a ``hydra`` node). The default folders are ``<date>/<time>``; the date is kept
    (``2026-11-22_08-31-39-123456``) so a group names its day.
    """
    if isinstance(where, (str, Path)):
        return _folder_id(sweep_folder(Path(where)))
    hydra = where.hydra if "hydra" in where else where
    if str(OmegaConf.select(hydra, "mode")) == "RunMode.MULTIRUN":
        return _folder_id(Path(hydra.sweep.dir))
    out = OmegaConf.select(hydra, "runtime.output_dir") or hydra.run.dir
    return _folder_id(Path(out))


def sweep_folder(job_dir: Path) -> Path:
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


def artifact_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


# --------------------------------------------------------------------------- runs


def log_run(spec: RunSpec, body: Callable[[Any], None], relog: str) -> str | None:
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
        report_failure(spec.name, err, retry)
        return None


def _init(spec: RunSpec) -> Any:
    """wandb.init; in auto mode an unreachable W&B falls back to offline for the process."""
    wandb = modes.wandb_module()
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
        return wandb.init(**kwargs, settings=modes.settings(spec.mode))
    except wandb.Error as err:
        if not (spec.auto and spec.mode == "online"):
            raise
        modes.offline_reason = reason(err)
        spec.mode = "offline"
        print(
            f"charprobe: W&B online logging unavailable ({modes.offline_reason}); logging offline "
            f"for the rest of this process; upload later with: wandb sync {sync_glob(spec.dir)}",
            file=sys.stderr,
        )
        return wandb.init(**kwargs, settings=modes.settings("offline"))


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


def reason(err: BaseException) -> str:
    text = _WANDB_ADVICE.sub("", " ".join(str(err).split())) or "no message"
    return f"{type(err).__name__}: {text[:200]}"


def report_failure(name: str, err: BaseException, retry: str) -> None:
    log.debug("W&B logging failed for %s", name, exc_info=err)
    print(
        f"charprobe: W&B logging failed for {name}: {reason(err)}; local files are "
        f"complete; retry with: {retry}",
        file=sys.stderr,
    )


def relog_hint(path: Path, mode: Any = None, *extra: str) -> str:
    """The command that logs `path` again, with the mode asked for when it was explicit."""
    args = ["python", "-m", "charprobe.tracking", str(path), *extra]
    mode = str(mode or "auto").lower()
    if mode in ("online", "offline"):
        args += ["--mode", mode]
    return shlex.join(args)


def sync_glob(job_dir: Path) -> str:
    """What to pass `wandb sync` (a shell glob): every job of the sweep, or this run's folder."""
    sweep = sweep_folder(job_dir)
    if sweep != job_dir:
        return f"{shlex.quote(str(sweep))}/*/wandb"
    return shlex.quote(f"{job_dir}/wandb")
