"""Scaffolds: how text is elicited (chat, chat_email, agentic_email)."""

from __future__ import annotations

from charprobe.config import ScaffoldConfig
from charprobe.errors import UserError
from charprobe.scaffolds.base import Item, Scaffold, Unit


def make_scaffold(cfg: ScaffoldConfig) -> Scaffold:
    if cfg.name == "chat":
        from charprobe.scaffolds.chat import ChatScaffold

        return ChatScaffold(prompts=cfg.prompts, items=cfg.items, shuffle_seed=cfg.shuffle_seed,
                            suffix=cfg.suffix, suffixes_file=cfg.suffixes_file, turns=cfg.turns,
                            followup=cfg.followup)
    raise UserError(f"unknown scaffold '{cfg.name}' (known: chat, chat_email, agentic_email)")


__all__ = ["Item", "Scaffold", "Unit", "make_scaffold"]
