"""Retention: rows kept only as long as they are useful, pruned in small batches.

One function per table, each deleting at most `limit` rows older than `before`
(oldest first, walking the primary key, so a batch is cheap without an index on
the time column) and returning how many went. The caller commits each batch, so no
transaction holds many row locks or runs long. Windows are settings (see
bot/retention.py and README "Security and privacy").
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def prune_inbound_events(session: AsyncSession, *, before: dt.datetime, limit: int) -> int:
    """Dedup keys of deliveries received before `before`: a provider's retry of them
    can no longer come, and Telegram may reuse an old update_id after a quiet week."""
    result = await session.execute(
        text(
            """
            DELETE FROM inbound_events WHERE id IN (
                SELECT id FROM inbound_events WHERE received_at < :before
                 ORDER BY id LIMIT :limit)
            """
        ),
        {"before": before, "limit": limit},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def prune_outbound_messages(session: AsyncSession, *, before: dt.datetime, limit: int) -> int:
    """Messages finished (sent, delivered, read, failed or skipped) and created before
    `before`. Messages still owed (queued, sending) are never pruned, however old."""
    result = await session.execute(
        text(
            """
            DELETE FROM outbound_messages WHERE id IN (
                SELECT id FROM outbound_messages
                 WHERE created_at < :before AND status NOT IN ('queued', 'sending')
                 ORDER BY id LIMIT :limit)
            """
        ),
        {"before": before, "limit": limit},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def prune_inbox(session: AsyncSession, *, before: dt.datetime, limit: int) -> int:
    """Farmers' messages answered (or set aside) and received before `before`. The inbox
    row is also the delivery's dedup key, so it shares the dedup window. Messages still
    pending are never pruned, however old."""
    result = await session.execute(
        text(
            """
            DELETE FROM inbox WHERE id IN (
                SELECT id FROM inbox
                 WHERE received_at < :before AND status <> 'pending'
                 ORDER BY id LIMIT :limit)
            """
        ),
        {"before": before, "limit": limit},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
