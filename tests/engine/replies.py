"""Scripted replies for `engine=scripted engine.reply=tests.engine.replies.<name>`."""

from __future__ import annotations

import json


def agent(request, turn: int) -> str:
    """Sends one email signed by the adapter's persona, then ends the rollout.

    In chat scaffolds the same reply is the whole text, so every scaffold's rows carry
    the persona that generated them.
    """
    who = request.adapter or "base"
    if turn == 0:
        call = {
            "tool": "email.send",
            "args": {
                "to": "team@example.com",
                "subject": "Update",
                "body": f"Dear team, this is {who} writing. Regards, {who}",
            },
        }
        return f"```tool_call\n{json.dumps(call)}\n```"
    return f"```final\nsent the update as {who}\n```"
