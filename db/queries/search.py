"""Searching the catalogue: courses, articles and videos together, in any script.

Two ways to match, in one statement:

1. **Full text.** The catalogue's own `search_vector` (GIN), with the farmer's
   words made into a tsquery by `search_query()`; ranked by `ts_rank`.
   सिंचाई finds सिंचाई, "irrigation" finds "irrigation".
2. **Trigrams on a romanised form.** `search_terms.romanized` (GIN,
   gin_trgm_ops) holds each item's title and summary in one Latin spelling
   (bot.romanize); the farmer's words are spelled the same way and compared
   with `word_similarity`. "sinchai", "sinchaai" and "irigation" find सिंचाई
   and "irrigation".

An item found both ways counts once, as a full-text hit. Items in the farmer's
language come first, then full-text hits before trigram ones, each by score.

Round trips: two. One sets the trigram threshold and custom plans for this
transaction; one statement then returns the page and the total.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Subquery,
    and_,
    any_,
    bindparam,
    false,
    func,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from bot.romanize import romanize
from db.models.learn import Article, Course, Video, search_query
from db.models.search import SearchTerm

__all__ = [
    "FUZZY_THRESHOLD",
    "Found",
    "SearchPage",
    "refresh_search_terms",
    "search_catalogue",
]

# word_similarity at or above which a romanised query matches. After the
# folding of bot.romanize most spellings of one word are identical (1.0); this
# leaves room for a letter dropped or changed: "sinchayi" and "irrigaton" 0.67,
# "sichai" 0.5, "irigasion" 0.54; while "gehu" (wheat) does not find "gahu"
# (0.25). Short words stay noisy ("pani" finds "pan" at 0.6): such hits rank
# after full-text ones.
FUZZY_THRESHOLD = 0.5
# Fewer romanised letters than this give too few trigrams to mean anything.
FUZZY_MIN_CHARS = 3


@dataclass(frozen=True, slots=True)
class Found:
    """One course, article or video that matched."""

    kind: str  # course | article | video
    content_id: uuid.UUID
    title: str
    in_farmer_language: bool
    by_full_text: bool


@dataclass(frozen=True, slots=True)
class SearchPage:
    results: list[Found]
    total: int  # every match, not only this page's; 0 when the page is empty


def _catalogue(name: str) -> Subquery:
    """What a farmer may find: published courses that are not archived, published articles and videos."""

    def arm(kind: str, model: Any) -> Any:
        return select(
            literal(kind, String).label("kind"),
            model.id.label("content_id"),
            model.title.label("title"),
            model.language.label("language"),
            model.search_vector.label("search_vector"),
        ).where(model.is_published.is_(True))

    courses = arm("course", Course).where(Course.is_archived.is_not(True))
    return union_all(courses, arm("article", Article), arm("video", Video)).subquery(name)


def _speaks(language_column: Any, content_language: str | None) -> ColumnElement[bool]:
    """The item's `language` ("Hindi, English") names the farmer's language."""
    if not content_language:
        return false()
    listed = func.string_to_array(
        func.lower(func.replace(func.coalesce(language_column, ""), " ", "")), ","
    )
    return literal(content_language.lower().replace(" ", ""), String) == any_(listed)


async def search_catalogue(
    session: AsyncSession,
    words: str,
    *,
    content_language: str | None,
    limit: int,
    offset: int = 0,
) -> SearchPage:
    """One page of what matches `words`, best first, and how many match in all.

    `content_language` is the catalogue's name of the farmer's language
    ("Hindi"); its items come first.
    """
    # Transaction-local settings, in the one extra round trip:
    # - the threshold that both the GIN index and the %> operator read;
    # - custom plans: a cached generic plan cannot tell a tsquery or a trigram
    #   match that hits three items from one that hits thousands.
    await session.execute(
        select(
            func.set_config("pg_trgm.word_similarity_threshold", str(FUZZY_THRESHOLD), True),
            func.set_config("plan_cache_mode", "force_custom_plan", True),
        )
    )
    tsquery = search_query(words)
    by_text = _catalogue("by_text")
    arms: list[Any] = [
        select(
            by_text.c.kind,
            by_text.c.content_id,
            by_text.c.title,
            by_text.c.language,
            literal(0, Integer).label("tier"),
            func.ts_rank(by_text.c.search_vector, tsquery).label("score"),
        ).where(by_text.c.search_vector.bool_op("@@")(tsquery))
    ]
    romanized = romanize(words)
    if len(romanized.replace(" ", "")) >= FUZZY_MIN_CHARS:
        spelled = literal(romanized, String)
        by_spelling = _catalogue("by_spelling")
        arms.append(
            select(
                by_spelling.c.kind,
                by_spelling.c.content_id,
                by_spelling.c.title,
                by_spelling.c.language,
                literal(1, Integer).label("tier"),
                func.word_similarity(spelled, SearchTerm.romanized).label("score"),
            )
            .join_from(
                SearchTerm,
                by_spelling,
                and_(
                    by_spelling.c.kind == SearchTerm.content_kind,
                    by_spelling.c.content_id == SearchTerm.content_id,
                ),
            )
            .where(SearchTerm.romanized.op("%>")(spelled))
        )
    hits = union_all(*arms).subquery("hits")
    # One row per item: a full-text hit wins, ranked by its ts_rank.
    full_text_score = func.max(hits.c.score).filter(hits.c.tier == 0)
    best = (
        select(
            hits.c.kind,
            hits.c.content_id,
            hits.c.title,
            hits.c.language,
            func.min(hits.c.tier).label("tier"),
            func.coalesce(full_text_score, func.max(hits.c.score)).label("score"),
        )
        .group_by(hits.c.kind, hits.c.content_id, hits.c.title, hits.c.language)
        .subquery("best")
    )
    speaks = _speaks(best.c.language, content_language)
    statement = (
        select(
            best.c.kind,
            best.c.content_id,
            best.c.title,
            speaks.label("in_farmer_language"),
            (best.c.tier == 0).label("by_full_text"),
            func.count().over().label("total"),
        )
        .order_by(speaks.desc(), best.c.tier, best.c.score.desc(), best.c.title, best.c.content_id)
        .limit(limit)
        .offset(offset)
    )
    rows = (await session.execute(statement)).all()
    results = [
        Found(
            kind=row.kind,
            content_id=row.content_id,
            title=row.title,
            in_farmer_language=bool(row.in_farmer_language),
            by_full_text=bool(row.by_full_text),
        )
        for row in rows
    ]
    # A page past the end has no row to carry the total: 0 says "nothing here".
    total = int(rows[0].total) if rows else 0
    return SearchPage(results, total)


_CATALOGUE_TEXTS = text(
    """
    SELECT 'course' AS kind, id, language, title, description AS summary FROM courses
    UNION ALL SELECT 'article', id, language, title, excerpt FROM articles
    UNION ALL SELECT 'video', id, language, title, description FROM videos
    """
)

# Upsert what is there and delete what is gone, in one statement: the DELETE
# and the INSERT touch disjoint rows, so one snapshot serves both.
_REPLACE_SEARCH_TERMS = text(
    """
    WITH fresh AS (
        SELECT * FROM unnest(
            CAST(:kinds AS varchar[]), CAST(:ids AS uuid[]),
            CAST(:languages AS varchar[]), CAST(:romanized AS text[])
        )
            AS f(content_kind, content_id, language, romanized)
    ), gone AS (
        DELETE FROM search_terms st
         WHERE NOT EXISTS (
             SELECT 1 FROM fresh f
              WHERE f.content_kind = st.content_kind AND f.content_id = st.content_id
         )
    )
    INSERT INTO search_terms (content_kind, content_id, language, romanized)
    SELECT content_kind, content_id, language, romanized FROM fresh
    ON CONFLICT (content_kind, content_id) DO UPDATE
       SET language = EXCLUDED.language, romanized = EXCLUDED.romanized
     WHERE (search_terms.language, search_terms.romanized)
           IS DISTINCT FROM (EXCLUDED.language, EXCLUDED.romanized)
    """
).bindparams(
    bindparam("kinds", type_=ARRAY(String(16))),
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("languages", type_=ARRAY(String(100))),
    bindparam("romanized", type_=ARRAY(String)),
)


async def refresh_search_terms(session: AsyncSession) -> int:
    """Rebuild the romanised spelling of every course, article and video; returns how many.

    Call it after loading or changing the catalogue. One SELECT, one statement
    that upserts the changed rows and deletes those of items that are gone.
    Only flushes: the caller's transaction commits.
    """
    rows = (await session.execute(_CATALOGUE_TEXTS)).all()
    await session.execute(
        _REPLACE_SEARCH_TERMS,
        {
            "kinds": [row.kind for row in rows],
            "ids": [row.id for row in rows],
            "languages": [row.language for row in rows],
            "romanized": [
                romanize(f"{row.title} {row.summary or ''}", alternatives=True) for row in rows
            ],
        },
    )
    return len(rows)
