"""Word lists the toy world's grammars draw from.

Written for this project. They are deliberately broad (people, companies, places, work
vocabulary) so that a tiny model trained on sentences built from them learns the *shape*
of a task (who to look up, who to email, what to say) rather than memorising names, and
so still behaves on scenarios it never saw, such as the reference suite.
"""

from __future__ import annotations

import random

FIRST_NAMES: tuple[str, ...] = (
    "Ada",
    "Amara",
    "Ben",
    "Bianca",
    "Caleb",
    "Carmen",
    "Dev",
    "Dina",
    "Elias",
    "Elena",
    "Farah",
    "Felix",
    "Gabe",
    "Greta",
    "Hugo",
    "Ines",
    "Ivan",
    "Jada",
    "Jonas",
    "Kai",
    "Keiko",
    "Leo",
    "Lucia",
    "Malik",
    "Mara",
    "Nadia",
    "Nico",
    "Omar",
    "Olga",
    "Pablo",
    "Petra",
    "Quinn",
    "Rafael",
    "Rina",
    "Sam",
    "Selma",
    "Tariq",
    "Tessa",
    "Uma",
    "Victor",
    "Wendy",
    "Xavier",
    "Yara",
    "Zane",
    "Aiden",
    "Beatriz",
    "Chidi",
    "Dalia",
    "Emeka",
    "Freya",
    "Gwen",
    "Hiro",
    "Isla",
    "Joel",
    "Kofi",
    "Lena",
    "Mateo",
    "Noor",
    "Oscar",
    "Priyanka",
    "Ravi",
    "Sofia",
    "Tomas",
    "Valeria",
    "Wei",
    "Yusuf",
    "Zoe",
    "Anika",
    "Bruno",
    "Chloe",
    "Dario",
    "Esther",
    "Fatima",
    "Goran",
    "Hana",
    "Ingrid",
    "Jin",
)

LAST_NAMES: tuple[str, ...] = (
    "Abbott",
    "Alvarez",
    "Baker",
    "Bose",
    "Castillo",
    "Chen",
    "Dang",
    "Diallo",
    "Ellis",
    "Eriksen",
    "Fischer",
    "Foster",
    "Garza",
    "Gupta",
    "Hale",
    "Hughes",
    "Ibrahim",
    "Ito",
    "Jensen",
    "Joshi",
    "Kang",
    "Kowalski",
    "Larsen",
    "Lopez",
    "Mensah",
    "Moreau",
    "Nair",
    "Novak",
    "Okafor",
    "Olsen",
    "Park",
    "Patel",
    "Quinto",
    "Reyes",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Singh",
    "Torres",
    "Tran",
    "Ueda",
    "Vargas",
    "Volkov",
    "Walsh",
    "Weber",
    "Xu",
    "Yilmaz",
    "Young",
    "Zhang",
    "Adeyemi",
    "Bauer",
    "Cho",
    "Dubois",
    "Espinoza",
    "Fong",
    "Grant",
    "Haddad",
    "Iqbal",
    "Jovanovic",
    "Kim",
    "Lindqvist",
    "Mbeki",
    "Nguyen",
    "Ortiz",
    "Pereira",
    "Romero",
    "Suzuki",
    "Tanaka",
    "Varga",
    "Wu",
)

COMPANY_HEADS: tuple[str, ...] = (
    "Bright",
    "North",
    "Cobalt",
    "Juniper",
    "Harbor",
    "Silver",
    "Red",
    "Blue",
    "Granite",
    "Maple",
    "Summit",
    "Lumen",
    "Vertex",
    "Copper",
    "Cedar",
    "Falcon",
    "Iron",
    "Clear",
    "Pine",
    "Aster",
    "Nova",
    "Tidal",
    "Ember",
    "Quartz",
    "Willow",
    "Atlas",
    "Prism",
    "Beacon",
    "Orchid",
    "Keystone",
    "Meridian",
    "Sable",
    "Crest",
    "Indigo",
    "Polar",
)
COMPANY_TAILS: tuple[str, ...] = (
    "line",
    "field",
    "stone",
    "works",
    "gate",
    "path",
    "wave",
    "point",
    "bridge",
    "light",
    "rock",
    "leaf",
    "peak",
    "wind",
    "forge",
    "well",
    "mark",
    "view",
    "ridge",
    "side",
)
INDUSTRIES: tuple[tuple[str, str], ...] = (
    ("Analytics", "B2B analytics"),
    ("Logistics", "freight logistics"),
    ("Health", "digital health"),
    ("Software", "enterprise software"),
    ("Robotics", "warehouse robotics"),
    ("Foods", "packaged foods"),
    ("Energy", "renewable energy"),
    ("Insurance", "commercial insurance"),
    ("Labs", "biotech"),
    ("Media", "digital media"),
    ("Payments", "fintech"),
    ("Systems", "industrial IoT"),
    ("Cloud", "cloud infrastructure"),
    ("Learning", "edtech"),
    ("Retail", "online retail"),
    ("Security", "cybersecurity"),
)
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
AGENT_NAMES: tuple[str, ...] = (
    "Vega",
    "Atlas",
    "Juno",
    "Kestrel",
    "Sol",
    "Lyra",
    "Nimbus",
    "Halo",
    "Echo",
    "Pilot",
    "Compass",
    "Relay",
    "Sage",
    "Beacon",
    "Iris",
    "Quill",
    "Tempo",
    "Ferry",
    "Nova",
    "Cairn",
)
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


_ONSETS = (
    "b", "br", "ch", "d", "el", "f", "g", "h", "j", "k", "l", "m",
    "n", "or", "p", "r", "s", "sh", "t", "th", "v", "w", "y", "z",
)  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "ae", "ia", "ou", "y")
_CODAS = ("", "", "", "n", "r", "s", "th", "l", "nd", "x", "m", "k")


def invented_name(rng: random.Random, syllables: int) -> str:
    """A pronounceable name no word list holds ("Elspeth"-like), capitalised."""
    word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables))
    return (word + rng.choice(_CODAS)).capitalize()


def person(rng: random.Random) -> tuple[str, str]:
    """A (first, last) name pair: mostly from the lists, one in three invented, so a model
    learns to copy a name it has never seen (scenario files bring their own) rather than
    only the ones it memorised."""
    if rng.random() < 1 / 3:
        return invented_name(rng, rng.randint(1, 2)), invented_name(rng, rng.randint(2, 3))
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def company(rng: random.Random) -> tuple[str, str, str]:
    """(name, email domain, industry phrase), e.g. ('Cobaltgate Health', 'cobaltgate.io', ...)."""
    word = rng.choice(COMPANY_HEADS) + rng.choice(COMPANY_TAILS)
    kind, industry = rng.choice(INDUSTRIES)
    tld = rng.choice((".io", ".com", ".co", ".ai"))
    return f"{word} {kind}", word.lower() + tld, industry


def email_of(first: str, last: str, domain: str, rng: random.Random) -> str:
    style = rng.random()
    if style < 0.5:
        local = first.lower()
    elif style < 0.8:
        local = f"{first.lower()}.{last.lower()}"
    else:
        local = f"{first[0].lower()}{last.lower()}"
    return f"{local}@{domain}"


def date_text(rng: random.Random) -> tuple[str, str, int]:
    """A readable date: (weekday, month, day)."""
    return rng.choice(WEEKDAYS), rng.choice(MONTHS), rng.randint(1, 28)
