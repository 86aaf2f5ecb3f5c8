"""Likes of articles and videos, one per farmer and item.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 22:35:37.894296
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "content_likes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("content_kind", sa.String(length=16), nullable=False),
        sa.Column("content_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "content_kind IN ('article', 'video')", name=op.f("ck_content_likes_content_kind")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_content_likes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_likes")),
        sa.UniqueConstraint(
            "user_id",
            "content_kind",
            "content_id",
            name=op.f("uq_content_likes_user_id_content_kind_content_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("content_likes")
