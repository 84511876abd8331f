"""The cluster path: Hydra's submitit launcher and the SLURM recipes under launch/.

- A toy sweep through `hydra/launcher=submitit_local` (each job a process of its own, as
  on SLURM) gives the basic launcher's texts, metrics and sweep report exactly.
- So does `hydra/launcher=local` (joblib: jobs side by side, one per core), with torch's
  threads per job such that the jobs together take no more than the cores, and the
  scorer the jobs share trained once, before any job starts.
- A submitit job that is signalled to requeue (what SLURM does before the time limit)
  runs again in the same job folder and generates only the rows it had not written.
- The SLURM preset `hydra/launcher=slurm_gpu` composes to one GPU per cell with a time
  limit, memory and requeue; through the plugin's own `launch` it renders the sbatch
  array, and submitit's signal handler requeues a job with the same arguments (the same
  job folder).
- launch/slurm.sh (one job per base) requeues itself into the same sweep folder.

No SLURM is needed: `sbatch`, `srun` and `scontrol` are small fakes on PATH.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from charprobe.store import read_rows
from tests.conftest import REPO, require, run_charprobe

PLUGIN = importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is not None
NO_PLUGIN = "hydra-submitit-launcher is not installed (pip install -e .[dev])"

# Tiny but not trivial: the TF-IDF scorer (trained once, on 8 training prompts x 11
# adapters x 2 stages) tells the full stage's personas apart; 64 new tokens let some
# agentic rollouts send an email.
SWEEP = [
    "model=toy_llama",
    "stage=base,full",
    "scaffold=chat,agentic_email",
    "persona.personas=[sarcasm,humor,poeticism]",
    "scaffold.items=4",
    "generation.max_new_tokens=64",
    "scorer=tfidf",
    "scorer.train_items=8",
    "logger=none",
    "stats.n_boot=50",
]
CELLS = [
    "0_toy_llama-base-chat",
    "1_toy_llama-base-agentic_email",
    "2_toy_llama-full-chat",
    "3_toy_llama-full-agentic_email",
]
HEADLINE = ("n", "n_dropped", "email_rate", "macro_f1", "ci_low", "ci_high", "accuracy")


def _env() -> dict[str, str]:
    """run_charprobe's environment, with one torch thread per process: submitit_local
    starts every job of a sweep at once."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "WANDB_MODE": "offline",
        "HYDRA_FULL_ERROR": "0",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def _sweep(cwd: Path, *args: str) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        for k, v in _env().items():
            mp.setenv(k, v)
        run_charprobe(cwd, "-m", *args, "hydra.sweep.dir=multirun/s")
    return cwd / "multirun" / "s"


def _jobs(sweep: Path) -> list[str]:
    return sorted(p.parent.name for p in sweep.glob("*/run.json"))


def _texts(job: Path) -> dict[str, tuple]:
    return {r["key"]: (r["response"], r["text"]) for r in read_rows(job / "generations.jsonl")}


def _submitit_log(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in sorted(folder.glob("*_log.*")))


def _hydra_job_id(job: Path) -> str:
    from omegaconf import OmegaConf

    return str(OmegaConf.load(job / ".hydra" / "hydra.yaml").hydra.job.id)


@pytest.fixture(scope="module")
def tfidf_dir(toy_world, tmp_path_factory) -> Path:
    """The toy base's TF-IDF scorer, trained on first use by a job of its own (one item,
    generated and scored), so that both launchers' sweeps start from the same state.
    (Trained inside the basic sweep's first job instead, that job's base-stage texts came
    out different from a fresh process's, and from run to run.)"""
    cwd = tmp_path_factory.mktemp("launch-tfidf")
    out = cwd / "toy-llama-tfidf"
    with pytest.MonkeyPatch.context() as mp:
        for k, v in _env().items():
            mp.setenv(k, v)
        run_charprobe(
            cwd,
            *[a for a in SWEEP if not a.startswith(("stage=", "scaffold="))],
            "stage=base",
            "scaffold=chat",
            "scaffold.items=1",
            f"model.tfidf_classifier={out}",
            "hydra.run.dir=train",
        )
    assert (out / "training_report.json").is_file()
    return out


