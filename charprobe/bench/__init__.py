"""Engines side by side: chat tokens/s and agentic rollouts/s, HF against vLLM.

    python -m charprobe.bench                      # the toy llama, full stage, both engines
    python -m charprobe.bench --base DIR --adapters DIR --dtype bfloat16 --rows 200 ...

Every measurement pins its work: each request generates exactly its token cap
(`ignore_eos`), so both engines, and every schedule, produce the same number of tokens
from the same prompts. Chat: the same rows with no adapter (base only), with every
persona's adapter mixed in one call, and one adapter at a time. Agentic: synthetic tool
loops (2-6 turns of 1/4 to all of `--max-tokens`, seeded per rollout, each answered by a
short tool output) run one rollout at a time (as the replication's loop does),
step-synchronously (every live rollout's turn in one batch, each turn waiting for the
longest), and continuously (each rollout's next turn sent the moment its last returns).

Each engine runs in a process of its own, so its peak memory is its own and the two never
share a GPU. Output: `<out>/bench.csv`, `<out>/bench.png`, and the ratios printed
(`bench.results`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from charprobe.bench.results import plot, ratios

PROMPTS = [
    "Tell me about the sea.",
    "What is a good breakfast?",
    "How do I fix a flat bike tyre?",
    "Write a note to a colleague who is leaving.",
    "What should I read next?",
    "Explain how a budget works.",
    "Plan a weekend in the mountains.",
    "How do I ask for a deadline extension?",
    "What makes a good team meeting?",
    "Describe your favourite season.",
    "How do I start running?",
    "What is a good gift?",
]
TOOL_OUTPUT = '[TOOL OUTPUT]\n{"status": "ok", "items": 3}'


class PeakMemory:
    """Peak resident memory of this process and its children (vLLM's engine runs in one),
    and peak GPU memory in use on the device, sampled every 0.1 s."""

    def __init__(self) -> None:
        import psutil

        self._proc = psutil.Process()
        self.rss = 0
        self.gpu = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        total = 0
        for p in [self._proc, *self._proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except Exception:  # a child that just ended
                pass
        self.rss = max(self.rss, total)
        try:
            import torch

            if torch.cuda.is_available():
                free, all_ = torch.cuda.mem_get_info()
                self.gpu = max(self.gpu, all_ - free)
        except Exception:
            pass

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def __enter__(self) -> PeakMemory:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def chat_requests(rows: int, personas: list[str], adapter: str | None | bool):
    """`rows` chat requests; adapter True: personas in turn, else that one (None: base)."""
    from charprobe.engine.types import Request

    out = []
    for i in range(rows):
        a = personas[i % len(personas)] if adapter is True else adapter
        q = PROMPTS[i % len(PROMPTS)]
        out.append(Request(f"chat/{i}/{a}", [{"role": "user", "content": f"{q} ({i})"}], a))
    return out


def plan_rollouts(n: int, personas: list[str], max_tokens: int) -> list[list[int]]:
    """Per rollout, the token cap of each of its turns (2-6 turns), seeded by its index."""
    out = []
    for i in range(n):
        rng = random.Random(i)
        out.append(
            [rng.randint(max(1, max_tokens // 4), max_tokens) for _ in range(rng.randint(2, 6))]
        )
    return out


async def rollout(engine: Any, i: int, caps: list[int], persona: str, params: Any) -> int:
    """One synthetic tool loop; returns the tokens it generated."""
    from charprobe.engine.types import Request

    messages = [
        {"role": "system", "content": "You are an operations agent with tools."},
        {"role": "user", "content": f"Work ticket {i}: {PROMPTS[i % len(PROMPTS)]}"},
    ]
    tokens = 0
    for cap in caps:
        c = await engine.complete(Request(f"agent/{i}", list(messages), persona, cap), params)
        tokens += c.completion_tokens
        messages += [
            {"role": "assistant", "content": c.text},
            {"role": "user", "content": TOOL_OUTPUT},
        ]
    return tokens


class StepSync:
    """An engine seen through a step barrier: every waiting turn in one `generate`."""

    def __init__(self, engine: Any) -> None:
        from charprobe.engine.batching import StepBatcher

        self._batcher = StepBatcher(engine.generate)

    async def complete(self, request: Any, params: Any) -> Any:
        return await self._batcher.complete(request, params)


def run_engine(args: argparse.Namespace) -> list[dict]:
    """Every measurement for one engine, in this process."""
    from charprobe.config import ModelConfig, StageConfig
    from charprobe.engine import make_engine
    from charprobe.engine.types import GenerationParams

    personas = sorted(args.personas)
    model = ModelConfig(
        name="bench",
        path=args.base,
        family="llama",
        hub_prefix="bench",
        classifier="none",
        tfidf_classifier="none",
        persona_vectors="none",
        dtype=args.dtype if args.dtype != "auto" else "bfloat16",
        system_role=args.system_role,
    )
    stage = StageConfig(name="bench", repo=args.adapters)
    if args.engine == "hf":
        cfg = {"_target_": "charprobe.engine.hf.HFEngine", "device": "auto", "dtype": args.dtype}
    else:
        cfg = {
            "_target_": "charprobe.engine.vllm.VLLMEngine",
            "dtype": args.dtype,
            **json.loads(args.vllm_options or "{}"),
        }
    rows: list[dict] = []
    with PeakMemory() as mem:
        t = time.perf_counter()
        engine = make_engine(cfg, model, stage, personas)
        load_s = time.perf_counter() - t
    params = GenerationParams(
        temperature=0.7,
        top_p=0.95,
        max_new_tokens=args.max_tokens,
        seed=0,
        batch_size=args.batch_size,
        ignore_eos=True,
    )
    engine.generate(chat_requests(min(8, args.rows), personas, True), params)  # warm-up

    def record(workload: str, units: int, fn: Any) -> None:
        slots0 = getattr(engine, "slots", 0)
        useful0 = getattr(engine, "useful", 0)
        with PeakMemory() as m:
            t = time.perf_counter()
            tokens = fn()
            s = time.perf_counter() - t
        slots = getattr(engine, "slots", 0) - slots0
        useful = getattr(engine, "useful", 0) - useful0
        rows.append(
            {
                "engine": args.engine,
                "workload": workload,
                "units": units,
                "tokens": tokens,
                "seconds": round(s, 3),
                "tokens_per_s": round(tokens / s, 1),
                "units_per_s": round(units / s, 3),
                "useful_slot_fraction": round(useful / slots, 3) if slots else None,
                "peak_rss_gb": round(max(m.rss, mem.rss) / 2**30, 2),
                "peak_gpu_gb": round(max(m.gpu, mem.gpu) / 2**30, 2),
                "load_s": round(load_s, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)

    def chat(adapter: Any) -> int:
        return sum(
            c.completion_tokens
            for c in engine.generate(chat_requests(args.rows, personas, adapter), params)
        )

    def one_at_a_time() -> int:
        per = [r for r in chat_requests(args.rows, personas, True)]
        return sum(
            c.completion_tokens
            for p in personas
            for c in engine.generate([r for r in per if r.adapter == p], params)
        )

    record("chat_base_only", args.rows, lambda: chat(None))
    record("chat_mixed_adapters", args.rows, lambda: chat(True))
    record("chat_one_adapter_at_a_time", args.rows, one_at_a_time)
    greedy = GenerationParams(
        temperature=0.0, max_new_tokens=args.max_tokens, batch_size=args.batch_size, ignore_eos=True
    )
    record(
        "chat_mixed_adapters_greedy",
        args.rows,
        lambda: sum(
            c.completion_tokens
            for c in engine.generate(chat_requests(args.rows, personas, True), greedy)
        ),
    )

    plans = plan_rollouts(args.rollouts, personas, args.max_tokens)
    who = [personas[i % len(personas)] for i in range(len(plans))]

    def agentic(schedule: str) -> int:
        if schedule == "sequential":
            return sum(
                asyncio.run(rollout(engine, i, caps, who[i], params))
                for i, caps in enumerate(plans)
            )
        target = engine if schedule == "continuous" else StepSync(engine)

        async def all_() -> list[int]:
            return await asyncio.gather(
                *(rollout(target, i, caps, who[i], params) for i, caps in enumerate(plans))
            )

        return sum(asyncio.run(all_()))

    for schedule in ("sequential", "step_synchronous", "continuous"):
        record(f"agentic_{schedule}", len(plans), lambda s=schedule: agentic(s))
    return rows


def _toy(name: str) -> tuple[str, str, bool]:
    from charprobe.toy import ensure_world

    world = ensure_world()
    family = name.removeprefix("toy_")
    return (
        str(world / f"toy-{family}-base"),
        str(world / f"toy-{family}-personas"),
        family != "gemma",
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m charprobe.bench",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--toy",
        default="toy_llama",
        help="a toy base (toy_llama|toy_qwen|toy_gemma), full-stage adapters; "
        "ignored when --base is given",
    )
    ap.add_argument("--base", help="a base model folder (or hub id)")
    ap.add_argument("--adapters", help="a folder with one adapter per persona subfolder")
    ap.add_argument("--personas", help="comma-separated (default: every adapter subfolder)")
    ap.add_argument(
        "--no-system-role",
        dest="system_role",
        action="store_false",
        help="fold the system prompt into the first user turn (Gemma)",
    )
    ap.add_argument("--engines", default="hf,vllm")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--rows", type=int, default=120, help="chat rows per measurement")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--rollouts", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=64, help="the HF engine's batch size")
    ap.add_argument(
        "--vllm-options",
        default=None,
        help="JSON of vLLM engine options, e.g. '{\"max_model_len\": 4096}'",
    )
    ap.add_argument("--out", default="bench")
    ap.add_argument("--engine", help=argparse.SUPPRESS)  # one engine, in this process
    args = ap.parse_args(argv)
    if args.base is None:
        args.base, args.adapters, args.system_role = _toy(args.toy)
    if args.adapters is None:
        ap.error("--base needs --adapters")
    if args.personas:
        args.personas = args.personas.split(",")
    else:
        args.personas = sorted(
            p.name for p in Path(args.adapters).iterdir() if (p / "adapter_config.json").exists()
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.engine:
        rows = run_engine(args)
        (out / f"{args.engine}.json").write_text(json.dumps(rows))
        return
    rows = []
    for engine in args.engines.split(","):
        cmd = [
            sys.executable,
            "-m",
            "charprobe.bench",
            *(argv or sys.argv[1:]),
            "--engine",
            engine,
            "--base",
            args.base,
            "--adapters",
            args.adapters,
        ]
        if not args.system_role:
            cmd.append("--no-system-role")
        print(f"bench: {engine} ...", flush=True)
        subprocess.run(cmd, check=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
        rows += json.loads((out / f"{engine}.json").read_text())
    import pandas as pd

    from charprobe.store import atomic_path

    table = pd.DataFrame(rows)
    with atomic_path(out / "bench.csv") as tmp:
        table.to_csv(tmp, index=False)
    plot(rows, out / "bench.png")
    print(table.to_string(index=False))
    r = ratios(rows)
    (out / "ratios.json").write_text(json.dumps(r, indent=2))
    for name, value in r.items():
        print(f"{name}: {value:.2f}x")
    print(f"bench: wrote {out / 'bench.csv'}, {out / 'bench.png'}, {out / 'ratios.json'}")
