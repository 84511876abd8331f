"""charprobe: does a character-trained persona survive when the model works as an agent?"""

from omegaconf import DictConfig, OmegaConf

__version__ = "0.1.0"


def _toy_world(family: str = "") -> str:
    # Imported when first resolved: composing a config neither builds nor imports the toy
    # world, and charprobe.config (a bottom layer) never imports it at all.
    from charprobe.toy import ensure_world

    return str(ensure_world(families=(family,) if family else None))


if not OmegaConf.has_resolver("toy_world"):
    # `${toy_world:}` is the local folder of the offline toy world, built on first use; the
    # toy model configs point into it exactly as real ones point at the hub.
    # `${toy_world:llama}`: the same folder, with (at least) that family built.
    OmegaConf.register_new_resolver("toy_world", _toy_world, use_cache=True)


def _planted_world(what: str = "", *, _root_: DictConfig) -> str:
    # `${planted_world:}` is the planted world's identity (model=planted's path), from the
    # job's engine option; `${planted_world:dir}` its cache folder (trained scorers).
    from charprobe.planted import cache_root, world_id

    wid = world_id(OmegaConf.to_container(_root_.engine, resolve=True))
    return str(cache_root() / wid.split(":", 1)[1]) if what == "dir" else wid


if not OmegaConf.has_resolver("planted_world"):
    OmegaConf.register_new_resolver("planted_world", _planted_world)
