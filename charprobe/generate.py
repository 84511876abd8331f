"""Generation: every row of a cell into `generations.jsonl`, resumable.

Data flows one way: config -> units (items x personas x samples) -> engine -> rows
(`generations.jsonl`). Rows are appended and flushed as they finish; a killed job's rerun
(or a later job of the same cell, `resume`) keeps them and generates only the rest.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from charprobe import provenance
from charprobe.cell import Cell, plan, row_key
from charprobe.engine import EngineCache, make_engine
from charprobe.engine.types import GenerationParams
from charprobe.errors import UserError
from charprobe.records import KEY_VERSION, Generation, JobFolder, Result, RunInfo, unfinished
from charprobe.scaffolds import Unit, make_scaffold
from charprobe.scaffolds.agentic_email import summarize
from charprobe.store import RowFile, write_rows

log = logging.getLogger(__name__)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# What the runner keeps loaded between the jobs of one process (a multirun): the current
# base of each engine kind.
_ENGINES = EngineCache()


def generate(cfg: DictConfig, job_dir: Path) -> RunInfo:
    """Write every row of the cell to `job_dir/generations.jsonl`; return its run info.

    Rows already in the folder (a killed run of the same command) or in an unfinished
    earlier job of the same cell (`resume`) are kept and not generated again.
    """
    t0 = time.perf_counter()
    cell = Cell.from_config(cfg)
    folder = JobFolder(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    scaffold = make_scaffold(cell.scaffold)
    items = scaffold.items()
    work = plan(cell, items)
    cell_key = cell.key()
    earlier = folder.read_run()
    info = RunInfo(
        model=cell.model.name,
        stage=cell.stage.name,
        scaffold=cell.scaffold.name,
        personas=cell.personas,
        persona_set=cfg.persona.name,
        cell_key=cell_key,
        status="running",
        started_at=now(),
        base_shared=cell.shares_base,
        config=OmegaConf.to_container(cfg, resolve=True),
        versions=provenance.versions(),
        git_commit=provenance.git_commit(),
        machine=provenance.machine(),
        resumed_from=earlier.resumed_from if earlier else None,
    )
    folder.write_run(info)

    rows = RowFile(folder.generations)
    _refuse_old_keys(rows)
    info.identity = {
        "model": cell.model_id,
        "adapters": cell.adapter_ids,
        "key_version": KEY_VERSION,
    }
    expected = {row_key(u, p) for u, ps in work for p in ps}
    if cfg.resume:
        _resume(rows, expected, cfg, cell_key, folder, info)
    pending = [(u, ps) for u, ps in work if any(row_key(u, p) not in rows for p in ps)]
    log.info(
        "%s/%s/%s: %d items, %d personas, %d units (%d pending)",
        cell.model.name,
        cell.stage.name,
        cell.scaffold.name,
        len(items),
        len(cell.personas),
        len(work),
        len(pending),
    )

    timings = {"load_s": 0.0, "generate_s": 0.0}
    tokens = 0
    if pending:
        t = time.perf_counter()
        # The base stage loads no adapters, but is handed the persona set too: vLLM sizes
        # its LoRA slots by it, so the later stages of this base reuse the same engine.
        engine = make_engine(
            OmegaConf.to_container(cfg.engine, resolve=True),
            cell.model,
            cell.stage,
            cell.personas,
            cache=_ENGINES,
        )
        timings["load_s"] = time.perf_counter() - t
        fan = {u.key: ps for u, ps in pending}
        params = cell.params()

        def emit(unit: Unit, result: Result) -> None:
            nonlocal tokens
            tokens += int(result.completion_tokens or 0)
            for p in fan[unit.key]:
                rows.append(_row(cell, unit, p, result, params).to_json())

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
    info.status, info.timings = "generated", timings
    info.counts = {
        "items": len(items),
        "units": len(work),
        "units_generated": len(pending),
        "rows": len(expected),
    }
    info.throughput = {
        "tokens_per_s": tokens / gen_s if gen_s else None,
        "units_per_s": len(pending) / gen_s if gen_s else None,
        "completion_tokens": tokens,
    }
    info.texts = text_summary(
        [Generation.from_json(rows.rows[k]) for k in sorted(expected)], cell.shares_base
    )
    folder.write_run(info)
    return info


def text_summary(rows: list[Generation], shares_base: bool) -> dict:
    """How many units gave a text to score, and why the others did not.

    Counted over units (a base-stage unit stands for every persona but is one rollout).
    Agentic rollouts add termination reasons, steps and tool calls.
    """
    units = list(
        {(r.item_id, r.sample, None if shares_base else r.persona): r.result for r in rows}.values()
    )
    out = summarize(units)
    if any(r.termination for r in units):
        log.info(
            "emails: %d of %d rollouts (rate %.2f); termination %s; mean steps %.1f; "
            "malformed turns per rollout %.2f (details in generations.jsonl)",
            out["n_email"],
            out["n"],
            out["email_rate"],
            out["termination"],
            out["mean_steps"],
            out["mean_malformed"],
        )
    return out


def _row(
    cell: Cell, unit: Unit, persona: str, result: Result, params: GenerationParams
) -> Generation:
    return Generation(
        key=row_key(unit, persona),
        model=cell.model.name,
        stage=cell.stage.name,
        persona=persona,
        adapter=cell.adapter_labels()[persona],
        scaffold=cell.scaffold.name,
        item_id=unit.item.id,
        sample=unit.sample,
        shared_base=cell.shares_base,
        generation=params.to_dict(),
        key_version=KEY_VERSION,
        result=result,
    )


def _refuse_old_keys(rows: RowFile) -> None:
    old = [r for r in rows.rows.values() if r.get("key_version") != KEY_VERSION]
    if old:
        raise UserError(
            f"{rows.path}: {len(old)} rows were written by an earlier charprobe whose row keys "
            f"hashed the model's folder, so they cannot be matched to this version's keys; "
            f"move {rows.path.parent} aside (or give a new hydra.run.dir) to generate them afresh"
        )


def _resume(
    rows: RowFile,
    expected: set[str],
    cfg: DictConfig,
    cell_key: str,
    folder: JobFolder,
    info: RunInfo,
) -> None:
    """Copy in the rows an unfinished earlier job of the same cell already generated."""
    roots = [Path(r) for r in cfg.resume_roots]
    for earlier in unfinished(roots, cell_key, exclude=folder.path):
        old = [g for g in earlier.read_generations() if g.key in expected]
        if not old:
            continue
        for g in old:
            rows.append(g.to_json())
        log.info("resumed %d rows from %s", len(old), earlier.path)
        info.resumed_from = str(earlier.path.resolve())
        # Mark the earlier job so a later run does not pick it up again.
        prev = earlier.read_run()
        prev.status, prev.resumed_by = "resumed", str(folder.path.resolve())
        earlier.write_run(prev)
        return
