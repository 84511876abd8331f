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

and `conf/config.yaml` registers `SweepSummary` as a Hydra callback that uploads the
sweep's report (written by `charprobe.report.SweepReport` just before) as one more run.
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

Modules: `modes` (online/offline, credentials), `runs` (one run's life and its failure
line, sweep ids), `job_run` (a job's run), `sweep_run` (the sweep report's run), `cli`.
"""

from charprobe.tracking.cli import job_config, main
from charprobe.tracking.job_run import generations_table, log_job
from charprobe.tracking.modes import TrackingError, has_credentials, resolve_mode
from charprobe.tracking.runs import sweep_id_of
from charprobe.tracking.sweep_run import SweepSummary, log_sweep

__all__ = [
    "SweepSummary",
    "TrackingError",
    "generations_table",
    "has_credentials",
    "job_config",
    "log_job",
    "log_sweep",
    "main",
    "resolve_mode",
    "sweep_id_of",
]
