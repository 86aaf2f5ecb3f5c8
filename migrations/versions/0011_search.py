"""Search follows every write, and finds lessons: triggers mark an item's spelling stale, a job re-spells it.

`search_terms` gains lessons (their seed table has no search vector, so the
row holds one, `words`), the romanised title alone (title matches rank above
body matches) and a `stale` flag. A trigger on courses, articles, videos and
course_lessons, after any INSERT, any DELETE and an UPDATE that changes a
searched column:

- deletes the item's row when the item is deleted;
- otherwise upserts it as stale, holding the lowercased base text until the
  job has romanised it (search falls back on it meanwhile) and the item's
  full-text vector (always current), and enqueues the pgqueuer job
  `index_search_terms` unless one is already queued.

The romanisation itself is Python (bot.romanize), so the job does it:
`db.queries.search.index_stale_search_terms`.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 19:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# kind, table, the column that holds the item's summary, and what else is searched.
_TABLES = (("course", "courses", "description", "language"),
           ("article", "articles", "excerpt", "language"),
           ("video", "videos", "description", "language"),
           ("lesson", "course_lessons", "description", "course_id"))  # fmt: skip

_FUNCTION = r"""
CREATE FUNCTION search_terms_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    kind text := TG_ARGV[0];
    item jsonb;
    summary text;
    language text;
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        IF TG_OP = 'DELETE' OR OLD.id IS DISTINCT FROM NEW.id THEN
            DELETE FROM search_terms WHERE content_kind = kind AND content_id = OLD.id;
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN NULL;
        END IF;
    END IF;
    item := to_jsonb(NEW);
    summary := coalesce(NEW.title, '') || ' ' || coalesce(item ->> TG_ARGV[1], '');
    -- A lesson is in its course's language.
    language := CASE WHEN kind = 'lesson'
                     THEN (SELECT c.language FROM courses c WHERE c.id = (item ->> 'course_id')::uuid)
                     ELSE item ->> 'language' END;
    INSERT INTO search_terms
        (content_kind, content_id, language, romanized, title_romanized, words, stale)
    VALUES (
        kind, NEW.id, language,
        lower(searchable_text(
            coalesce(NEW.title, '') || ' ' || left(coalesce(item ->> TG_ARGV[1], ''), 300)
        )),
        lower(searchable_text(coalesce(NEW.title, ''))),
        to_tsvector('simple'::regconfig, searchable_text(summary)),
        true
    )
    ON CONFLICT (content_kind, content_id) DO UPDATE
       SET language = EXCLUDED.language, romanized = EXCLUDED.romanized,
           title_romanized = EXCLUDED.title_romanized, words = EXCLUDED.words, stale = true;
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
    UNION ALL SELECT 'lesson', l.id, c.language, l.title, l.description
                FROM course_lessons l JOIN courses c ON c.id = l.course_id
    """
)
_UPSERT = sa.text(
    """
    INSERT INTO search_terms
        (content_kind, content_id, language, romanized, title_romanized, words)
    VALUES (:kind, :id, :language, :romanized, :title_romanized,
            to_tsvector('simple'::regconfig, searchable_text(:text)))
    ON CONFLICT (content_kind, content_id) DO UPDATE
       SET language = EXCLUDED.language, romanized = EXCLUDED.romanized,
           title_romanized = EXCLUDED.title_romanized, words = EXCLUDED.words, stale = false
    """
)


def upgrade() -> None:
    op.drop_constraint(op.f("ck_search_terms_content_kind"), "search_terms", type_="check")
    op.create_check_constraint(
        op.f("ck_search_terms_content_kind"),
        "search_terms",
        "content_kind IN ('course', 'article', 'video', 'lesson')",
    )
    op.add_column("search_terms", sa.Column("words", postgresql.TSVECTOR(), nullable=True))
    op.create_index("search_terms_idx_words", "search_terms", ["words"], postgresql_using="gin")
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
    for kind, table, summary, other in _TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_search_terms_written AFTER INSERT OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION search_terms_follow('{kind}', '{summary}')"
        )
        op.execute(
            f"CREATE TRIGGER {table}_search_terms_changed AFTER UPDATE ON {table} FOR EACH ROW"
            f" WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.title IS DISTINCT FROM NEW.title"
            f" OR OLD.{summary} IS DISTINCT FROM NEW.{summary}"
            f" OR OLD.{other} IS DISTINCT FROM NEW.{other})"
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
            # The summary's start only, as db.queries.search.SPELLED_SUMMARY_CHARS.
            "romanized": romanize(f"{row.title} {(row.summary or '')[:300]}", alternatives=True),
            "title_romanized": romanize(row.title or "", alternatives=True),
            "text": f"{row.title or ''} {row.summary or ''}",
        }
        for row in bind.execute(_BACKFILL)
    ]
    if rows:
        bind.execute(_UPSERT, rows)


def downgrade() -> None:
    for _kind, table, _summary, _other in _TABLES:
        op.execute(f"DROP TRIGGER {table}_search_terms_changed ON {table}")
        op.execute(f"DROP TRIGGER {table}_search_terms_written ON {table}")
    op.execute("DROP FUNCTION search_terms_follow()")
    op.drop_index("search_terms_idx_stale", table_name="search_terms")
    op.drop_column("search_terms", "stale")
    op.drop_column("search_terms", "title_romanized")
    op.drop_index("search_terms_idx_words", table_name="search_terms")
    op.drop_column("search_terms", "words")
    op.execute("DELETE FROM search_terms WHERE content_kind = 'lesson'")
    op.drop_constraint(op.f("ck_search_terms_content_kind"), "search_terms", type_="check")
    op.create_check_constraint(
        op.f("ck_search_terms_content_kind"),
        "search_terms",
        "content_kind IN ('course', 'article', 'video')",
    )
