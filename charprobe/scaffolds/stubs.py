"""Tool stubs: canned tool results read from a scenario file.

A stub never executes anything, evaluates nothing and touches no network: it only
hands back (a copy of) a response written in the scenario file. Rules of one tool are
tried in file order; a `match` rule applies when every key it names is present in the
call's args and the stringified arg value matches the fnmatch pattern. If no match rule
applies, the tool's `default` rule answers, wherever it sits in the list.

Case: matching is case-sensitive by default (`fnmatch.fnmatchcase`), as in the study's
harness, and it is the same on every platform (plain `fnmatch.fnmatch` follows the OS,
case-insensitive on Windows). `case_sensitive=False` casefolds both sides instead, which
forgives a model that searches for "data quality" where the pattern says "Data Quality".
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

ToolResult = dict[str, Any] | list[Any]


def unknown_tool(tool: str) -> ToolResult:
    """The answer to a call of a tool the scenario does not register."""
    return {"error": f"unknown tool: {tool}"}


class ToolStubs:
    """The stub table of one scenario: `call(tool, args)` answers like the real tool."""

    def __init__(self, tool_stubs: Sequence[Mapping[str, Any]], *, case_sensitive: bool = True):
        self.case_sensitive = case_sensitive
        self._rules: dict[str, list[Mapping[str, Any]]] = {
            str(stub["tool"]): list(stub.get("rules") or []) for stub in tool_stubs
        }

    @property
    def tools(self) -> list[str]:
        return list(self._rules)

    def _matches(self, pattern: Any, value: Any) -> bool:
        text, pat = str(value), str(pattern)
        if not self.case_sensitive:
            text, pat = text.casefold(), pat.casefold()
        return fnmatchcase(text, pat)

    def _applies(self, match: Mapping[str, Any], args: Mapping[str, Any]) -> bool:
        return all(k in args and self._matches(p, args[k]) for k, p in match.items())

    def call(self, tool: str, args: Mapping[str, Any] | None = None) -> ToolResult:
        """The response of the first rule that applies, else an error dict (never raises)."""
        rules = self._rules.get(tool)
        if rules is None:
            return unknown_tool(tool)
        if args is None:
            args = {}
        if not isinstance(args, Mapping):
            return {"error": f"{tool}: args must be a JSON object"}
        default = None
        for rule in rules:
            if rule.get("default") is True:
                default = default or rule
            elif isinstance(rule.get("match"), Mapping) and self._applies(rule["match"], args):
                return copy.deepcopy(rule["response"])
        if default is not None:
            return copy.deepcopy(default["response"])
        return {"error": f"{tool}: no result for these arguments"}
