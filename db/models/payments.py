"""Payment details beyond the seed's course_purchases row, and an audit trail."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base

__all__ = ["AuditEntry", "PaymentLink"]


class PaymentLink(Base):
    """How a purchase is paid: the gateway's link, or a UPI deep link, and its review state."""

    __tablename__ = "payment_links"
    __table_args__ = (Index("payment_links_idx_link_id", "link_id"),)

    purchase_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("course_purchases.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(16), nullable=False)  # razorpay | upi | stars
    link_id: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(1000))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when a callback disagrees with the purchase (amount, currency): nothing is unlocked.
    review_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")
    )


class AuditEntry(Base):
    """Who did what through the admin and instructor API."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("audit_log_idx_subject", "subject"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    actor: Mapped[str] = mapped_column(String(100), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    subject: Mapped[str] = mapped_column(String(100), nullable=False)
    detail: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")
    )
