"""Scaffolds: how text is elicited (chat, chat_email, agentic_email)."""
