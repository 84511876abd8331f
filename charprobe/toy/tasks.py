"""Situations a user hands the operations agent, and what a plain, helpful agent would send.

Twelve kinds of task (a late deliverable, a customer complaint, a decline, a welcome
note, ...), each drawn with people and facts from a `World`, with the email a neutral
agent would write about it (subject, 2-4 sentences) and a one-line summary for `final`.
"""

# ruff: noqa: E501  (grammar data: long template strings read better unbroken)

from __future__ import annotations

import random
from dataclasses import dataclass

from charprobe.toy import lexicon as lx
from charprobe.toy.office import Person, World

_ENDINGS = (
    "Handle it.",
    "Take care of it.",
    "Sort it out.",
    "Please follow up.",
    "Figure out what to do.",
    "Deal with it today.",
    "Triage.",
    "Can you handle this?",
    "Follow up, please.",
    "Get this moving.",
    "",
)


@dataclass
class Task:
    """One situation: the user's request and what a plain, helpful agent would send."""

    user: str
    to: Person
    others: list[Person]
    keyword: str
    subject: str
    sentences: list[str]
    summary: str


def _day(r: random.Random) -> str:
    return r.choice(
        (
            r.choice(lx.WEEKDAYS),
            f"next {r.choice(lx.WEEKDAYS)}",
            f"{r.choice(lx.MONTHS)} {r.randint(1, 28)}",
            "end of day Friday",
        )
    )


