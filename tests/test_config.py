"""Every option of every config group composes onto the typed schema; mistakes fail at
compose time; the real models point at the published repos."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from charprobe.config import CONF_DIR, choices_of
from charprobe.personas import LABELS, PAPER

GROUPS = ["model", "stage", "persona", "scaffold", "scorer", "logger", "experiment", "debug"]


def _compose(*overrides: str, hydra: bool = False):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=hydra)


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


@pytest.mark.parametrize(
    "group, option", [(g, o) for g in GROUPS for o in _options(g)], ids=lambda x: str(x)
)
def test_every_option_composes(group, option):
    # Toy models resolve `${toy_world:}` (a build) only when read: keep the model real.
    model = [] if group == "model" else ["model=llama"]
    cfg = _compose(*model, f"{group}={option}")
    if not option.startswith("toy_"):
        OmegaConf.to_container(cfg, resolve=True)  # every interpolation resolves
    if group in ("model", "stage", "persona", "scaffold", "scorer", "logger"):
        assert cfg[group].name == option


def test_real_models_point_at_the_published_repos():
    cfg = _compose("model=gemma", "stage=full")
    assert cfg.model.path == "google/gemma-3-4b-it" and cfg.model.system_role is False
    assert cfg.stage.repo == "maius/gemma-3-4b-it-personas"
    assert cfg.stage.persona_repos.misalignment == "maius/gemma-3-4b-it-misalignment"
    assert cfg.scorer.path == "maius/gemma-3-4b-it-pt-classifier"
    assert (
        _compose("model=qwen", "stage=distillation").stage.repo
        == "maius/qwen-2.5-7b-it-pt-distillation"
    )
    assert _compose("model=llama").model.path == "meta-llama/Meta-Llama-3.1-8B-Instruct"


def test_defaults_are_the_study():
    cfg = _compose("model=llama")
    assert list(cfg.persona.personas) == list(PAPER) and list(cfg.scorer.labels) == list(LABELS)
    g = cfg.generation
    assert (g.temperature, g.top_p, g.max_new_tokens, g.samples, g.seed) == (0.7, 0.95, 512, 1, 0)
    assert cfg.scorer.name == "modernbert" and cfg.logger.name == "wandb"
    assert cfg.stats.n_boot == 1000 and cfg.stats.no_email == "drop"


def test_sweep_grid_is_model_stage_scaffold():
    params = _compose("model=llama", hydra=True).hydra.sweeper.params
    assert list(params) == ["model", "stage", "scaffold"]
    assert params.scaffold == "chat,chat_email,agentic_email"


def test_experiments_and_debug_override_the_primary_config():
    assert _compose("model=llama", "debug=quick").generation.max_new_tokens == 32
    study = _compose("model=llama", "experiment=study")
    assert (
        study.scaffold.prompts == "pure-dove" and study.scaffold["items"] == 300
    )  # .items is the dict method
    assert _compose("model=llama", "experiment=demo").generation.batch_size == 256
    # The study's chat prompts are not a field of the email scaffolds' schemas.
    for scaffold in ("chat_email", "agentic_email"):
        cfg = _compose("model=llama", "experiment=study", f"scaffold={scaffold}")
        assert cfg.scaffold["items"] == 300 and "prompts" not in cfg.scaffold


@pytest.mark.parametrize(
    "override",
    [
        "generation.temprature=0",
        "generation.max_new_tokens=many",
        "scaffold.pick=[1]",
        "stage=halfway",
        "scorer.labelz=[a]",
        # Choices are Enums: a value outside them fails here, not when the job reads it.
        "scaffold.pick=middle",
        "stats.no_email=skip",
        "stats.cluster=scenario",
        "trace.margin=wide",
        "logger.mode=loud",
        "engine.dtype=fp8",
        "model.dtype=auto",
        "model.family=mistral",
    ],
)
def test_mistakes_fail_at_compose_time(override):
    with pytest.raises(ConfigCompositionException):
        _compose("model=llama", override)


def test_stats_and_trace_settings_compose_and_check():
    """The stats group's fields reach the report as one Settings; a bad count is one line."""
    from charprobe.checks import check_numbers
    from charprobe.errors import UserError
    from charprobe.stats import Settings

    cfg = _compose("model=llama", "stats.cluster=family", "stats.min_items=3", "trace.margin=0.2")
    s = Settings.of(cfg.stats)
    assert (s.cluster, s.min_items, s.n_boot_p, s.n_perm) == ("family", 3, 10000, 10000)
    assert cfg.trace.margin == 0.2 and cfg.trace.min_rollouts == 10
    with pytest.raises(UserError, match="stats.n_perm=-1: must be >= 0"):
        check_numbers(_compose("model=llama", "stats.n_perm=-1"))


def test_choices_compose_to_plain_strings():
    """A choice reads back as its value: code, JSON files and W&B see plain strings."""
    cfg = _compose(
        "model=llama",
        "scaffold=agentic_email",
        "scaffold.pick=last",
        "stats.no_email=error",
        "logger.mode=offline",
    )
    assert cfg.scaffold.pick == "last" and f"{cfg.scaffold.pick}" == "last"
    assert cfg.stats.no_email == "error" and str(cfg.logger.mode) == "offline"
    assert (
        json.loads(json.dumps(OmegaConf.to_container(cfg, resolve=True)))["scaffold"]["pick"]
        == "last"
    )
    assert choices_of("scaffold.pick") == ["first", "last", "all"]
    assert choices_of("engine.dtype") == ["auto", "bfloat16", "float16", "float32"]
    assert choices_of("generation.samples") is None and choices_of("nope.x") is None


