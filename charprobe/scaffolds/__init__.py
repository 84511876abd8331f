"""Scaffolds: how text is elicited (chat, chat_email, agentic_email)."""

from __future__ import annotations

from charprobe.config import ScaffoldConfig
from charprobe.errors import UserError
from charprobe.scaffolds.base import Item, Scaffold, Unit

SCAFFOLDS = ("chat", "chat_email", "agentic_email")


def make_scaffold(cfg: ScaffoldConfig) -> Scaffold:
    if cfg.name == "chat":
        from charprobe.scaffolds.chat import ChatScaffold

        return ChatScaffold(prompts=cfg.prompts, items=cfg.items, shuffle_seed=cfg.shuffle_seed,
                            suffix=cfg.suffix, suffixes_file=cfg.suffixes_file, turns=cfg.turns,
                            followup=cfg.followup)
    if cfg.name == "chat_email":
        from charprobe.scaffolds.chat_email import ChatEmailScaffold

        return ChatEmailScaffold(scenarios=None if cfg.source else cfg.scenarios,
                                 source=cfg.source, limit=cfg.items)
    if cfg.name == "agentic_email":
        from charprobe.scaffolds.agentic_email import AgenticEmailScaffold

        return AgenticEmailScaffold(scenarios=cfg.scenarios, max_steps=cfg.max_steps,
                                    max_malformed=cfg.max_malformed, pick=str(cfg.pick),
                                    limit=cfg.items)
    raise UserError(f"unknown scaffold '{cfg.name}' (known: {', '.join(SCAFFOLDS)})")


__all__ = ["SCAFFOLDS", "Item", "Scaffold", "Unit", "make_scaffold"]
