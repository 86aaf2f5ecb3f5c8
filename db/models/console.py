"""The instructor console's sign-in: one-time chat links and browser sessions.

Only the SHA-256 of a link's or session's secret is stored, as with API tokens:
a copy of the database signs nobody in.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, uuid_pk

__all__ = ["ConsoleSession", "ConsoleSignInLink"]


class ConsoleSignInLink(Base):
    """A link sent to an instructor's own chat by `/console`: used once, within minutes."""

    __tablename__ = "console_sign_in_links"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index("console_sign_in_links_idx_user_id", "user_id"),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=sql_text("now()")
    )


class ConsoleSession(Base):
    """A signed-in browser. Signing out or expiry ends it for every copy of the cookie."""

    __tablename__ = "console_sessions"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        CheckConstraint("role IN ('admin', 'instructor')", name="role"),
        Index("console_sessions_idx_user_id", "user_id"),
    )

    id: Mapped[uuid_pk]
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # NULL for the admin signed in with ADMIN_API_TOKEN (no user row).
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=sql_text("now()")
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
