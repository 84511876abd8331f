"""The email body in a chat reply, without what models put around it."""

from __future__ import annotations

import re

_THINK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE_RE = re.compile(r"```[\w\-]*[ \t]*\n?(.*?)(?:\n?```|\Z)", re.DOTALL)
_RULE_RE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_HEADER_RE = re.compile(
    r"^\s*(?:\*\*|__)?(subject|re|to|cc|bcc|from|date|email body|body|email|message)"
    r"\s*:\s*(?:\*\*|__)?\s*(.*)$",
    re.IGNORECASE,
)
_PREAMBLE_RE = re.compile(
    r"^\s*(?:\*\*)?(sure|certainly|of course|okay|ok|absolutely|here(?:'s| is| are)|below is"
    r"|i(?:'ve| have) (?:drafted|written))\b",
    re.IGNORECASE,
)
_EMAIL_WORD = re.compile(r"\b(e-?mail|draft|body|message|reply|response)\b", re.IGNORECASE)
_COMMENTARY_RE = re.compile(
    r"^\s*(?:\(|\*\*|\*)?\s*(note\b|notes\b|explanation\b|i hope this (?:email|draft|helps)"
    r"|this (?:email|draft|message|version)\b|feel free to|i(?:'ve| have)? kept"
    r"|let me know if you(?:'d| would)? (?:like|want)|would you like me)",
    re.IGNORECASE,
)
_QUOTES = {'"': '"', "“": "”", "'": "'", "«": "»"}


def _unfence(text: str) -> str:
    """The content of a fence wrapping the email (with at most a short note around it)."""
    m = _FENCE_RE.search(text)
    if not m:
        return text
    inner = m[1].strip()
    outside = (text[: m.start()] + "\n" + text[m.end() :]).strip()
    note_lines = [ln for ln in outside.splitlines() if ln.strip()]
    short_note = len(note_lines) <= 2 and len(outside) < max(200, len(inner))
    return inner if inner and (not outside or short_note or len(outside) < len(inner) / 4) else text


def _is_preamble(line: str) -> bool:
    s = line.strip()
    return bool(_PREAMBLE_RE.match(s)) and (s.endswith(":") or bool(_EMAIL_WORD.search(s)))


def extract_email_body(reply: str) -> str:
    """The email body in a chat reply: drop preambles, header lines, fences, quotes, notes.

    Models add "Here is the email:", a "Subject:" line, a fence or quotes, or a closing
    remark, even when told not to; the scorer should read only what the email says.
    """
    text = _unfence(_THINK_RE.sub("", reply).strip())
    lines = text.splitlines()
    while lines:
        first = lines[0]
        header = _HEADER_RE.match(first)
        if not first.strip() or _RULE_RE.match(first) or _is_preamble(first):
            lines.pop(0)
        elif header:
            if (
                header[1].lower() in ("body", "email body", "email", "message")
                and header[2].strip()
            ):
                lines[0] = header[2]
                break
            lines.pop(0)
        else:
            break
    text = "\n".join(lines).strip()
    while True:  # drop closing remarks, one paragraph at a time
        paragraphs = re.split(r"\n\s*\n", text)
        last = paragraphs[-1]
        if len(paragraphs) > 1 and (_COMMENTARY_RE.match(last) or _RULE_RE.match(last)):
            text = "\n\n".join(paragraphs[:-1]).rstrip()
            continue
        break
    text = "\n".join(ln for ln in text.splitlines()).strip()
    while text.splitlines() and _RULE_RE.match(text.splitlines()[-1]):
        text = "\n".join(text.splitlines()[:-1]).rstrip()
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] == _QUOTES[text[0]]:
        text = text[1:-1].strip()
    return text.strip()
