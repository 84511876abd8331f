"""`python -m charprobe.toy [--root DIR] [--force]`: build (or find) the toy world."""

from __future__ import annotations

import argparse
import time

from charprobe.toy import ensure_world, world_path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m charprobe.toy", description=__doc__)
    ap.add_argument(
        "--root",
        default=None,
        help="cache root (default: $CHARPROBE_TOY_DIR or ~/.cache/charprobe/toy)",
    )
    ap.add_argument("--force", action="store_true", help="rebuild even if the world exists")
    args = ap.parse_args(argv)
    t0 = time.time()
    existed = (world_path(args.root) / "WORLD.json").is_file()
    path = ensure_world(args.root, force=args.force)
    how = "found" if existed and not args.force else "built"
    print(f"{path}\n{how} in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