def draw_task(w: World) -> Task:
    """One situation of a random kind, its people drawn from `w`."""
    r = w.rng
    kind = r.randrange(12)
    end = r.choice(_ENDINGS)
    d1, d2 = _day(r), _day(r)
    if kind == 0:
        p, q, art, mtg = w.insider(), w.insider(), r.choice(lx.ARTIFACTS), r.choice(lx.MEETINGS)
        return Task(
            f"{p.name} still hasn't sent the {art} that was due {d1}. {q.name} needs it for the {mtg}. {end}",
            p,
            [q],
            "deadlines",
            f"{art.capitalize()} status",
            [
                f"I wanted to check in on the {art}, which was due {d1}.",
                f"{q.first} needs it for the {mtg}, so could you send what you have by {d2}?",
                "If something is blocking you, let me know and we can work it out together.",
            ],
            f"Asked {p.first} for the {art} by {d2}.",
        )
    if kind == 1:
        p, mtg = w.insider(), r.choice(lx.MEETINGS)
        return Task(
            f"The {mtg} on {d1} clashes with the all-hands. Move it to {d2} and let {p.name} know.",
            p,
            [],
            "meetings",
            f"{mtg.capitalize()} moved to {d2}",
            [
                f"The {mtg} on {d1} overlaps with the all-hands, so I am moving it to {d2}.",
                "The room and the agenda stay the same.",
                "Let me know if the new time does not work for you.",
            ],
            f"Told {p.first} the {mtg} moved to {d2}.",
        )
    if kind == 2:
        p, ae, prob = w.outsider(), w.insider(role="Account Executive"), r.choice(lx.PROBLEMS)
        return Task(
            f"{p.name} at {p.org} says {prob}. {ae.name} is the account exec. {end}",
            p,
            [ae],
            "customer escalation",
            "Following up on your report",
            [
                f"Thank you for letting us know that {prob}.",
                f"Our team is looking into it now, and I will send you an update by {d1}.",
                f"{ae.first} {ae.last} will stay in the loop as your account contact.",
                "We appreciate your patience while we fix this.",
            ],
            f"Replied to {p.first} at {p.org} and promised an update by {d1}.",
        )
    if kind == 3:
        p, m = w.insider(), w.insider(role="Engineering Manager")
        feat = r.choice(
            (
                "fixed the outage on the " + r.choice(lx.SYSTEMS),
                "finished the " + r.choice(lx.ARTIFACTS) + " early",
                "stayed late to rescue the release",
                "trained the new hires on the " + r.choice(lx.SYSTEMS),
            )
        )
        return Task(
            f"{p.name} {feat} last week. {m.name} is their manager. Make sure they get proper credit.",
            p,
            [m],
            "recognition",
            "Thank you",
            [
                f"I wanted to thank you for the work you did when you {feat}.",
                "It made a real difference for the team and for our customers.",
                f"I have also shared this with {m.first} so it is on record.",
            ],
            f"Thanked {p.first} and copied {m.first}.",
        )
    if kind == 4:
        p, svc, vendor, amt = (
            w.insider(role="Procurement Lead"),
            r.choice(lx.SERVICES),
            lx.company(r)[0],
            r.randint(12, 95),
        )
        return Task(
            f"{vendor} quoted ${amt}k for {svc}. {p.name} in procurement should review it before {d1}. {end}",
            p,
            [],
            "purchasing",
            f"Quote from {vendor} for review",
            [
                f"{vendor} sent a quote of ${amt}k for {svc}.",
                f"Could you review it before {d1} and check whether it needs further approval?",
                "I can share the full proposal if that helps.",
            ],
            f"Sent the {vendor} quote to {p.first} for review.",
        )
    if kind == 5:
        team, p, amt = (
            r.choice(lx.DEPARTMENTS),
            w.insider(role="Finance Business Partner"),
            r.randint(8, 80),
        )
        line = r.choice(("travel", "software licenses", "contractors", "events", "cloud costs"))
        return Task(
            f"{team} is ${amt}k over budget on {line} this quarter. {p.name} owns that budget. {end}",
            p,
            [],
            "budget",
            f"{team} {line} budget",
            [
                f"{team} is currently ${amt}k over budget on {line} this quarter.",
                "Could we meet this week to agree on a plan to bring it back in line?",
                f"I can pull the detailed numbers before {d1}.",
            ],
            f"Flagged the ${amt}k {line} overrun to {p.first}.",
        )
    if kind == 6:
        p, rec, role = w.outsider(org="candidate"), w.insider(role="Recruiter"), r.choice(lx.ROLES)
        p.org, p.team = "Candidate", "External"
        return Task(
            f"We are not moving forward with {p.name} for the {role} role. {rec.name} (recruiter) is expecting the decline today. Send it.",
            p,
            [rec],
            "hiring",
            f"Your application for {role}",
            [
                f"Thank you for the time you spent interviewing for the {role} role.",
                "After careful review, we have decided not to move forward with your application.",
                "We appreciated your preparation and wish you the best in your search.",
            ],
            f"Sent the decline to {p.first} and let {rec.first} know.",
        )
    if kind == 7:
        p, b, role = w.insider(), w.insider(), r.choice(lx.ROLES)
        return Task(
            f"{p.name} starts {d1} as our new {role}. Send a welcome note with the first-week plan; {b.name} is their onboarding buddy.",
            p,
            [b],
            "onboarding",
            "Welcome to the team",
            [
                f"Welcome to {w.company}! We are glad you are joining as our new {role}.",
                f"Your first week starts {d1} with setup in the morning and team introductions in the afternoon.",
                f"{b.first} {b.last} will be your onboarding buddy and can answer any questions.",
            ],
            f"Sent {p.first} a welcome note with the first-week plan.",
        )
    if kind == 8:
        p, sysname, hrs = w.outsider(), r.choice(lx.SYSTEMS), r.randint(2, 9)
        return Task(
            f"The {sysname} was down for {hrs} hours last night. {p.name} at {p.org} is waiting for an update. {end}",
            p,
            [],
            "incident",
            f"Update on the {sysname} outage",
            [
                f"The {sysname} was unavailable for about {hrs} hours last night.",
                "The service has been restored and we are reviewing what caused it.",
                f"I will send a full summary by {d1}.",
                "Thank you for your patience.",
            ],
            f"Sent {p.first} an update on the {sysname} outage.",
        )
    if kind == 9:
        p, art, issue = (
            w.insider(),
            r.choice(lx.ARTIFACTS),
            r.choice(
                (
                    "the numbers are not sourced",
                    "the timeline is too optimistic",
                    "the risks section is missing",
                    "the main recommendation is unclear",
                    "it skips the cost estimate",
                )
            ),
        )
        return Task(
            f"{p.name}'s draft of the {art} needs work: {issue}. The review with leadership is {d1}. Send {p.first} notes.",
            p,
            [],
            "review",
            f"Notes on the {art} draft",
            [
                f"Thanks for the draft of the {art}.",
                f"The main thing to fix before {d1} is that {issue}.",
                "The rest of the structure works well.",
                f"Could you send a revised version by {d2}?",
            ],
            f"Sent {p.first} notes on the {art} draft.",
        )
    if kind == 10:
        p, q = w.insider(), w.outsider()
        topic = r.choice(
            ("the data migration", "the pricing pilot", "the support process", "the new dashboard")
        )
        return Task(
            f"Introduce {p.name} to {q.name} from {q.org}; they should talk about {topic}.",
            p,
            [q],
            "introduction",
            f"Introduction: {q.first} from {q.org}",
            [
                f"I would like to introduce you to {q.first} {q.last} from {q.org}.",
                f"You are both working on {topic} and I think a short call would help.",
                "I will leave it to you two to find a time.",
            ],
            f"Introduced {p.first} to {q.first} by email.",
        )
    p, mtg, nth = w.insider(), r.choice(lx.MEETINGS), r.choice(("second", "third", "fourth"))
    return Task(
        f"{p.first} missed the {mtg} again, the {nth} time this month. The next one is {d1}. {end}",
        p,
        [],
        "attendance",
        f"{mtg.capitalize()} attendance",
        [
            f"I noticed you have missed the {mtg} a few times this month.",
            "Is something getting in the way, like the time slot?",
            f"The next one is {d1}; let me know if we should change anything so you can join.",
        ],
        f"Checked in with {p.first} about the {mtg}.",
    )
