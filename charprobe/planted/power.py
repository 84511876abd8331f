"""Power: with n items and k personas, how large a drop does charprobe detect?

    python -m charprobe.power [--items 10,30,50,100] [--drops 0.05,0.1,0.2,0.3]
                              [--personas paper] [--replicates 50] [--out power]

For each true drop of macro-F1 from chat_email to agentic_email (the study's control
against the agentic email), a planted world is made whose agent email rate gives exactly
that drop (solved on the unlimited draw, `charprobe.planted.truth`), and `--replicates`
small replicates of it at each item count are run through the scaffolds, the scorer
and the report's paired drop (`charprobe.planted.replicate`). A replicate detects the
drop when its one-sided p-value is below `--alpha` (0.05), the report's test. The table
is the share of replicates that detect it; `min_drop_80` is the smallest drop of the grid
detected at least 80% of the time. Written to ``power.csv`` and ``power.png`` under
`--out`.

The scorer is a TF-IDF classifier trained on the planted world's chat replies (the one
`experiment=planted` trains; trained here on first use).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from charprobe.metrics import Settings
from charprobe.planted import preset
from charprobe.planted.replicate import Replicator, measure
from charprobe.planted.truth import Reading, cell_truth
from charprobe.planted.world import World
from charprobe.scorers import Scorer

log = logging.getLogger(__name__)

STAGE = "full"
PAIR = ("chat_email", "agentic_email")
CHAT_EMAIL_RATE = 0.8


def world_for_drop(
    base: World, reading: Reading, personas: Sequence[str], drop: float
) -> tuple[World, float]:
    """A world whose true drop chat_email -> agentic_email at `STAGE` is `drop`: chat and
    chat_email styled at CHAT_EMAIL_RATE, the email at the rate (found by bisection) that
    gives the drop; every agent sends its email. Returns the world and its true drop."""

    def make(email: float) -> World:
        rates = {k: CHAT_EMAIL_RATE for k in ("chat", "chat_email", "tool", "final")}
        return replace(base, rates={STAGE: {**rates, "email": email}}, no_email={}, genre={})

    def gap(email: float) -> float:
        w = make(email)
        f = [cell_truth(reading, w, STAGE, sc, personas)["macro_f1"] for sc in PAIR]
        return f[0] - f[1]

    lo, hi = 0.0, CHAT_EMAIL_RATE  # gap(lo) is the largest drop, gap(hi) is 0
    if gap(lo) < drop:
        raise ValueError(f"a drop of {drop} is beyond this world (at most {gap(lo):.3f})")
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if gap(mid) > drop else (lo, mid)
    email = (lo + hi) / 2
    return make(email), gap(email)


def power_table(
    scorer: Scorer,
    personas: Sequence[str],
    items: Sequence[int],
    drops: Sequence[float],
    replicates: int,
    alpha: float = 0.05,
    settings: Settings | None = None,
    seed: int = 1,
) -> pd.DataFrame:
    """One row per (items, drop): the share of replicates whose paired drop test rejects."""
    from tqdm.auto import tqdm

    s = settings or Settings(n_boot=0, n_boot_p=1000)
    base = preset("planted")
    reading = Reading(scorer, ["plain"], personas, n_texts=1000)
    worlds = [world_for_drop(base, reading, personas, d) for d in drops]
    rows = []
    bar = tqdm(total=len(items) * len(drops) * replicates, desc="power", unit="world")
    for n in items:
        rep = Replicator(scorer, personas, n, scaffolds=PAIR)
        for d, (world, true_drop) in zip(drops, worlds, strict=True):
            hits = 0
            for r in range(replicates):
                got = measure(
                    rep.run(replace(world, seed=seed + r), STAGE),
                    personas,
                    s,
                    pairs=[PAIR],
                    fade=False,
                    cells=False,
                    test=True,
                )
                hits += got.drops[PAIR].p_value < alpha
                bar.update(1)
            rows.append(
                {
                    "items": n,
                    "personas": len(personas),
                    "drop": d,
                    "true_drop": round(true_drop, 4),
                    "email_styled_rate": round(world.rate(STAGE, "email", personas[0]), 4),
                    "power": hits / replicates,
                    "replicates": replicates,
                }
            )
    bar.close()
    return pd.DataFrame(rows)


def min_detectable(table: pd.DataFrame, target: float = 0.8) -> pd.Series:
    """Per item count, the smallest drop of the grid detected at least `target` of the time."""
    ok = table[table["power"] >= target]
    return ok.groupby("items")["drop"].min().reindex(sorted(table["items"].unique()))


def plot_power(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for n, t in table.groupby("items"):
        ax.plot(t["drop"], t["power"], marker="o", label=f"{n} items")
    ax.axhline(0.8, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("true macro-F1 drop, chat_email -> agentic_email")
    ax.set_ylabel("power (share of replicates with p < 0.05)")
    ax.set_ylim(0, 1.02)
    k, r = int(table["personas"].iloc[0]), int(table["replicates"].iloc[0])
    ax.set_title(f"planted world, {k} personas, {r} replicates")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _ints(s: str) -> list[int]:
    return [int(x) for x in s.split(",") if x]


def _floats(s: str) -> list[float]:
    return [float(x) for x in s.split(",") if x]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m charprobe.power", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--items", type=_ints, default=[10, 30, 50, 100])
    p.add_argument("--drops", type=_floats, default=[0.05, 0.1, 0.2, 0.3])
    p.add_argument(
        "--personas", default="paper", help="a persona set (conf/persona) or a comma list"
    )
    p.add_argument("--replicates", type=int, default=50)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--out", type=Path, default=Path("power"))
    p.add_argument(
        "--scorer", type=Path, default=None, help="a TF-IDF folder (default: the planted world's)"
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from charprobe.personas import LABELS
    from charprobe.report.cells import resolve_personas

    personas = resolve_personas(args.personas)
    scorer = _scorer(args.scorer, LABELS)
    table = power_table(scorer, personas, args.items, args.drops, args.replicates, args.alpha)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "power.csv", index=False)
    plot_power(table, args.out / "power.png")
    wide = table.pivot(index="items", columns="drop", values="power")
    wide.columns = [f"drop {c:g}" for c in wide.columns]
    wide["min_drop_80"] = min_detectable(table)
    print(f"power to detect a macro-F1 drop chat_email -> agentic_email (p < {args.alpha}, "
          f"{len(personas)} personas, {args.replicates} replicates each):")  # fmt: skip
    print(wide.to_string(float_format=lambda x: f"{x:.2f}"))
    print(f"\nwrote {args.out / 'power.csv'} and {args.out / 'power.png'}")
    return 0


def _scorer(path: Path | None, labels: Sequence[str]) -> Scorer:
    """The TF-IDF classifier at `path`, or the planted world's (trained on first use by a
    one-job run of the world, as `experiment=planted` trains it)."""
    from charprobe.scorers.tfidf import TfidfScorer

    if path is None:
        path = _planted_tfidf()
    return TfidfScorer.load(str(path), labels=list(labels))


def _planted_tfidf() -> Path:
    import subprocess

    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from charprobe.config import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            config_name="config", overrides=["model=planted", "engine=planted", "scorer=tfidf"]
        )
    path = Path(str(OmegaConf.to_container(cfg.model, resolve=True)["tfidf_classifier"]))
    if not path.exists():
        log.info("training the planted world's TF-IDF classifier into %s", path)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "charprobe.train_scorer",
                "model=planted",
                "engine=planted",
                "scorer=tfidf",
            ],
            check=True,
        )
    return path


if __name__ == "__main__":
    sys.exit(main())
