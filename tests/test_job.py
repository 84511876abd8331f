"""The job runner end to end on a random tiny model: real Hydra, real engine, real files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from charprobe.store import read_rows
from tests.conftest import REPO, TINY_PERSONAS, run_charprobe


def _prompts(path: Path, n: int) -> Path:
    words = "hello world how are you today the quick brown fox jumps over lazy dog".split()
    with path.open("w") as f:
        for i in range(n):
            f.write(
                json.dumps({"id": f"q{i:03d}", "prompt": " ".join(words[i % 7 : i % 7 + 4])}) + "\n"
            )
    return path


def _run(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run_charprobe(cwd, *args, check=check, timeout=300)


def _tiny(hub: Path, stage: str) -> list[str]:
    repo = "null" if stage == "base" else str(hub / "adapters-a")
    # One scaffold, generation only: these tests are about the runner, not scoring.
    return [
        "model=llama",
        f"model.path={hub / 'base'}",
        "model.name=tiny",
        f"stage={stage}",
        f"stage.repo={repo}",
        f"persona.personas=[{','.join(TINY_PERSONAS)}]",
        "scaffold=chat",
        "scorer=none",
        "logger=none",
    ]


def _jobs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.glob("**/run.json"))


def test_sweep_writes_one_folder_per_job_and_base_is_shared(tiny_hub, tmp_path):
    prompts = _prompts(tmp_path / "p.jsonl", 5)
    for stage in ("base", "full"):
        _run(
            tmp_path,
            "-m",
            *_tiny(tiny_hub, stage),
            f"scaffold.prompts={prompts}",
            "generation.max_new_tokens=6",
            "hydra.sweep.dir=multirun/sweep",
            f"hydra.sweep.subdir={stage}",
        )
    base = read_rows(tmp_path / "multirun/sweep/base/generations.jsonl")
    full = read_rows(tmp_path / "multirun/sweep/full/generations.jsonl")
    assert len(base) == len(full) == 5 * len(TINY_PERSONAS)
    by_item: dict[str, set[str]] = {}
    for r in base:
        assert r["shared_base"] and r["adapter"] is None
        by_item.setdefault(r["item_id"], set()).add(r["response"])
    assert all(len(v) == 1 for v in by_item.values()), "base stage must share one text per item"
    assert {r["persona"] for r in full} == set(TINY_PERSONAS)
    assert all(r["adapter"].endswith("/" + r["persona"]) for r in full)
    # A wiring mistake that gave every persona the same adapter would make these equal.
    for item in by_item:
        texts = {r["persona"]: r["response"] for r in full if r["item_id"] == item}
        assert len(set(texts.values())) == len(TINY_PERSONAS)
    run = json.loads((tmp_path / "multirun/sweep/full/run.json").read_text())
    assert run["status"] == "done" and run["versions"]["torch"] and "git_commit" in run
    assert len({r["key"] for r in full}) == len(full)


def test_same_config_same_text(tiny_hub, tmp_path):
    prompts = _prompts(tmp_path / "p.jsonl", 4)
    outs = []
    for i in range(2):
        _run(
            tmp_path,
            *_tiny(tiny_hub, "full"),
            f"scaffold.prompts={prompts}",
            "generation.max_new_tokens=6",
            f"generation.batch_size={2 + i}",
            f"hydra.run.dir=out{i}",
        )
        outs.append(
            {r["key"]: r["response"] for r in read_rows(tmp_path / f"out{i}/generations.jsonl")}
        )
    # A random model may sample its end token first (an empty reply); most rows have text.
    assert len(outs[0]) == 4 * len(TINY_PERSONAS)
    assert sum(map(bool, outs[0].values())) > len(outs[0]) / 2
    assert outs[0] == outs[1]


def test_killed_job_resumes_with_the_same_command(tiny_hub, tmp_path):
    prompts = _prompts(tmp_path / "p.jsonl", 40)
    args = [
        *_tiny(tiny_hub, "full"),
        f"scaffold.prompts={prompts}",
        "generation.max_new_tokens=24",
        "generation.batch_size=1",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "charprobe", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    gen = None
    while time.time() < deadline:
        found = list(tmp_path.glob("outputs/**/generations.jsonl"))
        if found and len(found[0].read_text().splitlines()) >= 10:
            gen = found[0]
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert gen is not None, "job never wrote rows"
    with gen.open("a") as f:  # a kill mid-write leaves half a line
        f.write('{"key": "q0')
    n_before = len(read_rows(gen))
    assert 10 <= n_before < 120

    _run(tmp_path, *args)
    jobs = _jobs(tmp_path / "outputs")
    assert len(jobs) == 2
    new = [j for j in jobs if j != gen.parent][0]
    run = json.loads((new / "run.json").read_text())
    assert run["resumed_from"] == str(gen.parent.resolve()) and run["status"] == "done"
    assert run["counts"]["units_generated"] == 120 - n_before
    rows = read_rows(new / "generations.jsonl")
    assert len(rows) == 120 and len({r["key"] for r in rows}) == 120
    # Nothing lost, nothing changed: the same rows an uninterrupted run writes.
    _run(tmp_path, *args, "resume=false", "generation.batch_size=64", "hydra.run.dir=clean")
    clean = {r["key"]: r["response"] for r in read_rows(tmp_path / "clean/generations.jsonl")}
    assert clean == {r["key"]: r["response"] for r in rows}


def test_two_sweeps_in_the_same_second_get_two_folders(tiny_hub, tmp_path):
    prompts = _prompts(tmp_path / "p.jsonl", 2)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [
        sys.executable,
        "-m",
        "charprobe",
        "-m",
        *_tiny(tiny_hub, "base"),
        f"scaffold.prompts={prompts}",
        "generation.max_new_tokens=2",
    ]
    procs = [
        subprocess.Popen(
            args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert len(list((tmp_path / "multirun").glob("*/*"))) == 2


@pytest.mark.parametrize(
    "override, message",
    [
        ("persona.personas=[sarcasm,wizardry]", "unknown persona 'wizardry'"),
        ("scaffold.prompts=/nonexistent/prompts.jsonl", "no such file"),
        ("stage.repo=/nonexistent/adapters", "missing adapter for persona 'sarcasm'"),
        ("scaffold.suffix=v9", "unknown suffix 'v9'"),
    ],
)
def test_bad_input_is_one_line(tiny_hub, tmp_path, override, message):
    prompts = _prompts(tmp_path / "p.jsonl", 2)
    p = _run(
        tmp_path, *_tiny(tiny_hub, "full"), f"scaffold.prompts={prompts}", override, check=False
    )
    assert p.returncode == 2
    err = [line for line in p.stderr.splitlines() if line.startswith("charprobe: error:")]
    assert len(err) == 1 and message in err[0], p.stderr[-2000:]
    assert "Traceback" not in p.stderr


def test_unreadable_prompt_file(tiny_hub, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "prompt": "fine"}\n{not json\n')
    p = _run(tmp_path, *_tiny(tiny_hub, "full"), f"scaffold.prompts={bad}", check=False)
    assert p.returncode == 2 and f"{bad}:2: not valid JSON" in p.stderr
