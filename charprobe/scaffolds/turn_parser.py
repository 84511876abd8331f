"""The tolerant parser of the agentic protocol: what one assistant turn asks for.

The model acts by emitting one fenced block per turn:

    ```tool_call
    {"tool": "<name>", "args": {...}}
    ```

and ends with a ```final``` block holding a one-line summary. Real models bend this in
many ways, and a rollout lost to a formatting slip says nothing about the persona, so the
parser accepts every variant whose meaning is unambiguous and records what it forgave in
`notes`:

- a single-line block (```tool_call {"tool": ...}```) or a missing closing fence;
- a block inside prose, or several blocks in one turn (the first readable one is used);
- JSON with trailing commas, single quotes or Python literals (repaired by a string-aware
  pass, then `ast.literal_eval`, which only reads literals; nothing is ever evaluated);
- raw newlines inside JSON strings (email bodies), braces and fences inside strings;
- a ```json (or unlabelled) fence whose object is a tool call; `name`/`arguments`
  instead of `tool`/`args`; a "final" tool call instead of a final block.

Anything else is a malformed turn; `parse_turn` never raises.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from charprobe.scaffolds.lenient_json import LITERAL_EVAL_LIMIT, jsonable, read_object
from charprobe.scaffolds.protocol_format import FENCE

TurnKind = Literal["tool_call", "final", "malformed"]

MAX_BLOCKS = 64  # protocol blocks examined per turn; more is degenerate output

_LABELS = {
    "tool_call": "tool_call",
    "toolcall": "tool_call",
    "tool_code": "tool_call",
    "tool": "tool_call",
    "tool_use": "tool_call",
    "function_call": "tool_call",
    "final": "final",
    "json": "json",
    "": "bare",
}
_LABEL_RE = re.compile(r"[ \t]*([A-Za-z][\w\-]*)?")
_THINK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_TOOL_KEYS = ("tool", "name", "tool_name")
_ARGS_KEYS = ("args", "arguments", "parameters", "params", "input")
_FINAL_TOOLS = ("final", "finish", "done")
_SUMMARY_KEYS = ("summary", "status", "message", "text", "content")


@dataclass
class ParsedTurn:
    """What one assistant turn asks for.

    `kind` is "tool_call" (with `tool`, `args`), "final" (with `final`, the summary) or
    "malformed" (with `error`, why). `notes` lists what was tolerated; `n_blocks` counts
    the protocol blocks seen (tool_call, final, and json fences holding a tool call).
    """

    kind: TurnKind
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    final: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    n_blocks: int = 0


@dataclass
class _Block:
    label: str  # tool_call | final | json | bare
    start: int
    turn: ParsedTurn | None  # None: a json/bare fence that is no tool call


# ---------------------------------------------------------------- interpretation


def _interpret(obj: Any, label: str) -> ParsedTurn | None:
    """Turn a decoded object into a tool call (or final); None if it is no tool call.

    For a ```tool_call block anything unusable is a malformed turn; for a json/bare fence
    an object without a tool name is just not a protocol block.
    """
    strict = label == "tool_call"
    if not isinstance(obj, dict):
        if strict:
            return ParsedTurn(
                "malformed",
                error=f"the tool_call block holds a {type(obj).__name__}, not an object",
            )
        return None
    notes: list[str] = []
    if isinstance(obj.get("function"), dict) and not any(k in obj for k in _TOOL_KEYS):
        obj = obj["function"]  # OpenAI style {"function": {"name", "arguments"}}
        notes.append("unwrapped a {'function': ...} object")
    tool_key = next((k for k in _TOOL_KEYS if k in obj), None)
    if tool_key is None:
        if strict:
            return ParsedTurn("malformed", error='the tool_call object has no "tool" key')
        return None
    tool = obj[tool_key]
    if not isinstance(tool, str) or not tool.strip():
        return ParsedTurn("malformed", error='"tool" must be a non-empty string')
    tool = tool.strip()
    if tool_key != "tool":
        notes.append(f'read "{tool_key}" as "tool"')
    args_key = next((k for k in _ARGS_KEYS if k in obj), None)
    args: Any = {} if args_key is None else obj[args_key]
    if args_key is None:
        notes.append("no args given; used {}")
    elif args_key != "args":
        notes.append(f'read "{args_key}" as "args"')
    if isinstance(args, str):  # arguments as a JSON string
        try:
            args = json.loads(args)
            notes.append("args were a JSON string")
        except json.JSONDecodeError:
            pass
    if args is None:
        args = {}
    if not isinstance(args, dict):
        return ParsedTurn("malformed", error=f'"args" must be an object, got {type(args).__name__}')
    extra = sorted(set(obj) - {tool_key, args_key})
    if extra:
        notes.append(f"ignored extra keys {extra}")
    if tool.lower() in _FINAL_TOOLS:
        summary = next((args[k] for k in _SUMMARY_KEYS if isinstance(args.get(k), str)), "")
        return ParsedTurn(
            "final",
            final=summary.strip(),
            notes=[*notes, f'"{tool}" called as a tool; read as final'],
        )
    return ParsedTurn("tool_call", tool=tool, args=args, notes=notes)


# ---------------------------------------------------------------- fences


def _is_closing(text: str, i: int) -> bool:
    """A fence at `i` closes a block unless a label is glued to it (then it opens one)."""
    j = i + 3
    if text[j : j + 1] == "`":
        return True  # ```` or a closing fence glued to the next opening one
    return not (j < len(text) and text[j].isalpha())


def _next_close(text: str, pos: int) -> int:
    """Position of the next fence at or after `pos` (-1: none); any fence ends a block."""
    return text.find(FENCE, pos)


