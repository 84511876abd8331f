"""One job = one cell (model, stage, scaffold) over a persona set: generate, then score.

Data flows one way: config -> units (items x personas x samples) -> engine -> rows
(`generations.jsonl`) -> scorer -> predictions -> statistics -> files -> W&B.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from charprobe import identity, provenance
from charprobe import personas as persona_sets
from charprobe.config import (
    GenerationConfig,
    ModelConfig,
    ScaffoldConfig,
    StageConfig,
)
from charprobe.engine.hub import adapter_repo
from charprobe.engine.types import Completion, GenerationParams
from charprobe.errors import UserError
from charprobe.scaffolds import Item, Unit, make_scaffold
from charprobe.scaffolds.agentic_email import summarize
from charprobe.store import (
    RowFile,
    read_json,
    read_rows,
    unfinished_jobs,
    write_json,
    write_rows,
)

log = logging.getLogger(__name__)


# Version of the row-key scheme. 2: keys hash what decides a text (model and adapter
# identities, item content), never where the weights sit. Rows without it (scheme 1,
# which hashed the model's folder) cannot be matched and are refused, never duplicated.
KEY_VERSION = 2
# Scaffold settings that change a text beyond the item itself. Left out: the item count,
# and where items come from (prompts, scenarios, source, suffix files, shuffle seed),
# because each item's own content is hashed instead.
SCAFFOLD_IDENTITY = ("name", "turns", "followup", "max_steps", "max_malformed", "pick")
GENERATION_IDENTITY = ("temperature", "top_p", "max_new_tokens", "seed")


@dataclass(frozen=True)
class Cell:
    model: ModelConfig
    stage: StageConfig
    personas: list[str]
    scaffold: ScaffoldConfig
    generation: GenerationConfig

    @classmethod
    def from_config(cls, cfg: DictConfig) -> Cell:
        personas = persona_sets.validate(cfg.persona.personas)
        return cls(
            model=OmegaConf.to_object(cfg.model),
            stage=OmegaConf.to_object(cfg.stage),
            personas=personas,
            scaffold=OmegaConf.to_object(cfg.scaffold),
            generation=OmegaConf.to_object(cfg.generation),
        )

    @property
    def shares_base(self) -> bool:
        """Stage base has no adapter: one generation per item serves every persona."""
        return self.stage.repo is None

    def params(self) -> GenerationParams:
        g = self.generation
        return GenerationParams(temperature=g.temperature, top_p=g.top_p,
                                max_new_tokens=g.max_new_tokens, seed=g.seed,
                                batch_size=g.batch_size)

    @cached_property
    def model_id(self) -> str:
        return identity.model_identity(self.model.path, self.model.revision)

    @cached_property
    def adapter_ids(self) -> dict[str, str | None]:
        if self.shares_base:
            return {p: None for p in self.personas}
        return {p: identity.adapter_identity(adapter_repo(self.stage, p), p) for p in self.personas}

    def adapter_labels(self) -> dict[str, str | None]:
        """What a row names as its adapter: readable and location-free."""
        if self.shares_base:
            return {p: None for p in self.personas}
        return {p: identity.adapter_label(adapter_repo(self.stage, p), p) for p in self.personas}

    @cached_property
    def _identity(self) -> dict:
        # What changes the text. Not batch size (sampling is per row), not the item
        # count (an item's text does not depend on how many others there are), not a path.
        scaffold = asdict(self.scaffold)
        gen = asdict(self.generation)
        return {"key_version": KEY_VERSION, "model": self.model_id,
                "system_role": self.model.system_role,
                "scaffold": {k: scaffold[k] for k in SCAFFOLD_IDENTITY if k in scaffold},
                "generation": {k: gen[k] for k in GENERATION_IDENTITY}}

    def key(self) -> str:
        """The cell's identity: an unfinished job of the same key can be resumed."""
        ident = {**self._identity, "stage": self.stage.name, "personas": self.personas,
                 "items": self.scaffold.items, "samples": self.generation.samples,
                 "adapters": self.adapter_ids}
        return identity.digest(ident)

    def unit_key(self, item: Item, adapter: str | None, sample: int) -> str:
        """`<item>/<persona or base>/s<sample>/<hash>`; the hash also seeds the sampler."""
        h = identity.digest({**self._identity, "item": item.id,
                             "content": identity.digest(item.data),
                             "adapter": None if adapter is None else self.adapter_ids[adapter],
                             "sample": sample})
        return f"{item.id}/{adapter or 'base'}/s{sample}/{h[:10]}"


