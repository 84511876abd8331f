"""Jobs one after another against side by side: the demo sweep under two launchers.

    python benchmarks/launcher.py [--repeats 2] [--out bench-launcher] [overrides ...]

Runs `experiment=demo` (9 jobs on toy_llama; W&B off) through Hydra's basic launcher, one
job at a time in one process with torch's default threads (all cores), and through
`hydra/launcher=local`, one job per core with cores // jobs threads each, `--repeats`
times each, alternating, every run into a fresh sweep folder with resume off, so each
generates and scores everything. The classifier the jobs share is trained first, outside
the timings. Prints each run's wall time and jobs per minute, and each pair's ratio
(local / basic): the spread across repeats is the noise of the measurement. Asserts the
two launchers wrote the same texts. Run it alone on the machine: a busy neighbour slows
either side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAUNCHERS = {"basic": [], "local": ["hydra/launcher=local"]}


def _sweep(out: Path, launcher: str, extra: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled"}
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(var, None)  # each launcher's own threads: torch's default, or joblib's
    args = ["-m", "experiment=demo", *LAUNCHERS[launcher], "logger=none", "resume=false"]
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-m", "charprobe", *args, *extra, f"hydra.sweep.dir={out}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if p.returncode:
        sys.exit(f"{launcher} sweep failed:\n{p.stderr[-3000:]}")
    return wall


def _texts(sweep: Path) -> dict[str, list[str]]:
    out = {}
    for rows in sorted(sweep.glob("*/generations.jsonl")):
        lines = rows.read_text().splitlines()
        out[rows.parent.name] = [json.loads(line)["response"] for line in lines]
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default="bench-launcher", help="folder for the sweeps")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides for both launchers")
    args = ap.parse_args(argv)
    out = Path(args.out).resolve()
    # The shared classifier first, so that no timed run trains it.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(
        [sys.executable, "-m", "charprobe.train_scorer", "experiment=demo", *args.overrides],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    jobs = None
    walls: dict[str, list[float]] = {name: [] for name in LAUNCHERS}
    for r in range(args.repeats):
        for name in LAUNCHERS:
            sweep = out / f"{name}-{r}"
            walls[name].append(_sweep(sweep, name, args.overrides))
            jobs = len(list(sweep.glob("*/run.json")))
            print(
                f"run {r + 1} {name:5s}: {walls[name][-1]:6.1f} s, "
                f"{60 * jobs / walls[name][-1]:.2f} jobs/min",
                flush=True,
            )
    assert _texts(out / "basic-0") == _texts(out / "local-0"), "the launchers' texts differ"
    cores = os.cpu_count()
    print(f"\n{jobs} jobs, {cores} cores; jobs/min local / basic, per repeat:")
    for r in range(args.repeats):
        print(f"  run {r + 1}: {walls['basic'][r] / walls['local'][r]:.2f}x")


if __name__ == "__main__":
    main()
