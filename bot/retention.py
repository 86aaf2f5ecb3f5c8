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

from bot.jobs import run_in_units
from bot.runtime import Runtime
from db.queries import retention as q
from handlers.jobs import JOBS, Work

log = logging.getLogger(__name__)

RETENTION_JOB = "prune_old_rows"
BATCH = 5_000


async def prune_batch(work: Work, now: dt.datetime | None = None) -> dict[str, int]:
    """One batch of each table past its window; returns the rows pruned per table."""
    settings = work.settings
    now = now or dt.datetime.now(dt.UTC)
    dedup_before = now - dt.timedelta(days=settings.retention_dedup_days)
    messages_before = now - dt.timedelta(days=settings.retention_messages_days)
    session = work.session
    return {
        "inbound_events": await q.prune_inbound_events(session, before=dedup_before, limit=BATCH),
        "inbox": await q.prune_inbox(session, before=dedup_before, limit=BATCH),
        "outbound_messages": await q.prune_outbound_messages(
            session, before=messages_before, limit=BATCH
        ),
    }


async def prune_old_rows(runtime: Runtime, now: dt.datetime | None = None) -> dict[str, int]:
    """Prune every table past its window, a batch per transaction; the rows pruned per table."""
    totals = {"inbound_events": 0, "inbox": 0, "outbound_messages": 0}

    async def batch(work: Work) -> bool:
        pruned = await prune_batch(work, now)
        for table, count in pruned.items():
            totals[table] += count
        return any(count >= BATCH for count in pruned.values())

    await run_in_units(runtime, batch)
    if any(totals.values()):
        log.info("retention: pruned %s", totals)
    return totals


@JOBS.every(RETENTION_JOB, "23 * * * *")
async def prune_hourly(work: Work) -> bool:
    """Every hour at :23 (any one process runs it; pgqueuer schedules it once)."""
    pruned = await prune_batch(work)
    if any(pruned.values()):
        log.info("retention: pruned %s", pruned)
    return any(count >= BATCH for count in pruned.values())
