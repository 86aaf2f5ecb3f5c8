"""The outbound worker: claims owed messages and hands them to the providers.

Any number of these run, in any number of processes, against one database.
Rows are claimed with SKIP LOCKED; a channel's rate is kept by slots reserved
in the database, so together the senders never exceed it. A farmer's messages
go out one at a time, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import metrics
from bot.broadcasts import BROADCAST_HEADROOM, BroadcastSettings
from bot.channels.base import ChannelSender, SendResult
from bot.messages import Reply
from bot.settings import Settings
from db.engine import libpq_url
from db.queries import outbox

log = logging.getLogger(__name__)

LEASE_S = 120.0
IDLE_POLL_S = 1.0


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: 1 s, 2 s, 4 s … capped at 5 minutes."""
    return float(min(300.0, 2.0 ** max(attempt - 1, 0)) * random.uniform(0.8, 1.2))


class ChannelWorker:
    """Sends one channel's messages at that channel's rate."""

    def __init__(
        self,
        engine: AsyncEngine,
        sender: ChannelSender,
        *,
        rate_key: str,
        rate_per_s: float,
        chat_rate_per_s: float | None,
        chat_burst: int,
        settings: Settings,
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.channel = sender.channel
        self.rate_key = rate_key
        self.interval = 1.0 / rate_per_s
        self.chat_interval = 1.0 / chat_rate_per_s if chat_rate_per_s else 0.0
        self.chat_burst = chat_burst
        self.settings = settings
        # Broadcast rows go after replies, outside quiet hours, and each costs a little
        # more of the rate than a reply: on WhatsApp a fifth of the rate stays free for
        # replies, and a small headroom absorbs the jitter between our clock and the
        # provider's, so a long broadcast never meets a 429.
        self.policy = BroadcastSettings()
        share = self.policy.whatsapp_reply_share if self.channel == "whatsapp" else 0.0
        self.broadcast_interval = self.interval / (
            max(1.0 - share, 0.05) * (1.0 - BROADCAST_HEADROOM)
        )
        # When this worker's clock stalls (GC, a busy loop) the messages whose slots
        # passed must not all go at once: each waits one interval after the previous.
        self._next_send = 0.0
        self.wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(settings.sender_concurrency)
        # Send results wait here and are written together: one transaction for all
        # that finished while the previous write ran (one at low load, many at high).
        self._results: list[tuple[outbox.Claimed, SendResult]] = []
        self._results_waiting = asyncio.Event()

    async def run(self) -> None:
        recorder = asyncio.create_task(self._record_results())
        try:
            await self._send_forever()
        finally:
            recorder.cancel()
            await asyncio.gather(recorder, return_exceptions=True)

    async def _send_forever(self) -> None:
        while True:
            # Cleared before the claim, not after an empty one: a wake-up that comes
            # while the claim runs (a row committed after its snapshot) must not be
            # lost, or that row waits a whole idle poll.
            self.wake.clear()
            try:
                claimed = await self._claim_batch()
            except Exception as exc:  # keep running through database restarts
                log.warning("sender %s: claim failed: %s", self.channel, exc)
                await asyncio.sleep(1.0)
                continue
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), IDLE_POLL_S)

    async def _claim_batch(self) -> int:
        # About one second of sending per batch, so reserved slots are never far ahead.
        limit = max(1, min(self.settings.sender_batch_size, int(1.0 / self.interval)))
        free = self.settings.sender_concurrency - len(self._in_flight)
        limit = min(limit, max(free, 1))
        claim = functools.partial(
            outbox.claim,
            channel=self.channel,
            lease_s=LEASE_S,
            chat_interval_s=self.chat_interval,
            chat_burst=self.chat_burst,
        )
        # In a transaction, not autocommit (one round trip less each): a statement cut
        # off by a database restart then fails its ROLLBACK, and the pool discards the
        # connection; in autocommit it went back to the pool broken.
        async with self.engine.begin() as conn:
            batch = await claim(conn, limit=limit, kind="replies")
            room = min(limit, max(1, int(1.0 / self.broadcast_interval))) - len(batch)
            if room > 0 and not self.policy.is_quiet(self.settings.timezone):
                batch += await claim(conn, limit=room, kind="broadcasts")
            if not batch:
                return 0
            costs = [
                self.broadcast_interval if message.kind == "broadcast" else self.interval
                for message in batch
            ]
            first_slot, db_now = await outbox.reserve_span(
                conn, key=self.rate_key, span_s=sum(costs)
            )
        # Slots are in database time; convert once to this process's monotonic clock.
        start = time.monotonic() + (first_slot - db_now).total_seconds()
        offset = 0.0
        for message, cost in zip(batch, costs, strict=True):
            await self._slots.acquire()
            due = max(start + offset, self._next_send)
            offset += cost
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            # Spaced from when this one really went: catching up on a late wake-up would
            # put two sends closer than one interval, and a strict one-second window at
            # the provider then counts one too many (seen in CI). The rate runs a little
            # under the limit instead (267/s at 300/s measured with catch-up, 245/s without).
            self._next_send = max(due, time.monotonic()) + cost
            task = asyncio.create_task(self._deliver(message))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(batch)

    async def _deliver(self, message: outbox.Claimed) -> None:
        try:
            if not message.is_active:
                result = SendResult("failed", error=f"address inactive: {message.inactive_reason}")
            else:
                started = time.perf_counter()
                try:
                    result = await self.sender.send(message.address, Reply.from_json(message.body))
                except Exception as exc:  # a bug in rendering must not kill the worker
                    log.exception("send crashed for message %s", message.id)
                    result = SendResult("retry", error=f"crash: {type(exc).__name__}")
                metrics.SEND_SECONDS.labels(self.channel).observe(time.perf_counter() - started)
            self._results.append((message, result))
            self._results_waiting.set()
        finally:
            self._slots.release()

    async def _record_results(self) -> None:
        while True:
            await self._results_waiting.wait()
            self._results_waiting.clear()
            await self._write_results()

    async def _write_results(self) -> None:
        """Write every waiting result in one transaction, retrying through DB blips."""
        batch, self._results = self._results, []
        if not batch:
            return
        attempt = 0
        give_up_at = time.monotonic() + LEASE_S / 2
        while True:
            try:
                async with self.engine.begin() as conn:
                    outcomes = await self._apply(conn, batch)
                break
            except asyncio.CancelledError:
                # Stopping: keep them for drain() to write (writing twice is harmless).
                self._results = batch + self._results
                raise
            except Exception as exc:
                # The provider already has these: losing the record would send them twice.
                # Past half the lease another sender may reclaim them anyway, so stop there.
                if time.monotonic() > give_up_at:
                    ids = [message.id for message, _r in batch]
                    log.error("could not record results of messages %s; leases will expire", ids)
                    return
                log.warning("recording %d send results failed (%s), retrying", len(batch), exc)
                await asyncio.sleep(min(5.0, 0.2 * 2**attempt))
                attempt += 1
        for outcome in outcomes:
            metrics.OUTBOUND.labels(self.channel, outcome).inc()
        # The farmers' next messages may have been waiting on these.
        self.wake.set()

    async def _apply(
        self, conn: AsyncConnection, batch: list[tuple[outbox.Claimed, SendResult]]
    ) -> list[str]:
        """Record a batch of results; returns each one's outcome: sent, retry or failed."""
        sent = [(m.id, r.provider_message_id) for m, r in batch if r.outcome == "sent"]
        if sent:
            await outbox.mark_sent_many(conn, sent)
        outcomes = ["sent"] * len(sent)
        for message, result in batch:
            if result.outcome != "sent":
                outcomes.append(await self._apply_unsent(conn, message, result))
        return outcomes

    async def _apply_unsent(
        self, conn: AsyncConnection, message: outbox.Claimed, result: SendResult
    ) -> str:
        if result.identity_inactive_reason:
            await outbox.deactivate_identity(
                conn, message.identity_id, result.identity_inactive_reason
            )
        if result.outcome == "retry" and message.attempts < self.settings.sender_max_attempts:
            delay = (
                result.retry_after if result.retry_after is not None else backoff(message.attempts)
            )
            if result.retry_after is not None:
                await outbox.push_back_rate(conn, key=self.rate_key, seconds=result.retry_after)
            await outbox.mark_retry(conn, message.id, result.error or "retry", delay)
            return "retry"
        error = result.error or "failed"
        if result.outcome == "retry":
            error = f"gave up after {message.attempts} attempts: {error}"
        await outbox.mark_failed(conn, message.id, error)
        return "failed"

    async def drain(self) -> None:
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self._write_results()


