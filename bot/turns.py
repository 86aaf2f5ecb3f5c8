"""Turn workers: the farmers' messages that the webhooks recorded, answered.

A worker's batch is one transaction. It claims up to `BATCH_FARMERS` farmers
with pending inbox messages, oldest first, skipping any whose conversation
another worker holds (`SKIP LOCKED`: no connection ever waits on a farmer).
Each claimed farmer's messages are then answered in arrival order, each in a
savepoint of its own: a handler that breaks gives that farmer an apology and
records the error on its inbox row, and its batch neighbours are kept. The
inbox row marked done, the state, the domain rows and the queued replies all
commit together, once for the whole batch.

A database error that is not the turn's fault (a lost connection, a restart,
a deadlock) rolls the whole batch back: its messages stay pending for the next
batch, here or in another process. Nothing is apologised for that is not broken.

Flood: past `FLOOD_LIMIT` pending messages, a farmer's newer messages are set
aside (`dropped`, kept in the inbox) and the farmer is asked, at most once a
minute, to wait for the answers. A batch takes at most `PER_FARMER` messages
of one farmer, so a flood costs other farmers one batch place, not a batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot import metrics
from bot.channels import capabilities_by_channel
from bot.i18n import _, use_language
from bot.inbox import arrival_of
from bot.messages import Capabilities, Inbound, Reply
from bot.settings import Settings
from bot.wakeups import Listener
from db.engine import driver_connection, driver_connection_autocommit
from db.queries import inbox as inbox_q
from db.queries import turns as q
from handlers.base import Turn
from handlers.numbering import MENU_KEY, MENU_LABELS_KEY, number_options, option_labels
from handlers.router import route

log = logging.getLogger(__name__)

FLOOD_KEY = "_flood_notice_at"
BATCH_FARMERS = 32
# Turns per batch transaction, each a subtransaction: PostgreSQL keeps up to 64 of a
# transaction's subtransaction ids in shared memory; past that every other session's
# snapshot checks slow down (the "subxid overflow").
MAX_TURNS_PER_BATCH = 60
PER_FARMER = 8
FLOOD_LIMIT = 20
FLOOD_NOTICE_EVERY = dt.timedelta(minutes=1)
IDLE_POLL_S = 1.0

WakeSender = Callable[[str], None]


_TRANSIENT = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.OperatorInterventionError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
)


def is_transient(error: BaseException) -> bool:
    """A database or network fault that retrying may cure, not a bug in the turn."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, _TRANSIENT):
            return True
        if isinstance(seen, sa_exc.DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, sa_exc.DBAPIError) and isinstance(seen.orig, BaseException):
            seen = seen.orig
            continue
        seen = seen.__cause__ or seen.__context__
    return False


async def _converse(
    raw: Any,
    session: AsyncSession,
    inbound: Inbound,
    farmer: q.Farmer,
    conversation: q.ConversationRow,
    settings: Settings,
    *,
    inbox_id: int | None,
    notices: list[Reply],
    notify: bool,
) -> q.ConversationRow:
    """Run the handler and save what it did; returns where the conversation now stands."""
    data = dict(conversation.data)
    menu = data.pop(MENU_KEY, [])
    menu_labels = data.pop(MENU_LABELS_KEY, [])
    channels = capabilities_by_channel(settings)
    turn = Turn(
        session=session,
        inbound=inbound,
        farmer=farmer,
        settings=settings,
        state=conversation.state,
        data=data,
        now=dt.datetime.now(dt.UTC),
        menu=menu,
        menu_labels=menu_labels,
        capabilities=channels.get(inbound.channel, Capabilities()),
        channels=channels,
    )
    handler = route(turn)
    with use_language(farmer.language):
        replies = turn.take(await handler(turn))
    replies, new_menu = number_options(replies)
    saved = dict(turn.data)
    # Every answer replaces the menu: a question without options means typed
    # digits are an answer, not a choice from some older list.
    saved[MENU_KEY] = new_menu if replies else turn.menu
    saved[MENU_LABELS_KEY] = option_labels(replies) if replies else turn.menu_labels
    if FLOOD_KEY in conversation.data:
        saved[FLOOD_KEY] = conversation.data[FLOOD_KEY]
    await session.flush()
    bodies = [reply.to_json() for reply in [*replies, *notices]]
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
        inbox_id=inbox_id,
        notify=notify,
    )
    return q.ConversationRow(turn.state, saved)


