"""Reading the JSON-ish objects models write into tool calls.

Models emit trailing commas, single quotes, Python literals (True, None), raw newlines
inside strings (email bodies) and objects cut off by the end of the reply. `read_object`
tries repairs from the most to the least faithful and says which one it needed, so the
turn parser can record what it forgave. Python literals are read by `ast.literal_eval`,
which only reads literals: nothing in a reply is ever evaluated.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from charprobe.scaffolds.protocol_format import FENCE

LITERAL_EVAL_LIMIT = 200_000  # characters; ast on huge inputs is slow and deep


def _balanced_end(text: str, start: int) -> int | None:
    """Index just past the `}` closing the `{` at `start`, skipping quoted strings.

    Both quote kinds open strings (single-quoted pseudo-JSON is common); None when the
    object never closes (a truncated reply).
    """
    depth, quote, i, n = 0, "", start, len(text)
    while i < n:
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _outside_strings(text: str, fn) -> str:
    """Apply `fn` to the parts of `text` outside double- or single-quoted strings."""
    out, buf, quote, i = [], [], "", 0
    while i < len(text):
        c = text[i]
        if quote:
            buf.append(c)
            if c == "\\" and i + 1 < len(text):
                buf.append(text[i + 1])
                i += 1
            elif c == quote:
                out.append("".join(buf))
                buf, quote = [], ""
        elif c in "\"'":
            out.append(fn("".join(buf)))
            buf, quote = [c], c
        else:
            buf.append(c)
        i += 1
    out.append("".join(buf) if quote else fn("".join(buf)))
    return "".join(out)


def _drop_trailing_commas(text: str) -> str:
    return _outside_strings(text, lambda s: re.sub(r",(\s*[}\]])", r"\1", s))


def _python_literals(text: str) -> str:
    words = {"true": "True", "false": "False", "null": "None"}
    return _outside_strings(
        text, lambda s: re.sub(r"\b(true|false|null)\b", lambda m: words[m[1]], s)
    )


def read_object(text: str, start: int) -> tuple[Any, int, list[str], str | None]:
    """Read the JSON-ish object starting at `text[start] == "{"`.

    Returns (value, end, notes, error): value is None and error says why when nothing
    could be read unambiguously. Repairs are tried from the most to the least faithful.
    """
    decoder = json.JSONDecoder(strict=False)  # strict=False: raw newlines in strings
    try:
        value, end = decoder.raw_decode(text, start)
        return value, end, [], None
    except (json.JSONDecodeError, RecursionError) as err:
        first_error = f"{err.msg} at char {err.pos - start}" if hasattr(err, "msg") else str(err)
    end = _balanced_end(text, start)
    notes: list[str] = []
    if end is None:
        fence = text.find(FENCE, start)
        end = fence if fence >= 0 else len(text)
        notes.append("the JSON object is not closed")
    span = text[start:end].strip()
    try:
        value = decoder.decode(_drop_trailing_commas(span))
        return value, end, [*notes, "repaired trailing commas in the JSON"], None
    except (json.JSONDecodeError, RecursionError):
        pass
    if len(span) <= LITERAL_EVAL_LIMIT:
        try:
            value = ast.literal_eval(_python_literals(span))
            if isinstance(value, dict):
                return value, end, [*notes, "read the object as a Python literal (quotes)"], None
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    return None, end, notes, f"not valid JSON ({first_error})"


def jsonable(value: Any) -> Any:
    """Plain JSON types only: a Python literal may hold tuples, sets or bytes."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
