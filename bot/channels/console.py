"""The terminal channel: `krishi chat` talks to the same router and handlers,
on the same database, without any provider account."""

from __future__ import annotations

import asyncio
import getpass
import uuid

from bot.channels.base import numbered_text
from bot.messages import Inbound, Reply
from bot.runtime import Runtime
from bot.turns import TurnWorkers
from db.queries import outbox
from db.queries.users import find_user_by_identity


async def _print_replies(rt: Runtime, user_id: uuid.UUID) -> None:
    async with rt.engine.begin() as conn:
        bodies = await outbox.fetch_console_replies(conn, user_id)
    for body in bodies:
        print("\n" + numbered_text(Reply.from_json(body)) + "\n")


async def chat(rt: Runtime, language: str, name: str | None = None) -> None:
    address = name or getpass.getuser()

    def inbound(text: str = "", payload: str | None = None) -> Inbound:
        return Inbound(
            channel="console",
            external_user_id=address,
            external_message_id=uuid.uuid4().hex,
            text=text,
            payload=payload,
            display_name=address,
            language_hint=language,
        )

    # The terminal's turns take the webhooks' path: recorded in the inbox, then
    # answered by a turn worker (here, in this process, before the prompt returns).
    turns = TurnWorkers(rt.engine, rt.settings, wake_sender=None)
    # Choosing the language up front greets the farmer with the main menu in it.
    await turns.answer_now(inbound(payload=f"lang:{language}"))
    user_id = await find_user_by_identity(rt.sessionmaker, "console", address)
    assert user_id is not None
    await _print_replies(rt, user_id)
    while True:
        try:
            line = await asyncio.to_thread(input, "> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return
        if line.strip() in ("/quit", "/exit"):
            return
        if not line.strip():
            continue
        await turns.answer_now(inbound(text=line))
        await _print_replies(rt, user_id)
