"""`python -m charprobe.toy [--root DIR] [--family F ...] [--force]`: build (or find) the
toy world, or only the families named (the demo builds `--family llama`)."""

from __future__ import annotations

import argparse
import time

from charprobe.toy import built_families, ensure_world, world_path
from charprobe.toy.build import FAMILIES


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m charprobe.toy", description=__doc__)
    ap.add_argument(
        "--root",
        default=None,
        help="cache root (default: $CHARPROBE_TOY_DIR or ~/.cache/charprobe/toy)",
    )
    ap.add_argument(
        "--family",
        action="append",
        choices=FAMILIES,
        help="build only this family (repeatable; default: all three)",
    )
    ap.add_argument("--force", action="store_true", help="rebuild even if the world exists")
    args = ap.parse_args(argv)
    t0 = time.time()
    want = set(args.family or FAMILIES)
    existed = want <= built_families(world_path(args.root))
    path = ensure_world(
        args.root, force=args.force, families=tuple(args.family) if args.family else None
    )
    how = "found" if existed and not args.force else "built"
    print(f"{path}\n{how} in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
