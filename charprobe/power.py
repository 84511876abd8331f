"""`python -m charprobe.power`: the planted world's power table (`charprobe.planted.power`)."""

from __future__ import annotations

import sys

from charprobe.planted.power import main

if __name__ == "__main__":
    sys.exit(main())
