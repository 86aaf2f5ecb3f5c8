"""The WhatsApp sender's cache of Twilio Content resources, keyed by a hash of their options."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def find_content(conn: AsyncConnection, content_hash: str) -> str | None:
    row = await conn.execute(
        text("SELECT content_sid FROM whatsapp_contents WHERE content_hash = :h"),
        {"h": content_hash},
    )
    return row.scalar_one_or_none()


async def remember_content(
    conn: AsyncConnection, content_hash: str, content_sid: str, content_type: str
) -> str:
    """Store a content made for this hash; if another sender stored one first, that one
    wins (so every sender sends the same ContentSid). Returns the stored sid."""
    row = await conn.execute(
        text(
            """
            WITH added AS (
                INSERT INTO whatsapp_contents (content_hash, content_sid, content_type)
                VALUES (:h, :sid, :type)
                ON CONFLICT (content_hash) DO NOTHING
                RETURNING content_sid
            )
            SELECT content_sid FROM added
            UNION ALL
            SELECT content_sid FROM whatsapp_contents WHERE content_hash = :h
            LIMIT 1
            """
        ),
        {"h": content_hash, "sid": content_sid, "type": content_type},
    )
    return str(row.scalar_one())
