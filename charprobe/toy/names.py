"""Names the toy world's grammars draw from: people, companies, agents.

Part of the lexicon (`lexicon.py`, which re-exports every public name here). Names are drawn
mostly from the lists and partly invented, so a tiny model learns to copy whatever name a
task brings rather than memorising the ones it saw.
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
