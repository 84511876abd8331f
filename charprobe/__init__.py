"""charprobe: does a character-trained persona survive when the model works as an agent?"""

__version__ = "0.1.0"
