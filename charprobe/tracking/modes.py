"""W&B modes: online, offline or nothing, decided from the config and the credentials."""

from __future__ import annotations

import netrc
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # wandb is imported only when a run is logged (import takes ~1 s)
    import wandb

# Seconds to wait for W&B to start a run / to finish uploading one before giving up.
# Online only (offline neither connects nor uploads). The init deadline also ends W&B's
# own retries of an unreachable server (wandb's default is 90 s). WANDB_INIT_TIMEOUT and
# WANDB_FINISH_TIMEOUT override them.
INIT_TIMEOUT_S = 30.0
FINISH_TIMEOUT_S = 300.0
# Hosts whose netrc entry counts as W&B credentials when WANDB_BASE_URL is not set: the
# SDK's default API host and the classic one (`wandb login` writes either).
DEFAULT_HOSTS = ("api.wandb.ai", "api.forge.coreweave.com")

# Set once `auto` mode found W&B unreachable: later runs of this process go offline.
offline_reason: str | None = None


class TrackingError(Exception):
    """A problem this module detects itself (no credentials, bad mode)."""


def has_credentials() -> bool:
    """Whether W&B credentials are configured, without asking the network or the user."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    base = os.environ.get("WANDB_BASE_URL")
    hosts = [urlsplit(base).netloc] if base else list(DEFAULT_HOSTS)
    path = Path(os.environ.get("NETRC") or "~/.netrc").expanduser()
    try:
        entries = netrc.netrc(path)
    except (OSError, netrc.NetrcParseError):
        return False
    return any(entry and entry[2] for entry in map(entries.authenticators, hosts))


def resolve_mode(mode: str) -> str | None:
    """``online`` / ``offline`` for a run, or None when nothing is to be logged."""
    mode = (mode or "auto").lower()
    if mode == "auto":
        env = os.environ.get("WANDB_MODE", "").lower()
        if env in ("disabled", "offline", "online"):
            mode = env
        elif env == "dryrun":
            mode = "offline"
        elif offline_reason is not None or not has_credentials():
            return "offline"
        else:
            return "online"
    if mode == "disabled":
        return None
    if mode not in ("online", "offline"):
        raise TrackingError(f"logger.mode must be auto, online, offline or disabled, not {mode!r}")
    return mode


def wandb_module() -> Any:
    """Import wandb quietly: its banners would bury the job's own log lines."""
    os.environ.setdefault("WANDB_SILENT", "true")
    import wandb

    return wandb


def settings(mode: str) -> wandb.Settings:
    wandb = wandb_module()
    if mode == "offline":
        # Offline must not reach anything: also no crash reports from W&B's service.
        os.environ.setdefault("WANDB_ERROR_REPORTING", "false")
    extra: dict[str, Any] = {}
    if "WANDB_INIT_TIMEOUT" not in os.environ:
        extra["init_timeout"] = INIT_TIMEOUT_S
    if "WANDB_FINISH_TIMEOUT" not in os.environ:
        extra["finish_timeout"] = FINISH_TIMEOUT_S
    return wandb.Settings(
        mode=mode,
        reinit="create_new",  # one run per job, even when many jobs share a process
        console="off",  # logged after the job: there is no console output to capture
        silent=True,
        x_disable_stats=True,  # no system-metrics sampler: the work is already done
        finish_timeout_raises=True,  # an unfinished upload is a failure we report
        **extra,
    )
