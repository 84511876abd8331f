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
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from charprobe.personas import LABELS
from charprobe.scorers.base import Scorer, ScorerError
from charprobe.scorers.train_data import (  # noqa: F401  (re-exported: the training API)
    REQUIRED_KEYS,
    find_generation_files,
    load_generations,
    split_by_item,
)

REPORT_FILE = "training_report.json"
PREDICTIONS_FILE = "heldout_predictions.jsonl"


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; the defaults are the original recipe (see `for_kind`)."""

    base_model: str = "answerdotai/ModernBERT-base"
    epochs: int = 1
    lr: float = 5e-4
    batch_size: int = 8
    grad_accum: int = 2
    warmup: float = 0.05
    weight_decay: float = 1e-6
    max_length: int = 8192
    scheduler: str = "cosine"
    heldout: float = 0.2
    seed: int = 0
    device: str = "auto"
    eval_batch_size: int = 16
    C: float = 10.0  # tfidf: inverse regularisation of the logistic regression

    @classmethod
    def for_kind(cls, kind: str, tiny: bool = False, **hyper: Any) -> TrainConfig:
        """Recipe defaults, or for `tiny` ones that make a from-scratch model learn fast."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(hyper) - known)
        if unknown:
            raise TypeError(f"unknown training option(s) {unknown}; known: {sorted(known)}")
        base = cls()
        if tiny and kind == "modernbert":
            base = dataclasses.replace(
                base,
                base_model="<tiny from config>",
                epochs=4,
                lr=2e-3,
                batch_size=16,
                grad_accum=1,
                warmup=0.1,
                weight_decay=0.01,
                max_length=256,
                scheduler="linear",
                eval_batch_size=64,
            )
        return dataclasses.replace(base, **{k: v for k, v in hyper.items() if v is not None})


def heldout_metrics(
    y_true: Sequence[str], y_pred: Sequence[str], label_order: Sequence[str]
) -> dict[str, Any]:
    """One-vs-rest F1 per persona present (true or predicted), their mean, the confusion:
    the study's own rule (`charprobe.stats`), so a persona with no true row and no
    prediction is skipped rather than counted as 0 or 1."""
    from charprobe import stats

    per = {
        p: s.f1
        for p, s in stats.per_persona_scores(y_true, y_pred, label_order).items()
        if s.f1 == s.f1
    }  # NaN: skipped
    matrix = stats.confusion_matrix(y_true, y_pred, label_order).loc[:, list(label_order)]
    return {
        "heldout_macro_f1": stats.macro_f1(y_true, y_pred, label_order) if per else None,
        "per_persona_f1": per,
        "accuracy": float(np.mean(np.asarray(y_true) == np.asarray(y_pred))) if y_true else None,
        "confusion": {
            "labels": list(label_order),
            "rows": "true",
            "cols": "predicted",
            "matrix": matrix.to_numpy().tolist(),
        },
    }


