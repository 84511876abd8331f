"""The protocol's texts that charprobe writes: tool results, error turns, canonical blocks.

Tool results go back to the model as a user turn starting with TOOL_OUTPUT_PREFIX; a
malformed turn is answered with what was wrong and FORMAT_REMINDER, the protocol again.
"""

from __future__ import annotations

import json
from typing import Any

FENCE = "```"
TOOL_OUTPUT_PREFIX = "[TOOL OUTPUT]\n"

FORMAT_REMINDER = (
    "Reply with exactly one fenced block. To call a tool:\n"
    "```tool_call\n"
    '{"tool": "<tool name>", "args": {"<arg>": "<value>"}}\n'
    "```\n"
    "When the task is done:\n"
    "```final\n"
    "<one-line summary of what you did>\n"
    "```"
)


def format_tool_output(result: Any) -> str:
    """The user turn carrying a tool's result back to the model.

    Non-ASCII stays as written (a name like "Joaquín" must not reach the model, and then
    its email, as "Joaqu\\u00edn").
    """
    return TOOL_OUTPUT_PREFIX + json.dumps(result, ensure_ascii=False)


def format_error(reason: str | None) -> str:
    """The user turn answering a malformed turn: what was wrong, and the format again."""
    message = (
        f"Your last reply could not be used: {reason or 'no readable block'}. {FORMAT_REMINDER}"
    )
    return format_tool_output({"error": message})


def format_tool_call(tool: str, args: dict[str, Any]) -> str:
    """A canonical tool_call block (for scripted models, examples and tests)."""
    return (
        f"{FENCE}tool_call\n{json.dumps({'tool': tool, 'args': args}, ensure_ascii=False)}\n{FENCE}"
    )


def format_final(summary: str) -> str:
    """A canonical final block."""
    return f"{FENCE}final\n{summary}\n{FENCE}"
