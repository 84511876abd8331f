"""W&B failures never cost data: a real job, then W&B failing every way we can make it fail.

The job is real: one `python -m charprobe` run on the tiny hub (scored by tfidf, logged by
nobody), copied fresh for each test. W&B then fails as users meet it, with nothing but
127.0.0.1: a malformed key, a key the server rejects, a closed port, a server that accepts
and never answers, and W&B raising midway (in-process, and through a sitecustomize shim in
the CLI). Every case checks the same promise (the docstring of charprobe/tracking/__init__.py):

- stderr holds exactly one line: the failure line (``online``, and any failure midway) or,
  in ``auto``, the line saying the process logs offline instead;
- the command that line prints runs and succeeds (offline: there is no server here);
- the job's files are byte-identical to before logging;
- the whole logging attempt ends within BOUND_S, W&B's own retries included.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from charprobe import tracking
from tests.conftest import REPO, TINY_PERSONAS, run_charprobe
from tests.test_tracking import _snapshot, _wandb_sandbox, summary_of  # noqa: F401 (autouse)

RUN = "tiny-base-chat"
KEY = "k" * 40  # well-formed: only a server can reject it
# Generous: an unreachable server costs INIT_TIMEOUT_S (30 s) plus start-up.
BOUND_S = 90
FAILED = re.compile(
    r"charprobe: W&B logging failed for (?P<run>[^:]+): (?P<reason>.+); "
    r"local files are complete; retry with: (?P<retry>.+)"
)
OFFLINE = re.compile(
    r"charprobe: W&B online logging unavailable \((?P<reason>.+)\); logging offline for "
    r"the rest of this process; upload later with: wandb sync (?P<paths>.+)"
)
JOB_FILES = ["generations.jsonl", "predictions.jsonl", "metrics.json", "confusion.csv", "run.json"]


# --------------------------------------------------------------------------- the job


def _job_args(hub: Path, tfidf: Path) -> list[str]:
    return [
        "model=llama",
        f"model.path={hub / 'base'}",
        "model.name=tiny",
        "stage=base",
        f"persona.personas=[{','.join(TINY_PERSONAS)}]",
        "scaffold=chat",
        "scaffold.items=2",
        "generation.max_new_tokens=12",
        "scorer=tfidf",
        f"scorer.path={tfidf}",
        "stats.n_boot=50",
        "hydra.run.dir=job",
    ]


@pytest.fixture(scope="module")
def finished_job(tiny_hub, tfidf_dir, tmp_path_factory) -> Path:
    """One real job, run through the CLI without W&B."""
    cwd = tmp_path_factory.mktemp("finished")
    run_charprobe(cwd, *_job_args(tiny_hub, tfidf_dir), "logger=none", timeout=300)
    job = cwd / "job"
    assert all((job / f).is_file() for f in JOB_FILES)
    return job


@pytest.fixture
def job(finished_job: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "runs" / "job"
    shutil.copytree(finished_job, dst)
    return dst


@pytest.fixture(autouse=True)
def _no_user_timeouts_or_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """charprobe's own timeouts, and 127.0.0.1 reached directly, never through a proxy."""
    for var in ("WANDB_INIT_TIMEOUT", "WANDB_FINISH_TIMEOUT", "WANDB_HTTP_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)
    for var in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


# --------------------------------------------------------------------------- W&B servers


def closed_port() -> str:
    """An address on which nothing listens: the connection is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@contextmanager
def silent_server() -> Iterator[str]:
    """An address that accepts connections and never answers (a hung server or proxy):
    the kernel completes the handshakes from the listen backlog, nobody reads."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(128)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


@contextmanager
def rejecting_server(seen: list[str]) -> Iterator[str]:
    """A W&B server that answers every request 401, as W&B does for an unknown key."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(f"{self.command} {self.path}")
            body = json.dumps({"errors": [{"message": "user is not logged in"}]}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def wandb_failing(case: str) -> Iterator[dict[str, str]]:
    """The environment under which W&B fails as `case` says."""
    seen: list[str] = []
    if case == "malformed-key":
        yield {"WANDB_API_KEY": "bogus", "WANDB_BASE_URL": closed_port()}
    elif case == "rejected-key":
        with rejecting_server(seen) as url:
            yield {"WANDB_API_KEY": KEY, "WANDB_BASE_URL": url}
        assert seen, "the server was never asked: the key was not what failed"
    elif case == "closed-port":
        yield {"WANDB_API_KEY": KEY, "WANDB_BASE_URL": closed_port()}
    elif case == "silent-server":
        with silent_server() as url:
            yield {"WANDB_API_KEY": KEY, "WANDB_BASE_URL": url}
    else:
        raise AssertionError(case)


# --------------------------------------------------------------------------- helpers


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}


def relog(job: Path, *args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float]:
    """`python -m charprobe.tracking JOB ARGS`, timed; a hang fails at 2 x BOUND_S."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "charprobe.tracking", str(job), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=2 * BOUND_S,
    )
    return proc, time.perf_counter() - t0


