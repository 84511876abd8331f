"""The records charprobe writes and reads, and the job folder that holds them.

Every field name of a job's files is written here once:

- `Result`: what a scaffold reports for one finished unit of work;
- `Generation`: one row of ``generations.jsonl`` (who, which item, plus its `Result`);
- `Prediction`: one row of ``predictions.jsonl`` (a generation's identity, its verdict);
- `RunInfo`: ``run.json`` (the cell, its config, timings, counts, the scorer's headline);
- `JobFolder`: a job's paths, reading and writing them, and finding job folders.

Rows stay plain JSON objects on disk (one per line, appended and flushed, see
`charprobe.store`); these types are how the code reads and builds them. Reading is
tolerant of keys it does not know (a newer scaffold's detail is kept in `extra`), so old
folders stay readable.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from charprobe.store import read_json, read_rows, write_json, write_rows

# Version of the row-key scheme. 2: keys hash what decides a text (model and adapter
# identities, item content), never where the weights sit. Rows without it (scheme 1,
# which hashed the model's folder) cannot be matched and are refused, never duplicated.
KEY_VERSION = 2

GENERATIONS = "generations.jsonl"
PREDICTIONS = "predictions.jsonl"
TRACE = "trace.jsonl"  # scaffold.trace: one prediction row per traced turn
RUN = "run.json"
METRICS = "metrics.json"
CONFUSION_CSV = "confusion.csv"
CONFUSION_PNG = "confusion.png"
REPORT_DIR = "report"
# The files that are a finished job's record (W&B keeps them as the job's artifact).
JOB_FILES = (GENERATIONS, PREDICTIONS, METRICS, CONFUSION_CSV, RUN)


def _present(values: Mapping[str, Any], optional: Iterable[str]) -> dict[str, Any]:
    """A record as JSON: optional fields only where they hold a value."""
    skip = set(optional)
    return {k: v for k, v in values.items() if not (k in skip and v is None)}


def _split(cls: type, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The keys of `data` that are fields of `cls`, and the rest."""
    names = {f.name for f in fields(cls)} - {"extra"}
    return (
        {k: v for k, v in data.items() if k in names},
        {k: v for k, v in data.items() if k not in names},
    )


def has_text(text: Any) -> bool:
    """A text a scorer can read: a string that is not blank."""
    return isinstance(text, str) and bool(text.strip())


def has_label(value: Any) -> bool:
    """A usable label: not None, not NaN (from pandas/CSV), not an empty string."""
    if value is None or (isinstance(value, float) and value != value):
        return False
    return str(value).strip() != ""


# --------------------------------------------------------------------------- rows


@dataclass
class Result:
    """What a scaffold reports for one finished unit.

    `text` is what the scorer reads (chat: the reply; email scaffolds: the email body),
    or None with `status` saying why there is none ("final_without_email", "max_steps",
    "malformed", "empty"). Token counts are summed over turns; `finish_reason` is the last
    turn's. Email scaffolds set `scenario_id`; agentic rollouts also set `termination`,
    `steps`, `n_tool_calls` and `n_malformed`, and keep their transcript detail (emails,
    tool calls, malformed turns) in `extra`.
    """

    messages: list[dict[str, Any]]
    response: str
    text: str | None
    status: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    scenario_id: str | None = None
    termination: str | None = None
    steps: int | None = None
    n_tool_calls: int | None = None
    n_malformed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    _OPTIONAL = ("scenario_id", "termination", "steps", "n_tool_calls", "n_malformed")

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**_present(out, self._OPTIONAL), **self.extra}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Result:
        known, extra = _split(cls, data)
        known.setdefault("messages", [])
        known.setdefault("response", "")
        known.setdefault("text", None)
        known.setdefault("status", "ok")
        return cls(**known, extra=extra)