def row_key(unit: Unit, persona: str) -> str:
    return unit.key if unit.adapter is not None else unit.key.replace("/base/", f"/{persona}/", 1)


def plan(cell: Cell, items: list[Item]) -> list[tuple[Unit, list[str]]]:
    """Units of generation work and the personas each one's text stands for."""
    out = []
    for item in items:
        for sample in range(cell.generation.samples):
            if cell.shares_base:
                out.append((Unit(cell.unit_key(item, None, sample), item, None, sample),
                            list(cell.personas)))
            else:
                for p in cell.personas:
                    out.append((Unit(cell.unit_key(item, p, sample), item, p, sample), [p]))
    return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_job(cfg: DictConfig, job_dir: Path) -> dict:
    """Generate (resuming what an earlier run of the same cell left), score, record."""
    from charprobe.checks import check_inputs
    from charprobe.scoring import build_scorer, score_job

    t0 = time.perf_counter()
    # Everything the job needs is checked before any weights load (inputs, base and
    # adapters, the scorer's labels), then the scorer is built: a classifier that cannot
    # be had fails before hours of generation, not after.
    check_inputs(cfg)
    t = time.perf_counter()
    scorer = build_scorer(cfg)
    scorer_load_s = time.perf_counter() - t
    info = generate(cfg, job_dir)
    if scorer is not None:
        score_job(cfg, job_dir, scorer)
        info = read_json(job_dir / "run.json")  # now with the scorer's numbers
    info["timings"].update(scorer_load_s=scorer_load_s, total_s=time.perf_counter() - t0)
    info.update({"status": "done", "finished_at": _now()})
    write_json(job_dir / "run.json", info)
    return info


def generate(cfg: DictConfig, job_dir: Path) -> dict:
    """Write every row of the cell to `job_dir/generations.jsonl`; return run.json's content.

    Rows already in the folder (a killed run of the same command) or in an unfinished
    earlier job of the same cell (`resume`) are kept and not generated again.
    """
    t0 = time.perf_counter()
    cell = Cell.from_config(cfg)
    job_dir.mkdir(parents=True, exist_ok=True)
    scaffold = make_scaffold(cell.scaffold)
    items = scaffold.items()
    work = plan(cell, items)
    cell_key = cell.key()
    info = {
        "model": cell.model.name, "stage": cell.stage.name, "scaffold": cell.scaffold.name,
        "personas": cell.personas, "persona_set": cfg.persona.name, "cell_key": cell_key,
        "status": "running", "started_at": _now(), "base_shared": cell.shares_base,
        "config": OmegaConf.to_container(cfg, resolve=True),
        "versions": provenance.versions(), "git_commit": provenance.git_commit(),
        "machine": provenance.machine(),
    }
    info.update({k: v for k, v in read_json(job_dir / "run.json").items()
                 if k in ("resumed_from",)})
    write_json(job_dir / "run.json", info)

    rows = RowFile(job_dir / "generations.jsonl")
    _refuse_old_keys(rows)
    info["identity"] = {"model": cell.model_id, "adapters": cell.adapter_ids,
                        "key_version": KEY_VERSION}
    expected = {row_key(u, p) for u, ps in work for p in ps}
    if cfg.resume:
        _resume(rows, expected, cfg, cell_key, job_dir, info)
    pending = [(u, ps) for u, ps in work if any(row_key(u, p) not in rows for p in ps)]
    log.info("%s/%s/%s: %d items, %d personas, %d units (%d pending)", cell.model.name,
             cell.stage.name, cell.scaffold.name, len(items), len(cell.personas), len(work),
             len(pending))

    timings = {"load_s": 0.0, "generate_s": 0.0}
    tokens = 0
    if pending:
        from charprobe.engine import make_engine

        t = time.perf_counter()
        # The base stage loads no adapters, but is handed the persona set too: vLLM sizes
        # its LoRA slots by it, so the later stages of this base reuse the same engine.
        engine = make_engine(OmegaConf.to_container(cfg.engine, resolve=True), cell.model,
                             cell.stage, cell.personas)
        timings["load_s"] = time.perf_counter() - t
        fan = {u.key: ps for u, ps in pending}
        params = cell.params()

        def emit(unit: Unit, result: dict) -> None:
            nonlocal tokens
            tokens += int(result.get("completion_tokens", 0))
            for p in fan[unit.key]:
                rows.append(_row(cell, unit, p, result, params))

        t = time.perf_counter()
        scaffold.run(engine, [u for u, _ in pending], params, emit)
        timings["generate_s"] = time.perf_counter() - t
    rows.close()
    missing = expected - set(rows.rows)
    if missing:
        raise RuntimeError(f"{len(missing)} rows were not generated (first: {sorted(missing)[0]})")
    # Rows land in completion order, which a kill and resume changes; the finished file is
    # in key order, so a resumed job's file is byte-identical to an uninterrupted one's.
    if list(rows.rows) != sorted(rows.rows):
        write_rows(rows.path, [rows.rows[k] for k in sorted(rows.rows)])

    timings["total_s"] = time.perf_counter() - t0
    gen_s = timings["generate_s"]
    info.update({
        "status": "generated", "timings": timings,
        "counts": {"items": len(items), "units": len(work), "units_generated": len(pending),
                   "rows": len(expected)},
        "throughput": {"tokens_per_s": tokens / gen_s if gen_s else None,
                       "units_per_s": len(pending) / gen_s if gen_s else None,
                       "completion_tokens": tokens},
        "texts": text_summary([rows.rows[k] for k in sorted(expected)], cell.shares_base),
    })
    write_json(job_dir / "run.json", info)
    return info


