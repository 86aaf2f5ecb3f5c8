"""Quiz attempt progress, rewards (points, activity days, badge translations,
reminders), payment links and audit log, and pgqueuer's job tables.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 22:45:54.979775
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# pgqueuer 1.6's own DDL, frozen here so this migration always builds the same schema.
SQL = Path(__file__).resolve().parent.parent / "sql"


def _run_script(name: str) -> None:
    """Run a DDL script one statement at a time (asyncpg prepares each statement)."""
    statement = ""
    for part in (SQL / name).read_text().split(";\n"):
        statement += part + ";\n"
        # A plpgsql body holds semicolons of its own: wait for its closing $$.
        if statement.count("$$") % 2 == 0:
            if statement.strip(" ;\n"):
                op.execute(statement)
            statement = ""


revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _run_script("pgqueuer_install.sql")
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column(
            "detail",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("audit_log_idx_subject", "audit_log", ["subject"], unique=False)
    op.create_table(
        "activity_days",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_activity_days_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_activity_days")),
    )
    op.create_table(
        "badge_translations",
        sa.Column("badge_id", sa.UUID(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["badge_id"],
            ["badges.id"],
            name=op.f("fk_badge_translations_badge_id_badges"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("badge_id", "language", name=op.f("pk_badge_translations")),
    )
    op.create_table(
        "points_ledger",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_points_ledger_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_ledger")),
        sa.UniqueConstraint(
            "user_id",
            "reason",
            "subject_id",
            name=op.f("uq_points_ledger_user_id_reason_subject_id"),
        ),
    )
    op.create_index("points_ledger_idx_created_at", "points_ledger", ["created_at"], unique=False)
    op.create_table(
        "reminders_sent",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_reminders_sent_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_reminders_sent")),
    )
    op.create_table(
        "payment_links",
        sa.Column("purchase_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("link_id", sa.String(length=64), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_reason", sa.String(length=200), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["course_purchases.id"],
            name=op.f("fk_payment_links_purchase_id_course_purchases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("purchase_id", name=op.f("pk_payment_links")),
    )
    op.create_index("payment_links_idx_link_id", "payment_links", ["link_id"], unique=False)
    op.create_table(
        "quiz_attempt_progress",
        sa.Column("attempt_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("quiz_id", sa.UUID(), nullable=False),
        sa.Column("question_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("current_index", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="in_progress", nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('in_progress', 'finished', 'expired', 'abandoned')",
            name=op.f("ck_quiz_attempt_progress_status"),
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["quiz_attempts.id"],
            name=op.f("fk_quiz_attempt_progress_attempt_id_quiz_attempts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["quiz_id"],
            ["quizzes.id"],
            name=op.f("fk_quiz_attempt_progress_quiz_id_quizzes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_quiz_attempt_progress_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("attempt_id", name=op.f("pk_quiz_attempt_progress")),
    )
    op.create_index(
        "quiz_attempt_progress_idx_deadline",
        "quiz_attempt_progress",
        ["deadline_at"],
        unique=False,
        postgresql_where=sa.text("status = 'in_progress' AND deadline_at IS NOT NULL"),
    )
    op.create_index(
        "quiz_attempt_progress_idx_open",
        "quiz_attempt_progress",
        ["user_id", "quiz_id"],
        unique=False,
        postgresql_where=sa.text("status = 'in_progress'"),
    )


def downgrade() -> None:
    _run_script("pgqueuer_uninstall.sql")
    op.drop_index(
        "quiz_attempt_progress_idx_open",
        table_name="quiz_attempt_progress",
        postgresql_where=sa.text("status = 'in_progress'"),
    )
    op.drop_index(
        "quiz_attempt_progress_idx_deadline",
        table_name="quiz_attempt_progress",
        postgresql_where=sa.text("status = 'in_progress' AND deadline_at IS NOT NULL"),
    )
    op.drop_table("quiz_attempt_progress")
    op.drop_index("payment_links_idx_link_id", table_name="payment_links")
    op.drop_table("payment_links")
    op.drop_table("reminders_sent")
    op.drop_index("points_ledger_idx_created_at", table_name="points_ledger")
    op.drop_table("points_ledger")
    op.drop_table("badge_translations")
    op.drop_table("activity_days")
    op.drop_index("audit_log_idx_subject", table_name="audit_log")
    op.drop_table("audit_log")