class Sender:
    """All channel workers of one process, woken by LISTEN/NOTIFY."""

    def __init__(
        self, engine: AsyncEngine, database_url: str, workers: list[ChannelWorker]
    ) -> None:
        self.engine = engine
        self.database_url = libpq_url(database_url)
        self.workers = workers
        self._tasks: list[asyncio.Task[None]] = []

    async def _listen(self) -> None:
        """Keep a LISTEN connection; reconnect if the database restarts."""
        while True:
            try:
                conn = await asyncpg.connect(self.database_url)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("sender: cannot LISTEN yet: %s", exc)
                await asyncio.sleep(1.0)
                continue
            closed = asyncio.Event()
            conn.add_termination_listener(lambda _c, closed=closed: closed.set())

            def wake(_c: object, _pid: int, _channel: str, payload: str) -> None:
                for worker in self.workers:
                    if worker.channel == payload or not payload:
                        worker.wake.set()

            try:
                await conn.add_listener(outbox.NOTIFY_CHANNEL, wake)
                for worker in self.workers:  # catch up on anything queued while away
                    worker.wake.set()
                await closed.wait()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # The server went away between connect and LISTEN: start over, or this
                # process would fall back to polling once a second for good.
                log.warning("sender: LISTEN lost: %s", exc)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await conn.close()

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(LEASE_S / 4)
            try:
                async with self.engine.begin() as conn:
                    released = await outbox.release_expired_leases(conn)
                if released:
                    log.warning("sender: %d messages released from expired leases", released)
                    for worker in self.workers:
                        worker.wake.set()
            except Exception as exc:
                log.warning("sender: lease reaper failed: %s", exc)

    def wake(self, channel: str) -> None:
        """Something was queued for `channel` by this process: its worker looks now."""
        for worker in self.workers:
            if worker.channel == channel:
                worker.wake.set()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._reap())]
        self._tasks += [asyncio.create_task(worker.run()) for worker in self.workers]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for worker in self.workers:
            await worker.drain()
            await worker.sender.close()


def build_sender(engine: AsyncEngine, database_url: str, settings: Settings) -> Sender:
    """One worker per configured channel."""
    workers: list[ChannelWorker] = []
    if settings.telegram_enabled:
        from bot.channels.telegram import TelegramSender

        workers.append(
            ChannelWorker(
                engine,
                TelegramSender(settings),
                rate_key="telegram",
                rate_per_s=settings.telegram_rate_per_s,
                chat_rate_per_s=settings.telegram_chat_rate_per_s,
                chat_burst=settings.telegram_chat_burst,
                settings=settings,
            )
        )
    if settings.whatsapp_enabled:
        from bot.channels.whatsapp import WhatsAppSender

        workers.append(
            ChannelWorker(
                engine,
                WhatsAppSender(settings, engine),
                rate_key=f"whatsapp:{settings.twilio_whatsapp_from}",
                rate_per_s=settings.whatsapp_rate_per_s,
                chat_rate_per_s=None,
                chat_burst=1,
                settings=settings,
            )
        )
    return Sender(engine, database_url, workers)
