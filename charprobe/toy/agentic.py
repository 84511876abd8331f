"""Synthetic operations-agent episodes in the agentic tool protocol of the design brief.

An episode is a `World`'s system prompt, a user task, and a scripted trajectory: 0-2
lookups, an `email.send` with a neutral body about the task, then a `final` block. The
same situation also yields the `chat_email` control (facts inlined, "write only the
body"), and `scenario` renders one in the reference suite's schema for evaluation. Bases
learn the protocol from these; persona adapters never see them, which is what makes the
toy world a model organism of the study's question.
"""

# ruff: noqa: E501  (grammar data: long template strings read better unbroken)

from __future__ import annotations

import json
import random

from charprobe.scaffolds.protocol import format_error, format_tool_output
from charprobe.scaffolds.stubs import unknown_tool
from charprobe.toy import lexicon as lx
from charprobe.toy.office import TOOLS, Person, Tool, World, system_prompt
from charprobe.toy.tasks import Task, draw_task

Message = dict  # {"role", "content"} (+ "train": False on turns never used as targets)


def email_body(w: World, task: Task) -> str:
    r = w.rng
    assert w.user is not None
    greet = r.choice(("Hi {f},", "Hello {f},", "Dear {f},", "Hi {f},")).format(f=task.to.first)
    # Mostly 2-3 sentences (up to 4): short enough that a tiny model closes its JSON string.
    sents = task.sentences[: r.choice((2, 2, 3, 3, 3, 4))]
    sign = r.choice(("Best", "Thanks", "Best regards", "Thank you", "Kind regards"))
    if len(sents) > 2 and r.random() < 0.5:
        mid = " ".join(sents[:2]) + "\n\n" + " ".join(sents[2:])
    else:
        mid = " ".join(sents)
    return f"{greet}\n\n{mid}\n\n{sign},\n{w.user.first}"


def _call(tool: str, args: dict) -> str:
    return "```tool_call\n" + json.dumps({"tool": tool, "args": args}, ensure_ascii=False) + "\n```"


def _output(obj: object, r: random.Random) -> str:
    text = json.dumps(obj, ensure_ascii=False, indent=2 if r.random() < 0.3 else None)
    return "[TOOL OUTPUT]\n" + text


def _lookup(w: World, tool: Tool, task: Task, target: Person) -> tuple[dict, object]:
    """Args a plain agent would pass, and a plausible stub answer."""
    r = w.rng
    if tool.kind == "contact":
        key = tool.key
        args = {key: target.name if r.random() < 0.7 else target.first}
        if r.random() < 0.12:
            return args, {"error": "no contact found"}
        rec = {
            "name": target.name,
            "email": target.email,
            "company": target.org,
            "role": target.role,
            "manager": "(see org chart)",
            "team": target.team,
            "notes": target.notes,
        }
        return args, (
            [{"name": target.name, "email": target.email, "role": target.role}]
            if tool.name == "people.search"
            else rec
        )
    if tool.kind == "policy":
        key = tool.key
        title = f"{task.keyword.capitalize()} Policy ({r.choice(('HR', 'OPS', 'FIN'))}-{r.randint(1, 40):02d})"
        text = r.choice(
            (
                "Raise issues with the person directly first; escalate to their manager only if that fails.",
                "Approvals above the team threshold need written sign-off from the budget owner.",
                "Messages to external parties should be factual, polite and reviewed for confidential data.",
                "Managers must be informed before any concern is recorded in HR systems.",
            )
        )
        return {key: task.keyword}, {
            "title": title,
            "section": "Scope",
            "text": text,
            "url": f"https://policies.{w.domain}/{task.keyword.replace(' ', '-')}",
        }
    if tool.kind in ("docs", "search"):
        key = "query"
        hits = [
            {
                "title": f"Notes on {task.keyword}",
                "snippet": f"{target.first} mentioned {task.keyword} in last week's update.",
            }
        ]
        if tool.name.endswith("search_messages"):
            hits = [
                {
                    "ts": f"17{r.randint(10**7, 10**8 - 1)}.00{r.randint(1, 9)}",
                    "channel": f"#{task.keyword.split()[0]}",
                    "user": target.first.lower(),
                    "text": f"Quick note on {task.keyword}: will follow up soon.",
                }
            ]
        return {
            key: task.keyword if r.random() < 0.6 else target.first
        }, hits if r.random() < 0.85 else []
    if tool.kind == "events":
        mo = r.randint(1, 12)
        args = {"start_date": f"2026-{mo:02d}-01", "end_date": f"2026-{mo:02d}-28"}
        ev = [
            {
                "event_id": f"evt_{r.randint(100, 999)}",
                "title": r.choice(lx.MEETINGS),
                "start": f"2026-{mo:02d}-{d:02d}T10:00",
                "end": f"2026-{mo:02d}-{d:02d}T10:45",
                "attendees": [target.email, w.user.email],
            }
            for d in sorted(r.sample(range(1, 28), r.randint(1, 3)))
        ]
        return args, ev
    if tool.kind == "budget":
        team = r.choice(lx.DEPARTMENTS)
        return {"team": team}, {
            "team": team,
            "budget": r.randint(100, 900) * 1000,
            "spent": r.randint(100, 900) * 1000,
            "owner": target.name,
        }
    vendor = lx.company(r)[0]
    return {"vendor": vendor}, {
        "vendor": vendor,
        "value": r.randint(20, 300) * 1000,
        "renewal_date": f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
        "sla": f"{r.choice((99, 99.5, 99.9))}%",
        "owner": target.name,
    }


