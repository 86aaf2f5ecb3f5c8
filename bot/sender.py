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
from collections import deque
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import metrics
from bot.channels import CHANNELS
from bot.channels.base import ChannelSender, SendResult
from bot.messages import Reply
from bot.settings import Settings
from bot.wakeups import Listener
from db.queries import outbox
from handlers.broadcasting import BROADCAST_HEADROOM, BroadcastSettings

log = logging.getLogger(__name__)

IDLE_POLL_S = 1.0
# A batch is claimed this long before the previous one's last slot.
PREFETCH_S = 0.05
# A send this late keeps its slot; later than this, the rest of its batch is re-based.
MAX_LATE_S = 0.015
# Sends `rate` apart are at least this much more than a second apart.
WINDOW_GUARD_S = 0.02
# This many chats told to slow down within a second: the whole channel is over its rate.
CHANNEL_429_CHATS = 3


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: 1 s, 2 s, 4 s … capped at 5 minutes."""
    return float(min(300.0, 2.0 ** max(attempt - 1, 0)) * random.uniform(0.8, 1.2))


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """A claimed message, read once: what goes out, its provider calls, its rate cost."""

    message: outbox.Claimed
    reply: Reply
    calls: int
    cost: float


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
        reserve_for_replies: bool = False,
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
        # more of the rate than a reply: where the channel's RateSettings reserve it
        # (WhatsApp), a share of the rate stays free for replies, and a small headroom
        # absorbs the jitter between our clock and the provider's, so a long
        # broadcast never meets a 429.
        self.policy = BroadcastSettings()
        reply_share = self.policy.whatsapp_reply_share if reserve_for_replies else 0.0
        self.broadcast_interval = self.interval / (
            max(1.0 - reply_share, 0.05) * (1.0 - BROADCAST_HEADROOM)
        )
        # When this worker's clock stalls (GC, a busy loop) the messages whose slots
        # passed must not all go at once: each waits one interval after the previous.
        self._next_send = 0.0
        self.wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._pacers: set[asyncio.Task[None]] = set()
        self._pacing = asyncio.Lock()
        # When this worker's last `rate` sends went: no second may hold more.
        self._sent_at: deque[float] = deque(maxlen=max(1, int(rate_per_s)))
        self._window = asyncio.Lock()
        # Claimed rows whose slot has not come yet: given back to the queue on stop.
        self._undispatched: set[int] = set()
        # Addresses that got a 429 lately: a few at once means the channel, not a chat.
        self._recent_429: dict[str, float] = {}
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
                batch_ends_in = await self._claim_batch()
            except Exception as exc:  # keep running through database restarts
                log.warning("sender %s: claim failed: %s", self.channel, exc)
                await asyncio.sleep(1.0)
                continue
            if batch_ends_in is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), IDLE_POLL_S)
            elif batch_ends_in > PREFETCH_S:
                # Claim the next batch just before this one's last slot, so the rate
                # never idles for a claim's round trip between batches.
                await asyncio.sleep(batch_ends_in - PREFETCH_S)

    async def _claim_batch(self) -> float | None:
        """Claim and schedule one batch; seconds until its last slot, None when idle."""
        # About one second of sending per batch, so reserved slots are never far ahead.
        limit = max(1, min(self.settings.sender_batch_size, int(1.0 / self.interval)))
        free = self.settings.sender_concurrency - len(self._in_flight)
        limit = min(limit, max(free, 1))
        lease_s = self.settings.sender_lease_s
        claim = functools.partial(
            outbox.claim,
            channel=self.channel,
            lease_s=lease_s,
            chat_interval_s=self.chat_interval,
            chat_burst=self.chat_burst,
        )
        # In a transaction, not autocommit (one round trip less each): a statement cut
        # off by a database restart then fails its ROLLBACK, and the pool discards the
        # connection; in autocommit it went back to the pool broken.
        async with self.engine.begin() as conn:
            paused = await outbox.rate_paused_for(conn, key=self.rate_key)
            if paused > lease_s / 4:
                # The provider told this channel to wait (a long retry_after): claim
                # nothing until then, or the claimed rows' leases would run out while
                # they wait, and another sender would send them a second time.
                return paused
            batch = await claim(conn, limit=limit, kind="replies")
            room = min(limit, max(1, int(1.0 / self.broadcast_interval))) - len(batch)
            if room > 0 and not self.policy.is_quiet(self.settings.timezone):
                batch += await claim(conn, limit=room, kind="broadcasts")
            if not batch:
                return None
            # Each body is read once here: what it costs of the rate, then what is sent.
            sends = [self._outgoing(message) for message in batch]
            span = sum(send.cost for send in sends)
            first_slot, db_now = await outbox.reserve_span(conn, key=self.rate_key, span_s=span)
            wait = (first_slot - db_now).total_seconds() + span
            if wait > lease_s / 2:
                # Each lease outlasts its row's wait for a rate slot, however long.
                await outbox.extend_leases(
                    conn, [message.id for message in batch], seconds=wait + lease_s
                )
        # Slots are in database time; convert once to this process's monotonic clock.
        start = time.monotonic() + (first_slot - db_now).total_seconds()
        pacer = asyncio.create_task(self._pace(sends, start))
        self._pacers.add(pacer)
        pacer.add_done_callback(self._pacers.discard)
        return start + span - time.monotonic()

    def _outgoing(self, message: outbox.Claimed) -> _Outgoing:
        reply = Reply.from_json(message.body)
        calls = self.sender.calls_for(reply)
        interval = self.broadcast_interval if message.kind == "broadcast" else self.interval
        return _Outgoing(message, reply, calls, interval * calls)

    async def _pace(self, sends: list[_Outgoing], start: float) -> None:
        """Send each message of a batch at its reserved slot, never before it.

        A send a little late (the event loop woke late) does not push the later ones
        back: each keeps its own slot, so the rate holds at what was reserved. Only
        past MAX_LATE_S is the rest re-based on now: catching up on a long stall would
        bunch sends, and a strict one-second window at the provider counts them.
        """
        self._undispatched.update(send.message.id for send in sends)
        # One batch at a time: the next one, claimed early, waits for this one's last send.
        async with self._pacing:
            await self._pace_batch(sends, start)

    async def _pace_batch(self, sends: list[_Outgoing], start: float) -> None:
        offset = 0.0
        for send in sends:
            await self._slots.acquire()
            due = max(start + offset, self._next_send)
            offset += send.cost
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.monotonic()
            self._next_send = (due if now - due <= MAX_LATE_S else now) + send.cost
            self._undispatched.discard(send.message.id)
            task = asyncio.create_task(self._deliver(send))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _deliver(self, send: _Outgoing) -> None:
        message = send.message
        try:
            if not message.is_active:
                result = SendResult("failed", error=f"address inactive: {message.inactive_reason}")
            else:
                await self._take_window_places(send.calls)
                started = time.perf_counter()
                try:
                    result = await self.sender.send(message.address, send.reply)
                except Exception as exc:  # a bug in rendering must not kill the worker
                    log.exception("send crashed for message %s", message.id)
                    result = SendResult("retry", error=f"crash: {type(exc).__name__}")
                metrics.SEND_SECONDS.labels(self.channel).observe(time.perf_counter() - started)
            self._results.append((message, result))
            self._results_waiting.set()
        finally:
            self._slots.release()

    async def _take_window_places(self, calls: int) -> None:
        """Right before a provider call: never more than the provider's limit in any
        second of this worker's calls, with a guard for the jitter between here and the
        provider's clock. Checked at the call, not when the send was scheduled: a busy
        event loop delays some calls more than others, and catching up after a late
        wake-up must not bunch calls into one window (CI saw that at 40/s)."""
        async with self._window:
            limit = self._sent_at.maxlen or 1
            calls = min(calls, limit)
            if len(self._sent_at) + calls > limit:
                # The call `calls` places back in the window must be a second gone.
                oldest = self._sent_at[len(self._sent_at) + calls - limit - 1]
                wait = oldest + 1.0 + WINDOW_GUARD_S - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            now = time.monotonic()
            self._sent_at.extend([now] * calls)

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
        give_up_at = time.monotonic() + self.settings.sender_lease_s / 2
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
            if result.retry_after is not None and self._whole_channel(message, result):
                await outbox.push_back_rate(conn, key=self.rate_key, seconds=result.retry_after)
            await outbox.mark_retry(conn, message.id, result.error or "retry", delay)
            return "retry"
        error = result.error or "failed"
        if result.outcome == "retry":
            error = f"gave up after {message.attempts} attempts: {error}"
        await outbox.mark_failed(conn, message.id, error)
        return "failed"

    def _whole_channel(self, message: outbox.Claimed, result: SendResult) -> bool:
        """Does this "slow down" pause the channel, or only the chat it came for?

        A chat-scoped one (Telegram's per-chat limit) holds that message back, and the
        chat's later messages wait behind it; the other chats go on. When several
        chats hear it within a second, it is the channel's limit after all.
        """
        if result.scope == "channel":
            return True
        now = time.monotonic()
        self._recent_429 = {a: t for a, t in self._recent_429.items() if now - t < 1.0}
        self._recent_429[message.address] = now
        return len(self._recent_429) >= CHANNEL_429_CHATS

    async def drain(self) -> None:
        for pacer in list(self._pacers):
            pacer.cancel()
        await asyncio.gather(*self._pacers, return_exceptions=True)
        if self._undispatched:
            with contextlib.suppress(Exception):
                async with self.engine.begin() as conn:
                    await outbox.requeue(conn, sorted(self._undispatched))
            self._undispatched.clear()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self._write_results()


class Sender:
    """All channel workers of one process, woken in-process or by LISTEN/NOTIFY."""

    def __init__(
        self, engine: AsyncEngine, workers: list[ChannelWorker], *, lease_s: float
    ) -> None:
        self.engine = engine
        self.workers = workers
        self.lease_s = lease_s
        self._tasks: list[asyncio.Task[None]] = []

    def listen(self, listener: Listener) -> None:
        """Wake on NOTIFY from other processes' turns, jobs and payments."""
        listener.on(outbox.NOTIFY_CHANNEL, self.wake_for, on_reconnect=self.wake_all)

    def wake_for(self, payload: str) -> None:
        for worker in self.workers:
            if worker.channel == payload or not payload:
                worker.wake.set()

    def wake_all(self) -> None:
        for worker in self.workers:
            worker.wake.set()

    async def _reap(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 4)
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
        self._tasks = [asyncio.create_task(self._reap())]
        self._tasks += [asyncio.create_task(worker.run()) for worker in self.workers]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for worker in self.workers:
            await worker.drain()
            await worker.sender.close()


def build_sender(engine: AsyncEngine, settings: Settings) -> Sender:
    """One worker per channel that is on and sends through a provider."""
    workers: list[ChannelWorker] = []
    for channel in CHANNELS:
        if channel.sender is None or channel.rate is None or not channel.enabled(settings):
            continue
        rate = channel.rate(settings)
        workers.append(
            ChannelWorker(
                engine,
                channel.sender(settings, engine),
                rate_key=rate.key,
                rate_per_s=rate.per_s,
                chat_rate_per_s=rate.chat_per_s,
                chat_burst=rate.chat_burst,
                settings=settings,
                reserve_for_replies=rate.reserve_for_replies,
            )
        )
    return Sender(engine, workers, lease_s=settings.sender_lease_s)
