from charprobe.main import cli

cli()
