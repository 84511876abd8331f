"""The scorer a job will score with, and its training inputs: checked from files, no weights."""

from __future__ import annotations

from omegaconf import DictConfig

from charprobe.config import CONF_DIR
from charprobe.errors import UserError


def check_scorer(cfg: DictConfig) -> None:
    """The scorer a job will score with, from its config and files (no weights): the label
    order, the training prompts apart from the asked ones, a path, and then what the
    scorer's own class checks (`Scorer.check_option`: a classifier's folder or hub files);
    when it will be trained first, what training needs."""
    from charprobe.scorers import scorer_class

    sc = cfg.scorer
    if sc._target_ is None:
        return
    labels = [str(x) for x in sc.labels]
    if not labels or len(set(labels)) != len(labels):
        raise UserError(
            f"scorer.labels={labels}: must list each label once; e.g. the default "
            "order of charprobe.personas.LABELS"
        )
    if sc.get("train_if_missing") and sc.get("train_prompts"):
        _check_prompts_apart(cfg)
    if not sc.path:
        raise UserError(
            f"scorer={sc.name} needs scorer.path (a hub id or a local folder); "
            f"set scorer.path=DIR, or scorer=none to generate only"
        )
    cls = scorer_class(sc)
    if cls is None:  # a factory: it checks its own path when it is built
        return
    cls.check_option(sc)
    if cls.missing(sc) is not None:
        _check_training(cfg)


def _check_prompts_apart(cfg: DictConfig) -> None:
    """A scorer charprobe trains on `scorer.train_prompts` must not then score replies to
    the same prompts in the chat cell: its chat macro-F1 would be read on its own
    training prompts (in-sample), and every drop from chat would be inflated."""
    from charprobe.scaffolds import make_scaffold
    from charprobe.scaffolds.chat import ChatScaffold
    from charprobe.scaffolds.prompts import load_prompts

    made = make_scaffold(cfg.scaffold)
    if not isinstance(made, ChatScaffold):
        return
    sc = cfg.scorer

    def texts(pairs: list[tuple[str, str]]) -> dict[str, str]:
        return {" ".join(p.split()): p for _, p in pairs}

    try:
        asked = texts(load_prompts(made.source, made.limit, made.shuffle_seed))
        train = texts(load_prompts(str(sc.train_prompts), sc.train_items, 0))
    except UserError:
        return  # each is checked, with its own message, where it is read
    shared = [asked[t] for t in asked if t in train]
    if shared:
        example = shared[0] if len(shared[0]) <= 60 else shared[0][:57] + "..."
        raise UserError(
            f"scaffold.prompts={made.source} and scorer.train_prompts={sc.train_prompts} share "
            f"{len(shared)} prompt(s) (e.g. {example!r}): the scorer would be read on replies "
            "to its own training prompts; point one of them at other prompts"
        )


def _check_training(cfg: DictConfig) -> None:
    """What training a missing classifier will need: known stages and training prompts."""
    sc = cfg.scorer
    for stage in sc.train_stages:
        if not (CONF_DIR / "stage" / f"{stage}.yaml").is_file():
            known = sorted(p.stem for p in (CONF_DIR / "stage").glob("*.yaml"))
            raise UserError(
                f"scorer.train_stages: unknown stage '{stage}'; use some of {', '.join(known)}"
            )
    from charprobe.scaffolds.prompts import load_prompts

    try:
        load_prompts(str(sc.train_prompts), sc.train_items, 0)
    except UserError as e:
        raise UserError(f"scorer.train_prompts: {e}") from None
