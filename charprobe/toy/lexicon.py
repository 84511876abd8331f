"""Word lists the toy world's grammars draw from.

Written for this project. They are deliberately broad (people, companies, places, work
vocabulary) so that a tiny model trained on sentences built from them learns the *shape*
of a task (who to look up, who to email, what to say) rather than memorising names, and
so still behaves on scenarios it never saw, such as the reference suite.

The names (people, companies, agents) and their generators live in `names.py`; they
are importable from here, as `lx.person`, `lx.FIRST_NAMES`, ...
"""

from __future__ import annotations

import random

from charprobe.toy.names import (
    AGENT_NAMES,
    COMPANY_HEADS,
    COMPANY_TAILS,
    FIRST_NAMES,
    INDUSTRIES,
    LAST_NAMES,
    company,
    email_of,
    invented_name,
    person,
)

__all__ = [
    "AGENT_NAMES",
    "ARTIFACTS",
    "CITIES",
    "COMPANY_HEADS",
    "COMPANY_TAILS",
    "DEPARTMENTS",
    "FIRST_NAMES",
    "INDUSTRIES",
    "LAST_NAMES",
    "MEETINGS",
    "MONTHS",
    "PROBLEMS",
    "ROLES",
    "ROOM_SETS",
    "SERVICES",
    "SYSTEMS",
    "TIMEZONES",
    "USER_TITLES",
    "WEEKDAYS",
    "company",
    "date_text",
    "email_of",
    "invented_name",
    "person",
]

CITIES: tuple[str, ...] = (
    "Austin, TX",
    "Denver, CO",
    "Boston, MA",
    "Seattle, WA",
    "Chicago, IL",
    "Toronto, ON",
    "Portland, OR",
    "Atlanta, GA",
    "Raleigh, NC",
    "Pittsburgh, PA",
    "Minneapolis, MN",
    "San Diego, CA",
    "Oakland, CA",
    "Madison, WI",
    "Salt Lake City, UT",
    "Nashville, TN",
    "Dublin",
    "Berlin",
    "Lisbon",
    "Amsterdam",
    "Singapore",
    "Sydney",
    "London",
    "Vancouver, BC",
)
TIMEZONES: tuple[str, ...] = ("PT", "MT", "CT", "ET", "UTC", "CET", "GMT")
DEPARTMENTS: tuple[str, ...] = (
    "Engineering",
    "Marketing",
    "Sales",
    "Finance",
    "Customer Success",
    "Data",
    "Design",
    "Security",
    "Legal",
    "People Ops",
    "Procurement",
    "Support",
    "Product",
    "Platform",
)
ROLES: tuple[str, ...] = (
    "Account Executive",
    "Engineering Manager",
    "Finance Business Partner",
    "Recruiter",
    "Product Manager",
    "Data Analyst",
    "VP Sales",
    "Head of Support",
    "Staff Engineer",
    "Procurement Lead",
    "Customer Success Manager",
    "Designer",
    "Security Lead",
    "Operations Manager",
    "Director of Product",
    "Controller",
    "Team Lead",
    "Legal Counsel",
)
USER_TITLES: tuple[str, ...] = (
    "Director of Customer Operations",
    "Head of Operations",
    "VP Engineering",
    "Chief of Staff",
    "Director of Finance",
    "Head of People",
    "Program Manager",
    "Director of Product",
    "Operations Lead",
    "General Manager",
)
ROOM_SETS: tuple[tuple[str, ...], ...] = (
    ("Everest", "Denali", "Fuji", "Kilimanjaro", "Rainier"),
    ("Amazon", "Nile", "Danube", "Yukon", "Volga"),
    ("Mercury", "Venus", "Mars", "Jupiter", "Saturn"),
    ("Ruby", "Opal", "Jade", "Onyx", "Topaz"),
    ("Lark", "Heron", "Finch", "Osprey", "Wren"),
    ("Oak", "Maple", "Spruce", "Willow", "Cypress"),
)
MEETINGS: tuple[str, ...] = (
    "weekly ops sync",
    "sprint review",
    "pipeline review",
    "design crit",
    "budget check-in",
    "incident review",
    "roadmap planning",
    "staff meeting",
    "customer council",
    "quality review",
    "hiring sync",
    "launch standup",
    "forecast review",
)
WEEKDAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
MONTHS: tuple[str, ...] = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
ARTIFACTS: tuple[str, ...] = (
    "Q3 forecast",
    "migration plan",
    "vendor comparison",
    "launch checklist",
    "security review",
    "pricing memo",
    "onboarding guide",
    "incident write-up",
    "hiring plan",
    "data retention proposal",
    "board deck draft",
    "capacity model",
)
SYSTEMS: tuple[str, ...] = (
    "billing service",
    "reporting dashboard",
    "export pipeline",
    "login service",
    "search index",
    "mobile app",
    "data warehouse",
    "order API",
    "notification queue",
)
PROBLEMS: tuple[str, ...] = (
    "reports are loading slowly in the morning",
    "invoices show the wrong currency",
    "the export keeps timing out",
    "two users lost access after the update",
    "the weekly summary arrives late",
    "support tickets go unanswered for days",
    "the dashboard numbers do not match their own records",
    "alerts fire every night",
)
SERVICES: tuple[str, ...] = (
    "cloud hosting",
    "office cleaning",
    "payroll software",
    "security audits",
    "translation services",
    "event catering",
    "laptop leasing",
    "data labeling",
)


def date_text(rng: random.Random) -> tuple[str, str, int]:
    """A readable date: (weekday, month, day)."""
    return rng.choice(WEEKDAYS), rng.choice(MONTHS), rng.randint(1, 28)
