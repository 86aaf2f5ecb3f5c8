"""What search matches besides the catalogue's own full-text vectors.

The seed tables stay as the spec has them; the romanised spelling of each
course, article and video lives beside them. Triggers on the three tables
(migration 0011) keep a row per item and mark it stale on every write; the
job `index_search_terms` re-spells stale rows (db.queries.search).
"""

from __future__ import annotations

import uuid

from sqlalchemy import Boolean, CheckConstraint, Index, String, Text, text
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base

__all__ = ["SEARCHABLE_KINDS", "SearchTerm"]

SEARCHABLE_KINDS = ("course", "article", "video", "lesson")


class SearchTerm(Base):
    """One course's, article's, video's or lesson's title and summary in one Latin spelling (bot.romanize).

    Trigram matching on `romanized` lets "sinchai", "sinchaai" or "irigation"
    find सिंचाई and "irrigation". No foreign key: the row points at one of four
    tables, whose triggers delete it with its item.
    """

    __tablename__ = "search_terms"
    __table_args__ = (
        CheckConstraint(
            "content_kind IN ('course', 'article', 'video', 'lesson')",
            name="content_kind",
        ),
        Index(
            "search_terms_idx_romanized_trgm",
            "romanized",
            postgresql_using="gin",
            postgresql_ops={"romanized": "gin_trgm_ops"},
        ),
        Index("search_terms_idx_words", "words", postgresql_using="gin"),
        Index(
            "search_terms_idx_stale",
            "content_kind",
            "content_id",
            postgresql_where=text("stale"),
        ),
    )

    content_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    content_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # As the item says, e.g. "Hindi" or "Hindi, English".
    language: Mapped[str | None] = mapped_column(String(100))
    romanized: Mapped[str] = mapped_column(Text, nullable=False)
    # The title alone, spelled the same way: a match here ranks above one in the body.
    title_romanized: Mapped[str] = mapped_column(Text, nullable=False, server_default=text("''"))
    # The item's full-text vector, kept by the triggers: lessons have none of their own.
    words: Mapped[str | None] = mapped_column(TSVECTOR)
    # Written since last spelled: `romanized` holds the lowercased base text meanwhile.
    stale: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
