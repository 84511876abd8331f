"""Errors a user can act on: printed as one line, without a traceback."""


class UserError(Exception):
    """Bad input or an unreachable resource; the message says what, where, and what to do."""
