"""The agentic protocol: reading one assistant turn, and the texts sent back.

The model acts by emitting one fenced block per turn:

    ```tool_call
    {"tool": "<name>", "args": {...}}
    ```

and ends with a ```final``` block holding a one-line summary. Real models bend this in
many ways, and a rollout lost to a formatting slip says nothing about the persona, so
`parse_turn` accepts every variant whose meaning is unambiguous, records what it forgave
in `ParsedTurn.notes` and never raises.

The parts: `turn_parser` (the tolerant parser; its docstring lists what it forgives),
`lenient_json` (the JSON repairs it uses), `protocol_format` (the texts charprobe
writes). Their names are re-exported here, where the scaffolds and the toy import them.
"""

from __future__ import annotations

from charprobe.scaffolds.lenient_json import read_object
from charprobe.scaffolds.protocol_format import (
    FENCE,
    FORMAT_REMINDER,
    TOOL_OUTPUT_PREFIX,
    format_error,
    format_final,
    format_tool_call,
    format_tool_output,
)
from charprobe.scaffolds.turn_parser import MAX_BLOCKS, ParsedTurn, TurnKind, parse_turn

__all__ = [
    "FENCE",
    "FORMAT_REMINDER",
    "MAX_BLOCKS",
    "TOOL_OUTPUT_PREFIX",
    "ParsedTurn",
    "TurnKind",
    "format_error",
    "format_final",
    "format_tool_call",
    "format_tool_output",
    "parse_turn",
    "read_object",
]
