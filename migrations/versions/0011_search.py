"""Search follows every write: triggers mark an item's spelling stale, a job re-spells it.

`search_terms` gains the romanised title alone (title matches rank above body
matches) and a `stale` flag. A trigger on courses, articles and videos, after
any INSERT, any DELETE and an UPDATE that changes a searched column:

- deletes the item's row when the item is deleted;
- otherwise upserts it as stale, holding the lowercased base text until the
  job has romanised it (search falls back on it meanwhile), and enqueues the
  pgqueuer job `index_search_terms` unless one is already queued.

The romanisation itself is Python (bot.romanize), so the job does it:
`db.queries.search.index_stale_search_terms`.

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-04 19:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# kind, table, the column that holds the item's summary.
_TABLES = (("course", "courses", "description"), ("article", "articles", "excerpt"),
           ("video", "videos", "description"))  # fmt: skip

_FUNCTION = r"""
CREATE FUNCTION search_terms_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    kind text := TG_ARGV[0];
    summary text;
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        IF TG_OP = 'DELETE' OR OLD.id IS DISTINCT FROM NEW.id THEN
            DELETE FROM search_terms WHERE content_kind = kind AND content_id = OLD.id;
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN NULL;
        END IF;
    END IF;
    summary := to_jsonb(NEW) ->> TG_ARGV[1];
    INSERT INTO search_terms (content_kind, content_id, language, romanized, title_romanized, stale)
    VALUES (
        kind, NEW.id, NEW.language,
        lower(searchable_text(coalesce(NEW.title, '') || ' ' || coalesce(summary, ''))),
        lower(searchable_text(coalesce(NEW.title, ''))),
        true
    )
    ON CONFLICT (content_kind, content_id) DO UPDATE
       SET language = EXCLUDED.language, romanized = EXCLUDED.romanized,
           title_romanized = EXCLUDED.title_romanized, stale = true;
    -- One queued job serves every write made before it runs.
    IF NOT EXISTS (
        SELECT 1 FROM pgqueuer WHERE entrypoint = 'index_search_terms' AND status = 'queued'
    ) THEN
        INSERT INTO pgqueuer (priority, entrypoint, payload, status)
        VALUES (0, 'index_search_terms', NULL, 'queued');
    END IF;
    RETURN NULL;
END
$$
"""

_BACKFILL = sa.text(
    """
    SELECT 'course' AS kind, id, language, title, description AS summary FROM courses
    UNION ALL SELECT 'article', id, language, title, excerpt FROM articles
    UNION ALL SELECT 'video', id, language, title, description FROM videos
    """
)
_UPSERT = sa.text(
    "INSERT INTO search_terms (content_kind, content_id, language, romanized, title_romanized)"
    " VALUES (:kind, :id, :language, :romanized, :title_romanized)"
    " ON CONFLICT (content_kind, content_id) DO UPDATE SET language = EXCLUDED.language,"
    " romanized = EXCLUDED.romanized, title_romanized = EXCLUDED.title_romanized, stale = false"
)


def upgrade() -> None:
    op.add_column(
        "search_terms",
        sa.Column("title_romanized", sa.Text(), server_default=sa.text("''"), nullable=False),
    )
    op.add_column(
        "search_terms",
        sa.Column("stale", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_index(
        "search_terms_idx_stale",
        "search_terms",
        ["content_kind", "content_id"],
        postgresql_where=sa.text("stale"),
    )
    op.execute(_FUNCTION)
    for kind, table, summary in _TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_search_terms_written AFTER INSERT OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION search_terms_follow('{kind}', '{summary}')"
        )
        op.execute(
            f"CREATE TRIGGER {table}_search_terms_changed AFTER UPDATE ON {table} FOR EACH ROW"
            f" WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.title IS DISTINCT FROM NEW.title"
            f" OR OLD.{summary} IS DISTINCT FROM NEW.{summary}"
            f" OR OLD.language IS DISTINCT FROM NEW.language)"
            f" EXECUTE FUNCTION search_terms_follow('{kind}', '{summary}')"
        )
    _backfill()


def _backfill() -> None:
    """Spell out what is there now, titles alone included."""
    from bot.romanize import romanize

    bind = op.get_bind()
    rows = [
        {
            "kind": row.kind,
            "id": row.id,
            "language": row.language,
            "romanized": romanize(f"{row.title} {row.summary or ''}", alternatives=True),
            "title_romanized": romanize(row.title or "", alternatives=True),
        }
        for row in bind.execute(_BACKFILL)
    ]
    if rows:
        bind.execute(_UPSERT, rows)


def downgrade() -> None:
    for _kind, table, _summary in _TABLES:
        op.execute(f"DROP TRIGGER {table}_search_terms_changed ON {table}")
        op.execute(f"DROP TRIGGER {table}_search_terms_written ON {table}")
    op.execute("DROP FUNCTION search_terms_follow()")
    op.drop_index("search_terms_idx_stale", table_name="search_terms")
    op.drop_column("search_terms", "stale")
    op.drop_column("search_terms", "title_romanized")