def the_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{stderr}"
    return lines[0]


def failure_line(line: str, run: str = RUN) -> re.Match:
    m = FAILED.fullmatch(line)
    assert m, line
    assert m["run"] == run
    return m


def offline_runs(job: Path) -> set[Path]:
    return set((job / "wandb").glob("offline-run-*"))


def retry_works(command: str, job: Path) -> None:
    """The printed retry command, run as printed (plus --mode offline: no server here, and
    argparse takes the last --mode), logs a new finished run and prints nothing on stderr."""
    args = shlex.split(command)
    assert args[:4] == ["python", "-m", "charprobe.tracking", str(job)], command
    before = offline_runs(job)
    proc = subprocess.run(
        [sys.executable, *args[1:], "--mode", "offline"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=2 * BOUND_S,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    new = offline_runs(job) - before
    assert len(new) == 1
    got = summary_of(new.pop())
    assert got["state"] == "finished" and got["exit_code"] == 0 and got["name"] == RUN


def report(capsys: pytest.CaptureFixture, case: str, seconds: float) -> None:
    with capsys.disabled():
        print(f"\nW&B failure, {case}: logging attempt took {seconds:.1f}s")


# --------------------------------------------------------------------------- online


@pytest.mark.parametrize(
    "case",
    [
        "malformed-key",
        "rejected-key",
        pytest.param("closed-port", marks=pytest.mark.slow),
        pytest.param("silent-server", marks=pytest.mark.slow),
    ],
)
def test_online_failure_is_one_line_and_costs_nothing(job: Path, case: str, capsys) -> None:
    before = _snapshot(job)
    with wandb_failing(case) as env:
        proc, seconds = relog(job, "--mode", "online", env=_env(**env))
    report(capsys, f"{case} (online)", seconds)

    assert proc.returncode == 1, proc.stderr
    m = failure_line(the_line(proc.stderr))
    expected = {
        "malformed-key": "AuthenticationError: WANDB_API_KEY invalid: API key must have 40+",
        "rejected-key": "CommError: user is not logged in",
        "closed-port": "connection refused",
        "silent-server": "Timed out",
    }[case]
    assert expected in m["reason"]
    assert "Consider increasing" not in m["reason"]  # wandb's advice is code, not ours
    assert _snapshot(job) == before
    assert seconds < BOUND_S
    assert not offline_runs(job)  # online meant online: no silent offline run
    retry_works(m["retry"], job)
    assert _snapshot(job) == before


@pytest.mark.parametrize(
    "case", ["rejected-key", pytest.param("closed-port", marks=pytest.mark.slow)]
)
def test_auto_mode_logs_offline_instead_with_one_line(job: Path, case: str, capsys) -> None:
    """auto: nothing is lost (the run is logged offline), so the line is the offline one."""
    before = _snapshot(job)
    with wandb_failing(case) as env:
        proc, seconds = relog(job, "--mode", "auto", env=_env(**env))
    report(capsys, f"{case} (auto)", seconds)

    assert proc.returncode == 0, proc.stderr
    m = OFFLINE.fullmatch(the_line(proc.stderr))
    assert m, proc.stderr
    assert _snapshot(job) == before
    assert seconds < BOUND_S
    (run,) = offline_runs(job)
    got = summary_of(run)
    assert got["state"] == "finished" and got["name"] == RUN
    assert got["summary"]["macro_f1"] == json.loads((job / "metrics.json").read_text())["macro_f1"]
    # The upload command runs (dry: no server here) and finds exactly that run.
    sync = subprocess.run(
        f"{shlex.quote(sys.executable)} -m wandb sync --dry-run {m['paths']}",
        shell=True,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sync.returncode == 0, sync.stderr
    run_id = run.name.rsplit("-", 1)[1]
    assert "Would sync 1 run(s)" in sync.stderr and f"run-{run_id}.wandb" in sync.stderr


# --------------------------------------------------------------------------- midway


def _raise(exc: BaseException):
    def boom(*args, **kwargs):
        raise exc

    return boom


@pytest.mark.parametrize("where", ["run.log", "Artifact.add_file", "run.finish"])
def test_wandb_raising_midway_is_one_line(job: Path, where: str, capsys) -> None:
    """In-process: W&B raises while the run is filled, or when it finishes (as
    `finish_timeout_raises` does: the run is finished, then TimeoutError)."""
    import wandb

    before = _snapshot(job)
    cfg = tracking.job_config(job, "offline")  # what the CLI logs a job with
    with pytest.MonkeyPatch.context() as mp:  # W&B works again after the block
        if where == "run.log":
            mp.setattr(wandb.Run, "log", _raise(RuntimeError("injected: log")))
        elif where == "Artifact.add_file":
            mp.setattr(wandb.Artifact, "add_file", _raise(OSError(28, "No space left on device")))
        else:
            real_finish = wandb.Run.finish

            def finish(self, *args, **kwargs):
                real_finish(self, *args, **kwargs)
                raise TimeoutError("Timed out finishing run.")

            mp.setattr(wandb.Run, "finish", finish)
        t0 = time.perf_counter()
        assert tracking.log_job(cfg, job, tracking.sweep_id_of(job)) is None
        seconds = time.perf_counter() - t0

    m = failure_line(the_line(capsys.readouterr().err))
    report(capsys, f"{where} raising midway (in-process)", seconds)
    expected = {
        "run.log": "RuntimeError: injected: log",
        "Artifact.add_file": "OSError: [Errno 28] No space left on device",
        "run.finish": "TimeoutError: Timed out finishing run.",
    }[where]
    assert m["reason"] == expected
    assert _snapshot(job) == before
    assert seconds < BOUND_S
    (failed,) = offline_runs(job)
    # Finished either way, so the next run of the process starts afresh.
    assert summary_of(failed)["exit_code"] == (0 if where == "run.finish" else 1)
    retry_works(m["retry"], job)


SHIM = """\
import wandb

def _refused(*args, **kwargs):
    raise wandb.errors.CommError("injected: artifact refused")

wandb.Run.log_artifact = _refused
"""


def test_wandb_raising_midway_through_the_cli(job: Path, tmp_path: Path, capsys) -> None:
    """The CLI, with W&B patched (sitecustomize) to raise its own error on the artifact."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SHIM)
    before = _snapshot(job)
    env = _env(PYTHONPATH=f"{shim}{os.pathsep}{REPO}")
    proc, seconds = relog(job, "--mode", "offline", env=env)
    report(capsys, "log_artifact raising midway (CLI)", seconds)

    assert proc.returncode == 1
    m = failure_line(the_line(proc.stderr))
    assert m["reason"] == "CommError: injected: artifact refused"
    assert _snapshot(job) == before and seconds < BOUND_S
    retry_works(m["retry"], job)  # without the shim: W&B works again


# --------------------------------------------------------------------------- end to end

# Wraps log_job in the job's own process: the job's files just before W&B, and its time.
WATCH = """\
import hashlib, json, os, time
from pathlib import Path
import charprobe.tracking as tracking

_real = tracking.log_job

def log_job(cfg, job_dir, sweep_id):
    job_dir = Path(job_dir)
    files = {
        str(p.relative_to(job_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(job_dir.rglob("*"))
        if p.is_file() and "wandb" not in p.parts
    }
    t0 = time.perf_counter()
    try:
        return _real(cfg, job_dir, sweep_id)
    finally:
        out = {"files": files, "seconds": time.perf_counter() - t0}
        Path(os.environ["WATCH_OUT"]).write_text(json.dumps(out))

tracking.log_job = log_job
"""


@pytest.mark.slow
def test_a_job_with_wandb_unreachable_succeeds_with_one_line(
    tiny_hub, tfidf_dir, tmp_path: Path, capsys
) -> None:
    """`python -m charprobe ... logger.mode=online` against a closed port: the job succeeds,
    its files are what it wrote before W&B was tried, and W&B gives up in bounded time."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(WATCH)
    watch = tmp_path / "watch.json"
    env = _env(
        PYTHONPATH=f"{shim}{os.pathsep}{REPO}",
        WATCH_OUT=str(watch),
        WANDB_API_KEY=KEY,
        WANDB_BASE_URL=closed_port(),
        HYDRA_FULL_ERROR="0",
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "charprobe",
            *_job_args(tiny_hub, tfidf_dir),
            "logger=wandb",
            "logger.mode=online",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300 + 2 * BOUND_S,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    job = tmp_path / "job"
    watched = json.loads(watch.read_text())
    report(capsys, "closed port (a whole job, online)", watched["seconds"])

    # stderr also carries the model loader's progress bars; of ours, exactly one line.
    lines = proc.stderr.splitlines()
    ours = [ln for ln in lines if ln.startswith("charprobe")]
    about_wandb = [ln for ln in lines if re.search("wandb|W&B", ln, re.I)]
    assert len(ours) == 1 and about_wandb == ours, proc.stderr
    m = failure_line(ours[0])
    assert "connection refused" in m["reason"]
    assert _snapshot(job) == watched["files"]
    assert set(JOB_FILES) <= set(watched["files"])
    assert watched["seconds"] < BOUND_S
    assert json.loads((job / "run.json").read_text())["status"] == "done"
    retry_works(m["retry"], job)
