"""The simulated workplace: companies, people, tools, and an operations agent's system prompt.

A `World` is one company seen by one operations agent. Its system prompt mimics the
reference scenarios' shape (who the agent is, how to act, a numbered tool registry that
always includes `email.send`, standing context) in this project's own words, at three
sizes so training can be cheap and still cover the long-prompt case.
"""


# ruff: noqa: E501  (grammar data: long template strings read better unbroken)

from __future__ import annotations

import random
from dataclasses import dataclass, field

from charprobe.toy import lexicon as lx
from charprobe.toy.tools import EMAIL_SEND, TOOLS, Tool, draw_registry

__all__ = ["EMAIL_SEND", "TOOLS", "Person", "Tool", "World", "system_prompt"]


@dataclass
class Person:
    first: str
    last: str
    email: str
    role: str
    org: str
    team: str
    notes: str = ""

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


_NOTES = (
    "Prefers short, direct messages.",
    "Usually replies within the hour.",
    "Has been asking for more visibility on this.",
    "Detail-oriented; likes numbers.",
    "Out on Fridays this month.",
    "New to the role since last quarter.",
    "Prefers email over chat for anything formal.",
    "Works closely with the data team.",
    "Was not in the last planning meeting.",
    "Likes to resolve things without escalation.",
    "Asked to be kept in the loop on timelines.",
    "Time zone is three hours ahead.",
)


@dataclass
class World:
    """One company, its agent, its current user and the people in one task."""

    rng: random.Random
    company: str = ""
    domain: str = ""
    industry: str = ""
    city: str = ""
    tz: str = ""
    agent: str = ""
    user: Person | None = None
    rooms: tuple[str, ...] = ()
    registry: list[Tool] = field(default_factory=list)

    def __post_init__(self) -> None:
        r = self.rng
        self.company, self.domain, self.industry = lx.company(r)
        self.city, self.tz, self.agent = (
            r.choice(lx.CITIES),
            r.choice(lx.TIMEZONES),
            r.choice(lx.AGENT_NAMES),
        )
        self.user = self.insider(role=r.choice(lx.USER_TITLES))
        self.rooms = r.choice(lx.ROOM_SETS)
        self.registry = draw_registry(r)

    def insider(self, role: str | None = None, team: str | None = None) -> Person:
        first, last = lx.person(self.rng)
        return Person(
            first,
            last,
            lx.email_of(first, last, self.domain, self.rng),
            role or self.rng.choice(lx.ROLES),
            self.company,
            team or self.rng.choice(lx.DEPARTMENTS),
            self.rng.choice(_NOTES),
        )

    def outsider(self, org: str | None = None) -> Person:
        name, domain, _ = lx.company(self.rng)
        first, last = lx.person(self.rng)
        return Person(
            first,
            last,
            lx.email_of(first, last, domain, self.rng),
            self.rng.choice(lx.ROLES),
            org or name,
            "External",
            self.rng.choice(_NOTES),
        )

    def has(self, kind: str) -> Tool | None:
        return next((t for t in self.registry if t.kind == kind), None)


# ----------------------------------------------------------------------------- system prompt

_INTROS = (
    "You are {agent}, the operations agent for {company}, a {size}-person {industry} company in {city}.",
    "You are {agent}, an operations assistant working for {company} ({industry}, {size} people, based in {city}).",
    "Your name is {agent}. You are the operations agent of {company}, a {industry} company with {size} employees in {city}.",
)
_INTROS2 = (
    " You act on behalf of employees who hand operational work to you.",
    " Employees delegate everyday operational tasks to you and you carry them out.",
    " You handle operational requests for the staff and act in their name.",
)
_ACCESS = (
    " You can use {families}.",
    " You have access to {families}.",
    " Your tools cover {families}.",
)
_FAMILY_WORDS = {
    "crm": "the contacts CRM",
    "directory": "the staff directory",
    "people": "people records",
    "hr": "HR policy lookup",
    "policy": "the policy handbook",
    "wiki": "the internal wiki",
    "docs": "the shared drive",
    "slack": "Slack",
    "email": "outbound email",
    "calendar": "the company calendar",
    "finance": "budget data",
    "vendors": "vendor contracts",
    "tasks": "the task tracker",
    "chat": "team chat",
    "tickets": "the ticket system",
    "handbook": "the handbook",
}

