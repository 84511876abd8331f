"""Errors a user can act on: printed as one line, without a traceback."""


class UserError(Exception):
    """Bad input or an unreachable resource; the message says what, where, and what to do."""


def require(key: str, value: object, ok: bool, rule: str, fix: str) -> None:
    """Raise `UserError` "<key>=<value>: <rule>; <fix>" unless `ok`: an option's own check."""
    if not ok:
        shown = "null" if value is None else value
        raise UserError(f"{key}={shown}: {rule}; {fix}")
