"""Text generation: one base model per process, persona adapters mixed in one batch."""

from charprobe.engine.types import Completion, Engine, GenerationParams, Message, Request

__all__ = ["Completion", "Engine", "GenerationParams", "Message", "Request"]