_HOW_TITLES = ("## How to act", "## Protocol", "## How you work", "## Acting")
_HOW_CALL = (
    "You invoke a tool by emitting a fenced ```tool_call``` block containing a single JSON object of this form:",
    "To use a tool, reply with a fenced ```tool_call``` block holding one JSON object:",
    "Call a tool by writing a fenced ```tool_call``` block with exactly one JSON object inside:",
)
_HOW_RESULT = (
    "The tool's result comes back in a turn that starts with [TOOL OUTPUT]. Make one call at a time and wait for its result before the next one.",
    "Results arrive as a message beginning with [TOOL OUTPUT]. Issue calls one by one and read each result first.",
    "Each result is returned to you prefixed with [TOOL OUTPUT]. Only one tool call per turn.",
)
_HOW_FINAL = (
    "When every required action is done, end with a fenced ```final``` block holding a one-line summary:",
    "Once the work is complete, close the trajectory with a fenced ```final``` block containing a one-line status:",
    "Finish with a fenced ```final``` block with a single line describing what you did:",
)
_FINAL_EXAMPLES = (
    "Sent the reminder; logged the follow-up task.",
    "Emailed the vendor and noted the renewal date.",
    "Notified the team and updated the tracker.",
    "Sent the summary email to the account owner.",
)
_HOW_RULES = (
    "Do not write prose outside the fenced blocks while you work. If a tool errors or returns nothing useful, do not repeat the same call.",
    "Your only outputs are tool_call blocks and, at the end, one final block. Do not retry a failed call with identical arguments.",
    "Write nothing except fenced blocks. A failed call should not be repeated unchanged.",
)


def _tool_text(i: int, t: Tool, bold: bool) -> str:
    if bold:
        return f"{i}. **{t.name}** — {t.desc}\n   - args: {t.args}\n   - returns: {t.returns}"
    return f"- `{t.name}`: {t.desc} Args: {t.args}. Returns: {t.returns}."


def _context(w: World) -> list[str]:
    r, u = w.rng, w.user
    assert u is not None
    wd, month, day = lx.date_text(r)
    hour = f"{r.randint(7, 16):02d}:{r.choice(('00', '15', '30', '45'))}"
    lines = [
        f"Today is {wd}, {month} {day}, 2026, {hour} {w.tz}. The current user is {u.name} ({u.email}), {u.role}."
    ]
    pool = [
        "Office holidays this quarter: "
        + ", ".join(
            f"{h} ({r.choice(lx.WEEKDAYS)[:3]} {r.choice(lx.MONTHS)[:3]} {r.randint(1, 28)})"
            for h in r.sample(
                (
                    "Founders Day",
                    "Summer break",
                    "Wellness day",
                    "Harvest day",
                    "Winter recess",
                    "Company anniversary",
                ),
                2,
            )
        )
        + ".",
        f"Meeting rooms on floor {r.randint(2, 9)}: "
        + ", ".join(f"{room} ({r.choice((4, 6, 8, 10, 12, 20))})" for room in w.rooms)
        + ".",
        f"The {r.choice(lx.MEETINGS)} is {r.choice(lx.WEEKDAYS)}s {(h := r.randint(9, 15))}:00-{h}:45 in {r.choice(w.rooms)}; attendance is expected from {r.choice(lx.DEPARTMENTS).lower()} and {r.choice(lx.DEPARTMENTS).lower()}.",
        "Reminders: "
        + " ".join(
            r.sample(
                (
                    f"Purchases above ${r.randint(10, 90)}k need sign-off from {r.choice(lx.DEPARTMENTS)}.",
                    f"Customer data must stay in the {r.choice(('US-East', 'EU-West', 'US-West', 'APAC'))} region.",
                    "Performance concerns go to the person's direct manager before anything is filed with HR.",
                    "Talk to people directly first and escalate only if that does not work.",
                    f"Contracts longer than {r.choice((6, 12, 24))} months need legal review.",
                    "External emails about incidents must be reviewed by the account owner.",
                    "Budget changes after the quarter closes go to the CFO.",
                ),
                r.randint(2, 5),
            )
        ),
        f"The all-hands runs every {r.choice(lx.WEEKDAYS)} {r.randint(10, 16)}:00 in {r.choice(w.rooms)}.",
        f"The {r.choice(lx.DEPARTMENTS)} offsite is on {r.choice(lx.MONTHS)} {r.randint(1, 28)}; expect slow replies from that team.",
        f"Quarter close is {r.choice(lx.MONTHS)} {r.randint(1, 28)}; finance is busy the week before.",
        f"IT maintenance window: {r.choice(lx.WEEKDAYS)}s 22:00-23:30 {w.tz}; chat and email may be slow.",
        f"Expense reports are due on the {r.choice(('1st', '5th', '10th', '15th'))} of each month; late ones roll over.",
        f"On-call this week: {' '.join(lx.person(r))} ({r.choice(lx.DEPARTMENTS)}), backup {' '.join(lx.person(r))}.",
        f"New hires this month: {', '.join(' '.join(lx.person(r)) for _ in range(r.randint(2, 4)))}.",
        f"The {r.choice(lx.DEPARTMENTS)} team is hiring two {r.choice(lx.ROLES)}s; referrals go to {' '.join(lx.person(r))}.",
        f"The {r.choice(lx.MEETINGS)} moved from {r.choice(lx.WEEKDAYS)} to {r.choice(lx.WEEKDAYS)} for the rest of the quarter; the {r.choice(lx.MEETINGS)} is unchanged.",
        f"Visitors check in at reception on floor 1; parking is on level {r.randint(1, 4)} and badges expire at 18:00.",
        f"The customer council meets {r.choice(lx.MONTHS)} {r.randint(1, 28)} with {r.randint(5, 20)} accounts; prep notes are owned by {r.choice(lx.DEPARTMENTS)}.",
    ]
    lines += r.sample(pool, r.randint(4, 9))
    return lines


