"""WhatsApp native: interactive contents cached by hash, and messages held for a template.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "status IN ('queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'skipped')"
_NEW = (
    "status IN ('queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'skipped',"
    " 'needs_template')"
)


def upgrade() -> None:
    op.create_table(
        "whatsapp_contents",
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("content_sid", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("content_hash", name=op.f("pk_whatsapp_contents")),
    )
    op.drop_constraint(op.f("ck_outbound_messages_status"), "outbound_messages", type_="check")
    op.create_check_constraint(op.f("ck_outbound_messages_status"), "outbound_messages", _NEW)
    # Held messages are looked up when their farmer writes again.
    op.create_index(
        "outbound_messages_idx_held",
        "outbound_messages",
        ["identity_id"],
        postgresql_where=sa.text("status = 'needs_template'"),
    )


def downgrade() -> None:
    op.drop_index("outbound_messages_idx_held", table_name="outbound_messages")
    op.execute(
        "UPDATE outbound_messages SET status = 'failed', error = 'needs template'"
        " WHERE status = 'needs_template'"
    )
    op.drop_constraint(op.f("ck_outbound_messages_status"), "outbound_messages", type_="check")
    op.create_check_constraint(op.f("ck_outbound_messages_status"), "outbound_messages", _OLD)
    op.drop_table("whatsapp_contents")
