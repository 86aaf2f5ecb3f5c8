"""Looking up farmers and their chat addresses."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def find_user_by_identity(
    sessionmaker: async_sessionmaker[AsyncSession], channel: str, external_id: str
) -> uuid.UUID | None:
    async with sessionmaker() as session:
        return (
            await session.execute(
                text(
                    "SELECT user_id FROM channel_identities WHERE channel = :c AND external_id = :e"
                ),
                {"c": channel, "e": external_id},
            )
        ).scalar_one_or_none()