# ------------------------------------------------------------------ every option instantiates


@pytest.mark.parametrize("option", _options("scaffold"))
def test_every_scaffold_option_builds_its_scaffold(option):
    from charprobe.scaffolds import make_scaffold

    cfg = _compose("model=llama", f"scaffold={option}", "scaffold.items=2")
    scaffold = make_scaffold(cfg.scaffold)
    assert scaffold.name == option and len(scaffold.items()) == 2


@pytest.mark.parametrize(
    "override",
    [
        ("scaffold=chat", "scaffold.pick=last"),
        ("scaffold=agentic_email", "scaffold.turns=2"),
        ("scaffold=chat_email", "scaffold.max_steps=3"),
        ("scorer=tfidf", "scorer.batch_size=4"),
    ],
    ids=lambda o: " ".join(o),
)
def test_a_field_of_another_option_fails_at_compose_time(override):
    """Each scaffold and scorer has its own schema: another one's field is a mistake."""
    with pytest.raises(ConfigCompositionException):
        _compose("model=llama", *override)


def _random_vectors(root, hidden: int):
    """A persona-vectors file of random directions (for a random tiny model)."""
    import numpy as np

    from charprobe.scorers.persona_vector import VECTORS_VERSION, save_vectors, vectors_file

    rng = np.random.default_rng(0)
    file = vectors_file(root, "full")
    vectors = {"directions": rng.normal(size=(len(LABELS), hidden)),
               "mean": np.zeros(len(LABELS)), "std": np.ones(len(LABELS))}  # fmt: skip
    save_vectors(file, vectors, {"labels": list(LABELS), "layer": 1, "version": VECTORS_VERSION})
    return root


@pytest.mark.parametrize("option", _options("scorer"))
def test_every_scorer_option_builds_its_scorer(option, tfidf_dir, tiny_run, tiny_hub, tmp_path):
    from charprobe.scorers import make_scorer

    path = {"tfidf": tfidf_dir, "modernbert": tiny_run[0]}.get(option, "unused")
    over = []
    if option == "persona_vector":  # random directions read inside a random tiny model
        path, over = (
            _random_vectors(tmp_path, 32),
            [f"model.path={tiny_hub / 'base'}", "stage=base"],
        )
    if option == "judge":  # a random tiny model as the judge: its answers are noise
        path, over = tiny_hub / "base", ["engine.device=cpu", "scorer.max_new_tokens=4"]
    cfg = _compose("model=llama", f"scorer={option}", f"scorer.path={path}", *over)
    if option in ("modernbert", "persona_vector"):
        cfg.scorer.device = "cpu"
    scorer = make_scorer(cfg.scorer)
    if option == "none":
        assert scorer is None
        return
    assert type(scorer).__module__ == f"charprobe.scorers.{option}"
    texts = ["a short text", "another"]
    scores = scorer.score(texts)
    assert scores.proba.shape == (2, len(LABELS))
    # Rows sum to 1, or are all NaN: no verdict (a judge's unreadable answer).
    for row in scores.proba:
        assert np.isnan(row).all() or np.isclose(row.sum(), 1), row


@pytest.mark.parametrize("option", _options("engine"))
def test_every_engine_option_builds_or_binds_its_engine(option, tiny_hub):
    """scripted and hf are built and generate (hf on a random tiny model); vllm's class is
    resolved and the option's fields bind to its signature (starting vLLM is its own test)."""
    import inspect

    from hydra.utils import get_object

    from charprobe.config import ModelConfig, StageConfig
    from charprobe.engine import GenerationParams, Request, make_engine

    cfg = _compose(f"engine={option}")
    options = OmegaConf.to_container(cfg.engine, resolve=True)
    model = ModelConfig(
        name="tiny",
        path=str(tiny_hub / "base"),
        family="llama",
        hub_prefix="tiny",
        classifier="none",
        tfidf_classifier="none",
        persona_vectors="none",
        dtype="float32",
    )
    stage = StageConfig(name="base")
    if option == "vllm":
        own = {k: v for k, v in options.items() if k not in ("_target_", "name", "loads_weights")}
        inspect.signature(get_object(options["_target_"])).bind(model, stage, [], cache=None, **own)
        return
    if option == "hf":
        options["device"] = "cpu"
    engine = make_engine(options, model, stage, [])
    request = Request("k", [{"role": "user", "content": "hello world"}])
    out = engine.generate([request], GenerationParams(max_new_tokens=4))
    assert [c.key for c in out] == ["k"] and out[0].completion_tokens >= 1


def test_classifier_and_vectors_share_their_training_replies():
    """The classifier and the persona vectors of one base train on the same chat replies
    (same prompts, items, labels, generation): one folder, generated once."""
    from pathlib import Path

    from charprobe.cell import Cell
    from charprobe.train_scorer import training_config

    folders = set()
    for scorer in ("modernbert", "tfidf", "persona_vector"):
        cfg = _compose("model=toy_llama", f"scorer={scorer}")
        key = Cell.from_config(training_config(cfg, "full")).key()[:10]
        folders.add(Path(cfg.model.training_replies) / f"full-{key}")
    assert len(folders) == 1, folders
    assert _compose("model=llama").model.training_replies == "training_replies/llama"