@dataclass
class Generation:
    """One row of generations.jsonl: a unit's text, written for one persona.

    At stage base one generation (the bare model's) stands for every persona; it is
    written once per persona, with `shared_base` true and `adapter` None.
    """

    key: str
    model: str
    stage: str
    persona: str
    adapter: str | None
    scaffold: str
    item_id: str
    sample: int
    shared_base: bool
    generation: dict[str, Any]
    key_version: int | None
    result: Result

    _ROW = (
        "key",
        "model",
        "stage",
        "persona",
        "adapter",
        "scaffold",
        "item_id",
        "sample",
        "shared_base",
        "generation",
        "key_version",
    )

    @property
    def text(self) -> str | None:
        return self.result.text

    @property
    def has_text(self) -> bool:
        return has_text(self.result.text)

    def to_json(self) -> dict[str, Any]:
        return {**{k: getattr(self, k) for k in self._ROW}, **self.result.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Generation:
        row = {k: data.get(k) for k in cls._ROW}
        rest = {k: v for k, v in data.items() if k not in cls._ROW}
        return cls(**row, result=Result.from_json(rest))


@dataclass
class Prediction:
    """One row of predictions.jsonl: a generation's identity and the scorer's verdict.

    Rows without text keep a prediction row with `pred` None, so the statistics can drop
    them or count them wrong and report why they had none (`status`).
    """

    key: str
    model: str
    stage: str
    scaffold: str
    persona: str
    adapter: str | None
    item_id: str
    sample: int
    scenario_id: str | None
    status: str | None
    termination: str | None
    text: str | None
    pred: str | None = None
    p_true: float | None = None
    probs: dict[str, float] | None = None
    # What a scorer reports beyond probabilities (persona vectors: raw projections).
    detail: dict[str, Any] | None = None
    # trace.jsonl only: which turn (step, kind, tool, field) and the row's first email step.
    turn: dict[str, Any] | None = None

    _OPTIONAL = ("scenario_id", "termination", "detail", "turn")

    @classmethod
    def of(
        cls, gen: Generation, pred: str | None = None, probs: dict[str, float] | None = None
    ) -> Prediction:
        """`gen`'s prediction row (`pred` None: it had no text to score)."""
        r = gen.result
        return cls(
            key=gen.key,
            model=gen.model,
            stage=gen.stage,
            scaffold=gen.scaffold,
            persona=gen.persona,
            adapter=gen.adapter,
            item_id=gen.item_id,
            sample=gen.sample,
            scenario_id=r.scenario_id,
            status=r.status,
            termination=r.termination,
            text=r.text,
            pred=pred,
            p_true=None if probs is None else probs.get(gen.persona),
            probs=probs,
        )

    @property
    def has_text(self) -> bool:
        return row_has_text(asdict(self))

    def to_json(self) -> dict[str, Any]:
        return _present(asdict(self), self._OPTIONAL)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Prediction:
        known, _ = _split(cls, data)
        return cls(**{f.name: known.get(f.name) for f in fields(cls)})


def row_has_text(row: Mapping[str, Any], pred_key: str = "pred") -> bool:
    """Whether a prediction row (a mapping) has a scorable text: a label, text not null."""
    if "text" in row and row["text"] is None:
        return False
    return has_label(row.get(pred_key))


# --------------------------------------------------------------------------- run.json


@dataclass
class RunInfo:
    """run.json: which cell a job is, how it ran, and (once scored) its headline numbers."""

    model: str
    stage: str
    scaffold: str
    personas: list[str]
    persona_set: str
    cell_key: str
    status: str  # running | generated | done | resumed
    started_at: str | None = None
    base_shared: bool = False
    config: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    git_commit: str | None = None
    machine: dict[str, Any] = field(default_factory=dict)
    identity: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] | None = None
    throughput: dict[str, Any] | None = None
    texts: dict[str, Any] | None = None
    scorer: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    resumed_from: str | None = None
    resumed_by: str | None = None
    finished_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**{k: v for k, v in out.items() if v is not None}, **self.extra}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunInfo:
        known, extra = _split(cls, data)
        for name in ("model", "stage", "scaffold", "persona_set", "cell_key", "status"):
            known.setdefault(name, "?")
        known.setdefault("personas", [])
        return cls(**known, extra=extra)


# --------------------------------------------------------------------------- job folder


@dataclass(frozen=True)
class JobFolder:
    """One job's folder: where each of its files is, and reading and writing them."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @property
    def generations(self) -> Path:
        return self.path / GENERATIONS

    @property
    def predictions(self) -> Path:
        return self.path / PREDICTIONS

    @property
    def run_file(self) -> Path:
        return self.path / RUN

    @property
    def metrics_file(self) -> Path:
        return self.path / METRICS

    @property
    def confusion_csv(self) -> Path:
        return self.path / CONFUSION_CSV

    @property
    def confusion_png(self) -> Path:
        return self.path / CONFUSION_PNG

    @property
    def is_hydra_job(self) -> bool:
        """Launched by `python -m charprobe` (its composed config is in .hydra/)."""
        return (self.path / ".hydra").is_dir()

    def has_run(self) -> bool:
        return self.run_file.is_file()

    def read_run(self) -> RunInfo | None:
        data = read_json(self.run_file)
        return RunInfo.from_json(data) if data else None

    def write_run(self, info: RunInfo) -> None:
        write_json(self.run_file, info.to_json())

    def read_generations(self) -> list[Generation]:
        # Read-only (no repair of a cut last line): the job's own writer repairs.
        return [Generation.from_json(r) for r in read_rows(self.generations)]

    def read_predictions(self, file: str = PREDICTIONS) -> list[Prediction]:
        return [Prediction.from_json(r) for r in read_rows(self.path / file)]

    def write_predictions(self, preds: Iterable[Prediction], file: str = PREDICTIONS) -> None:
        write_rows(self.path / file, (p.to_json() for p in preds))

    def read_metrics(self) -> dict[str, Any]:
        return read_json(self.metrics_file)

    def joined(self) -> list[tuple[Generation, Prediction | None]]:
        """Each generation with its prediction (joined on key; None when not scored)."""
        preds = {p.key: p for p in self.read_predictions()}
        return [(g, preds.get(g.key)) for g in self.read_generations()]


def discover(path: str | Path, holding: str = RUN) -> list[JobFolder]:
    """`path` itself when it holds the file `holding`, else every job folder below it.

    The one way charprobe finds job folders (W&B logging, rescoring, reports, resume,
    classifier training all call it), sorted by path.
    """
    path = Path(path)
    if (path / holding).is_file():
        return [JobFolder(path)]
    return [JobFolder(p.parent) for p in sorted(path.rglob(holding))]


def unfinished(roots: Iterable[Path], cell_key: str, exclude: Path) -> Iterator[JobFolder]:
    """Job folders under `roots` of the same cell that never finished, newest first."""
    found = []
    for root in roots:
        if not root.is_dir():
            continue
        for job in discover(root):
            if job.path.resolve() == exclude.resolve():
                continue
            info = job.read_run()
            if info is not None and info.cell_key == cell_key and info.status != "done":
                found.append((job.run_file.stat().st_mtime, job))
    yield from (job for _, job in sorted(found, key=lambda t: t[0], reverse=True))
