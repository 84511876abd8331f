"""The one entry point: compose a cell with Hydra and run it.

    python -m charprobe -m model=llama,qwen,gemma stage=base,distillation,full
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

import charprobe.config  # noqa: F401  (registers the schemas before Hydra composes)
from charprobe.errors import UserError
from charprobe.personas import UnknownPersonaError

log = logging.getLogger("charprobe")


# The config tree sits beside the package in the checkout (an editable install).
CONF = str(Path(__file__).resolve().parents[1] / "conf")


@hydra.main(version_base="1.3", config_path=CONF, config_name="config")
def main(cfg: DictConfig) -> None:
    from charprobe.job import run_job

    job_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        info = run_job(cfg, job_dir)
    except (UserError, UnknownPersonaError) as e:
        # One line a user can act on; a traceback would only bury it.
        print(f"charprobe: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    log.info("done in %.1fs -> %s", info["timings"]["total_s"], job_dir)
