import sys

from charprobe.report.cli import main

sys.exit(main())
