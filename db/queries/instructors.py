"""Instructors, their API tokens and sign-up invites."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

# --- instructors, tokens, invites ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstructorRow:
    id: uuid.UUID
    display_name: str | None
    preferred_language: str | None
    role: str
    created_at: dt.datetime
    courses: int
    active_tokens: int
    chat_bound: bool


_INSTRUCTOR = """
    SELECT u.id, u.display_name, u.preferred_language, u.role, u.created_at,
           (SELECT count(*) FROM courses c WHERE c.instructor_id = u.id) AS courses,
           (SELECT count(*) FROM instructor_tokens t
             WHERE t.user_id = u.id AND t.revoked_at IS NULL) AS active_tokens,
           EXISTS (SELECT 1 FROM channel_identities ci WHERE ci.user_id = u.id) AS chat_bound
      FROM users u
     WHERE u.role = 'instructor'
"""


async def create_instructor(
    session: AsyncSession, *, display_name: str, language: str
) -> InstructorRow:
    row = (
        await session.execute(
            text(
                "INSERT INTO users (display_name, preferred_language, role)"
                " VALUES (:name, :language, 'instructor') RETURNING id"
            ),
            {"name": display_name, "language": language},
        )
    ).one()
    found = await get_instructor(session, row.id)
    assert found is not None
    return found


async def get_instructor(session: AsyncSession, user_id: uuid.UUID) -> InstructorRow | None:
    row = (
        await session.execute(text(_INSTRUCTOR + " AND u.id = :id"), {"id": user_id})
    ).one_or_none()
    return InstructorRow(**row._mapping) if row else None


async def list_instructors(session: AsyncSession) -> list[InstructorRow]:
    rows = await session.execute(text(_INSTRUCTOR + " ORDER BY u.display_name, u.id"))
    return [InstructorRow(**row._mapping) for row in rows]


async def add_token(
    session: AsyncSession, *, user_id: uuid.UUID, token_hash: str, label: str | None
) -> tuple[uuid.UUID, dt.datetime]:
    row = (
        await session.execute(
            text(
                "INSERT INTO instructor_tokens (user_id, token_hash, label)"
                " VALUES (:u, :h, :label) RETURNING id, created_at"
            ),
            {"u": user_id, "h": token_hash, "label": label},
        )
    ).one()
    return row.id, row.created_at


async def revoke_token(session: AsyncSession, *, user_id: uuid.UUID, token_id: uuid.UUID) -> bool:
    result = await session.execute(
        text(
            "UPDATE instructor_tokens SET revoked_at = now()"
            " WHERE id = :id AND user_id = :u AND revoked_at IS NULL"
        ),
        {"id": token_id, "u": user_id},
    )
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True, slots=True)
class TokenOwner:
    user_id: uuid.UUID
    display_name: str | None


async def instructor_for_token(conn: AsyncConnection, token_hash: str) -> TokenOwner | None:
    """The instructor whose live token hashes to this, or None."""
    row = (
        await conn.execute(
            text(
                """
                SELECT u.id AS user_id, u.display_name
                  FROM instructor_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.token_hash = :h AND t.revoked_at IS NULL AND u.role = 'instructor'
                """
            ),
            {"h": token_hash},
        )
    ).one_or_none()
    return TokenOwner(**row._mapping) if row else None


async def add_invite(
    session: AsyncSession, *, user_id: uuid.UUID, token_hash: str, valid_for: dt.timedelta
) -> tuple[uuid.UUID, dt.datetime]:
    row = (
        await session.execute(
            text(
                "INSERT INTO instructor_invites (user_id, token_hash, expires_at)"
                " VALUES (:u, :h, now() + :valid) RETURNING id, expires_at"
            ),
            {"u": user_id, "h": token_hash, "valid": valid_for},
        )
    ).one()
    return row.id, row.expires_at
