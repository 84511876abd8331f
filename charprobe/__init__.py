"""charprobe: does a character-trained persona survive when the model works as an agent?"""

from omegaconf import OmegaConf

__version__ = "0.1.0"


def _toy_world() -> str:
    # Imported when first resolved: composing a config neither builds nor imports the toy
    # world, and charprobe.config (a bottom layer) never imports it at all.
    from charprobe.toy import ensure_world

    return str(ensure_world())


if not OmegaConf.has_resolver("toy_world"):
    # `${toy_world:}` is the local folder of the offline toy world, built on first use; the
    # toy model configs point into it exactly as real ones point at the hub.
    OmegaConf.register_new_resolver("toy_world", _toy_world, use_cache=True)
