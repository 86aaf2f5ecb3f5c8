"""`/console`: an instructor asks for a one-time link that signs their browser in to
the instructor console. The chat is the proof of who they are, as with the invite.

/console ─► instructor or admin: a link, valid 10 minutes, used once; idle
          ─► anyone else: a kind word that the console is for instructors
"""

from __future__ import annotations

import datetime as dt
import secrets

from bot.i18n import _
from bot.messages import Reply
from db.queries import console as q
from handlers.base import STAY, Conversation, Turn, on
from handlers.broadcast import token_hash

SIGN_IN_VALID = dt.timedelta(minutes=10)
SIGN_IN_PATH = "/console/signin/"


async def console_command(turn: Turn) -> list[Reply]:
    """Answers /console: sends an instructor a sign-in link (anyone else: who it is for)."""
    if turn.farmer.role not in ("instructor", "admin"):
        return [
            Reply(
                _(
                    "The console is a web page for instructors who teach courses here. "
                    "Your lessons are all right here in this chat: send /courses to see them."
                )
            )
        ]
    secret = secrets.token_urlsafe(32)
    await q.add_sign_in_link(
        turn.session, user_id=turn.farmer.user_id, token_hash=token_hash(secret),
        valid_for=SIGN_IN_VALID,
    )  # fmt: skip
    link = turn.settings.public_base_url.rstrip("/") + SIGN_IN_PATH + secret
    minutes = int(SIGN_IN_VALID.total_seconds() // 60)
    return [
        Reply(
            _(
                "🔑 Your sign-in link for the instructor console. It works once, for "
                "{minutes} minutes. Do not share it."
            ).format(minutes=minutes),
            link=link,
        )
    ]


CONVERSATION = Conversation(name="console", commands={"console": on(console_command, STAY)})
