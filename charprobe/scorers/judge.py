"""An LLM judge: an instruct model reads a text and names the persona it shows, or none.

A second opinion independent of the trained classifier, as the replication study and
PersonaGym (Samuel et al. 2024, arXiv 2407.18416) use LLM judges. The judge sees the text
and a numbered list of options: a one-line description of each evaluated persona
(`charprobe/data/persona_descriptions.yaml`, written for charprobe, or a file of the
user's) and "none of these". It runs on any engine of the engine group (`scorer.engine`,
by default the job's own: hf, vllm, or scripted in tests) over the model at `scorer.path`,
greedily.

The judge must never guess, and must not be steered by where an option is listed:
- The options are shuffled per text, seeded by the text itself and `scorer.seed`, so the
  order is independent of the row's persona (position bias cannot pass for a persona
  signal), and the same text always gets the same order (identical texts are scored once).
  The "none" option is shuffled with the rest, so that without position bias every
  position is picked at rate 1/k whatever the judge prefers
  (`charprobe.report.agreement.position_table` measures it).
- Parsing is strict: exactly one line `LABEL: <name>`, <name> exactly one option's name
  (case and surrounding punctuation aside). Anything else is unreadable.
- "none" is a decision but not a persona; it and an unreadable answer are no prediction
  (NaN probabilities: the row is counted, never guessed). `detail` tells them apart and
  keeps the raw answer and the order shown (see `JudgeScorer.score`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from charprobe.scorers.base import Scorer, ScorerError, Scores

DESCRIPTIONS = Path(__file__).resolve().parents[1] / "data" / "persona_descriptions.yaml"
# The option that is a decision but no persona.
NONE = "none"
NONE_DESCRIPTION = "None of the other options: the author shows none of those personas clearly."
# detail["verdict"]: a persona was named, "none" was chosen, or the answer was unreadable.
PERSONA, UNREADABLE = "persona", "unreadable"
ANSWER_CHARS = 1000  # the raw answer kept per row
SYSTEM = (
    "You are an annotator. You read a text and decide which one of the numbered options "
    "describes its author best; if no persona fits, choose the option named none. Reply "
    "with exactly one line, LABEL: <name>, where <name> is the chosen option's name "
    "exactly as written before its colon, and nothing else."
)
# Any line with a "label:" field (markdown or spacing aside): there must be exactly one.
_LABEL_FIELD = re.compile(r"\blabel\b[^\w\n]*:", re.IGNORECASE)
# That line, starting with it: the value is what follows, bare of punctuation around it.
_LABEL_LINE = re.compile(r"^[\W_]*label[^\w\n]*:[\W_]*(.*?)[\W_]*$", re.IGNORECASE)


def load_descriptions(path: str | None, personas: Sequence[str]) -> dict[str, str]:
    file = Path(path).expanduser() if path else DESCRIPTIONS
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise ScorerError(f"scorer.descriptions: cannot read {file} ({e})") from None
    missing = [p for p in personas if not isinstance(data, dict) or not data.get(p)]
    if missing:
        raise ScorerError(f"scorer.descriptions: {file} has no description of {missing}")
    return {p: " ".join(str(data[p]).split()) for p in personas}


def option_order(text: str, options: Sequence[str], seed: int = 0) -> list[str]:
    """`options` shuffled by the text and `seed` alone: blind to who wrote the text, and
    the same for the same text (sha256 of both -> numpy's default_rng)."""
    digest = hashlib.sha256(f"{seed}\n{text}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
    return [options[i] for i in rng.permutation(len(options))]


def judge_prompt(
    text: str, descriptions: Mapping[str, str], order: Sequence[str]
) -> list[dict[str, str]]:
    """The judge's messages: the options numbered in `order` ("none" among them), the text."""
    listing = "\n".join(
        f"{i}. {name}: {NONE_DESCRIPTION if name == NONE else descriptions[name]}"
        for i, name in enumerate(order, 1)
    )
    user = (
        f"Options:\n{listing}\n\nText:\n<<<\n{text}\n>>>\n\n"
        "Which option describes the author of the text? Reply with one line: LABEL: <name>."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_label(answer: str, personas: Sequence[str]) -> str | None:
    """The option an answer names: a persona, `NONE`, or None when it is unreadable.

    Readable means exactly one line with a LABEL field, that line being `LABEL: <name>`
    with <name> exactly a persona or "none" (any case; whitespace, markdown and a trailing
    period around it tolerated). Two LABEL lines, "sarcasm or humor", "N/A", an adjective
    ("Humorous"), a qualified name ("neutral (not loving)") or prose are unreadable.
    """
    lines = [line for line in answer.splitlines() if _LABEL_FIELD.search(line)]
    if len(lines) != 1 or len(_LABEL_FIELD.findall(lines[0])) != 1:
        return None
    m = _LABEL_LINE.match(lines[0].strip())
    if m is None:
        return None
    value = m.group(1).strip().lower()
    return value if value in personas or value == NONE else None


class JudgeScorer(Scorer):
    """One greedy judge answer per distinct text, parsed strictly to a persona (one-hot),
    or no prediction ("none", or unreadable).

    Args:
        path: the judge model (hub id or local folder; unused by the scripted engine).
        labels: the label order of the probabilities.
        personas: the evaluated personas (the judge chooses among these and "none").
        engine: an engine config (the engine group's schema as a mapping).
        descriptions: a YAML file persona -> description (None: charprobe's own).
        seed: mixed into every text's option order (another seed, other orders).
    """

    def __init__(
        self,
        path: str,
        labels: Sequence[str],
        personas: Sequence[str],
        engine: Mapping[str, Any],
        descriptions: str | None = None,
        max_new_tokens: int = 24,
        batch_size: int = 16,
        system_role: bool = True,
        seed: int = 0,
    ) -> None:
        from charprobe.config import ModelConfig, StageConfig
        from charprobe.engine import make_engine

        self.labels = tuple(labels)
        unknown = [p for p in personas if p not in self.labels]
        if unknown:
            raise ScorerError(f"scorer=judge: personas {unknown} are not among scorer.labels")
        if NONE in self.labels:
            raise ScorerError(f"scorer=judge: '{NONE}' is the judge's own option, not a label")
        self.personas = list(personas)
        self.options = [*self.personas, NONE]
        self.descriptions = load_descriptions(descriptions, self.personas)
        self.seed = int(seed)
        model = ModelConfig(name="judge", path=path, family="llama", hub_prefix="judge",
                            classifier="none", tfidf_classifier="none",
                            persona_vectors="none", dtype="bfloat16",
                            system_role=system_role)  # fmt: skip
        self.engine = make_engine(dict(engine), model, StageConfig(name="judge"), [])
        self.max_new_tokens, self.batch_size = max_new_tokens, batch_size

    def order(self, text: str) -> list[str]:
        """The options in the order this text shows them."""
        return option_order(text, self.options, self.seed)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.score(texts).proba

    def score(self, texts: Sequence[str]) -> Scores:
        """Each text's verdict, from the text alone (its order too); asked once per text.

        `detail` per text: `verdict` ("persona", "none" or "unreadable"), `choice` (the
        option named, "none" included; None when unreadable), `position` (its 1-based
        place in the list shown; None when unreadable), `order` (the options as shown)
        and `answer` (the raw answer, up to 1000 characters).
        """
        from charprobe.engine.types import GenerationParams, Request

        params = GenerationParams(
            temperature=0.0, top_p=1.0, max_new_tokens=self.max_new_tokens,
            batch_size=self.batch_size,
        )  # fmt: skip
        unique = list(dict.fromkeys(texts))
        orders = {t: self.order(t) for t in unique}
        requests = [
            Request(f"judge/{i}", judge_prompt(t, self.descriptions, orders[t]))
            for i, t in enumerate(unique)
        ]
        by_key = {c.key: c.text for c in self.engine.generate(requests, params)}
        answers = {t: by_key[f"judge/{i}"] for i, t in enumerate(unique)}
        proba = np.full((len(texts), len(self.labels)), np.nan)
        detail = []
        for i, text in enumerate(texts):
            answer, order = answers[text], orders[text]
            choice = parse_label(answer, self.personas)
            if choice is None:
                verdict = UNREADABLE
            elif choice == NONE:
                verdict = NONE
            else:
                verdict = PERSONA
                proba[i] = 0.0
                proba[i, self.labels.index(choice)] = 1.0
            detail.append({
                "verdict": verdict,
                "choice": choice,
                "position": None if choice is None else order.index(choice) + 1,
                "order": list(order),
                "answer": answer[:ANSWER_CHARS],
            })  # fmt: skip
        return Scores(proba, detail)