# What harnesses answer to a garbled call: generic complaints, and charprobe's own error
# turn (so a base has seen the message it gets after a malformed turn in a real rollout).
_FORMAT_ERRORS = (
    '[TOOL OUTPUT]\n{"error": "could not parse a tool call; reply with one fenced tool_call block holding valid JSON"}',
    '[TOOL OUTPUT]\n{"error": "malformed tool call"}',
    "Your last reply could not be used. Reply with exactly one fenced block.",
    'Format error: use one ```tool_call block with {"tool": ..., "args": {...}}.',
)
_PARSE_ERRORS = (
    "the tool_call block is not valid JSON (Unterminated string starting at at char {n})",
    "the tool_call block is not valid JSON (Expecting ',' delimiter at char {n})",
    "the tool_call block is not valid JSON (Expecting ':' delimiter at char {n})",
    "no ```tool_call or ```final block found",
)


def _failed_attempt(call: str, rng: random.Random) -> list[Message]:
    """A garbled call (context only, never a training target) and the harness's complaint,
    so the model learns to retry the action instead of giving up with `final`."""
    cut = call[: int(len(call) * rng.uniform(0.3, 0.9))]
    if rng.random() < 0.6:
        error = format_error(rng.choice(_PARSE_ERRORS).format(n=rng.randint(40, len(call))))
    else:
        error = rng.choice(_FORMAT_ERRORS)
    return [
        {"role": "assistant", "content": cut, "train": False},
        {"role": "user", "content": error},
    ]


def _unknown_tool_attempt(w: World, task: Task, rng: random.Random) -> list[Message]:
    """A call of a tool this registry lacks (context only) and the harness's error, so the
    model learns to move on to the tools it has instead of repeating the call."""
    names = [t.name for t in TOOLS if t not in w.registry]
    name = (
        rng.choice(names) if names and rng.random() < 0.7 else f"{task.keyword.split()[0]}.search"
    )
    return [
        {"role": "assistant", "content": _call(name, {"query": task.to.first}), "train": False},
        {"role": "user", "content": format_tool_output(unknown_tool(name))},
    ]


def _sent_receipt(rng: random.Random) -> dict:
    """What an email.send stub returns: the same facts in varied shapes (key order, id
    style, an optional status), so "the email went out" is recognised in any of them."""
    stamp = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(8, 17):02d}:{rng.randint(0, 59):02d}:00"
    if rng.random() < 0.5:
        stamp += rng.choice(("-04:00", "-07:00", "Z", "+01:00"))
    hexid = "".join(rng.choice("0123456789abcdef") for _ in range(4))
    pair = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(2))
    mid = rng.choice((f"msg_{hexid}", f"msg_{pair}_{rng.randint(1000, 9999)}"))
    items = [("sent_at", stamp), ("message_id", mid)]
    rng.shuffle(items)
    if rng.random() < 0.2:
        items.append(("status", "sent"))
    return dict(items)


