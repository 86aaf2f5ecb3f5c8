"""Enqueueing a pgqueuer job inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from pgqueuer import AsyncpgDriver, Queries
from sqlalchemy.ext.asyncio import AsyncSession


async def enqueue(
    session: AsyncSession,
    entrypoint: str,
    payload: dict[str, Any],
    *,
    after: dt.timedelta | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Enqueue a job in the session's own transaction: it exists only if the turn commits."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = AsyncpgDriver(raw.driver_connection)
    await Queries(driver).enqueue(
        entrypoint,
        orjson.dumps(payload),
        execute_after=after,
        dedupe_key=dedupe_key,
        on_conflict="skip",
    )
