"""The toy operations agent's tools, and which of them one company's agent is given.

Every registry holds a contact lookup and `email.send`; the other families (policy, docs,
search, calendar, budget, vendor, messaging, actions) come and go per company, so a model
trained on them learns to read the registry rather than memorise one.
"""

# ruff: noqa: E501  (grammar data: long template strings read better unbroken)

from __future__ import annotations

import random
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Tool:
    name: str
    desc: str
    args: str
    returns: str
    kind: str  # contact | policy | docs | search | events | budget | vendor | action | message | email

    @property
    def key(self) -> str:
        """The first argument's name: what a lookup or a message passes."""
        m = re.search(r'"(\w+)"', self.args)
        assert m, self.args
        return m.group(1)


TOOLS: tuple[Tool, ...] = (
    Tool(
        "crm.lookup_contact",
        "Find a person by name, partial name, or email address.",
        '{"query": string}',
        '{"name", "email", "company", "role", "manager", "team", "notes"}',
        "contact",
    ),
    Tool(
        "directory.find_person",
        "Look up an employee or partner in the company directory.",
        '{"name": string}',
        '{"name", "email", "title", "team", "notes"}',
        "contact",
    ),
    Tool(
        "people.search",
        "Search people records by any text.",
        '{"query": string}',
        'list of {"name", "email", "role"}',
        "contact",
    ),
    Tool(
        "directory.lookup_person",
        "Find a colleague or an external contact by name, part of a name, or email.",
        '{"query": string}',
        '{"name", "email", "title", "organization", "team", "manager", "notes"}',
        "contact",
    ),
    Tool(
        "hr.lookup_policy",
        "Fetch the text of an HR or company policy.",
        '{"query": string}',
        '{"title", "section", "text", "url"}',
        "policy",
    ),
    Tool(
        "policy.search",
        "Search the policy handbook by topic.",
        '{"topic": string}',
        '{"title", "text"}',
        "policy",
    ),
    Tool(
        "handbook.lookup_policy",
        "Look up a section of the employee and operations handbook.",
        '{"query": string}',
        '{"title", "section", "text"}',
        "policy",
    ),
    Tool(
        "wiki.search",
        "Search internal documents and wiki pages.",
        '{"query": string}',
        'list of {"title", "url", "snippet"}',
        "docs",
    ),
    Tool(
        "docs.search",
        "Full-text search over the shared drive.",
        '{"query": string}',
        'list of {"title", "owner", "snippet"}',
        "docs",
    ),
    Tool(
        "slack.search_messages",
        "Search chat history.",
        '{"query": string, "channel": string (optional)}',
        'list of {"ts", "channel", "user", "text"}',
        "search",
    ),
    Tool(
        "chat.search_messages",
        "Search team chat history.",
        '{"query": string, "channel": string (optional), "user": string (optional)}',
        'list of {"channel", "user", "time", "text"}',
        "search",
    ),
    Tool(
        "tickets.search",
        "Search support, production and safety tickets.",
        '{"query": string, "status": "open" | "closed" | "any" (optional)}',
        'list of {"id", "title", "status", "owner", "opened", "summary"}',
        "docs",
    ),
    Tool(
        "email.search",
        "Search the current user's mailbox.",
        '{"query": string}',
        'list of {"from", "subject", "date", "snippet"}',
        "search",
    ),
    Tool(
        "calendar.list_events",
        "List calendar events in an inclusive date range.",
        '{"start_date": "YYYY-MM-DD", "end_date": "YYYY-MM-DD", "attendee": string (optional)}',
        'list of {"event_id", "title", "start", "end", "attendees"}',
        "events",
    ),
    Tool(
        "finance.get_budget",
        "Read a team's budget and spend to date.",
        '{"team": string}',
        '{"team", "budget", "spent", "owner"}',
        "budget",
    ),
    Tool(
        "vendors.get_contract",
        "Read the current contract with a vendor.",
        '{"vendor": string}',
        '{"vendor", "value", "renewal_date", "sla", "owner"}',
        "vendor",
    ),
    Tool(
        "calendar.cancel_event",
        "Cancel an event by id and notify attendees.",
        '{"event_id": string}',
        '{"cancelled": bool}',
        "action",
    ),
    Tool(
        "calendar.create_event",
        "Create a calendar event and invite attendees.",
        '{"title": string, "start": string, "end": string, "attendees": [string]}',
        '{"event_id"}',
        "action",
    ),
    Tool(
        "tasks.create",
        "Create a task in the team tracker.",
        '{"title": string, "assignee": string, "due": "YYYY-MM-DD"}',
        '{"task_id"}',
        "action",
    ),
    Tool(
        "slack.send_message",
        'Send a chat message to a person or a channel (prefix channels with "#").',
        '{"to": string, "text": string}',
        '{"ts", "channel"}',
        "message",
    ),
    Tool(
        "chat.post_message",
        'Post to a channel ("#name") or send a direct message to a person.',
        '{"to": string, "text": string}',
        '{"posted", "time"}',
        "message",
    ),
    Tool(
        "chat.post",
        "Post a message in a team channel.",
        '{"channel": string, "text": string}',
        '{"ok", "ts"}',
        "message",
    ),
)
EMAIL_SEND = Tool(
    "email.send",
    "Send an email on behalf of the current user. The sender is set automatically.",
    '{"to": [string], "cc": [string] (optional), "subject": string, "body": string}',
    '{"sent_at", "message_id"}',
    "email",
)
_BY_KIND: dict[str, list[Tool]] = {}
for _t in TOOLS:
    _BY_KIND.setdefault(_t.kind, []).append(_t)


def draw_registry(r: random.Random) -> list[Tool]:
    """One company's registry: a contact lookup, `email.send`, and a random mix of the rest."""
    picks = [r.choice(_BY_KIND["contact"]), EMAIL_SEND]
    for kind, p in (
        ("policy", 0.7),
        ("docs", 0.4),
        ("search", 0.6),
        ("events", 0.6),
        ("budget", 0.25),
        ("vendor", 0.25),
        ("message", 0.7),
    ):
        if r.random() < p:
            picks.append(r.choice(_BY_KIND[kind]))
    picks += r.sample(_BY_KIND["action"], r.randint(0, 2))
    r.shuffle(picks)
    return picks
