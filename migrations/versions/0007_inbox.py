"""The inbox: webhooks record a farmer's message and answer; turn workers do the rest.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("provider_message_id", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("message", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'failed', 'dropped')", name=op.f("ck_inbox_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint(
            "channel", "provider_message_id", name=op.f("uq_inbox_channel_provider_message_id")
        ),
    )
    op.create_index(
        "inbox_idx_pending",
        "inbox",
        ["channel", "address", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "inbox_idx_pending_order",
        "inbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("inbox_idx_received_at", "inbox", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_index("inbox_idx_received_at", table_name="inbox")
    op.drop_index(
        "inbox_idx_pending_order",
        table_name="inbox",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(
        "inbox_idx_pending", table_name="inbox", postgresql_where=sa.text("status = 'pending'")
    )
    op.drop_table("inbox")
