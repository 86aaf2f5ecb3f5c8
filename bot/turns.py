"""One inbound message, handled as one unit of work.

Lock the farmer's conversation and record the delivery (a duplicate stops
here), run the handler, queue its replies, save the state, commit. Handlers
only flush; this is the boundary that commits. The two statements around the
handler run on the raw asyncpg connection of the same transaction: they are
the hot path of every turn.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot import metrics
from bot.i18n import _, use_language
from bot.messages import Inbound, Reply
from bot.settings import Settings
from db.engine import driver_connection
from db.queries import turns as q
from handlers.base import Turn
from handlers.router import route

log = logging.getLogger(__name__)

MENU_KEY = "_menu"


class Outcome(enum.Enum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    FAILED = "failed"  # the handler broke; the farmer got an apology instead


def _number_options(replies: list[Reply]) -> tuple[list[Reply], list[str]]:
    """Number the turn's options 1, 2, 3… across its replies; that is the new menu."""
    numbered: list[Reply] = []
    menu: list[str] = []
    for reply in replies:
        if reply.options:
            numbered.append(reply.numbered(len(menu) + 1))
            menu.extend(option.payload for option in reply.options)
        else:
            numbered.append(reply)
    return numbered, menu


async def _begin(raw: Any, inbound: Inbound) -> tuple[q.Farmer, q.ConversationRow] | None:
    """The farmer and their locked conversation; None for a delivery seen before."""
    fresh, farmer, conversation = await q.begin_turn(
        raw,
        channel=inbound.channel,
        external_id=inbound.external_user_id,
        source=inbound.source,
        event_id=inbound.external_message_id,
    )
    if not fresh:
        return None
    if farmer is None or conversation is None:
        farmer, conversation = await q.find_or_create_farmer(
            raw,
            channel=inbound.channel,
            external_id=inbound.external_user_id,
            display_name=inbound.display_name,
            language="en",
        )
    return farmer, conversation


async def _converse(
    raw: Any,
    session: AsyncSession,
    inbound: Inbound,
    farmer: q.Farmer,
    conversation: q.ConversationRow,
    settings: Settings,
    notify: bool,
) -> bool:
    """Run the handler and save what it did; True when replies were queued."""
    data = dict(conversation.data)
    menu = data.pop(MENU_KEY, [])
    turn = Turn(
        session=session,
        inbound=inbound,
        farmer=farmer,
        settings=settings,
        state=conversation.state,
        data=data,
        now=dt.datetime.now(dt.UTC),
        menu=menu,
    )
    handler = route(turn)
    with use_language(farmer.language):
        replies = await handler(turn)
    replies, new_menu = _number_options(replies)
    saved = dict(turn.data)
    # Every answer replaces the menu: a question without options means typed
    # digits are an answer, not a choice from some older list.
    saved[MENU_KEY] = new_menu if replies else turn.menu
    await session.flush()
    bodies = [reply.to_json() for reply in replies]
    if bodies and inbound.tapped_message_id is not None and settings.clear_tapped_buttons:
        # The tapped message loses its buttons as the answer goes, so an old one cannot
        # be tapped by mistake (the channel does it: Telegram's editMessageReplyMarkup).
        extra = {**bodies[0].get("extra", {}), "clear_buttons_of": inbound.tapped_message_id}
        bodies[0] = {**bodies[0], "extra": extra}
    await q.end_turn(
        raw,
        farmer=farmer,
        channel=inbound.channel,
        display_name=inbound.display_name,
        state=turn.state,
        data=saved,
        bodies=bodies,
        notify=notify,
    )
    return bool(replies)


async def _apologise(engine: AsyncEngine, inbound: Inbound) -> Outcome:
    """The handler failed: keep the delivery recorded and tell the farmer, kindly."""
    async with engine.connect() as conn, conn.begin():
        raw = await driver_connection(conn)
        begun = await _begin(raw, inbound)
        if begun is None:
            return Outcome.DUPLICATE
        farmer, conversation = begun
        with use_language(farmer.language):
            reply = Reply(_("Sorry, something went wrong on our side. Please try again."))
        await q.end_turn(
            raw,
            farmer=farmer,
            channel=inbound.channel,
            display_name=inbound.display_name,
            state=conversation.state,
            data=conversation.data,
            bodies=[reply.to_json()],
        )
    return Outcome.FAILED


WakeSender = Callable[[str], None]


async def run_turn(
    engine: AsyncEngine, inbound: Inbound, settings: Settings, wake: WakeSender | None = None
) -> Outcome:
    """One turn. With `wake` (this process runs a sender), the replies' sender is woken
    in-process after commit instead of by NOTIFY, which would wake every sender of
    every process to race for one message; the others still poll as a backstop."""
    started = time.perf_counter()
    queued = False
    try:
        async with engine.connect() as conn, conn.begin():
            raw = await driver_connection(conn)
            begun = await _begin(raw, inbound)
            if begun is None:
                outcome = Outcome.DUPLICATE
            else:
                # Handlers query through SQLAlchemy, in this same transaction.
                async with AsyncSession(bind=conn, autoflush=False) as session:
                    queued = await _converse(
                        raw, session, inbound, *begun, settings, notify=wake is None
                    )
                outcome = Outcome.HANDLED
    except Exception:
        log.exception("turn failed", extra={"channel": inbound.channel})
        outcome = await _apologise(engine, inbound)
    if queued and wake is not None:
        wake(inbound.channel)
    metrics.TURN_SECONDS.labels(inbound.channel).observe(time.perf_counter() - started)
    metrics.INBOUND.labels(inbound.channel, outcome.value).inc()
    return outcome
