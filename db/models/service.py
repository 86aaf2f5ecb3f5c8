"""Tables the service needs beyond the seed schema: who is talking to us, where
each conversation stands, which deliveries we have already seen, and what we
still owe the farmer."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, uuid_pk

CHANNELS = ("telegram", "whatsapp", "console")
# needs_template: a proactive WhatsApp message outside the 24-hour window with no
# approved template for its kind and language; held, not sent to fail.
OUTBOUND_STATUSES = (
    "queued",
    "sending",
    "sent",
    "delivered",
    "read",
    "failed",
    "skipped",
    "needs_template",
)

__all__ = [
    "ChannelIdentity",
    "ContentLike",
    "Conversation",
    "InboundEvent",
    "InboxMessage",
    "OutboundMessage",
    "SendRate",
    "WhatsAppContent",
]


def _now() -> Any:
    return text("now()")


class ChannelIdentity(Base):
    """One chat address (a Telegram chat, a WhatsApp number) of a farmer.

    A farmer may reach us on both channels; each address maps to one user.
    """

    __tablename__ = "channel_identities"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        CheckConstraint(f"channel IN {CHANNELS}", name="channel"),
        Index("channel_identities_idx_user_id", "user_id"),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    external_id: Mapped[str] = mapped_column(String(64), nullable=False)
    display_name: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    # Why the address went quiet: "blocked" (Telegram 403), "needs_template"...
    inactive_reason: Mapped[str | None] = mapped_column(String(64))
    # WhatsApp only allows free-form messages within 24 h of the farmer's last message.
    last_inbound_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Theoretical arrival time for the per-chat rate limit (GCRA).
    send_tat: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )


class Conversation(Base):
    """Where a farmer's conversation stands. Its row lock serialises their turns."""

    __tablename__ = "conversations"

    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(64), nullable=False, server_default="new")
    data: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    turn_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )


class InboundEvent(Base):
    """Every delivery we accepted, so a provider's retry is recognised and ignored."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    external_id: Mapped[str] = mapped_column(String(128), nullable=False)
    received_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )


INBOX_STATUSES = ("pending", "done", "failed", "dropped")


class InboxMessage(Base):
    """A farmer's message as the webhook recorded it, before any turn has run.

    The webhook only writes this row (unique per channel and provider message id,
    so a provider's retry does nothing) and answers; turn workers then take each
    farmer's pending rows in arrival order. `message` is the parsed `Inbound`.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id"),
        CheckConstraint(f"status IN {INBOX_STATUSES}", name="status"),
        # The workers' list of farmers with something to answer, oldest first.
        Index(
            "inbox_idx_pending",
            "channel",
            "address",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
        # The claim's bounded look at the oldest pending messages, in arrival order.
        Index("inbox_idx_pending_order", "id", postgresql_where=text("status = 'pending'")),
        Index("inbox_idx_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    provider_message_id: Mapped[str] = mapped_column(String(128), nullable=False)
    # The farmer's address on that channel (Telegram chat id, WhatsApp number).
    address: Mapped[str] = mapped_column(String(64), nullable=False)
    message: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # pending → done (answered) | failed (the handler broke; apologised) | dropped (flood)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    error: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )
    handled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class OutboundMessage(Base):
    """A message we owe a farmer, from queued until sent, delivered or failed."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        CheckConstraint(f"status IN {OUTBOUND_STATUSES}", name="status"),
        CheckConstraint(f"channel IN {CHANNELS}", name="channel"),
        # A broadcast reaches a farmer once, however often it is retried.
        UniqueConstraint("broadcast_id", "user_id"),
        # The sender's work list: only rows still owed are indexed.
        Index(
            "outbound_messages_idx_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'queued'"),
        ),
        # In-order delivery: a message waits for earlier ones to the same address.
        Index(
            "outbound_messages_idx_pending_identity",
            "identity_id",
            "id",
            postgresql_where=text("status IN ('queued', 'sending')"),
        ),
        Index("outbound_messages_idx_provider_id", "provider_message_id"),
        Index(
            "outbound_messages_idx_held",
            "identity_id",
            postgresql_where=text("status = 'needs_template'"),
        ),
        Index("outbound_messages_idx_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    identity_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("channel_identities.id", ondelete="CASCADE"), nullable=False
    )
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    # reply | notification | broadcast | reminder
    kind: Mapped[str] = mapped_column(String(20), nullable=False, server_default="reply")
    body: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    next_attempt_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )
    # A claimed row whose lease ran out (its sender died) is claimed again.
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(500))
    broadcast_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SendRate(Base):
    """A shared rate limit (GCRA), so every sender process together keeps a channel's rate."""

    __tablename__ = "send_rates"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tat: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )


class ContentLike(Base):
    """A farmer's "like" of an article or video, so each counts once."""

    __tablename__ = "content_likes"
    __table_args__ = (
        UniqueConstraint("user_id", "content_kind", "content_id"),
        CheckConstraint("content_kind IN ('article', 'video')", name="content_kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    content_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    content_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )


class WhatsAppContent(Base):
    """A Twilio Content resource (quick replies, a list) made once for a set of options.

    Keyed by a hash of its type and options; the message text travels as variable 1,
    so one content serves every question with the same answers."""

    __tablename__ = "whatsapp_contents"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_sid: Mapped[str] = mapped_column(String(64), nullable=False)
    content_type: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=_now()
    )
