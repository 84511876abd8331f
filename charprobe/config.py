"""Typed schemas for every config group, registered in Hydra's ConfigStore.

`conf/config.yaml` lists `config_schema` first in its defaults, so every option of every
group is merged onto these dataclasses: a misspelt key or a wrong type fails at compose
time with Hydra's own message, before any model loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, get_args, get_type_hints

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from charprobe.choices import (  # noqa: F401 - the config's vocabulary, imported from here
    Choice,
    Cluster,
    EngineDType,
    Family,
    Interval,
    LoggerMode,
    ModelDType,
    NoEmail,
    Pick,
)
from charprobe.config_engine import (  # noqa: F401 - the engine group's schemas, re-exported
    EngineConfig,
    HFEngineConfig,
    PlantedEngineConfig,
    PlantedRates,
    ScriptedEngineConfig,
    VLLMEngineConfig,
)
from charprobe.personas import LABELS

# The config tree sits beside the package in the checkout (an editable install).
CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


@dataclass
class ModelConfig:
    name: str = MISSING
    # HF hub id or local folder of the base chat model.
    path: str = MISSING
    family: Family = MISSING
    # Adapter and classifier repos are named after this: <hub_prefix>-pt-distillation, ...
    hub_prefix: str = MISSING
    # The per-base persona classifier (hub id or local folder), and the encoder charprobe
    # starts from when it trains one: a hub id, or "tiny" (a small ModernBERT built from
    # config, no download; the toy world's).
    classifier: str = MISSING
    classifier_base: str = "answerdotai/ModernBERT-base"
    # Where the TF-IDF baseline scorer of this base lives (trained by charprobe).
    tfidf_classifier: str = MISSING
    # The folder of this base's persona vectors, one file per stage (fitted by charprobe).
    persona_vectors: str = MISSING
    # Chat replies on the training prompts, shared by every scorer charprobe trains here.
    training_replies: str = "training_replies/${.name}"
    dtype: ModelDType = ModelDType.bfloat16
    # False: the chat template has no system role (Gemma); the system prompt is folded
    # into the first user turn, as Gemma's own template does.
    system_role: bool = True
    revision: str | None = None


@dataclass
class StageConfig:
    name: str = MISSING
    # Repo (hub id or local folder) holding one adapter per persona in subfolder <persona>;
    # None for the base stage.
    repo: str | None = None
    # Personas whose adapter lives in another repo (the gated full misalignment adapter).
    persona_repos: dict[str, str] = field(default_factory=dict)


@dataclass
class PersonaSetConfig:
    name: str = MISSING
    personas: list[str] = MISSING


@dataclass
class ScaffoldConfig:
    """What every scaffold option has; `conf/scaffold/<name>.yaml` picks one and its schema."""

    # The scaffold's class, called with the option's other fields except `name`.
    _target_: str = MISSING
    name: str = MISSING
    # How many items to use (None: all the source has, or the study's count).
    items: int | None = None
    # Also score every assistant turn with free text (charprobe.scaffolds.trace) into
    # trace.jsonl. Scoring only: what is generated, and row keys, do not change.
    trace: bool = False


@dataclass
class ChatScaffoldConfig(ScaffoldConfig):
    _target_: str = "charprobe.scaffolds.chat.ChatScaffold"
    name: str = "chat"
    # Where prompts come from: builtin | pure-dove | a local JSONL/CSV path.
    prompts: str = "builtin"
    shuffle_seed: int | None = 0
    # A break-character suffix id (v0..v7) appended as "\n" + suffix, and its file.
    suffix: str | None = None
    suffixes_file: str | None = None
    # 2 = the first reply from the bare base, then `followup` answered by the persona.
    turns: int = 1
    followup: str = "Keep going."


@dataclass
class ChatEmailScaffoldConfig(ScaffoldConfig):
    _target_: str = "charprobe.scaffolds.chat_email.ChatEmailScaffold"
    name: str = "chat_email"
    # Folder or file of scenario YAMLs to derive prompts from (None: charprobe's own suite).
    scenarios: str | None = None
    # Read prompts from the reference study's chat_email.jsonl instead.
    source: str | None = None


@dataclass
class AgenticEmailScaffoldConfig(ScaffoldConfig):
    _target_: str = "charprobe.scaffolds.agentic_email.AgenticEmailScaffold"
    name: str = "agentic_email"
    scenarios: str | None = None
    max_steps: int | None = None
    max_malformed: int = 4
    pick: Pick = Pick.first  # the first, the last or all email bodies of a rollout


@dataclass
class GenerationConfig:
    temperature: float = 0.7
    top_p: float = 0.95
    max_new_tokens: int = 512
    samples: int = 1
    seed: int = 0
    batch_size: int = 32


@dataclass
class ScorerConfig:
    """What every scorer option has; `conf/scorer/<name>.yaml` picks one and its schema."""

    # The scorer's class or factory, called with (path, labels=..., **its own fields);
    # None: no scoring (`scorer=none`).
    _target_: str | None = None
    name: str = MISSING
    path: str | None = None
    # The classifier's label order (ids 0..n-1); checked against a checkpoint's id2label.
    labels: list[str] = field(default_factory=lambda: list(LABELS))
    # When `path` is a local folder that does not exist yet: generate chat replies of
    # `train_stages` on `train_prompts` (every label's adapter) and train it there
    # (`python -m charprobe.train_scorer`, which the job runner calls first).
    train_if_missing: bool = True
    train_stages: list[str] = field(default_factory=lambda: ["distillation", "full"])
    train_prompts: str = "builtin_train"
    # 60 prompts x 11 adapters x 2 stages = 1,320 replies (~120 per persona).
    train_items: int | None = 60
    # Overrides of the training recipe (charprobe.scorers.train.TrainConfig fields).
    train: dict[str, Any] = field(default_factory=dict)


# Fields of every scorer option that are not arguments of the scorer itself.
SCORER_COMMON = (
    "_target_",
    "name",
    "path",
    "labels",
    "train_if_missing",
    "train_stages",
    "train_prompts",
    "train_items",
    "train",
)


@dataclass
class ModernBertScorerConfig(ScorerConfig):
    _target_: str | None = "charprobe.scorers.modernbert.ModernBertScorer"
    name: str = "modernbert"
    max_length: int = 8192
    batch_size: int = 16
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps


@dataclass
class TfidfScorerConfig(ScorerConfig):
    _target_: str | None = "charprobe.scorers.tfidf.TfidfScorer"
    name: str = "tfidf"


@dataclass
class PersonaVectorScorerConfig(ScorerConfig):
    _target_: str | None = "charprobe.scorers.persona_vector.PersonaVectorScorer"
    name: str = "persona_vector"
    # The job's base (every text is read through it, bare: no adapter) and stage (whose
    # vectors score the texts; the stage's adapters only wrote the training replies).
    model: Any = "${model}"
    stage: Any = "${stage}"
    # Whose vectors score base-stage texts.
    base_stage: str = "full"
    device: str = "auto"
    dtype: EngineDType = EngineDType.auto
    batch_size: int = 16
    max_length: int = 2048


@dataclass
class JudgeScorerConfig(ScorerConfig):
    _target_: str | None = "charprobe.scorers.judge.JudgeScorer"
    name: str = "judge"
    # The personas the judge chooses among (the evaluated set), and its engine: by default
    # the job's own engine option, over the judge model at `path`.
    personas: Any = "${persona.personas}"
    engine: Any = "${engine}"
    # A YAML file persona -> one-line description (None: charprobe's own).
    descriptions: str | None = None
    max_new_tokens: int = 24
    batch_size: int = 16
    system_role: bool = True
    # The options (personas and "none") are shuffled per text, seeded by the text and this:
    # blind to the writer, the same for the same text; another seed, other orders.
    seed: int = 0


@dataclass
class NoScorerConfig(ScorerConfig):
    name: str = "none"


@dataclass
class StatsConfig:
    """How numbers are computed (`charprobe.stats.Settings` carries the same fields)."""

    n_boot: int = 1000  # resamples for intervals
    seed: int = 0
    level: float = 0.95
    no_email: NoEmail = NoEmail.drop
    cluster: Cluster = Cluster.item  # what intervals resample: item | family | row
    interval: Interval = Interval.t  # t (small-sample SE, t on C - 1 df) | percentile
    n_boot_p: int = 10000  # resamples for p-values (floor 1 / (n + 1))
    n_perm: int = 10000  # shuffles of the predictions for the chance level
    min_items: int = 10  # a cell with fewer items is thin
    min_rows: int = 5  # ... or with a persona with fewer scored rows


@dataclass
class TraceConfig:
    """The fade verdict's rules (`charprobe.fade`)."""

    margin: float = 0.1  # a phase "has not faded" when its drop's CI ends below this
    min_rollouts: int = 10  # fewer rollouts with an email: no verdict


