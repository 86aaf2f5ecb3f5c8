"""Instructors reaching their learners: broadcasts, API tokens and chat invites.

Counts of a broadcast are not stored here: every recipient has one
outbound_messages row (sent, failed, skipped with a reason…), and the counts
are read from those rows, so they can never disagree with what was sent.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, uuid_pk
from db.models.service import OutboundMessage

__all__ = ["Broadcast", "InstructorInvite", "InstructorToken"]

BROADCAST_STATUSES = ("scheduled", "fanning_out", "queued", "cancelled")


class Broadcast(Base):
    """A message (or a lesson) an instructor sends to everyone enrolled in a course."""

    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint(f"status IN {BROADCAST_STATUSES}", name="status"),
        CheckConstraint("source IN ('chat', 'api')", name="source"),
        # One or the other; both may be NULL only once the lesson was deleted.
        CheckConstraint("text IS NULL OR lesson_id IS NULL", name="text_or_lesson"),
        Index("broadcasts_idx_course_id", "course_id", "created_at"),
        # The per-instructor creation limit counts the last hour of these.
        Index("broadcasts_idx_created_by", "created_by", "created_at"),
        # The recovery sweep looks only at broadcasts not fanned out yet.
        Index(
            "broadcasts_idx_pending",
            "send_at",
            postgresql_where=sql_text("status IN ('scheduled', 'fanning_out')"),
        ),
    )

    id: Mapped[uuid_pk]
    course_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("courses.id", ondelete="CASCADE"), nullable=False
    )
    instructor_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    # "admin" or "instructor:<user id>": whose creation limit it counts against.
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    source: Mapped[str] = mapped_column(String(8), nullable=False)
    text: Mapped[str | None] = mapped_column(Text)
    lesson_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("course_lessons.id", ondelete="SET NULL")
    )
    send_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=sql_text("now()")
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="scheduled")
    # Enrolled when the fan-out ran, and how many of them had no chat address at all
    # (they cannot have an outbound row, so they are counted here).
    audience_count: Mapped[int | None] = mapped_column(Integer)
    no_address_count: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=sql_text("now()")
    )
    fanned_out_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class InstructorToken(Base):
    """An API bearer token of an instructor. Only its SHA-256 is stored."""

    __tablename__ = "instructor_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index("instructor_tokens_idx_user_id", "user_id"),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=sql_text("now()")
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class InstructorInvite(Base):
    """A single-use, expiring `/start invite-<token>` link that binds an instructor's chat."""

    __tablename__ = "instructor_invites"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index("instructor_invites_idx_user_id", "user_id"),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    identity_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("channel_identities.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=sql_text("now()")
    )


# The sender claims a farmer's own replies before broadcast rows, per channel, so a
# reply never waits behind 100,000 queued broadcast messages. These two partial
# indexes of outbound_messages serve those two claims; they are declared here, with
# the feature that needs them, and created by migration 0006.
_outbound = OutboundMessage.__table__
Index(
    "outbound_messages_idx_due_replies",
    _outbound.c.channel,
    _outbound.c.next_attempt_at,
    _outbound.c.id,
    postgresql_where=sql_text("status = 'queued' AND kind <> 'broadcast'"),
)
Index(
    "outbound_messages_idx_due_broadcasts",
    _outbound.c.channel,
    _outbound.c.next_attempt_at,
    _outbound.c.id,
    postgresql_where=sql_text("status = 'queued' AND kind = 'broadcast'"),
)