async def _apologise(
    raw: Any,
    inbound: Inbound,
    farmer: q.Farmer,
    conversation: q.ConversationRow,
    *,
    inbox_id: int,
    error: str,
    notify: bool,
) -> None:
    """The handler broke: the farmer hears so, kindly; the error stays on the inbox row."""
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
        inbox_id=inbox_id,
        failure=error,
        notify=notify,
    )


def _flood_notice(farmer: q.Farmer) -> Reply:
    with use_language(farmer.language):
        return Reply(
            _(
                "I am still answering your earlier messages. Please wait for my reply "
                "before sending more."
            )
        )


class TurnWorkers:
    """The turn workers of one process: `count` loops sharing one wake-up."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        *,
        wake_sender: WakeSender | None,
        count: int = 2,
        batch_farmers: int = BATCH_FARMERS,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.wake_sender = wake_sender
        self.count = count
        self.batch_farmers = batch_farmers
        self.wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def poke(self, _payload: str = "") -> None:
        """Something was recorded: look now."""
        self.wake.set()

    def listen(self, listener: Listener) -> None:
        listener.on(inbox_q.NOTIFY_CHANNEL, self.poke, on_reconnect=self.poke)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work_forever()) for _ in range(self.count)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _work_forever(self) -> None:
        failures = 0
        while True:
            # Cleared before the batch, not after an empty one: a message recorded
            # while the claim ran must not wait a whole idle poll.
            self.wake.clear()
            try:
                handled = await self.run_batch()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log.warning("turn batch rolled back, its messages stay pending: %s", exc)
                await asyncio.sleep(min(2.0, 0.1 * 2**failures))
                continue
            if handled:
                # Another batch may be waiting; a sibling may be asleep: wake it too.
                self.wake.set()
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), IDLE_POLL_S)

    async def run_batch(self) -> int:
        """Answer one batch of farmers' pending messages; returns how many were handled."""
        started = time.perf_counter()
        notify = self.wake_sender is None
        replied: set[str] = set()
        handled = 0
        async with self.engine.connect() as conn, conn.begin():
            raw = await driver_connection(conn)
            claims = await inbox_q.claim_farmers(raw, farmers=self.batch_farmers)
            if not claims:
                return 0
            pending = await inbox_q.pending_messages(
                raw, [(c.channel, c.address) for c in claims], per_farmer=PER_FARMER
            )
            by_address: dict[tuple[str, str], list[inbox_q.Pending]] = {}
            for message in pending:
                by_address.setdefault((message.channel, message.address), []).append(message)
            budget = MAX_TURNS_PER_BATCH
            for claim in claims:
                messages = by_address.get((claim.channel, claim.address))
                if messages and budget > 0:
                    answered = await self._answer_farmer(
                        raw, conn, claim, messages[:budget], notify
                    )
                    handled += answered
                    budget -= answered
                    replied.add(claim.channel)
        if self.wake_sender is not None:
            for channel in replied:
                self.wake_sender(channel)
        if handled:
            metrics.TURN_BATCH.observe(handled)
            metrics.TURN_SECONDS.labels("batch").observe(time.perf_counter() - started)
        return handled

    async def _answer_farmer(
        self,
        raw: Any,
        conn: Any,
        claim: inbox_q.Claim,
        messages: list[inbox_q.Pending],
        notify: bool,
    ) -> int:
        if claim.farmer is None or claim.conversation is None:
            first = Inbound.from_json(messages[0].message)
            made = await q.find_or_create_farmer(
                raw,
                channel=claim.channel,
                external_id=claim.address,
                display_name=first.display_name,
                language="en",
            )
            if made is None:  # another worker has them now; the next batch will
                return 0
            farmer, conversation = made
        else:
            farmer, conversation = claim.farmer, claim.conversation
        notices = await self._flood_notices(raw, claim, messages, farmer, conversation)
        handled = 0
        for index, message in enumerate(messages):
            if index:
                # The previous turn may have changed the farmer (a language chosen).
                farmer = await inbox_q.farmer_now(raw, farmer.user_id, farmer)
            inbound = Inbound.from_json(message.message)
            last = index == len(messages) - 1
            conversation = await self._turn(
                raw, conn, inbound, farmer, conversation, message.id,
                notices if last else [], notify,
            )  # fmt: skip
            handled += 1
        return handled

    async def _flood_notices(
        self,
        raw: Any,
        claim: inbox_q.Claim,
        messages: list[inbox_q.Pending],
        farmer: q.Farmer,
        conversation: q.ConversationRow,
    ) -> list[Reply]:
        if messages[0].pending <= FLOOD_LIMIT:
            return []
        dropped = await inbox_q.drop_flood(
            raw, channel=claim.channel, address=claim.address, keep=FLOOD_LIMIT,
            reason=f"flood: more than {FLOOD_LIMIT} messages waiting",
        )  # fmt: skip
        metrics.INBOUND.labels(claim.channel, "dropped").inc(dropped)
        now = dt.datetime.now(dt.UTC)
        last = conversation.data.get(FLOOD_KEY)
        if last and now - dt.datetime.fromisoformat(last) < FLOOD_NOTICE_EVERY:
            return []
        conversation.data[FLOOD_KEY] = now.isoformat()
        return [_flood_notice(farmer)]

    async def _turn(
        self,
        raw: Any,
        conn: Any,
        inbound: Inbound,
        farmer: q.Farmer,
        conversation: q.ConversationRow,
        inbox_id: int,
        notices: list[Reply],
        notify: bool,
    ) -> q.ConversationRow:
        await raw.execute("SAVEPOINT turn")
        try:
            # Handlers query through SQLAlchemy, in this same transaction.
            async with AsyncSession(bind=conn, autoflush=False) as session:
                conversation = await _converse(
                    raw, session, inbound, farmer, conversation, self.settings,
                    inbox_id=inbox_id, notices=notices, notify=notify,
                )  # fmt: skip
            # Not released: a savepoint left open until the batch commits costs nothing,
            # and RELEASE would be one more round trip per turn. A later turn's
            # ROLLBACK TO goes back to its own (the newest of the name).
            metrics.INBOUND.labels(inbound.channel, "handled").inc()
            return conversation
        except Exception as exc:
            if is_transient(exc):
                raise
            log.exception("turn failed", extra={"channel": inbound.channel})
            await raw.execute("ROLLBACK TO SAVEPOINT turn")
            await _apologise(
                raw, inbound, farmer, conversation, inbox_id=inbox_id,
                error=f"{type(exc).__name__}: {exc}", notify=notify,
            )  # fmt: skip
            metrics.INBOUND.labels(inbound.channel, "failed").inc()
            return conversation

    async def answer_now(self, inbound: Inbound) -> None:
        """Record one message and answer it before returning (`krishi chat`, benches)."""
        async with driver_connection_autocommit(self.engine) as raw:
            await inbox_q.record(raw, [arrival_of(inbound)], notify=False)
        while True:
            await self.run_batch()
            async with driver_connection_autocommit(self.engine) as raw:
                status = await inbox_q.status_of(raw, inbound.channel, inbound.external_message_id)
            if status != "pending":
                return
            await asyncio.sleep(0.01)  # another process holds this farmer for a moment