def _fit(
    kind: str,
    tiny: bool,
    texts: list[str],
    labels: list[str],
    out: Path,
    cfg: TrainConfig,
    label_order: Sequence[str],
    progress: bool,
) -> tuple[Scorer, dict]:
    """Train, save to `out`, and return the in-memory scorer plus training facts."""
    if kind == "tfidf":
        from charprobe.scorers.tfidf import TfidfScorer

        start = time.perf_counter()
        scorer = TfidfScorer(label_order, C=cfg.C, seed=cfg.seed).fit(texts, labels)
        facts = {"train_seconds": time.perf_counter() - start}
        scorer.save(out)
        return scorer, facts
    if kind != "modernbert":
        raise ScorerError(f"unknown classifier kind '{kind}' (known: modernbert, tfidf)")

    from transformers import set_seed

    from charprobe.scorers import finetune
    from charprobe.scorers.modernbert import ModernBertScorer, resolve_device

    set_seed(cfg.seed)
    if tiny:
        model, tokenizer = finetune.build_tiny(texts, label_order, finetune.TinyArch())
    else:
        model, tokenizer = finetune.build_pretrained(cfg.base_model, label_order)
    index = {name: i for i, name in enumerate(label_order)}
    facts = finetune.fit(
        model,
        tokenizer,
        texts,
        [index[y] for y in labels],
        epochs=cfg.epochs,
        lr=cfg.lr,
        batch_size=cfg.batch_size,
        grad_accum=cfg.grad_accum,
        warmup=cfg.warmup,
        weight_decay=cfg.weight_decay,
        max_length=cfg.max_length,
        scheduler=cfg.scheduler,
        seed=cfg.seed,
        device=resolve_device(cfg.device),
        progress=progress,
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    facts["n_parameters"] = sum(p.numel() for p in model.parameters())
    scorer = ModernBertScorer.from_model(
        model,
        tokenizer,
        label_order,
        max_length=cfg.max_length,
        batch_size=cfg.eval_batch_size,
        progress=progress,
    )
    return scorer, facts


def train_classifier(
    texts: Sequence[str],
    labels: Sequence[str],
    groups: Sequence[Any],
    out_dir: str | Path,
    kind: str = "modernbert",
    tiny: bool = False,
    label_order: Sequence[str] = LABELS,
    data: dict[str, Any] | None = None,
    progress: bool = True,
    **hyper: Any,
) -> dict[str, Any]:
    """Split by item, train, save to `out_dir`, score the held-out rows; return the report.

    `labels` are the persona of each text, `groups` its item id. `hyper` overrides any
    `TrainConfig` field (None means "the default"); `data` is stored in the report as is
    (e.g. which files and stages the texts came from).
    """
    texts, labels, groups = list(texts), list(labels), list(groups)
    if not (len(texts) == len(labels) == len(groups)):
        raise ScorerError(
            f"texts/labels/groups differ in length: {len(texts)}/{len(labels)}/{len(groups)}"
        )
    if not texts:
        raise ScorerError("no texts to train on")
    unknown = sorted(set(labels) - set(label_order))
    if unknown:
        raise ScorerError(f"labels {unknown} are not in the label order {list(label_order)}")
    cfg = TrainConfig.for_kind(kind, tiny, **hyper)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_idx, held_idx = split_by_item(groups, cfg.heldout, cfg.seed)
    leak = {groups[i] for i in train_idx} & {groups[i] for i in held_idx}
    assert not leak, f"item ids on both sides of the split: {sorted(leak)[:5]}"

    start = time.perf_counter()
    scorer, facts = _fit(
        kind,
        tiny,
        [texts[i] for i in train_idx],
        [labels[i] for i in train_idx],
        out,
        cfg,
        label_order,
        progress,
    )
    eval_start = time.perf_counter()
    proba = scorer.predict_proba([texts[i] for i in held_idx])
    eval_seconds = time.perf_counter() - eval_start
    y_true = [labels[i] for i in held_idx]
    y_pred = [label_order[j] for j in proba.argmax(axis=1)] if len(held_idx) else []

    with (out / PREDICTIONS_FILE).open("w") as fh:
        for row, i in enumerate(held_idx):
            fh.write(
                json.dumps(
                    {
                        "index": int(i),
                        "item_id": groups[i],
                        "label": labels[i],
                        "pred": y_pred[row],
                        "proba": proba[row].tolist(),
                    },
                    default=str,
                )
                + "\n"
            )
    report: dict[str, Any] = {
        "kind": kind,
        "tiny": tiny and kind == "modernbert",
        "labels": list(label_order),
        "n_train": len(train_idx),
        "n_heldout": len(held_idx),
        "n_items_train": len({groups[i] for i in train_idx}),
        "n_items_heldout": len({groups[i] for i in held_idx}),
        "train_label_counts": pd.Series([labels[i] for i in train_idx]).value_counts().to_dict(),
        "chance": 1 / len(set(labels)),
        **(
            heldout_metrics(y_true, y_pred, label_order)
            if len(held_idx)
            else {
                "heldout_macro_f1": None,
                "per_persona_f1": {},
                "accuracy": None,
                "confusion": None,
            }
        ),
        **facts,
        "heldout_texts_per_second": len(held_idx) / eval_seconds if len(held_idx) else None,
        "total_seconds": time.perf_counter() - start,
        "args": dataclasses.asdict(cfg),
        "data": data or {},
        "versions": _versions(),
    }
    (out / REPORT_FILE).write_text(json.dumps(report, indent=2, default=str) + "\n")
    return report


def _versions() -> dict[str, str]:
    import sklearn
    import torch
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "scikit-learn": sklearn.__version__,
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m charprobe.scorers.train",
        description=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("generations", nargs="+", help="generations.jsonl files or folders holding them")
    p.add_argument("--out", required=True, help="output folder (model + training_report.json)")
    p.add_argument("--kind", choices=["modernbert", "tfidf"], default="modernbert")
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
            getattr(TrainConfig.for_kind("modernbert", True), name),
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
