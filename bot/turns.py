"""One inbound message, handled as one unit of work.

Record the delivery (a duplicate stops here), find or create the farmer, lock
their conversation, run the handler, queue its replies, save the state, commit.
Handlers only flush; this is the boundary that commits.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.i18n import _, use_language
from bot.messages import Inbound, Reply
from bot.settings import Settings
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


async def _begin(session: AsyncSession, inbound: Inbound) -> tuple[bool, q.Farmer | None]:
    fresh, farmer = await q.record_inbound_and_find_farmer(
        session,
        source=inbound.source,
        event_id=inbound.external_message_id,
        channel=inbound.channel,
        external_id=inbound.external_user_id,
        display_name=inbound.display_name,
    )
    if fresh and farmer is None:
        farmer = await q.create_farmer(
            session,
            channel=inbound.channel,
            external_id=inbound.external_user_id,
            display_name=inbound.display_name,
            language="en",
        )
    return fresh, farmer


async def _converse(
    session: AsyncSession, inbound: Inbound, farmer: q.Farmer, settings: Settings
) -> None:
    conversation = await q.lock_conversation(session, farmer.user_id)
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
    saved[MENU_KEY] = new_menu if replies else menu
    await q.finish_turn(
        session,
        farmer=farmer,
        channel=inbound.channel,
        state=turn.state,
        data=saved,
        bodies=[reply.to_json() for reply in replies],
    )


async def _apologise(sessionmaker: async_sessionmaker[AsyncSession], inbound: Inbound) -> Outcome:
    """The handler failed: keep the delivery recorded and tell the farmer, kindly."""
    async with sessionmaker() as session, session.begin():
        fresh, farmer = await _begin(session, inbound)
        if not fresh or farmer is None:
            return Outcome.DUPLICATE
        conversation = await q.lock_conversation(session, farmer.user_id)
        with use_language(farmer.language):
            reply = Reply(_("Sorry, something went wrong on our side. Please try again."))
        await q.finish_turn(
            session,
            farmer=farmer,
            channel=inbound.channel,
            state=conversation.state,
            data=conversation.data,
            bodies=[reply.to_json()],
        )
    return Outcome.FAILED


async def run_turn(
    sessionmaker: async_sessionmaker[AsyncSession], inbound: Inbound, settings: Settings
) -> Outcome:
    started = time.perf_counter()
    try:
        async with sessionmaker() as session, session.begin():
            fresh, farmer = await _begin(session, inbound)
            if not fresh or farmer is None:
                outcome = Outcome.DUPLICATE
            else:
                await _converse(session, inbound, farmer, settings)
                outcome = Outcome.HANDLED
    except Exception:
        log.exception("turn failed", extra={"channel": inbound.channel})
        outcome = await _apologise(sessionmaker, inbound)
    metrics.TURN_SECONDS.labels(inbound.channel).observe(time.perf_counter() - started)
    metrics.INBOUND.labels(inbound.channel, outcome.value).inc()
    return outcome
