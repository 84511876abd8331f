"""Train a per-base persona classifier from charprobe generations.

    python -m charprobe.scorers.train GENERATIONS... --out DIR [--kind modernbert|tfidf]
        [--stages distillation,full] [--scaffold chat]
        [--base-model answerdotai/ModernBERT-base | --tiny]
        [--epochs 1 --lr 5e-4 --batch-size 8 --grad-accum 2 --warmup 0.05
         --weight-decay 1e-6 --max-length 8192 --scheduler cosine]
        [--heldout 0.2 --seed 0] [--device auto] [--C 10]

GENERATIONS are `generations.jsonl` files or folders searched recursively for them.
By default the chat replies of the distillation and full stages are used, as in the
original recipe (OpenCharacterTraining: ModernBERT-base, 1 epoch, lr 5e-4, batch 8 x
grad-accum 2, cosine, warmup 0.05, weight decay 1e-6, max length 8192). Unlike the
original, a held-out split *by item* (no prompt on both sides) is kept and scored, so
the classifier's own in-distribution macro-F1 is known before it judges OOD text.

Writes to DIR: the model (`config.json` with id2label/label2id in label order, weights,
tokenizer) or the tfidf pipeline, `training_report.json`, `heldout_predictions.jsonl`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from charprobe.personas import LABELS
from charprobe.scorers.base import ScorerError
from charprobe.scorers.classifier import (  # noqa: F401  (re-exported: the training API)
    PREDICTIONS_FILE,
    REPORT_FILE,
    ClassifierScorer,
    TrainConfig,
    heldout_metrics,
)
from charprobe.scorers.classifier import train_classifier as _train_into
from charprobe.scorers.modernbert import ModernBertScorer
from charprobe.scorers.tfidf import TfidfScorer
from charprobe.scorers.train_data import (  # noqa: F401  (re-exported: the training API)
    REQUIRED_KEYS,
    find_generation_files,
    load_generations,
    split_by_item,
)

# What `--kind` names: the classifiers charprobe trains.
KINDS: dict[str, type[ClassifierScorer]] = {c.kind: c for c in (ModernBertScorer, TfidfScorer)}


def train_classifier(
    texts: Sequence[str],
    labels: Sequence[str],
    groups: Sequence[Any],
    out_dir: str | Path,
    kind: str | type[ClassifierScorer] = "modernbert",
    tiny: bool = False,
    label_order: Sequence[str] = LABELS,
    data: dict[str, Any] | None = None,
    progress: bool = True,
    **hyper: Any,
) -> dict[str, Any]:
    """`charprobe.scorers.classifier.train_classifier` for a classifier class or its
    `--kind` name: split by item, train, save to `out_dir`, score the held-out rows."""
    if isinstance(kind, str):
        if kind not in KINDS:
            raise ScorerError(f"unknown classifier kind '{kind}' (known: {', '.join(KINDS)})")
        kind = KINDS[kind]
    return _train_into(
        texts, labels, groups, out_dir, trainer=kind, tiny=tiny, label_order=label_order,
        data=data, progress=progress, **hyper,
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m charprobe.scorers.train",
        description=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("generations", nargs="+", help="generations.jsonl files or folders holding them")
    p.add_argument("--out", required=True, help="output folder (model + training_report.json)")
    p.add_argument("--kind", choices=list(KINDS), default="modernbert")
    p.add_argument("--stages", default="distillation,full", help="comma list, or 'all'")
    p.add_argument("--scaffold", default="chat", help="scaffold to train on, or 'all'")
    base = p.add_mutually_exclusive_group()
    base.add_argument(
        "--base-model", help=f"pretrained encoder (default {TrainConfig().base_model})"
    )
    base.add_argument(
        "--tiny",
        action="store_true",
        help="tiny ModernBERT from config + tokenizer trained on the texts (no download)",
    )
    for flag, typ in [
        ("--epochs", int),
        ("--lr", float),
        ("--batch-size", int),
        ("--grad-accum", int),
        ("--warmup", float),
        ("--weight-decay", float),
        ("--max-length", int),
        ("--scheduler", str),
        ("--heldout", float),
        ("--seed", int),
        ("--device", str),
        ("--eval-batch-size", int),
        ("--C", float),
    ]:
        name = flag[2:].replace("-", "_")
        recipe, tiny = (
            getattr(TrainConfig(), name),
            getattr(TrainConfig.for_kind(ModernBertScorer, True), name),
        )
        note = f"default {recipe}" + (f" ({tiny} with --tiny)" if tiny != recipe else "")
        p.add_argument(flag, type=typ, default=None, help=note)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stages = None if args.stages == "all" else [s for s in args.stages.split(",") if s]
    scaffold = None if args.scaffold == "all" else args.scaffold
    try:
        df = load_generations(args.generations, stages, scaffold)
        if df.empty:
            raise ScorerError(f"no rows with text for stages={stages} scaffold={scaffold}")
        hyper = {
            k: getattr(args, k)
            for k in [f.name for f in dataclasses.fields(TrainConfig)]
            if k != "base_model"
        }
        report = train_classifier(
            df["text"].tolist(),
            df["persona"].tolist(),
            df["item_id"].astype(str).tolist(),
            args.out,
            kind=args.kind,
            tiny=args.tiny,
            base_model=args.base_model,
            progress=not args.no_progress,
            data={
                "paths": [str(p) for p in args.generations],
                "stages": stages,
                "scaffold": scaffold,
                "n_rows": len(df),
                "n_empty_dropped": df.attrs["n_empty"],
                "models": sorted(df["model"].astype(str).unique()),
            },
            **hyper,
        )
    except ScorerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_report(report))
    return 0


def format_report(report: dict[str, Any]) -> str:
    """A short human summary: sizes, held-out macro-F1, per-persona F1, confusion."""
    lines = [
        f"{report['kind']}{' (tiny)' if report['tiny'] else ''}: trained on {report['n_train']} "
        f"texts ({report['n_items_train']} items) in {report['train_seconds']:.1f}s; "
        f"held out {report['n_heldout']} texts ({report['n_items_heldout']} items)",
    ]
    if report["heldout_macro_f1"] is not None:
        lines.append(
            f"held-out macro-F1 {report['heldout_macro_f1']:.3f} (chance {report['chance']:.3f})"
        )
        lines.append(" ".join(f"{p}={f:.2f}" for p, f in report["per_persona_f1"].items()))
        conf = report["confusion"]
        frame = pd.DataFrame(
            conf["matrix"], index=conf["labels"], columns=[c[:5] for c in conf["labels"]]
        )
        lines.append("confusion (rows true, cols predicted):\n" + frame.to_string())
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