def text_summary(rows: list[dict], shares_base: bool) -> dict:
    """How many units gave a text to score, and why the others did not.

    Counted over units (a base-stage unit stands for every persona but is one rollout).
    Agentic rollouts add termination reasons, steps and tool calls.
    """
    units = list({(r["item_id"], r["sample"], None if shares_base else r["persona"]): r
                  for r in rows}.values())
    out = summarize(units)
    if any(r.get("termination") for r in units):
        log.info("emails: %d of %d rollouts (rate %.2f); termination %s; mean steps %.1f; "
                 "malformed turns per rollout %.2f (details in generations.jsonl)",
                 out["n_email"], out["n"], out["email_rate"], out["termination"],
                 out["mean_steps"], out["mean_malformed"])
    return out


def _row(cell: Cell, unit: Unit, persona: str, result: dict, params: GenerationParams) -> dict:
    return {
        "key": row_key(unit, persona), "model": cell.model.name, "stage": cell.stage.name,
        "persona": persona, "adapter": cell.adapter_labels()[persona],
        "scaffold": cell.scaffold.name, "item_id": unit.item.id, "sample": unit.sample,
        "shared_base": cell.shares_base, "generation": params.to_dict(),
        "key_version": KEY_VERSION, **result,
    }


def _refuse_old_keys(rows: RowFile) -> None:
    old = [r for r in rows.rows.values() if r.get("key_version") != KEY_VERSION]
    if old:
        raise UserError(
            f"{rows.path}: {len(old)} rows were written by an earlier charprobe whose row keys "
            f"hashed the model's folder, so they cannot be matched to this version's keys; "
            f"move {rows.path.parent} aside (or give a new hydra.run.dir) to generate them afresh"
        )


def _resume(rows: RowFile, expected: set[str], cfg: DictConfig, cell_key: str, job_dir: Path,
            info: dict) -> None:
    """Copy in the rows an unfinished earlier job of the same cell already generated."""
    roots = [Path(r) for r in cfg.resume_roots]
    for earlier in unfinished_jobs(roots, cell_key, exclude=job_dir):
        old = [r for r in read_rows(earlier / "generations.jsonl") if r.get("key") in expected]
        if not old:
            continue
        for r in old:
            rows.append(r)
        log.info("resumed %d rows from %s", len(old), earlier)
        info["resumed_from"] = str(earlier.resolve())
        # Mark the earlier job so a later run does not pick it up again.
        prev = read_json(earlier / "run.json")
        write_json(earlier / "run.json",
                   {**prev, "status": "resumed", "resumed_by": str(job_dir.resolve())})
        return


__all__ = ["Cell", "Completion", "generate", "plan", "row_key", "run_job"]
