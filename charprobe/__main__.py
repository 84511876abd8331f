from charprobe.main import cli

# vLLM spawns its worker processes, which import this module again: only the parent runs.
if __name__ == "__main__":
    cli()
