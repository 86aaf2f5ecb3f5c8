"""The retention job: once an hour, prune what the service no longer needs.

- `inbound_events` (dedup keys of webhook deliveries) after RETENTION_DEDUP_DAYS
  (3): longer than any provider retries a delivery (Telegram keeps an unconfirmed
  update for 24 hours, Razorpay retries a webhook for 24 hours, Twilio retries at
  once), and shorter than the week of silence after which Telegram may start its
  update_ids again, so a new update is never taken for an old one.
- answered `inbox` rows (also the dedup keys of farmers' messages) after the same window;
  pending ones are never pruned.
- finished `outbound_messages` (sent, delivered, read, failed, skipped) after
  RETENTION_MESSAGES_DAYS (90): delivery receipts and broadcast counts stay
  readable for a season; queued and sending rows are never pruned.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.jobs import JOBS
from bot.runtime import Runtime
from db.queries import retention as q

log = logging.getLogger(__name__)

RETENTION_JOB = "prune_old_rows"
BATCH = 5_000


async def _prune_table(runtime: Runtime, prune: Callable[[AsyncSession], Awaitable[int]]) -> int:
    total = 0
    while True:
        async with runtime.sessionmaker() as session, session.begin():
            pruned = await prune(session)
        total += pruned
        if pruned < BATCH:
            return total


async def prune_old_rows(runtime: Runtime, now: dt.datetime | None = None) -> dict[str, int]:
    """Prune every table past its window; returns the rows pruned per table."""
    settings = runtime.settings
    now = now or dt.datetime.now(dt.UTC)
    dedup_before = now - dt.timedelta(days=settings.retention_dedup_days)
    messages_before = now - dt.timedelta(days=settings.retention_messages_days)
    pruned = {
        "inbound_events": await _prune_table(
            runtime,
            lambda s: q.prune_inbound_events(s, before=dedup_before, limit=BATCH),
        ),
        "inbox": await _prune_table(
            runtime, lambda s: q.prune_inbox(s, before=dedup_before, limit=BATCH)
        ),
        "outbound_messages": await _prune_table(
            runtime,
            lambda s: q.prune_outbound_messages(s, before=messages_before, limit=BATCH),
        ),
    }
    if any(pruned.values()):
        log.info("retention: pruned %s", pruned)
    return pruned


@JOBS.every(RETENTION_JOB, "23 * * * *")
async def prune_hourly(runtime: Runtime) -> None:
    """Every hour at :23 (any one process runs it; pgqueuer schedules it once)."""
    await prune_old_rows(runtime)
