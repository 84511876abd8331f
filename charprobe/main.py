"""The one entry point: compose a cell with Hydra and run it.

    python -m charprobe -m model=llama,qwen,gemma stage=base,distillation,full

Every bad input ends the same way: one line `charprobe: error: ...` on stderr, naming the
input, what is wrong and the fix, and exit status 2, within seconds and before any
weights load. A config Hydra cannot compose (a wrong choice such as
`scaffold.pick=middle`, a misspelt key, an unknown option) is one such line too (`cli`);
the inputs themselves are checked by `charprobe.checks` before the job runner (and with
it torch) is even imported.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import NoReturn

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from charprobe.config import (  # importing it registers the schemas
    CONF_DIR,
    choices_of,
    keys_of,
    schema_type,
)
from charprobe.errors import UserError
from charprobe.personas import UnknownPersonaError

log = logging.getLogger("charprobe")


def fail(message: str) -> NoReturn:
    """Print one line a user can act on (a traceback would only bury it) and exit 2."""
    print(f"charprobe: error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(2)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    try:
        _job(cfg)
    except (UserError, UnknownPersonaError) as e:
        fail(str(e))
    except Exception as e:
        # Raised by the job, not by composing its config: `cli` must not read it as a
        # config error.
        e.__charprobe_job__ = True  # type: ignore[attr-defined]
        raise


def _job(cfg: DictConfig) -> None:
    from charprobe.checks import check_inputs

    hydra_cfg = HydraConfig.get()
    job_dir = Path(hydra_cfg.runtime.output_dir)
    # Before the runner is imported: a bad input fails in about a second, before torch.
    check_inputs(cfg)
    from charprobe.job import run_job
    from charprobe.tracking import log_job, sweep_id_of

    info = run_job(cfg, job_dir)
    log.info("done in %.1fs -> %s", info.timings["total_s"], job_dir)
    # Files first, then W&B: logging reads the finished files and never fails the job.
    log_job(cfg, job_dir, sweep_id_of(hydra_cfg))


def cli() -> None:
    """`python -m charprobe`: Hydra's main, with a config it cannot compose as one line.

    Hydra prints such an error over several lines and exits 1; with HYDRA_FULL_ERROR=1
    it raises the exception instead, and that is read here.
    """
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        main()
    except Exception as e:
        if getattr(e, "__charprobe_job__", False):
            raise
        message = config_error(e)
        if message is None:
            raise
        fail(message)


def config_error(e: BaseException) -> str | None:
    """One line for a Hydra/OmegaConf composition error (None: not one)."""
    from hydra.errors import CompactHydraException, MissingConfigException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(e, OverrideParseException):
        return (
            f"{e.override}: cannot parse this override ({_lines(e).split(' See ')[0]}); "
            "write key=value (grammar: https://hydra.cc/docs/advanced/override_grammar/basic)"
        )

    if isinstance(e, MissingConfigException) and e.missing_cfg_file:
        group, _, option = str(e.missing_cfg_file).rpartition("/")
        if group and e.options:
            return (
                f"{group}={option}: no such option of config group '{group}'; use one of "
                f"{', '.join(e.options)}"
            )
        return f"{_lines(e)}"
    cause = e.__cause__ if isinstance(e, CompactHydraException) else e
    if isinstance(cause, OmegaConfBaseException):
        key = getattr(cause, "full_key", None) or ""
        value = getattr(cause, "value", None)
        first = _lines(cause).split(" full_key:")[0].strip()
        choices = choices_of(key) if key else None
        if choices:
            return (
                f"{key}={value}: invalid value '{value}' for {key}; allowed values: "
                f"{', '.join(choices)} (e.g. {key}={choices[0]})"
            )
        parent, _, name = key.rpartition(".")
        known = keys_of(parent) if key else None
        if known is not None and name not in known:
            return (
                f"{key}: no such key ({first}); the keys of "
                f"{parent or 'the config'} are {', '.join(known)}"
            )
        if key:
            shown = f"{key}={value}" if value is not None else key
            ours = schema_type(key) is not None
            return f"{shown}: {first}" + ("; see charprobe/config.py for its type" if ours else "")
        return f"{_lines(e)}: {first}" if cause is not e else first
    if isinstance(e, CompactHydraException):
        return _lines(e)
    return None


def _lines(e: BaseException) -> str:
    """An exception's message on one line, without Hydra's search-path listing."""
    text = str(e).split("Config search path:")[0]
    return " ".join(text.split())
