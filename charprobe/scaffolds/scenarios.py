"""Scenario files: one agentic situation each (system prompt, user task, tool stubs).

The schema is the one of the reference study's `agentic_actions` scenarios, so those
files load unchanged; keys charprobe does not use (`scaffold`, ...) are kept in `extra`.
A broken file fails with one line naming the file and the field, because a researcher
writing their own scenarios needs to know where to look, not a traceback from deep in
a rollout.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from charprobe.engine.types import Message

DEFAULT_MAX_STEPS = 8  # the study's cap on model turns per rollout
ROLES = ("system", "user", "assistant")
_REQUIRED = ("id", "initial_messages", "tool_stubs")
# A scenario is a few KB (the shipped ones are under 10 KB). Bigger files are refused
# before they are read, and a file whose anchors/aliases expand past MAX_YAML_NODES (a
# "billion laughs" bomb: a few lines that expand to gigabytes once walked) is refused
# before anything walks it.
MAX_SCENARIO_BYTES = 1_000_000
MAX_YAML_NODES = 100_000

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "data" / "scenarios"


class ScenarioError(ValueError):
    """A scenario file that cannot be used: `<path>: <field>: <what is wrong>`."""

    def __init__(self, path: str | Path, field: str, problem: str, fix: str | None = None) -> None:
        self.path = str(path)
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path}: {field}: {problem}" + (f"; {fix}" if fix else ""))


@dataclass
class Scenario:
    """One situation of the email scaffolds, as read from its file."""

    id: str
    description: str
    max_steps: int
    initial_messages: list[Message]
    tool_stubs: list[dict[str, Any]]
    elicits: str | None = None
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def system(self) -> str | None:
        """The first system message (the agent's framing), if any."""
        return next((m["content"] for m in self.initial_messages if m["role"] == "system"), None)

    @property
    def task(self) -> str:
        """The first user message: what the user asks the agent to do."""
        return next(m["content"] for m in self.initial_messages if m["role"] == "user")

    @property
    def kind(self) -> str:
        """The situation type: the id without its `_v<n>` variant suffix."""
        return re.sub(r"_v\d+$", "", self.id)


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates and timestamps as the strings written in the file.

    Stub responses are sent to the model as JSON, and a pattern like `2026-04-09` must
    stay text for fnmatch; PyYAML would otherwise turn both into `datetime` objects.
    """

    def compose_document(self) -> yaml.Node:
        node = super().compose_document()
        _check_expansion(node)
        return node


class _ExpansionError(yaml.YAMLError):
    pass


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand past MAX_YAML_NODES, or refer to themselves.

    Counted on the composed node graph, where an alias is a shared node: the expanded
    size is computed once per node, so a bomb is measured without being expanded.
    """
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in size:
            continue
        if isinstance(node, yaml.SequenceNode):
            kids = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            kids = [n for pair in node.value for n in pair]
        else:
            kids = []
        if not children_done:
            if key in open_:
                raise _ExpansionError(f"alias at line {node.start_mark.line + 1} refers to itself")
            open_.add(key)
            stack.append((node, True))
            stack.extend((k, False) for k in kids if id(k) not in size)
            continue
        open_.discard(key)
        if any(id(k) not in size for k in kids):  # a child is an ancestor: a cycle
            raise _ExpansionError(f"alias at line {node.start_mark.line + 1} refers to itself")
        size[key] = 1 + sum(size[id(k)] for k in kids)
        if size[key] > MAX_YAML_NODES:
            raise _ExpansionError(
                f"its anchors and aliases expand to more than {MAX_YAML_NODES:,} YAML nodes "
                "(a 'billion laughs' file?)"
            )


_FIELD_LINE = re.compile(r"^(\s*)(-\s+)?([A-Za-z_][\w.\-]*)\s*:")


def _field_at(text: str, line: int) -> str | None:
    """The dotted key the 0-based `line` sits under, read from indentation (best effort)."""
    stack: list[tuple[int, str]] = []
    for raw in text.splitlines()[: line + 1]:
        m = _FIELD_LINE.match(raw)
        if not m:
            continue
        indent = len(m[1]) + (len(m[2]) if m[2] else 0)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m[3]))
    return ".".join(k for _, k in stack) or None


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_str(path: Path, name: str, value: Any, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise ScenarioError(path, name, f"must be a string, got {_type_name(value)}")
    if not empty_ok and not value.strip():
        raise ScenarioError(path, name, "must not be empty")
    return value


def _check_messages(path: Path, raw: Any) -> list[Message]:
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(path, "initial_messages", "must be a non-empty list of messages")
    out: list[Message] = []
    for i, msg in enumerate(raw):
        where = f"initial_messages[{i}]"
        if not isinstance(msg, Mapping):
            raise ScenarioError(path, where, f"must be a mapping, got {_type_name(msg)}")
        for key in ("role", "content"):
            if key not in msg:
                raise ScenarioError(path, f"{where}.{key}", "missing")
        role = msg["role"]
        if role not in ROLES:
            raise ScenarioError(path, f"{where}.role", f"must be one of {ROLES}, got {role!r}")
        out.append({"role": role, "content": _check_str(path, f"{where}.content", msg["content"])})
    if not any(m["role"] == "user" for m in out):
        raise ScenarioError(path, "initial_messages", "no user message (the task)")
    if out[-1]["role"] != "user":
        raise ScenarioError(path, "initial_messages", "must end with a user message")
    return out


def _check_pattern(path: Path, where: str, value: Any) -> str:
    if isinstance(value, (Mapping, list)) or value is None:
        raise ScenarioError(path, where, f"pattern must be a scalar, got {_type_name(value)}")
    if isinstance(value, (date, datetime)):  # only if a caller used another loader
        return value.isoformat()
    return str(value)


def _check_rule(path: Path, where: str, rule: Any) -> dict[str, Any]:
    if not isinstance(rule, Mapping):
        raise ScenarioError(path, where, f"must be a mapping, got {_type_name(rule)}")
    has_match, is_default = "match" in rule, rule.get("default") is True
    if "default" in rule and not isinstance(rule["default"], bool):
        raise ScenarioError(path, f"{where}.default", "must be true or false")
    if has_match and is_default:
        raise ScenarioError(path, where, "has both match and default: true")
    if not has_match and not is_default:
        raise ScenarioError(path, where, "needs a match mapping or default: true")
    if "response" not in rule:
        raise ScenarioError(path, f"{where}.response", "missing")
    response = rule["response"]
    if not isinstance(response, (Mapping, list)):
        raise ScenarioError(
            path, f"{where}.response", f"must be a mapping or a list, got {_type_name(response)}"
        )
    out: dict[str, Any] = {"response": response}
    if has_match:
        match = rule["match"]
        if not isinstance(match, Mapping) or not match:
            raise ScenarioError(path, f"{where}.match", "must be a non-empty mapping arg: pattern")
        out["match"] = {
            str(k): _check_pattern(path, f"{where}.match.{k}", v) for k, v in match.items()
        }
    else:
        out["default"] = True
    return out


def _check_stubs(path: Path, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise ScenarioError(path, "tool_stubs", f"must be a list, got {_type_name(raw)}")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, stub in enumerate(raw):
        where = f"tool_stubs[{i}]"
        if not isinstance(stub, Mapping):
            raise ScenarioError(path, where, f"must be a mapping, got {_type_name(stub)}")
        if "tool" not in stub:
            raise ScenarioError(path, f"{where}.tool", "missing")
        tool = _check_str(path, f"{where}.tool", stub["tool"])
        if tool in seen:
            raise ScenarioError(path, f"{where}.tool", f"{tool!r} is listed twice")
        seen.add(tool)
        rules = stub.get("rules")
        if not isinstance(rules, list) or not rules:
            raise ScenarioError(path, f"{where}.rules", "must be a non-empty list of rules")
        checked = [_check_rule(path, f"{where}.rules[{j}]", r) for j, r in enumerate(rules)]
        if sum("default" in r for r in checked) > 1:
            raise ScenarioError(path, f"{where}.rules", "more than one default rule")
        out.append({"tool": tool, "rules": checked})
    return out


def parse_scenario(raw: Any, path: str | Path = "<memory>") -> Scenario:
    """Validate one parsed YAML document and return its `Scenario`."""
    path = Path(path)
    if not isinstance(raw, Mapping):
        raise ScenarioError(path, "<file>", f"must be a mapping of fields, got {_type_name(raw)}")
    for key in _REQUIRED:
        if key not in raw:
            raise ScenarioError(
                path,
                key,
                "missing",
                f"add a `{key}:` field (every scenario needs {', '.join(_REQUIRED)}; "
                f"the files in {SHIPPED_DIR} are examples)",
            )
    max_steps = raw.get("max_steps", DEFAULT_MAX_STEPS)
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ScenarioError(path, "max_steps", f"must be a positive integer, got {max_steps!r}")
    elicits = raw.get("elicits")
    if elicits is not None:
        _check_str(path, "elicits", elicits, empty_ok=True)
    known = {"id", "description", "max_steps", "initial_messages", "tool_stubs", "elicits"}
    return Scenario(
        id=_check_str(path, "id", raw["id"]).strip(),
        description=_check_str(path, "description", raw.get("description", ""), empty_ok=True),
        max_steps=max_steps,
        initial_messages=_check_messages(path, raw["initial_messages"]),
        tool_stubs=_check_stubs(path, raw["tool_stubs"]),
        elicits=elicits,
        path=path,
        extra={k: v for k, v in raw.items() if k not in known},
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file."""
    path = Path(path)
    try:
        n_bytes = path.stat().st_size
        if n_bytes > MAX_SCENARIO_BYTES:
            raise ScenarioError(
                path,
                "<file>",
                f"is {n_bytes / 1e6:.1f} MB, over the {MAX_SCENARIO_BYTES / 1e6:g} MB limit for "
                "a scenario file",
                "a scenario is a few KB: trim it or split it into several files",
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(
            path, "<file>", f"cannot read: {err}", "save it as a UTF-8 text file"
        ) from None
    try:
        raw = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except _ExpansionError as err:
        raise ScenarioError(
            path, "<yaml>", str(err), "write the repeated parts out instead of nesting aliases"
        ) from None
    except yaml.YAMLError as err:

        def at(mark: yaml.Mark) -> str:
            near = _field_at(text, mark.line)
            return f"line {mark.line + 1}, column {mark.column + 1}" + (
                f" (field {near})" if near else ""
            )

        mark = getattr(err, "problem_mark", None)
        where = at(mark) if mark is not None else "?"
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        context, start = getattr(err, "context", None), getattr(err, "context_mark", None)
        if context and start is not None and mark is not None and start.line != mark.line:
            problem += f", {context} that starts at {at(start)}"
        raise ScenarioError(
            path, "<yaml>", f"invalid YAML at {where}: {problem}", "fix the YAML syntax there"
        ) from None
    except (ValueError, RecursionError) as err:  # e.g. an int too long, nesting too deep
        raise ScenarioError(
            path,
            "<yaml>",
            f"cannot read: {type(err).__name__}: {str(err)[:200]}",
            "simplify the file",
        ) from None
    return parse_scenario(raw, path)


def scenario_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_scenarios(source: str | Path | Iterable[str | Path] | None = None) -> list[Scenario]:
    """Load a scenario folder (every *.yaml/*.yml in it), one file, or a list of either.

    None loads charprobe's shipped suite. Scenarios come back sorted by id; two files
    with the same id are an error (results are keyed by scenario id).
    """
    if source is None:
        sources: list[Path] = [SHIPPED_DIR]
    elif isinstance(source, (str, Path)):
        sources = [Path(source)]
    else:
        sources = [Path(s) for s in source]
    files: list[Path] = []
    for src in sources:
        if src.is_dir():
            found = scenario_files(src)
            if not found:
                raise ScenarioError(
                    src,
                    "<folder>",
                    "holds no .yaml scenario files",
                    "point at a folder of scenario .yaml files",
                )
            files.extend(found)
        elif src.is_file():
            files.append(src)
        else:
            raise ScenarioError(
                src,
                "<path>",
                "no such file or folder",
                "point at a folder (or file) of scenario .yaml files, or leave it null for "
                "charprobe's own suite",
            )
    by_id: dict[str, Scenario] = {}
    for f in files:
        scenario = load_scenario(f)
        if scenario.id in by_id:
            raise ScenarioError(f, "id", f"{scenario.id!r} also used by {by_id[scenario.id].path}")
        by_id[scenario.id] = scenario
    return [by_id[k] for k in sorted(by_id)]
