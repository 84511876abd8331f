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

from charprobe.config import CONF_DIR  # importing it registers the schemas
from charprobe.errors import UserError
from charprobe.personas import UnknownPersonaError

log = logging.getLogger("charprobe")


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    from charprobe.job import run_job
    from charprobe.tracking import log_job, sweep_id_of

    hydra_cfg = HydraConfig.get()
    job_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        info = run_job(cfg, job_dir)
    except (UserError, UnknownPersonaError) as e:
        # One line a user can act on; a traceback would only bury it.
        print(f"charprobe: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    log.info("done in %.1fs -> %s", info["timings"]["total_s"], job_dir)
    # Files first, then W&B: logging reads the finished files and never fails the job.
    log_job(cfg, job_dir, sweep_id_of(hydra_cfg))