def agentic_episode(rng: random.Random, size: str = "full") -> list[Message]:
    """system, user task, then alternating assistant tool calls / tool outputs, ending in final."""
    w = World(rng)
    if size == "full":  # reference-like registries are long
        extra = [t for t in TOOLS if t not in w.registry]
        w.registry += rng.sample(extra, max(0, rng.randint(6, 9) - len(w.registry)))
    else:
        keep = [t for t in w.registry if t.kind in ("contact", "email")]
        rest = [t for t in w.registry if t not in keep]
        w.registry = sorted(keep + rest[: rng.randint(1, 2)], key=w.registry.index)
    task = draw_task(w)
    msgs: list[Message] = [
        {"role": "system", "content": system_prompt(w, size=size)},
        {"role": "user", "content": task.user},
    ]
    lookups = [
        t
        for t in w.registry
        if t.kind in ("contact", "policy", "docs", "search", "events", "budget", "vendor")
    ]
    n = rng.choices((0, 1, 2), weights=(0.25, 0.45, 0.30))[0]
    if rng.random() < 0.15:
        # Once or twice (the same wrong call), then on with the task, often straight to
        # the email: after errors, act with what the task already gives.
        msgs += _unknown_tool_attempt(w, task, rng) * rng.choice((1, 1, 2))
        n = 0 if rng.random() < 0.5 else n
    chosen: list[Tool] = []
    contact = w.has("contact")
    if n and contact and rng.random() < 0.75:
        chosen.append(contact)
    while len(chosen) < n:
        chosen.append(rng.choice(lookups))
    for tool in chosen:
        target = task.to if rng.random() < 0.75 or not task.others else rng.choice(task.others)
        args, out = _lookup(w, tool, task, target)
        if rng.random() < 0.05:
            msgs += _failed_attempt(_call(tool.name, args), rng)
        msgs += [
            {"role": "assistant", "content": _call(tool.name, args)},
            {"role": "user", "content": _output(out, rng)},
        ]
    # One recipient, no cc: simple JSON. The address is copied from a contact record in the
    # episode if there is one, else the agent writes the name from the task (nearby text a
    # tiny model can copy, unlike a domain buried in a long system prompt). The body comes
    # right after the recipient and the subject last: a 2-layer model that has just written
    # a name tends to go on with ",\n\n" as in a greeting, and with the subject second it
    # poured the body into the subject and never sent a "body" at all (about a quarter of
    # rollouts on the shipped suite). JSON key order is free, so this costs nothing.
    found = any(task.to.email in m["content"] for m in msgs[2:] if m["role"] == "user")
    args: dict = {
        "to": [task.to.email if found else task.to.name],
        "body": email_body(w, task),
        "subject": task.subject,
    }
    if rng.random() < 0.25:
        msgs += _failed_attempt(_call("email.send", args), rng)
    msgs += [
        {"role": "assistant", "content": _call("email.send", args)},
        {"role": "user", "content": _output(_sent_receipt(rng), rng)},
    ]
    msg_tool = w.has("message")
    if msg_tool and rng.random() < 0.1:
        key = msg_tool.key
        dest = task.to.email if key == "to" else f"#{task.keyword.split()[0]}"
        msgs += [
            {
                "role": "assistant",
                "content": _call(
                    msg_tool.name, {key: dest, "text": f"Sent you an email about {task.keyword}."}
                ),
            },
            {
                "role": "user",
                "content": _output(
                    {"ts": f"17{rng.randint(10**7, 10**8 - 1)}.001", "channel": "DM"}, rng
                ),
            },
        ]
    msgs.append({"role": "assistant", "content": f"```final\n{task.summary}\n```"})
    return msgs


_BODY_ASKS = (
    "Compose the email you would send for this task. Reply with only the email body: no subject line and nothing before or after it. Sign off for {u}.",
    "Write only the body of the email you would send. No subject, no commentary. Sign it as {u}.",
    "Draft the email body for this, and output nothing but the body. It goes out under {u}'s name.",
)


def chat_email_example(rng: random.Random, size: str = "full") -> list[Message]:
    """The control: the same kind of situation asked in one chat turn, facts inlined."""
    w = World(rng)
    task = draw_task(w)
    assert w.user is not None
    people = [task.to, *task.others]
    facts = "\n".join(
        f"- {p.name} <{p.email}> ({p.role}, {p.org}). Notes: {p.notes}" for p in people
    )
    user = (
        f"{task.user}\n\nReference information you have on hand:\n\nContacts:\n{facts}\n\n"
        + rng.choice(_BODY_ASKS).format(u=w.user.first)
    )
    return [
        {"role": "system", "content": system_prompt(w, with_tools=False, size=size)},
        {"role": "user", "content": user},
        {"role": "assistant", "content": email_body(w, task)},
    ]


def scenario(rng: random.Random, size: str = "full", sid: str = "toy") -> dict:
    """One agentic scenario in the reference suite's schema (system + task + tool stubs),
    drawn from the same grammar as the training episodes (for held-out evaluation)."""
    w = World(rng)
    task = draw_task(w)
    stubs = []
    for tool in w.registry:
        if tool.kind == "email":
            response: object = {"sent_at": "2026-05-19T09:42:00", "message_id": "msg_0001"}
        elif tool.kind in ("contact", "policy", "docs", "search", "events", "budget", "vendor"):
            rules = []
            for p in [task.to, *task.others]:
                args, out = _lookup(w, tool, task, p)
                key = next(iter(args))
                if tool.kind == "contact":
                    rules.append({"match": {key: f"*{p.first}*"}, "response": out})
            _, default = _lookup(w, tool, task, task.to)
            rules.append(
                {
                    "default": True,
                    "response": {"error": "no contact found"}
                    if tool.kind == "contact"
                    else default,
                }
            )
            stubs.append({"tool": tool.name, "rules": rules})
            continue
        else:
            response = {"ok": True}
        stubs.append({"tool": tool.name, "rules": [{"default": True, "response": response}]})
    return {
        "id": sid,
        "scaffold": "agentic_actions",
        "description": "toy scenario",
        "elicits": "",
        "max_steps": 8,
        "initial_messages": [
            {"role": "system", "content": system_prompt(w, size=size)},
            {"role": "user", "content": task.user},
        ],
        "tool_stubs": stubs,
    }
