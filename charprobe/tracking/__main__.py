from charprobe.tracking.cli import main

raise SystemExit(main())
