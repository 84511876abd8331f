"""Kill-proof: SIGKILL a toy sweep again and again, in every phase; the rerun loses nothing.

A sweep (toy_llama, full stage, chat + agentic email, W&B offline) is killed at least ten
times: some kills come from this test at a random moment, the others from inside the
job at a random call of the function that does one phase's work (writing a row,
scoring, writing metrics, drawing a figure, the sweep report, W&B logging), after a
random few milliseconds, so they land mid-write. A shim on PYTHONPATH (sitecustomize)
arms them; charprobe's own code is not changed. After every kill no result file is
half-written; after the last rerun every file equals an uninterrupted run's.

It runs under both local launchers: the basic one (every job in the sweep's process) and
`hydra/launcher=local` (jobs side by side in joblib's worker processes). There a kill
inside a job takes down its worker, and the sweep ends with joblib's error; a kill from
outside goes to the whole process group, as Ctrl-C or a scheduler's kill does.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from charprobe.store import read_rows
from tests.conftest import REPO

SHIM = """
import os, random, signal, threading, time

spec = os.environ.get("CHARPROBE_TEST_KILL")
if spec:
    import importlib
    target, n, delay, seed = spec.split("|")
    module, _, attr = target.partition(":")
    owner = importlib.import_module(module)
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, name)
    calls = [0]
    rng = random.Random(int(seed))

    def _kill_soon():
        time.sleep(rng.uniform(0, float(delay)))
        with open(os.environ["CHARPROBE_TEST_KILL_LOG"], "a") as f:
            f.write(target + "\\n")
        os.kill(os.getpid(), signal.SIGKILL)

    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == int(n):
            threading.Thread(target=_kill_soon, daemon=True).start()
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)
"""

# (phase, function whose n-th call arms the kill, largest n, largest delay in seconds)
INJECTED = [
    ("generation", "charprobe.store:RowFile.append", 20, 0.002),
    ("generation", "charprobe.store:RowFile.append", 20, 0.002),
    ("scoring", "charprobe.scorers.tfidf:TfidfScorer.predict_proba", 2, 0.01),
    ("metrics", "charprobe.report:write_json", 2, 0.001),
    ("report", "charprobe.report.figures:_save", 2, 0.02),
    ("wandb", "charprobe.tracking.job_run:_log_job_contents", 2, 0.3),
    ("report", "charprobe.report:build_report", 1, 0.05),
    ("wandb", "charprobe.tracking.runs:_init", 3, 0.5),
]
EXTERNAL = 4  # kills sent by this test at a random moment of a run
RESULT_FILES = ("predictions.jsonl", "metrics.json", "confusion.csv", "generations.jsonl")


def _args(scorer: Path, launcher: str) -> list[str]:
    return [
        "-m",
        *(["hydra/launcher=local"] if launcher == "local" else []),
        "model=toy_llama",
        "stage=full",
        "scaffold=chat,agentic_email",
        "scaffold.items=2",
        "generation.max_new_tokens=160",
        "generation.batch_size=64",
        "scorer=tfidf",
        f"scorer.path={scorer}",
        "logger=wandb",
        "logger.mode=offline",
        "stats.n_boot=200",
        "hydra.sweep.dir=multirun/kill",
    ]


def _env(shim: Path, launcher: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{shim}{os.pathsep}{REPO}",
        "WANDB_MODE": "offline",
        "HYDRA_FULL_ERROR": "0",
        "OMP_NUM_THREADS": "2",
        **extra,
    }
    if launcher == "local":  # joblib sets the threads per worker
        env.pop("OMP_NUM_THREADS")
    return env


def _start(cwd: Path, scorer: Path, launcher: str, env: dict[str, str]) -> subprocess.Popen:
    # A session of its own: a kill from outside reaches the sweep and its workers.
    return subprocess.Popen(
        [sys.executable, "-m", "charprobe", *_args(scorer, launcher)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _whole(path: Path) -> None:
    """Fail if a result file is half-written (a generations file may end in a cut line:
    rows are appended, and the reader drops it by design)."""
    if path.suffix == ".json":
        json.loads(path.read_text())
    elif path.suffix == ".csv":
        pd.read_csv(path)
    elif path.suffix == ".png":
        assert path.read_bytes().endswith(b"IEND\xaeB`\x82"), f"{path} is cut short"
    elif path.name == "generations.jsonl":
        rows = read_rows(path)
        assert len({r["key"] for r in rows}) == len(rows), f"{path} holds a row twice"
    else:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            assert json.loads(line), f"{path}:{n}"


def _check_whole(sweep: Path) -> int:
    # The named files, not the hidden temporaries (`.<name>.tmp-<pid>.<ext>`) that a kill
    # mid-write leaves beside them: those are never renamed onto a result.
    files = [
        p
        for p in sweep.rglob("*")
        if p.is_file()
        and "wandb" not in p.parts
        and not p.name.startswith(".")
        and (p.name in RESULT_FILES or p.name == "summary.csv" or p.suffix == ".png")
    ]
    for f in files:
        _whole(f)
    return len(files)


def _outputs(sweep: Path) -> dict[str, bytes]:
    out = {}
    for job in sorted(p for p in sweep.iterdir() if (p / "run.json").is_file()):
        for name in ("generations.jsonl", "predictions.jsonl", "metrics.json", "confusion.csv"):
            out[f"{job.name}/{name}"] = (job / name).read_bytes()
    out["report/summary.csv"] = (sweep / "report" / "summary.csv").read_bytes()
    return out


@pytest.mark.slow
def test_sweep_killed_in_every_phase_resumes_to_identical_files(toy_world, tfidf_dir, tmp_path):
    killed_and_resumed(tfidf_dir, tmp_path, "basic")


def killed_and_resumed(tfidf_dir: Path, tmp_path: Path, launcher: str) -> None:
    """The test body, for either launcher (tests/test_kill_local.py runs the other, in a
    module of its own so that pytest-xdist can run the two side by side)."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SHIM)
    ref, kill = tmp_path / "ref", tmp_path / "kill"
    ref.mkdir()
    kill.mkdir()
    t0 = time.time()
    p = _start(ref, tfidf_dir, launcher, _env(shim, launcher))
    assert p.wait(timeout=900) == 0, p.stderr.read()[-3000:]
    clean_s = time.time() - t0

    rng = random.Random(20261202)
    # Generation kills first: the later phases come back on every rerun (finished jobs are
    # scored, reported and logged again), generation only while rows are missing.
    later = [("injected", *spec) for spec in INJECTED if spec[0] != "generation"]
    later += [("external",)] * EXTERNAL
    rng.shuffle(later)
    plan = [("injected", *spec) for spec in INJECTED if spec[0] == "generation"] + later
    spares = len(plan)
    plan += [("external",)] * 6  # used only while fewer than ten kills landed
    kill_log = tmp_path / "kills.txt"
    landed: list[str] = []
    for i, attempt in enumerate(plan):
        if i >= spares and len(landed) >= 10:
            break
        if attempt[0] == "external":
            proc = _start(kill, tfidf_dir, launcher, _env(shim, launcher))
            # Anywhere in a run: start-up, generation, scoring, report or W&B.
            try:
                proc.wait(timeout=rng.uniform(2.0, 12.0))
            except subprocess.TimeoutExpired:
                _kill_group(proc)
            proc.wait()
            phase = "external"
        else:
            _, phase, target, n_max, delay = attempt
            if launcher == "local":  # each worker counts its own calls: about half of them
                n_max = max(1, n_max // 2)
            spec = f"{target}|{rng.randint(1, n_max)}|{delay}|{rng.randrange(1 << 30)}"
            before = kill_log.read_text().count("\n") if kill_log.exists() else 0
            proc = _start(
                kill,
                tfidf_dir,
                launcher,
                _env(
                    shim,
                    launcher,
                    CHARPROBE_TEST_KILL=spec,
                    CHARPROBE_TEST_KILL_LOG=str(kill_log),
                ),
            )
            proc.wait(timeout=900)
        # No worker outlives its sweep into the next run (a kill inside the sweep's own
        # process leaves its idle workers behind, holding stderr open).
        _kill_group(proc)
        stderr = proc.stderr.read()
        # Under joblib, a kill inside a job takes its worker: the sweep fails with
        # TerminatedWorkerError, and the shim's log shows the kill was armed and fired.
        worker = (
            launcher == "local"
            and phase != "external"
            and proc.returncode != 0
            and "TerminatedWorkerError" in stderr
            and kill_log.read_text().count("\n") > before
        )
        if proc.returncode == -signal.SIGKILL or worker:
            landed.append(phase)
        else:
            assert proc.returncode == 0, stderr[-3000:]  # the kill came after the work
        if (kill / "multirun" / "kill").is_dir():
            _check_whole(kill / "multirun" / "kill")
    p = _start(kill, tfidf_dir, launcher, _env(shim, launcher))
    assert p.wait(timeout=900) == 0, p.stderr.read()[-3000:]
    assert _check_whole(kill / "multirun" / "kill") >= 8

    print(f"\nkills: {len(landed)} ({', '.join(landed)}); uninterrupted run {clean_s:.0f}s")
    assert len(landed) >= 10, landed
    assert {"generation", "scoring", "report", "wandb"} <= set(landed), landed
    want, got = _outputs(ref / "multirun" / "kill"), _outputs(kill / "multirun" / "kill")
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], f"{name} differs from the uninterrupted run's"
    rows = read_rows(
        kill / "multirun" / "kill" / "1_toy_llama-full-agentic_email" / "generations.jsonl"
    )
    assert len(rows) == 2 * 10 and len({r["key"] for r in rows}) == len(rows)
