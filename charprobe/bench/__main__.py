"""`python -m charprobe.bench`: see charprobe.bench."""

from charprobe.bench import main

main()
