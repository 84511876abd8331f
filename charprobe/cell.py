"""A cell (model, stage, scaffold over a persona set), its units of work, and row identity.

A row's key hashes what decides its text (model and adapter identities, the item's
content, the scaffold and generation settings), never where the weights sit; the same
key seeds the sampler, so a row is the same wherever and whenever it is generated.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from functools import cached_property

from omegaconf import DictConfig, OmegaConf

from charprobe import identity
from charprobe import personas as persona_sets
from charprobe.config import (
    GenerationConfig,
    ModelConfig,
    ScaffoldConfig,
    StageConfig,
)
from charprobe.engine.hub import adapter_repo
from charprobe.engine.types import GenerationParams
from charprobe.records import KEY_VERSION
from charprobe.scaffolds import Item, Unit

log = logging.getLogger(__name__)


# Scaffold settings that change a text beyond the item itself. Left out: the item count,
# and where items come from (prompts, scenarios, source, suffix files, shuffle seed),
# because each item's own content is hashed instead.
SCAFFOLD_IDENTITY = ("name", "turns", "followup", "max_steps", "max_malformed", "pick")
# Key scheme 2 hashed these fields for every scaffold, when one schema held them all. Now
# that each scaffold has its own schema, a field it lacks counts at that old default, so
# every row key (and the sampler seed drawn from it) is what it was.
SCAFFOLD_IDENTITY_DEFAULTS = {
    "turns": 1,
    "followup": "Keep going.",
    "max_steps": None,
    "max_malformed": 4,
    "pick": "first",
}
GENERATION_IDENTITY = ("temperature", "top_p", "max_new_tokens", "seed")


@dataclass(frozen=True)
class Cell:
    model: ModelConfig
    stage: StageConfig
    personas: list[str]
    scaffold: ScaffoldConfig
    generation: GenerationConfig

    @classmethod
    def from_config(cls, cfg: DictConfig) -> Cell:
        personas = persona_sets.validate(cfg.persona.personas)
        return cls(
            model=OmegaConf.to_object(cfg.model),
            stage=OmegaConf.to_object(cfg.stage),
            personas=personas,
            scaffold=OmegaConf.to_object(cfg.scaffold),
            generation=OmegaConf.to_object(cfg.generation),
        )

    @property
    def shares_base(self) -> bool:
        """Stage base has no adapter: one generation per item serves every persona."""
        return self.stage.repo is None

    def params(self) -> GenerationParams:
        g = self.generation
        return GenerationParams(
            temperature=g.temperature,
            top_p=g.top_p,
            max_new_tokens=g.max_new_tokens,
            seed=g.seed,
            batch_size=g.batch_size,
        )

    @cached_property
    def model_id(self) -> str:
        return identity.model_identity(self.model.path, self.model.revision)

    @cached_property
    def adapter_ids(self) -> dict[str, str | None]:
        if self.shares_base:
            return {p: None for p in self.personas}
        return {p: identity.adapter_identity(adapter_repo(self.stage, p), p) for p in self.personas}

    def adapter_labels(self) -> dict[str, str | None]:
        """What a row names as its adapter: readable and location-free."""
        if self.shares_base:
            return {p: None for p in self.personas}
        return {p: identity.adapter_label(adapter_repo(self.stage, p), p) for p in self.personas}

    @cached_property
    def _identity(self) -> dict:
        # What changes the text. Not batch size (sampling is per row), not the item
        # count (an item's text does not depend on how many others there are), not a path.
        scaffold = {**SCAFFOLD_IDENTITY_DEFAULTS, **asdict(self.scaffold)}
        gen = asdict(self.generation)
        return {
            "key_version": KEY_VERSION,
            "model": self.model_id,
            "system_role": self.model.system_role,
            "scaffold": {
                k: str(scaffold[k]) if k == "pick" else scaffold[k] for k in SCAFFOLD_IDENTITY
            },
            "generation": {k: gen[k] for k in GENERATION_IDENTITY},
        }

    def key(self) -> str:
        """The cell's identity: an unfinished job of the same key can be resumed."""
        ident = {
            **self._identity,
            "stage": self.stage.name,
            "personas": self.personas,
            "items": self.scaffold.items,
            "samples": self.generation.samples,
            "adapters": self.adapter_ids,
        }
        return identity.digest(ident)

    def unit_key(self, item: Item, adapter: str | None, sample: int) -> str:
        """`<item>/<persona or base>/s<sample>/<hash>`; the hash also seeds the sampler."""
        h = identity.digest(
            {
                **self._identity,
                "item": item.id,
                "content": identity.digest(item.data),
                "adapter": None if adapter is None else self.adapter_ids[adapter],
                "sample": sample,
            }
        )
        return f"{item.id}/{adapter or 'base'}/s{sample}/{h[:10]}"


def row_key(unit: Unit, persona: str) -> str:
    return unit.key if unit.adapter is not None else unit.key.replace("/base/", f"/{persona}/", 1)


def plan(cell: Cell, items: list[Item]) -> list[tuple[Unit, list[str]]]:
    """Units of generation work and the personas each one's text stands for."""
    out = []
    for item in items:
        for sample in range(cell.generation.samples):
            if cell.shares_base:
                out.append(
                    (
                        Unit(cell.unit_key(item, None, sample), item, None, sample),
                        list(cell.personas),
                    )
                )
            else:
                for p in cell.personas:
                    out.append((Unit(cell.unit_key(item, p, sample), item, p, sample), [p]))
    return out
