"""The terminal channel: `krishi chat` talks to the same router and handlers,
on the same database, without any provider account.

It has no webhook and no sender: its turns are answered in this process, and its
replies are read back from the outbox and printed as numbered text.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import uuid
from typing import TYPE_CHECKING

import typer

from bot.channels.base import AnswerNow, ChannelPlugin, CliContext, numbered_text
from bot.messages import Capabilities, Inbound, Reply
from bot.settings import Settings
from db.queries import outbox
from db.queries.users import find_user_by_identity

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)


async def _print_replies(rt: Runtime, user_id: uuid.UUID) -> None:
    async with rt.engine.begin() as conn:
        bodies = await outbox.fetch_console_replies(conn, user_id)
    for body in bodies:
        print("\n" + numbered_text(Reply.from_json(body)) + "\n")


async def chat(rt: Runtime, answer_now: AnswerNow, language: str, name: str | None = None) -> None:
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
    # Choosing the language up front greets the farmer with the main menu in it.
    await answer_now(inbound(payload=f"lang:{language}"))
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
        await answer_now(inbound(text=line))
        await _print_replies(rt, user_id)


def capabilities(settings: Settings) -> Capabilities:
    # A terminal shows text: options are numbered, "help" works without the slash.
    return Capabilities(title="Console")


def cli(app: typer.Typer, context: CliContext) -> None:
    """`krishi chat`: talk to the bot in this terminal."""

    @app.command("chat")
    def chat_command(
        lang: str = typer.Option("en", "--lang", help="en, hi or mr."),
        name: str = typer.Option(None, help="Who you are (a console identity)."),
    ) -> None:
        """Talk to the bot in this terminal, through the same handlers and database."""
        context.configure_logs()
        # Opened (and, when embedded, migrated) before the event loop starts.
        rt = context.runtime()

        async def run() -> None:
            try:
                await chat(rt, context.answer_now(rt), lang, name)
            finally:
                await rt.close()

        asyncio.run(run())


CHANNEL = ChannelPlugin(
    name="console",
    enabled=lambda settings: True,
    needs="",
    capabilities=capabilities,
    cli=cli,
)
