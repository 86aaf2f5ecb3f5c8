"""The webhook's half of the spine: record the farmer's message, then answer.

A webhook answers 2xx only once its message is durable in the inbox, and never
waits for the turn. Requests that arrive together share one INSERT and one
commit: while one write is in flight, the next requests gather, and the write
after it takes them all (group commit; no timer, so a lone request waits for
nothing but its own write).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import metrics
from bot.messages import Inbound
from db.engine import driver_connection_autocommit
from db.queries import inbox as q

log = logging.getLogger(__name__)

# One write's size: past this, arrivals wait for the next write (a multi-megabyte
# statement would only delay everyone's answer).
MAX_BATCH = 500


def arrival_of(inbound: Inbound) -> q.Arrival:
    return q.Arrival(
        channel=inbound.channel,
        provider_message_id=inbound.external_message_id,
        address=inbound.external_user_id,
        message=inbound.to_json(),
    )


class InboxUnavailable(Exception):
    """The message could not be made durable (the database is down): answer 5xx."""


class InboxRecorder:
    """Records inbound messages in batches; each caller returns once its row committed."""

    def __init__(self, engine: AsyncEngine, *, wake_local: Callable[[], None] | None) -> None:
        self._engine = engine
        # Turn workers in this process are woken directly; without any, a NOTIFY
        # wakes the workers of other processes.
        self._wake_local = wake_local
        self._waiting: list[tuple[q.Arrival, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, inbound: Inbound) -> None:
        """Return once `inbound` is in the inbox (or was already); raise InboxUnavailable."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((arrival_of(inbound), future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())
        await future

    async def _write_all(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                added = await self._write([arrival for arrival, _f in batch])
            except Exception as exc:
                log.warning("inbox: %d messages not recorded: %s", len(batch), exc)
                for _arrival, future in batch:
                    if not future.done():
                        future.set_exception(InboxUnavailable(str(exc)))
                continue
            metrics.INBOX_BATCH.observe(len(batch))
            for arrival, future in batch:
                metrics.INBOUND.labels(arrival.channel, "recorded").inc()
                if not future.done():
                    future.set_result(None)
            if added and self._wake_local is not None:
                self._wake_local()

    async def _write(self, arrivals: list[q.Arrival]) -> int:
        async with driver_connection_autocommit(self._engine) as raw:
            return await q.record(raw, arrivals, notify=self._wake_local is None)
