"""`python -m charprobe.report PATH`: the report of a sweep, a job or a predictions file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from charprobe.personas import UnknownPersonaError
from charprobe.report import build_report, compare_report
from charprobe.report.cells import ReportError, split_list
from charprobe.stats import Settings


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if len(args.path) > 2:
            raise ReportError("give one path to report, or two sweeps to compare")
        settings = Settings(
            no_email=args.no_email,
            n_boot=args.n_boot,
            seed=args.seed,
            cluster=args.cluster,
            n_boot_p=args.n_boot_p,
            n_perm=args.n_perm,
            min_items=args.min_items,
            min_rows=args.min_rows,
        )
        if len(args.path) == 2:
            compare_report(*args.path, out=args.out, settings=settings, verbose=True)
            return 0
        build_report(
            args.path[0],
            true_col=args.true_col,
            pred_col=args.pred_col,
            item_col=args.item_col,
            group_by=split_list(args.group_by) if args.group_by is not None else None,
            personas=args.personas,
            out=args.out,
            settings=settings,
            margin=args.margin,
            min_rollouts=args.min_rollouts,
            verbose=True,
        )
    except (ReportError, UnknownPersonaError) as err:
        print(f"charprobe.report: error: {err}", file=sys.stderr)
        return 2
    return 0


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m charprobe.report",
        description="Macro-F1 with bootstrap CIs, per-persona F1 and confusion matrices "
        "for a sweep folder, a job folder or a predictions file.",
    )
    ap.add_argument(
        "path",
        nargs="+",
        help="sweep folder, job folder, or predictions .jsonl/.json/.csv; two sweeps: "
        "compare them cell by cell (A minus B, written to compare.csv)",
    )
    ap.add_argument("--true-col", help="column with the true persona (default: persona)")
    ap.add_argument("--pred-col", help="column with the predicted label (default: pred)")
    ap.add_argument(
        "--item-col",
        help="column naming each row's item, the unit intervals resample (default: item_id, "
        "else scenario_id, else none: rows)",
    )
    ap.add_argument(
        "--group-by",
        help="comma-separated cell columns (default: model,stage,scaffold for runs; "
        "for a file whichever of model,base,stage,scaffold it has)",
    )
    ap.add_argument(
        "--personas",
        help="evaluated personas: paper, all, or p1,p2,... (default: each run's persona "
        "list; for a file, the true personas it contains)",
    )
    ap.add_argument("--out", help="output folder (default: <folder>/report or beside the file)")
    ap.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (1000)")
    ap.add_argument("--seed", type=int, default=0, help="bootstrap seed (0)")
    ap.add_argument(
        "--cluster",
        choices=("item", "family", "row"),
        default="item",
        help="what intervals resample: items with all their rows (default), scenario "
        "families, or rows (the reference study's bootstrap)",
    )
    ap.add_argument("--n-boot-p", type=int, default=10000, help="resamples for p (10000)")
    ap.add_argument("--n-perm", type=int, default=10000, help="shuffles for chance (10000)")
    ap.add_argument("--min-items", type=int, default=10, help="fewer items: thin (10)")
    ap.add_argument("--min-rows", type=int, default=5, help="fewer rows a persona: thin (5)")
    ap.add_argument("--margin", type=float, default=0.1, help="fade: 'not faded' below (0.1)")
    ap.add_argument("--min-rollouts", type=int, default=10, help="fade: fewer is no verdict (10)")
    ap.add_argument(
        "--no-email",
        choices=("drop", "error"),
        default="drop",
        help="rows without text: drop them from F1 (default) or count them as wrong",
    )
    return ap
