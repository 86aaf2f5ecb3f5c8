"""Broadcasts, instructor API tokens and chat invites, and the sender's two partial
indexes that let a farmer's replies go out before queued broadcast messages.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 23:01:37.304998
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "instructor_tokens",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_instructor_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instructor_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_instructor_tokens_token_hash")),
    )
    op.create_index("instructor_tokens_idx_user_id", "instructor_tokens", ["user_id"], unique=False)
    op.create_table(
        "instructor_invites",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("identity_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["channel_identities.id"],
            name=op.f("fk_instructor_invites_identity_id_channel_identities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_instructor_invites_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instructor_invites")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_instructor_invites_token_hash")),
    )
    op.create_index(
        "instructor_invites_idx_user_id", "instructor_invites", ["user_id"], unique=False
    )
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("instructor_id", sa.UUID(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("lesson_id", sa.UUID(), nullable=True),
        sa.Column(
            "send_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("status", sa.String(length=16), server_default="scheduled", nullable=False),
        sa.Column("audience_count", sa.Integer(), nullable=True),
        sa.Column("no_address_count", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("fanned_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("source IN ('chat', 'api')", name=op.f("ck_broadcasts_source")),
        sa.CheckConstraint(
            "status IN ('scheduled', 'fanning_out', 'queued', 'cancelled')",
            name=op.f("ck_broadcasts_status"),
        ),
        sa.CheckConstraint(
            "text IS NULL OR lesson_id IS NULL", name=op.f("ck_broadcasts_text_or_lesson")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_broadcasts_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["instructor_id"],
            ["users.id"],
            name=op.f("fk_broadcasts_instructor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["course_lessons.id"],
            name=op.f("fk_broadcasts_lesson_id_course_lessons"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    op.create_index(
        "broadcasts_idx_course_id", "broadcasts", ["course_id", "created_at"], unique=False
    )
    op.create_index(
        "broadcasts_idx_created_by", "broadcasts", ["created_by", "created_at"], unique=False
    )
    op.create_index(
        "broadcasts_idx_pending",
        "broadcasts",
        ["send_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('scheduled', 'fanning_out')"),
    )
    op.create_index(
        "outbound_messages_idx_due_broadcasts",
        "outbound_messages",
        ["channel", "next_attempt_at", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'queued' AND kind = 'broadcast'"),
    )
    op.create_index(
        "outbound_messages_idx_due_replies",
        "outbound_messages",
        ["channel", "next_attempt_at", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'queued' AND kind <> 'broadcast'"),
    )


def downgrade() -> None:
    op.drop_index(
        "outbound_messages_idx_due_replies",
        table_name="outbound_messages",
        postgresql_where=sa.text("status = 'queued' AND kind <> 'broadcast'"),
    )
    op.drop_index(
        "outbound_messages_idx_due_broadcasts",
        table_name="outbound_messages",
        postgresql_where=sa.text("status = 'queued' AND kind = 'broadcast'"),
    )
    op.drop_index(
        "broadcasts_idx_pending",
        table_name="broadcasts",
        postgresql_where=sa.text("status IN ('scheduled', 'fanning_out')"),
    )
    op.drop_index("broadcasts_idx_created_by", table_name="broadcasts")
    op.drop_index("broadcasts_idx_course_id", table_name="broadcasts")
    op.drop_table("broadcasts")
    op.drop_index("instructor_invites_idx_user_id", table_name="instructor_invites")
    op.drop_table("instructor_invites")
    op.drop_index("instructor_tokens_idx_user_id", table_name="instructor_tokens")
    op.drop_table("instructor_tokens")
