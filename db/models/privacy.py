"""The farmer's data rights (DPDP Act 2023): when and how they agreed, whether
their name may be shown to others, and which accounts were erased."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base

__all__ = ["Consent", "Erasure", "LeaderboardOptIn"]


class Consent(Base):
    """One agreement to the privacy notice: the proof the law asks us to keep."""

    __tablename__ = "consents"
    __table_args__ = (Index("consents_idx_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    given_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")
    )
    # language_choice (tapped or typed a language under the notice) | before_notice
    method: Mapped[str] = mapped_column(String(32), nullable=False)
    # Which text of the notice was shown (handlers.privacy.NOTICE_VERSION).
    notice_version: Mapped[str] = mapped_column(String(16), nullable=False)
    channel: Mapped[str | None] = mapped_column(String(16))


class LeaderboardOptIn(Base):
    """A farmer who chose to show their name on the leaderboard (hidden by default)."""

    __tablename__ = "leaderboard_opt_ins"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    opted_in_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")
    )


class Erasure(Base):
    """An account whose personal data was erased. The users row stays, empty, only
    so that payment records the law requires keep a (now anonymous) owner."""

    __tablename__ = "erasures"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    erased_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")
    )
    # chat (/delete) | admin (POST /api/v1/users/{id}/erase)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