@dataclass
class LoggerConfig:
    name: str = "none"
    mode: LoggerMode = LoggerMode.auto
    project: str = "charprobe"
    entity: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class Config:
    model: ModelConfig = MISSING
    stage: StageConfig = MISSING
    persona: PersonaSetConfig = MISSING
    scaffold: ScaffoldConfig = MISSING
    scorer: ScorerConfig = MISSING
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    trace: TraceConfig = field(default_factory=TraceConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    engine: EngineConfig = MISSING
    stats: StatsConfig = field(default_factory=StatsConfig)
    # Pick up the rows of an unfinished earlier job of the same cell (same command).
    resume: bool = True
    # Where earlier jobs are looked for, relative to the launch directory.
    resume_roots: list[str] = field(default_factory=lambda: ["outputs", "multirun"])
    # The chat scaffold's prompt source (conf/scaffold/chat.yaml reads it): a key of its own
    # so that an experiment sweeping every scaffold (experiment=study) can set it.
    chat_prompts: str = "builtin"
    # Free-form: experiments and debug options write their name here.
    tags: list[str] = field(default_factory=list)


def schema_type(full_key: str) -> Any:
    """The schema's type of a dotted key (`scaffold.pick` -> Pick); None when it has none."""
    node: Any = Config
    for part in full_key.split(".") if full_key else []:
        if not (isinstance(node, type) and is_dataclass(node)):
            return None
        if part not in {f.name for f in fields(node)}:
            # A group whose options have schemas of their own (engine): the option's field.
            node = next(
                (sub for sub in node.__subclasses__() if part in {f.name for f in fields(sub)}),
                None,
            )
            if node is None:
                return None
        node = get_type_hints(node)[part]
        args = [a for a in get_args(node) if a is not type(None)]  # `X | None`: X
        if len(args) == 1 and type(None) in get_args(node):
            node = args[0]
    return node


def choices_of(full_key: str) -> list[str] | None:
    """The allowed values of an Enum-typed key such as `scaffold.pick` (None: not a choice)."""
    node = schema_type(full_key)
    if isinstance(node, type) and issubclass(node, Choice):
        return node.values()
    return None


def keys_of(full_key: str) -> list[str] | None:
    """The keys a schema node (`generation`) has; None when it is not a schema node."""
    node = schema_type(full_key)
    if isinstance(node, type) and is_dataclass(node):
        return [f.name for f in fields(node)]
    return None


# Every option's schema, by group: `<name>_schema` in that group of the ConfigStore.
SCHEMAS: dict[str, tuple[type, ...]] = {
    "engine": (HFEngineConfig, VLLMEngineConfig, ScriptedEngineConfig, PlantedEngineConfig),
    "scaffold": (ChatScaffoldConfig, ChatEmailScaffoldConfig, AgenticEmailScaffoldConfig),
    "scorer": (
        ModernBertScorerConfig,
        TfidfScorerConfig,
        PersonaVectorScorerConfig,
        JudgeScorerConfig,
        NoScorerConfig,
    ),
}


def register() -> None:
    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=Config)
    # Each `conf/engine/<name>.yaml` starts from its own schema, so an option of one engine
    # given to another (`engine=hf engine.max_model_len=512`) fails when composed.
    # Scaffolds and scorers likewise (`scaffold=chat scaffold.pick=last` fails).
    for group, options in SCHEMAS.items():
        for node in options:
            cs.store(group=group, name=f"{node.name}_schema", node=node)
    # An option with no fields beyond the common ones (a user's own scaffold or scorer,
    # named by `_target_`) starts from its group's base schema: one module plus one YAML.
    cs.store(group="scaffold", name="base_schema", node=ScaffoldConfig)
    cs.store(group="scorer", name="base_schema", node=ScorerConfig)


register()
