"""Romanised spellings of the catalogue, for fuzzy search in any script.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here rather than shared with db.queries.search: a later change to that
# module must not change what this revision does.
_CATALOGUE = sa.text(
    """
    SELECT 'course' AS kind, id, language, title, description AS summary FROM courses
    UNION ALL SELECT 'article', id, language, title, excerpt FROM articles
    UNION ALL SELECT 'video', id, language, title, description FROM videos
    """
)
_INSERT = sa.text(
    "INSERT INTO search_terms (content_kind, content_id, language, romanized)"
    " VALUES (:kind, :id, :language, :romanized)"
)


def upgrade() -> None:
    op.create_table(
        "search_terms",
        sa.Column("content_kind", sa.String(length=16), nullable=False),
        sa.Column("content_id", sa.UUID(), nullable=False),
        sa.Column("language", sa.String(length=100), nullable=True),
        sa.Column("romanized", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "content_kind IN ('course', 'article', 'video')",
            name=op.f("ck_search_terms_content_kind"),
        ),
        sa.PrimaryKeyConstraint("content_kind", "content_id", name=op.f("pk_search_terms")),
    )
    # pg_trgm exists since 0001.
    op.create_index(
        "search_terms_idx_romanized_trgm",
        "search_terms",
        ["romanized"],
        postgresql_using="gin",
        postgresql_ops={"romanized": "gin_trgm_ops"},
    )
    _backfill()


def _backfill() -> None:
    """Spell out a catalogue loaded before this revision; later loads refresh it themselves."""
    from bot.romanize import romanize

    bind = op.get_bind()
    rows = [
        {
            "kind": row.kind,
            "id": row.id,
            "language": row.language,
            "romanized": romanize(f"{row.title} {row.summary or ''}", alternatives=True),
        }
        for row in bind.execute(_CATALOGUE)
    ]
    if rows:
        bind.execute(_INSERT, rows)


def downgrade() -> None:
    op.drop_index("search_terms_idx_romanized_trgm", table_name="search_terms")
    op.drop_table("search_terms")
