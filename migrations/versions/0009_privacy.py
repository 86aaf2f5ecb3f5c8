"""The farmer's data rights: consents, leaderboard name opt-ins, erasures.

Farmers who were here before the notice existed get a consent row with method
"before_notice" (DPDP Act 2023, s. 5(2): consent given before the Act may be
relied on until withdrawn; the notice is shown to them with /privacy).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "given_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("notice_version", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_consents_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index("consents_idx_user_id", "consents", ["user_id"], unique=False)
    op.create_table(
        "leaderboard_opt_ins",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "opted_in_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_leaderboard_opt_ins_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_leaderboard_opt_ins")),
    )
    op.create_table(
        "erasures",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column(
            "erased_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_erasures_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_erasures")),
    )
    # Farmers already talking to us agreed under the old, implicit terms.
    op.execute(
        "INSERT INTO consents (user_id, given_at, method, notice_version) "
        "SELECT u.id, u.created_at, 'before_notice', '0' FROM users u "
        " WHERE EXISTS (SELECT 1 FROM conversations c "
        "                WHERE c.user_id = u.id AND c.state <> 'new')"
    )


def downgrade() -> None:
    op.drop_table("erasures")
    op.drop_table("leaderboard_opt_ins")
    op.drop_index("consents_idx_user_id", table_name="consents")
    op.drop_table("consents")