def _skip_fence(text: str, close: int) -> int:
    """Where scanning resumes after the block ending at fence `close`."""
    if close < 0:
        return len(text)
    if not _is_closing(text, close):
        return close  # that fence opens the next block: this one was never closed
    run = close
    while run < len(text) and text[run] == "`":
        run += 1
    return close + 3 if run - close >= 6 else run  # six backticks: close, then open


def _read_block(text: str, label: str, body: int) -> tuple[ParsedTurn | None, int, list[str]]:
    """Parse the block whose content starts at `body`; returns (turn, resume_at, notes)."""
    notes: list[str] = []
    k = body
    while k < len(text) and text[k] in " \t\r\n":
        k += 1
    if label == "bare":  # ```\ntool_call\n{...}: the label slipped onto the next line
        m = re.match(r"(tool_call|final)\b[ \t]*\n?", text[k : k + 12])
        if m:
            label = m[1]
            k += m.end()
            notes.append(f"the {label} label was inside the fence")
    if label == "final":
        close = _next_close(text, k)
        content = text[k : close if close >= 0 else len(text)].strip()
        if close < 0 or not _is_closing(text, close):
            notes.append("missing closing fence")
        if not content:
            notes.append("empty final block")
        return ParsedTurn("final", final=content), _skip_fence(text, close), notes
    close = _next_close(text, k)
    brace = text.find("{", k, close if close >= 0 else len(text))
    if brace < 0:
        if label == "tool_call":
            what = (
                "is empty"
                if not text[k : close if close >= 0 else None].strip()
                else "holds no JSON object"
            )
            return (
                ParsedTurn("malformed", error=f"the tool_call block {what}"),
                _skip_fence(text, close),
                notes,
            )
        return None, _skip_fence(text, close), notes
    if text[k:brace].strip():
        notes.append("ignored text before the JSON object in the block")
    value, end, read_notes, error = read_object(text, brace)
    notes.extend(read_notes)
    close = _next_close(text, end)
    if close < 0 or not _is_closing(text, close):
        notes.append("missing closing fence")
    elif text[end:close].strip():
        notes.append("ignored text after the JSON object in the block")
    resume = _skip_fence(text, close)
    if error is not None:
        if label == "tool_call":
            return ParsedTurn("malformed", error=f"the tool_call block is {error}"), resume, notes
        return None, resume, notes
    turn = _interpret(jsonable(value), label)
    if turn is not None and label in ("json", "bare") and turn.kind != "malformed":
        notes.append(f"tool call inside a ```{label if label == 'json' else ''} fence")
    return turn, resume, notes


def _scan(text: str) -> tuple[list[_Block], list[str]]:
    blocks: list[_Block] = []
    notes: list[str] = []
    pos = 0
    while len(blocks) < MAX_BLOCKS:
        i = text.find(FENCE, pos)
        if i < 0:
            break
        j = i + 3
        while j < len(text) and text[j] == "`":
            j += 1
        m = _LABEL_RE.match(text, j)
        raw_label = (m[1] or "") if m else ""
        label = _LABELS.get(raw_label.lower().replace("-", "_"))
        if label is None:  # a foreign fence (```python ...): skip to its end
            pos = _skip_fence(text, _next_close(text, m.end()))
            if pos <= i:
                pos = i + 3
            continue
        if raw_label and raw_label not in ("tool_call", "final", "json", ""):
            notes.append(f"read ```{raw_label} as ```{label if label != 'bare' else ''}")
        turn, resume, block_notes = _read_block(text, label, m.end())
        if turn is not None:
            turn.notes[:0] = block_notes
            blocks.append(_Block(label, i, turn))
        pos = max(resume, i + 3)
    else:
        if text.find(FENCE, pos) >= 0:
            notes.append(f"more than {MAX_BLOCKS} blocks; the rest were ignored")
    return blocks, notes


def _bare_call_hint(text: str) -> bool:
    """True when the turn holds a tool-call-looking object outside any fence."""
    return bool(re.search(r"\{\s*[\"']tool[\"']\s*:", text[:LITERAL_EVAL_LIMIT]))


def parse_turn(text: Any) -> ParsedTurn:
    """Read one assistant turn. Never raises: unreadable turns come back malformed."""
    if not isinstance(text, str):
        return ParsedTurn("malformed", error=f"the reply is a {type(text).__name__}, not text")
    notes: list[str] = []
    if "<think>" in text.lower():
        stripped = _THINK_RE.sub("", text)
        if stripped != text:
            notes.append("ignored a <think> section")
            text = stripped
    if not text.strip():
        return ParsedTurn("malformed", error="the reply is empty", notes=notes)
    blocks, scan_notes = _scan(text)
    notes.extend(scan_notes)
    n = len(blocks)
    chosen = next((b for b in blocks if b.turn and b.turn.kind != "malformed"), None)
    if chosen is None:
        if blocks:
            turn = blocks[0].turn
            turn.notes[:0] = notes
            turn.n_blocks = n
            return turn
        error = "no ```tool_call or ```final block found"
        if _bare_call_hint(text):
            error += " (a tool call outside a fenced block does not count)"
        return ParsedTurn("malformed", error=error, notes=notes, n_blocks=0)
    turn = chosen.turn
    skipped = sum(1 for b in blocks if b.start < chosen.start)
    if skipped:
        notes.append(f"skipped {skipped} unreadable block(s) before the one used")
    if n > 1:
        notes.append(f"{n} blocks in one turn; used the first readable ({turn.kind})")
    turn.notes[:0] = notes
    turn.n_blocks = n
    return turn