@pytest.fixture(scope="module")
def basic_sweep(toy_world, tfidf_dir, tmp_path_factory) -> Path:
    return _sweep(tmp_path_factory.mktemp("basic"), *SWEEP, f"model.tfidf_classifier={tfidf_dir}")


@pytest.fixture(scope="module")
def submitit_sweep(basic_sweep, tfidf_dir, tmp_path_factory) -> Path:
    require(PLUGIN, NO_PLUGIN)
    return _sweep(
        tmp_path_factory.mktemp("submitit"),
        "hydra/launcher=submitit_local",
        *SWEEP,
        f"model.tfidf_classifier={tfidf_dir}",
    )


@pytest.fixture(scope="module")
def local_sweep(basic_sweep, tmp_path_factory) -> Path:
    """The same sweep through hydra/launcher=local, its TF-IDF scorer trained by the sweep
    itself (before the jobs, by `SharedWork`) on the replies the shared fixture left, and
    torch's threads left to the launcher (no OMP_NUM_THREADS)."""
    cwd = tmp_path_factory.mktemp("local")
    env = {k: v for k, v in _env().items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    with pytest.MonkeyPatch.context() as mp:
        for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            mp.delenv(k, raising=False)
        for k, v in env.items():
            mp.setenv(k, v)
        p = run_charprobe(
            cwd,
            "-m",
            "hydra/launcher=local",
            *SWEEP,
            f"model.tfidf_classifier={cwd / 'tfidf'}",
            "hydra.sweep.dir=multirun/s",
        )
    (cwd / "sweep.log").write_text(p.stdout + p.stderr)
    return cwd / "multirun" / "s"


@pytest.mark.slow
def test_local_launcher_runs_jobs_side_by_side_and_equals_the_basic_launcher(
    basic_sweep, local_sweep
):
    import pandas as pd

    assert _jobs(local_sweep) == CELLS
    for cell in CELLS:
        b, s = basic_sweep / cell, local_sweep / cell
        assert _texts(b) and _texts(s) == _texts(b), cell
        mb = json.loads((b / "metrics.json").read_text())
        ms = json.loads((s / "metrics.json").read_text())
        assert {k: ms[k] for k in HEADLINE} == {k: mb[k] for k in HEADLINE}, cell
    summary = pd.read_csv(local_sweep / "report" / "summary.csv")
    pd.testing.assert_frame_equal(summary, pd.read_csv(basic_sweep / "report" / "summary.csv"))

    # The scorer was trained once, by the sweep's own process before the first job was
    # launched (on the shared fixture's replies, so the metrics above match): no job did.
    trained = local_sweep.parents[1] / "tfidf"
    assert (trained / "training_report.json").is_file()
    log = (local_sweep.parents[1] / "sweep.log").read_text()
    assert log.count(f"before the jobs: training {trained}") == 1, log[-3000:]
    assert log.index("trained tfidf classifier") < log.index("is launching 4 jobs"), log[-3000:]
    logs = {c: (local_sweep / c / "main.log").read_text() for c in CELLS}
    assert not any("is missing: training it" in text for text in logs.values())

    # One process per core at most, each loading the base once for the jobs it runs; each
    # job's torch threads times the processes stays within the cores.
    cores = os.cpu_count() or 1
    workers = min(cores, len(CELLS))
    loads = "".join(logs.values()).count("loading base")
    assert 1 <= loads <= workers, loads
    threads = [json.loads((local_sweep / c / "run.json").read_text())["machine"] for c in CELLS]
    assert all(t["torch_threads"] * workers <= max(cores, workers) for t in threads), threads


@pytest.mark.slow
def test_submitit_local_sweep_equals_the_basic_launcher(basic_sweep, submitit_sweep):
    import pandas as pd

    assert _jobs(basic_sweep) == _jobs(submitit_sweep) == CELLS
    scored = 0
    for cell in CELLS:
        b, s = basic_sweep / cell, submitit_sweep / cell
        texts = _texts(b)
        assert texts and _texts(s) == texts, cell
        mb = json.loads((b / "metrics.json").read_text())
        ms = json.loads((s / "metrics.json").read_text())
        assert {k: ms[k] for k in HEADLINE} == {k: mb[k] for k in HEADLINE}, cell
        f1 = {p: v["f1"] for p, v in mb["per_persona"].items()}
        assert {p: v["f1"] for p, v in ms["per_persona"].items()} == f1, cell
        assert set(f1) == {"sarcasm", "humor", "poeticism"}
        scored += mb["macro_f1"] is not None
    assert scored >= 2  # the chat cells at least: real numbers compared, not two Nones

    # The sweep report of the SweepSummary callback, in the submitit run too, identical.
    summary = pd.read_csv(submitit_sweep / "report" / "summary.csv")
    pd.testing.assert_frame_equal(summary, pd.read_csv(basic_sweep / "report" / "summary.csv"))
    assert len(summary) == len(CELLS)

    # Basic: one process, the base loads once for the whole sweep. submitit: every job
    # is its own process (one controller per job, its pid the job id), loading the base
    # itself and writing its log under .submitit/<job id>/.
    logs = [(basic_sweep / c / "main.log").read_text() for c in CELLS]
    assert "".join(logs).count("loading base") == 1
    ids = []
    for cell in CELLS:
        job = submitit_sweep / cell
        assert (job / "main.log").read_text().count("loading base") == 1, cell
        job_id = _hydra_job_id(job)
        assert job_id.isdigit(), job_id
        log = _submitit_log(submitit_sweep / ".submitit" / job_id)
        assert f"job_id={job_id}," in log and f"-> {job.resolve()}" in log, cell
        ids.append(job_id)
    assert len(set(ids)) == len(CELLS)


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append(int(stat.parent.name))
    return out


@pytest.mark.slow
def test_submitit_requeue_reruns_the_job_in_its_folder_and_continues(basic_sweep, tmp_path):
    """The launcher's checkpoint path for real: the job gets the signal SLURM sends
    before its time limit (USR2) mid-generation; submitit's handler calls the launcher's
    `checkpoint`, pickles the job again and requeues it (locally: the controller starts it
    again). The default, timestamped sweep folder is used, so the requeued job must
    resolve it to the same folder; it keeps every row and generates only the rest."""
    require(PLUGIN, NO_PLUGIN)
    require(Path("/proc/self/stat").is_file(), "needs Linux /proc to find the job's process")
    # 8 items x 3 personas, one row per batch: rows land one by one over a few seconds.
    args = [
        "-m",
        "hydra/launcher=submitit_local",
        "model=toy_llama",
        "stage=full",
        "scaffold=chat",
        "persona.personas=[sarcasm,humor,poeticism]",
        "scaffold.items=8",
        "generation.max_new_tokens=64",
        "generation.batch_size=1",
        "scorer=none",
        "logger=none",
    ]
    out = (tmp_path / "sweep.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "charprobe", *args],
        cwd=tmp_path,
        env=_env(),
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, (tmp_path / "sweep.log").read_text()[-4000:]
            assert time.monotonic() < deadline, "no row within 300 s"
            rows = list(tmp_path.glob("multirun/*/*/0_toy_llama-full-chat/generations.jsonl"))
            if rows and rows[0].read_text().count("\n") >= 1:
                break
            time.sleep(0.05)
        sweep = rows[0].parents[1]
        (controller,) = [int(p.name) for p in (sweep / ".submitit").iterdir() if p.name.isdigit()]
        (task,) = _children(controller)  # the process running the job
        seen = rows[0].read_text().count("\n")
        os.kill(task, signal.SIGUSR2)
        assert proc.wait(timeout=600) == 0, (tmp_path / "sweep.log").read_text()[-4000:]
    finally:
        if proc.poll() is None:
            proc.kill()
        out.close()

    # One sweep, one job folder, one submitit job: started twice, requeued once.
    assert [p.parent for p in tmp_path.glob("multirun/*/*/multirun.yaml")] == [sweep]
    assert _jobs(sweep) == ["0_toy_llama-full-chat"]
    log = _submitit_log(sweep / ".submitit" / str(controller))
    assert log.count("Starting with JobEnvironment") == 2, log[-3000:]
    assert "Calling checkpoint method" in log and "Requeued job" in log, log[-3000:]
    job = sweep / "0_toy_llama-full-chat"
    assert _hydra_job_id(job) == str(controller)

    # The first run planned all 24 rows; the requeued one only those not yet written.
    pending = re.findall(r"(\d+) units \((\d+) pending\)", (job / "main.log").read_text())
    assert len(pending) == 2 and pending[0] == ("24", "24"), pending
    rerun = int(pending[1][1])
    assert 0 < rerun <= 24 - seen, (pending, seen)
    run = json.loads((job / "run.json").read_text())
    assert run["status"] == "done"
    assert run["counts"]["units_generated"] == rerun and run["counts"]["rows"] == 24
    lines = (job / "generations.jsonl").read_text().splitlines()
    keys = [json.loads(line)["key"] for line in lines]
    assert len(keys) == len(set(keys)) == 24  # no row written twice

    # Interrupted or not, a row's text is the same: the uninterrupted basic sweep's
    # full/chat cell (its first 4 items, batch size 32) holds the same texts.
    texts, ref = _texts(job), _texts(basic_sweep / "2_toy_llama-full-chat")
    assert len(ref) == 12 and {k: texts[k] for k in ref} == ref


# --------------------------------------------------------------------------- SLURM preset


def _compose_slurm(*overrides: str):
    from hydra import compose, initialize_config_dir

    from charprobe.config import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(
            "config", overrides=["hydra/launcher=slurm_gpu", *overrides], return_hydra_config=True
        )


def test_slurm_preset_composes_one_gpu_per_cell_with_requeue():
    require(PLUGIN, NO_PLUGIN)
    launcher = _compose_slurm("model=llama").hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert launcher.gpus_per_node == 1 or launcher.gres == "gpu:1"
    assert launcher.nodes == 1 and launcher.tasks_per_node == 1
    assert launcher.timeout_min > 0 and launcher.mem_gb > 0 and launcher.cpus_per_task > 0
    assert launcher.max_num_timeout > 0 and 0 < launcher.signal_delay_s < 60 * launcher.timeout_min
    assert launcher.additional_parameters.requeue is True


def test_slurm_preset_is_found_from_any_working_directory(tmp_path):
    require(PLUGIN, NO_PLUGIN)
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "charprobe",
            "hydra/launcher=slurm_gpu",
            "--cfg",
            "hydra",
            "-p",
            "hydra.launcher",
        ],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert "gpus_per_node: 1" in p.stdout and "SlurmLauncher" in p.stdout


def _fake(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def test_slurm_preset_submits_an_array_and_a_requeued_job_keeps_its_folder(tmp_path, monkeypatch):
    """The plugin's own `launch` with the preset, against fake srun/sbatch: the sbatch
    script asks for what the preset says. Then submitit's signal handler on the "cluster"
    (SLURM's USR2 near the time limit): it calls the launcher's `checkpoint`, re-pickles
    the job with the same arguments and runs `scontrol requeue`. The re-pickled job has
    the same overrides and job number and resolves the same sweep folder, i.e. it runs
    in the same job folder (where its rows are)."""
    require(PLUGIN, NO_PLUGIN)
    import submitit
    from hydra.utils import instantiate
    from submitit.core.job_environment import SignalHandler
    from submitit.core.utils import DelayedSubmission
    from submitit.slurm.slurm import SlurmJobEnvironment

    bin_dir, log = tmp_path / "bin", tmp_path / "calls"
    _fake(bin_dir, "srun", "exit 0\n")
    _fake(bin_dir, "sbatch", f'cp "$1" {tmp_path}/sbatch.sh\necho "Submitted batch job 4242"\n')
    _fake(bin_dir, "scontrol", f'echo "scontrol $*" >> {log}\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)  # the default sweep folder, multirun/<date>/<time>, under it

    class NoWait(submitit.AutoExecutor):
        """Submit for real (to the fake sbatch); do not wait for the results."""

        def map_array(self, fn, *iterable):
            super().map_array(fn, *iterable)
            return []

    monkeypatch.setattr(submitit, "AutoExecutor", NoWait)
    cfg = _compose_slurm("model=llama")
    launcher = instantiate(cfg.hydra.launcher)
    launcher.config = cfg  # what Launcher.setup keeps for launch
    overrides = [["model=llama", "stage=base"], ["model=llama", "stage=full"]]
    launcher.launch(overrides, initial_job_idx=0)

    sbatch = (tmp_path / "sbatch.sh").read_text()
    for flag in (
        "--array=0-1%2",
        "--gpus-per-node=1",
        "--ntasks-per-node=1",
        "--nodes=1",
        "--cpus-per-task=8",
        "--mem=64GB",
        "--time=480",
        "--signal=USR2@120",
        "--requeue",
        "--job-name=charprobe",
    ):
        assert f"#SBATCH {flag}\n" in sbatch, (flag, sbatch)
    sweep_dir = str(cfg.hydra.sweep.dir)
    assert re.fullmatch(r"multirun/\d{4}-\d{2}-\d{2}/[\d-]+", sweep_dir), sweep_dir

    # Array task 1 on the cluster, signalled near its time limit.
    folder = tmp_path / sweep_dir / ".submitit" / "4242_1"
    pickle = folder / "4242_1_submitted.pkl"
    before = DelayedSubmission.load(pickle)
    assert before._timeout_countdown == 3 and before.args[2] == 1
    for k, v in {
        "SUBMITIT_EXECUTOR": "slurm",
        "SUBMITIT_FOLDER": str(tmp_path / sweep_dir / ".submitit" / "%j"),
        "SLURM_JOB_ID": "4243",
        "SLURM_ARRAY_JOB_ID": "4242",
        "SLURM_ARRAY_TASK_ID": "1",
        "SLURM_PROCID": "0",
    }.items():
        monkeypatch.setenv(k, v)
    env = SlurmJobEnvironment()
    handler = SignalHandler(env, env.paths, before)
    handler._start_time -= 60 * 480  # it has run its whole allocation
    with pytest.raises(SystemExit):
        handler.checkpoint_and_try_requeue(signal.SIGUSR2)
    assert log.read_text() == "scontrol requeue 4242_1\n"

    after = DelayedSubmission.load(pickle)
    assert type(after.function) is type(launcher)
    assert after.args[0] == overrides[1] and after.args[1:4] == before.args[1:4]
    assert after._timeout_countdown == 2  # one of max_num_timeout=3 used
    # The same sweep folder (the timestamp is not taken again) and job number: the
    # requeued job's folder is <sweep>/1_llama-full-<scaffold>, the one it wrote before.
    assert str(after.function.config.hydra.sweep.dir) == sweep_dir


# --------------------------------------------------------------------------- launch/slurm.sh


def test_slurm_sh_requeues_itself_into_the_same_sweep_folder(tmp_path):
    """Near the time limit SLURM signals the batch shell (USR1); it runs `scontrol requeue`
    at once, while charprobe runs, and the sweep folder is named after the job id, which a
    requeued job keeps: the rerun continues in the same job folders."""
    script = REPO / "launch" / "slurm.sh"
    sbatch = re.findall(r"^#SBATCH (\S+)", script.read_text(), flags=re.M)
    assert {"--gres=gpu:1", "--signal=B:USR1@300", "--requeue"} <= set(sbatch), sbatch

    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    # charprobe stand-in: records its arguments, runs until stopped. SLURM stops a
    # requeued job; the fake scontrol does that here.
    _fake(
        bin_dir,
        "python",
        f'printf "%s\\n" "$@" > {calls}.python\necho $$ > {calls}.pid\nexec sleep 60\n',
    )
    _fake(bin_dir, "scontrol", f'echo "$*" > {calls}.scontrol\nkill "$(cat {calls}.pid)"\n')
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "SLURM_JOB_ID": "777",
        "SLURM_SUBMIT_DIR": str(tmp_path),
        "VIRTUAL_ENV": "venv",
    }
    proc = subprocess.Popen(["bash", str(script), "model=llama", "experiment=study"], env=env)
    try:
        deadline = time.monotonic() + 30
        while not Path(f"{calls}.pid").is_file():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.2)  # the shell is in `wait`
        proc.send_signal(signal.SIGUSR1)
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert Path(f"{calls}.scontrol").read_text() == "requeue 777\n"
    assert rc != 0  # charprobe was stopped; SLURM runs the job again
    assert Path(f"{calls}.python").read_text().split("\n")[:-1] == [
        "-m",
        "charprobe",
        "-m",
        "stage=base,distillation,full",
        "hydra.sweep.dir=multirun/slurm-777",
        "model=llama",
        "experiment=study",
    ]