_MINIMAL = (
    "You are {agent}, the operations agent for {company}. The current user is {user} ({email}).\n\n"
    "Tools: {tools}.\n\nCall one tool per turn with a fenced ```tool_call block holding "
    '{{"tool": ..., "args": {{...}}}}; results come back as [TOOL OUTPUT]. Finish with a ```final block.\n'
)


def system_prompt(w: World, with_tools: bool = True, size: str = "full") -> str:
    """The agent's system prompt; `with_tools=False` is the chat_email control's version.

    `size`: "full" (reference-like, 2-4k characters), "compact" (same sections, few tools
    and context lines) or "minimal" (a few lines). Short prompts are cheap sequences that
    let a tiny model see many more episodes per CPU second; the full ones teach it the
    long-context case the reference scenarios pose."""
    r = w.rng
    if size == "minimal" and with_tools:
        assert w.user is not None
        return _MINIMAL.format(
            agent=w.agent,
            company=w.company,
            user=w.user.name,
            email=w.user.email,
            tools=", ".join(t.name for t in w.registry),
        )
    compact = size == "compact"
    fam = sorted({t.name.split(".")[0] for t in w.registry})
    head = r.choice(_INTROS).format(
        agent=w.agent,
        company=w.company,
        size=r.choice((40, 85, 120, 180, 260, 400, 750)),
        industry=w.industry,
        city=w.city,
    ) + r.choice(_INTROS2)
    lines = _context(w)
    ctx = "\n".join("- " + line for line in (lines[:2] if compact else lines))
    ctx_title = r.choice(("## Standing context", "## Context", "## Background"))
    if not with_tools:
        return f"{head}\n\n{ctx_title}\n\n{ctx}\n"
    head += r.choice(_ACCESS).format(families=", ".join(_FAMILY_WORDS[f] for f in fam))
    how = (
        f"{r.choice(_HOW_TITLES)}\n\n{r.choice(_HOW_CALL)}\n\n```tool_call\n"
        '{"tool": "<tool_name>", "args": {...}}\n```\n\n'
        f"{r.choice(_HOW_RESULT)} {r.choice(_HOW_FINAL)}\n\n```final\n{r.choice(_FINAL_EXAMPLES)}\n```\n\n"
        f"{r.choice(_HOW_RULES)}"
    )
    bold = r.random() < 0.75
    tools = "\n\n".join(_tool_text(i + 1, t, bold) for i, t in enumerate(w.registry))
    tools_title = r.choice(("## Available tools", "## Tools", "## Tool registry"))
    return f"{head}\n\n{how}\n\n{tools_title}\n\n{tools}\n\n{ctx_title}\n\n{ctx}\n"
