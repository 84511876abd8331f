"""How much batching buys, measured on a toy base (prints ratios; asserts same output).

    python benchmarks/batching.py adapters [--model toy_llama --stage full --items 12]
    python benchmarks/batching.py rollouts [--model toy_llama --stage full --items 6]

adapters: one `generate` call whose batches mix every persona's adapter, versus one call
    per adapter, on the same chat requests; tokens/s of each and the ratio.
rollouts: all agentic rollouts advancing together (one engine call per turn) versus one
    rollout at a time, on the same scenarios and seed; rollouts/s of each and the ratio.
Sampling is seeded per row, so both ways must give the same texts: checked, not assumed.
"""

from __future__ import annotations

import argparse
import time

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from charprobe.config import CONF_DIR
from charprobe.engine import make_engine
from charprobe.engine.types import Request
from charprobe.job import Cell, plan
from charprobe.scaffolds import make_scaffold


def _setup(args: argparse.Namespace, scaffold: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                f"model={args.model}",
                f"stage={args.stage}",
                f"scaffold={scaffold}",
                f"scaffold.items={args.items}",
                f"generation.batch_size={args.batch_size}",
                f"generation.max_new_tokens={args.max_new_tokens}",
            ],
        )
    cell = Cell.from_config(cfg)
    engine = make_engine(
        OmegaConf.to_container(cfg.engine, resolve=True),
        cell.model,
        cell.stage,
        [] if cell.shares_base else cell.personas,
    )
    scaffold_obj = make_scaffold(cell.scaffold)
    units = [u for u, _ in plan(cell, scaffold_obj.items())]
    return cell, engine, scaffold_obj, units


def bench_adapters(args: argparse.Namespace) -> None:
    cell, engine, _, units = _setup(args, "chat")
    reqs = [Request(u.key, [{"role": "user", "content": u.item.data}], u.adapter) for u in units]
    params = cell.params()
    engine.generate(reqs[: args.batch_size], params)  # warm-up
    t = time.perf_counter()
    mixed = engine.generate(reqs, params)
    t_mixed = time.perf_counter() - t
    t = time.perf_counter()
    single = []
    for adapter in dict.fromkeys(r.adapter for r in reqs):
        single += engine.generate([r for r in reqs if r.adapter == adapter], params)
    t_single = time.perf_counter() - t
    assert {c.key: c.text for c in mixed} == {c.key: c.text for c in single}, "texts differ"
    tokens = sum(c.completion_tokens for c in mixed)
    print(f"{len(reqs)} requests, {len(set(r.adapter for r in reqs))} adapters, {tokens} tokens")
    print(f"mixed-adapter batches: {tokens / t_mixed:8.1f} tokens/s ({t_mixed:.1f}s)")
    print(f"one adapter at a time: {tokens / t_single:8.1f} tokens/s ({t_single:.1f}s)")
    print(f"ratio (mixed / one at a time): {t_single / t_mixed:.2f}x")


def bench_rollouts(args: argparse.Namespace) -> None:
    cell, engine, scaffold, units = _setup(args, "agentic_email")
    scaffold.progress = False  # one bar per rollout would bury the result
    params = cell.params()

    def run(groups):
        out = {}
        t = time.perf_counter()
        for group in groups:
            scaffold.run(engine, group, params, lambda u, r: out.__setitem__(u.key, r))
        return out, time.perf_counter() - t

    batched, t_batched = run([units])
    one_by_one, t_single = run([[u] for u in units])
    assert {k: r["messages"] for k, r in batched.items()} == {
        k: r["messages"] for k, r in one_by_one.items()
    }, "trajectories differ"
    n = len(units)
    emails = sum(r["text"] is not None for r in batched.values())
    print(f"{n} rollouts ({cell.model.name}/{cell.stage.name}), {emails} sent an email")
    print(f"batched rollouts:      {n / t_batched:6.2f} rollouts/s ({t_batched:.1f}s)")
    print(f"one rollout at a time: {n / t_single:6.2f} rollouts/s ({t_single:.1f}s)")
    print(f"ratio (batched / one at a time): {t_single / t_batched:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("what", choices=("adapters", "rollouts"))
    ap.add_argument("--model", default="toy_llama")
    ap.add_argument("--stage", default="full")
    ap.add_argument("--items", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-new-tokens", type=int, default=256)
    args = ap.parse_args()
    if args.items is None:
        args.items = 12 if args.what == "adapters" else 6
    (bench_adapters if args.what == "adapters" else bench_rollouts)(args)


if __name__ == "__main__":
    main()
