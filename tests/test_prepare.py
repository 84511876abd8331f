"""The shared work before a sweep's jobs: the grid it reads is the one the sweeper runs,
and each scorer the jobs share is one target, trained once (tests/test_launch.py runs it
for real under hydra/launcher=local)."""

from __future__ import annotations

from hydra import compose, initialize_config_dir

from charprobe.config import CONF_DIR
from charprobe.prepare import job_configs, shared_targets


def _multirun(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=list(overrides), return_hydra_config=True)
        return cfg, list(job_configs(cfg)), shared_targets(cfg)


def test_job_configs_are_the_sweepers_grid_with_the_command_line(tmp_path):
    # No weights (engine=scripted) and a real base's name: nothing is built to compose.
    cfg, jobs, targets = _multirun(
        "experiment=demo", "model=llama", "engine=scripted", "scorer=tfidf",
        f"scorer.path={tmp_path / 'tfidf'}", "scaffold.items=3",
    )  # fmt: skip
    grid = [(j.stage.name, j.scaffold.name) for j in jobs]
    # The demo's own order: within each stage the longest job (agentic) first.
    assert grid == [
        (s, c)
        for s in ("base", "distillation", "full")
        for c in ("agentic_email", "chat_email", "chat")
    ]
    # The command line reaches every job, as the launcher composes it; no hydra node.
    assert {j.scaffold["items"] for j in jobs} == {3} and all("hydra" not in j for j in jobs)
    assert {j.model.name for j in jobs} == {"llama"}
    # Nine jobs, one classifier to train, and its first job's config to train it with.
    assert [(t, c.stage.name, c.scaffold.name) for t, c in targets] == [
        (tmp_path / "tfidf", "base", "agentic_email")
    ]


def test_nothing_to_train_when_the_scorer_exists_or_is_not_trained(tmp_path):
    (tmp_path / "tfidf").mkdir()
    _, _, found = _multirun(
        "model=llama", "engine=scripted", "scorer=tfidf", f"scorer.path={tmp_path / 'tfidf'}"
    )
    assert found == []
    _, jobs, found = _multirun("model=llama", "engine=scripted", "scorer=none")
    assert len(jobs) == 3 and found == []


def test_a_job_with_bad_input_is_left_to_fail_in_its_own_words(tmp_path):
    # An unknown persona: check_inputs raises for every job; nothing is trained here.
    _, jobs, found = _multirun(
        "model=llama", "engine=scripted", "scorer=tfidf", f"scorer.path={tmp_path / 't'}",
        "persona.personas=[sarcasm,nosuchpersona]",
    )  # fmt: skip
    assert len(jobs) == 3 and found == []


def _callback_calls(monkeypatch, tmp_path, *overrides: str) -> tuple[int, list[tuple]]:
    """SharedWork as conf/config.yaml instantiates it, run on a multirun's config with
    the training recorded, not done: (its jobs, the calls)."""
    from hydra.utils import instantiate

    import charprobe.train_scorer as train_scorer

    calls: list[tuple] = []
    monkeypatch.setattr(
        train_scorer, "train_if_missing", lambda cfg, jobs=1: calls.append((cfg.stage.name, jobs))
    )
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=["model=llama", "engine=scripted", "scorer=tfidf",
                       f"scorer.path={tmp_path / 'tfidf'}", *overrides],
            return_hydra_config=True,
        )  # fmt: skip
        callback = instantiate(cfg.hydra.callbacks.shared_work)
        callback.on_multirun_start(config=cfg)
    return callback.jobs, calls


def test_the_callback_trains_once_with_the_launchers_parallelism(monkeypatch, tmp_path):
    assert _callback_calls(monkeypatch, tmp_path) == (1, [("base", 1)])
    # hydra/launcher=local runs one job per core: the training replies too (-1).
    assert _callback_calls(monkeypatch, tmp_path, "hydra/launcher=local") == (-1, [("base", -1)])


def test_under_slurm_nothing_is_trained_on_the_submitting_machine(monkeypatch, tmp_path):
    import importlib.util

    from tests.conftest import require

    plugin = importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is not None
    require(plugin, "hydra-submitit-launcher is not installed (pip install -e .[dev])")
    assert _callback_calls(monkeypatch, tmp_path, "hydra/launcher=slurm_gpu")[1] == []
