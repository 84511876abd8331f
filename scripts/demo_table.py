"""Print the README's demo table from a sweep, so the two cannot drift apart.

    python scripts/demo_table.py multirun/demo-<date>     # markdown, one row per cell

Macro-F1 with the item bootstrap's interval (the sweep's report), the row bootstrap's
interval beside it (computed here into a temporary folder), the strict macro-F1, the
permutation chance with its 95th percentile, and why a cell is thin. A cell with fewer
than 30 scored rows says why: its rollouts that sent no email (the toy adapters at later
stages often break the tool protocol), rows without text, or rows without a verdict.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from charprobe.report import build_report


def _ci(lo: float, hi: float) -> str:
    return "-" if lo != lo else f"[{lo:.3f}, {hi:.3f}]"


def _num(x: float) -> str:
    return "-" if x != x else f"{x:.3f}"


MIN_SCORED = 30  # the demo's promise: every cell with rows has this many scored


def _why_few(row) -> str:
    """Why a cell has fewer than MIN_SCORED scored rows ("" when it has enough)."""
    if row.n >= MIN_SCORED:
        return ""
    parts = [f"{row.n} of {row.n_rows} rows scored"]
    for count, what in (
        (row.n_dropped, "sent no email"),
        (row.n_no_text - row.n_dropped, "had no text otherwise"),  # no_text counts no-email too
        (row.n_no_prediction, "got no verdict"),
    ):
        if count:
            parts.append(f"{count} {what}")
    return ", ".join(parts)


def main(sweep: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:  # the sweep's own report/ is left as it is
        items = build_report(sweep, out=Path(tmp) / "items")
        rows = build_report(sweep, out=Path(tmp) / "rows", cluster="row")
    head = ["stage", "scaffold", "n", "items", "macro-F1", "items CI", "rows CI", "strict"]
    print("| " + " | ".join([*head, "chance (q95)", "thin"]) + " |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (_, a), (_, b) in zip(items.iterrows(), rows.iterrows(), strict=True):
        print(
            f"| {a.stage} | {a.scaffold} | {a.n} | {a.n_items} | {_num(a.macro_f1)} | "
            f"{_ci(a.ci_low, a.ci_high)} | {_ci(b.ci_low, b.ci_high)} | "
            f"{_num(a.macro_f1_strict)} | {_num(a.chance)} ({_num(a.chance_q95)}) | "
            f"{'; '.join(w for w in (_why_few(a), a.thin_reason if a.thin else '') if w)} |"
        )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/demo_table.py SWEEP")
    main(sys.argv[1])
