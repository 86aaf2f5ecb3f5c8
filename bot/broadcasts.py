"""A broadcast's fan-out: the engine's job that queues it to its whole audience.

What a broadcast is, how it is made and what each farmer gets is the domain's
(handlers/broadcasting.py). Queueing it to 100,000 farmers is the engine's: a few
chunks of 10,000 farmers at once, each its own transaction, so the job opens its
own units of work side by side and is safe to run again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels import capabilities_by_channel
from bot.jobs import ENGINE_JOBS
from bot.runtime import Runtime
from bot.settings import Settings
from db.queries import broadcasts as q
from db.queries.jobs import enqueue
from handlers import broadcasting, outreach
from handlers.broadcasting import FAN_OUT_JOB, BroadcastSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FanOut:
    audience: int
    queued: int
    skipped: int
    no_address: int
    seconds: float


async def fan_out(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    broadcast_id: uuid.UUID,
    policy: BroadcastSettings | None = None,
) -> FanOut | None:
    """Queue the broadcast to its whole audience, a chunk per transaction.

    Safe to run again (a retried job, the recovery sweep): rows already queued stay
    as they are. None when the broadcast is cancelled, done, or has nothing to send.
    """
    policy = policy or BroadcastSettings()
    started = dt.datetime.now(dt.UTC)
    async with sessionmaker() as session, session.begin():
        broadcast = await q.start_fan_out(session, broadcast_id)
        if broadcast is None:
            return None
        prepared = await broadcasting.bodies_of(
            session, broadcast, settings, capabilities_by_channel(settings)
        )
        if prepared is None:
            await q.cancel_broadcast(session, broadcast_id, "lesson not available")
            return None
    bodies, templates = prepared
    async with sessionmaker() as session:
        bounds = await q.audience_bounds(session, broadcast.course_id, policy.chunk_size)
    ranges = list(zip([None, *bounds], [*bounds, None], strict=True))
    # A few chunks at once: the database spreads them over its cores.
    lanes = asyncio.Semaphore(max(1, policy.parallel_chunks))

    async def queue_range(after: uuid.UUID | None, upto: uuid.UUID | None) -> q.Chunk:
        async with lanes, sessionmaker() as session, session.begin():
            return await q.fan_out_chunk(
                session,
                broadcast_id=broadcast_id,
                course_id=broadcast.course_id,
                after=after,
                upto=upto,
                bodies=bodies,
                template_bodies=templates,
                template_languages=list(outreach.templates(settings, "broadcast")),
            )

    chunks = await asyncio.gather(*(queue_range(after, upto) for after, upto in ranges))
    audience = sum(chunk.audience for chunk in chunks)
    no_address = sum(chunk.no_address for chunk in chunks)
    queued = sum(chunk.queued for chunk in chunks)
    skipped = sum(chunk.skipped for chunk in chunks)
    async with sessionmaker() as session, session.begin():
        await q.finish_fan_out(session, broadcast_id, audience=audience, no_address=no_address)
    seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
    log.info(
        "broadcast %s fanned out: %d farmers, %d queued, %d skipped, %d without address, %.2fs",
        broadcast_id, audience, queued, skipped, no_address, seconds,
    )  # fmt: skip
    return FanOut(audience, queued, skipped, no_address, seconds)


@ENGINE_JOBS.job(FAN_OUT_JOB)
async def fan_out_job(runtime: Runtime, payload: dict[str, Any]) -> None:
    """The broadcast's send time came: queue it to every enrolled farmer."""
    try:
        broadcast_id = uuid.UUID(str(payload.get("broadcast", "")))
    except ValueError:
        log.warning("broadcast job without a broadcast id: %r", payload)
        return
    await fan_out(runtime.sessionmaker, runtime.settings, broadcast_id)


@ENGINE_JOBS.every("broadcast_recover", "* * * * *")
async def recover_stalled(runtime: Runtime) -> None:
    """A fan-out whose worker died is enqueued again; the fan-out is idempotent."""
    async with runtime.sessionmaker() as session, session.begin():
        for broadcast_id in await q.stalled_broadcasts(session, older_than_s=120):
            await enqueue(
                session,
                FAN_OUT_JOB,
                {"broadcast": str(broadcast_id)},
                dedupe_key=f"broadcast:{broadcast_id}",
            )
