"""Searching the catalogue: courses, lessons, articles and videos together, in any script.

**What is matched.** bot.query_words turns the farmer's words into terms: the
content words of what they typed (a question loses its question words and
verbs), each with its spellings: the word itself, its stem (matched as a
prefix), and the words of its synonym group. One statement matches every
spelling two ways:

1. **Full text.** The catalogue's own `search_vector` (GIN), one tsquery per
   spelling; for lessons, whose seed table has none, `search_terms.words`.
   सिंचाई finds सिंचाई, कापस* finds कापसाची. A lesson is found when its
   course is published, and counts as in its course's language.
2. **Trigrams on a romanised form.** `search_terms.romanized` (GIN,
   gin_trgm_ops) holds each item's title and summary in one Latin spelling
   (bot.romanize); the typed word is spelled the same way and compared with
   `word_similarity`. "sinchai" and "irigation" find सिंचाई and "irrigation".

**How it ranks.** An item's score is the sum over the terms it matches of
`weight × idf`. The weight says where and how: in the title (1.0) over the
body (0.4) for full text, 0.8 and 0.35 for trigrams times the similarity;
times 0.8 for a stem and 0.45 for a synonym. The idf is BM25's,
ln(1 + (N − n + 0.5) / (n + 0.5)) over the N published items of which n match
the term: a word that most of the catalogue says ("khad", "खत") weighs little
next to one that few say. Items scoring under half the best are left out, so a
word said in passing does not bury the items about it. Items in the farmer's
language come first, then by score; they are weighed against the best item in
their language, the others against the best of all, so a Hindi farmer still sees
the Hindi item that says कीटों when Marathi ones say both कीड and नियंत्रण.

**Following every write.** Triggers on courses, articles, videos and
course_lessons (migration 0011) keep one `search_terms` row per item, whoever
writes (the API, the YAML loader, plain SQL): a delete deletes it; an insert,
or a change of title, summary, language or course, marks it stale and
enqueues the pgqueuer job `index_search_terms` unless one is queued.
handlers.search runs that job (and a sweep each minute, for a write that
raced a job), which re-spells stale rows with `index_stale_search_terms`: the
romanisation is Python, which a trigger cannot run. Until then a stale row
holds the item's lowercased base text for trigrams, and full text is current
anyway (a generated column; for lessons, `words`, which the trigger writes).
The loader re-spells everything before it commits with
`refresh_search_terms`, so its content is found by spelling at once.

**Cost.** ~20 ms on the demo catalogue (240 items). Trigram matching costs in
proportion to the items a word nearly matches: on a synthetic catalogue of
21,000 items where every word is in most items, seconds.

Round trips: two. One sets the trigram threshold and custom plans for this
transaction; one statement then returns the page and the total.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Boolean, Float, Integer, String, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from bot.query_words import content_terms
from bot.romanize import romanize

__all__ = [
    "FUZZY_THRESHOLD",
    "INDEX_BATCH",
    "Found",
    "SearchPage",
    "index_stale_search_terms",
    "refresh_search_terms",
    "search_catalogue",
]

# word_similarity at or above which a romanised word matches. After the
# folding of bot.romanize most spellings of one word are identical (1.0); this
# leaves room for a letter dropped or changed: "sinchayi" and "irrigaton" 0.67,
# "sichai" 0.5, "irigasion" 0.54; while "gehu" (wheat) does not find "gahu"
# (0.25).
FUZZY_THRESHOLD = 0.5
# A word of at most this many romanised letters has 4 or 5 trigrams: one letter
# off is already 0.75, and "kat" (खत) would find "katai" (कटाई). Such words
# must match (nearly) whole.
SHORT_WORD_CHARS = 4
SHORT_WORD_THRESHOLD = 0.8
# Where a word matches: the title says what the item is about.
TITLE_WEIGHT, BODY_WEIGHT = 1.0, 0.4
FUZZY_TITLE_WEIGHT, FUZZY_BODY_WEIGHT = 0.8, 0.35
# Items under this share of the best score are not worth a farmer's scrolling.
RELEVANCE_FLOOR = 0.5
# How much of an item's summary is romanised for trigram matching.
SPELLED_SUMMARY_CHARS = 300
# Stale rows re-spelled per transaction of the indexing job.
INDEX_BATCH = 500


@dataclass(frozen=True, slots=True)
class Found:
    """One course, article or video that matched."""

    kind: str  # course | lesson | article | video
    content_id: uuid.UUID
    title: str
    in_farmer_language: bool
    by_full_text: bool


@dataclass(frozen=True, slots=True)
class SearchPage:
    results: list[Found]
    total: int  # every match, not only this page's; 0 when the page is empty
    # Matches in other languages left out because the farmer's own has some.
    hidden_other_languages: int = 0


_SEARCH = text(
    """
    WITH spellings AS (
        SELECT s.term, s.romanized, s.weight,
               CASE WHEN length(s.romanized) <= :short_chars THEN :short_threshold
                    ELSE :threshold END AS min_similarity,
               CASE WHEN s.prefix AND numnode(q.exact) > 0
                    THEN CAST(CAST(q.exact AS text) || ':*' AS tsquery)
                    ELSE q.exact END AS tsq
          FROM unnest(:terms, :words, :prefixes, :romanized, :weights)
                   AS s(term, word, prefix, romanized, weight)
         CROSS JOIN LATERAL (
             SELECT plainto_tsquery('simple'::regconfig, searchable_text(s.word)) AS exact
         ) q
    ), catalogue AS NOT MATERIALIZED (
        SELECT 'course' AS kind, id, title, language, search_vector FROM courses
         WHERE is_published IS TRUE AND is_archived IS NOT TRUE
        UNION ALL
        SELECT 'article', id, title, language, search_vector FROM articles
         WHERE is_published IS TRUE
        UNION ALL
        SELECT 'video', id, title, language, search_vector FROM videos
         WHERE is_published IS TRUE
        UNION ALL
        SELECT 'lesson', l.id, l.title, c.language, st.words
          FROM course_lessons l
          JOIN courses c ON c.id = l.course_id
          JOIN search_terms st ON st.content_kind = 'lesson' AND st.content_id = l.id
         WHERE c.is_published IS TRUE AND c.is_archived IS NOT TRUE
    ), by_text AS (
        SELECT c.kind, c.id, s.term, true AS exact,
               s.weight * CASE
                   WHEN to_tsvector('simple'::regconfig, searchable_text(c.title)) @@ s.tsq
                   THEN :title_weight ELSE :body_weight END AS w
          FROM spellings s JOIN catalogue c ON c.search_vector @@ s.tsq
         WHERE numnode(s.tsq) > 0
    ), by_spelling AS (
        SELECT st.content_kind AS kind, st.content_id AS id, s.term, false AS exact,
               s.weight * m.similarity * CASE
                   WHEN word_similarity(s.romanized, st.title_romanized) >= s.min_similarity
                   THEN :fuzzy_title_weight ELSE :fuzzy_body_weight END AS w
          FROM spellings s
          JOIN search_terms st ON st.romanized %> s.romanized
          -- OFFSET 0 keeps the subquery whole: the similarity is computed once a row.
         CROSS JOIN LATERAL (
             SELECT word_similarity(s.romanized, st.romanized) AS similarity OFFSET 0
         ) m
         WHERE s.romanized <> '' AND m.similarity >= s.min_similarity
    ), hits AS (
        SELECT h.kind, h.id, h.term, max(h.w) AS w, bool_or(h.exact) AS exact
          FROM (SELECT * FROM by_text UNION ALL SELECT * FROM by_spelling) h
          JOIN catalogue c ON c.kind = h.kind AND c.id = h.id
         GROUP BY h.kind, h.id, h.term
    ), items AS MATERIALIZED (
        SELECT CAST(count(*) AS float8) AS n FROM catalogue
    ), df AS (
        SELECT term, CAST(count(*) AS float8) AS n FROM hits GROUP BY term
    ), scored AS (
        SELECT h.kind, h.id, bool_or(h.exact) AS exact,
               sum(h.w * ln(1 + (items.n - df.n + 0.5) / (df.n + 0.5))) AS score
          FROM hits h JOIN df USING (term) CROSS JOIN items
         GROUP BY h.kind, h.id
    ), ranked AS (
        SELECT s.kind, s.id, s.exact, s.score, c.title,
               CAST(:language AS text) = ANY(string_to_array(
                   lower(replace(coalesce(c.language, ''), ' ', '')), ','
               )) AS speaks
          FROM scored s JOIN catalogue c ON c.kind = s.kind AND c.id = s.id
    ), judged AS (
        SELECT r.*, max(r.score) OVER () AS best,
               max(r.score) FILTER (WHERE r.speaks) OVER () AS best_in_language
          FROM ranked r
    ), kept AS (
        SELECT * FROM judged
         WHERE score >= :floor * CASE WHEN speaks THEN best_in_language ELSE best END
    )
    -- Other languages only when asked for, or when nothing is in the farmer's own.
    SELECT kind, id, title, speaks, exact, count(*) OVER () AS total,
           CASE WHEN (SELECT bool_or(speaks) FROM kept)
                THEN (SELECT count(*) FROM kept WHERE NOT speaks) ELSE 0 END AS others
      FROM kept
     WHERE speaks OR :all_languages OR best_in_language IS NULL
     ORDER BY speaks DESC, score DESC, title, id
     LIMIT :limit OFFSET :offset
    """
).bindparams(
    bindparam("terms", type_=ARRAY(Integer)),
    bindparam("words", type_=ARRAY(String)),
    bindparam("prefixes", type_=ARRAY(Boolean)),
    bindparam("romanized", type_=ARRAY(String)),
    bindparam("weights", type_=ARRAY(Float)),
    bindparam("language", type_=String),
    bindparam("title_weight", TITLE_WEIGHT, type_=Float),
    bindparam("body_weight", BODY_WEIGHT, type_=Float),
    bindparam("fuzzy_title_weight", FUZZY_TITLE_WEIGHT, type_=Float),
    bindparam("fuzzy_body_weight", FUZZY_BODY_WEIGHT, type_=Float),
    bindparam("threshold", FUZZY_THRESHOLD, type_=Float),
    bindparam("short_chars", SHORT_WORD_CHARS, type_=Integer),
    bindparam("short_threshold", SHORT_WORD_THRESHOLD, type_=Float),
    bindparam("floor", RELEVANCE_FLOOR, type_=Float),
    bindparam("limit", type_=Integer),
    bindparam("offset", type_=Integer),
    bindparam("all_languages", type_=Boolean),
)


async def search_catalogue(
    session: AsyncSession,
    words: str,
    *,
    content_language: str | None,
    limit: int,
    offset: int = 0,
    all_languages: bool = False,
) -> SearchPage:
    """One page of what matches `words`, best first, and how many match in all.

    `content_language` is the catalogue's name of the farmer's language
    ("Hindi"); only its items are shown while it has any, unless `all_languages`.
    """
    terms = content_terms(words)
    if not terms:
        return SearchPage([], 0)
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
    spellings = [
        (number, spelling) for number, term in enumerate(terms) for spelling in term.spellings
    ]
    rows = (
        await session.execute(
            _SEARCH,
            {
                "terms": [number for number, _ in spellings],
                "words": [spelling.word for _, spelling in spellings],
                "prefixes": [spelling.prefix for _, spelling in spellings],
                "romanized": [spelling.romanized for _, spelling in spellings],
                "weights": [spelling.weight for _, spelling in spellings],
                "language": (content_language or "").lower().replace(" ", ""),
                "limit": limit,
                "offset": offset,
                "all_languages": all_languages,
            },
        )
    ).all()
    results = [
        Found(
            kind=row.kind,
            content_id=row.id,
            title=row.title,
            in_farmer_language=bool(row.speaks),
            by_full_text=bool(row.exact),
        )
        for row in rows
    ]
    # A page past the end has no row to carry the total: 0 says "nothing here".
    total = int(rows[0].total) if rows else 0
    others = int(rows[0].others) if rows else 0
    return SearchPage(results, total, hidden_other_languages=0 if all_languages else others)


_CATALOGUE_TEXTS = """
    SELECT 'course' AS kind, id, language, title, description AS summary FROM courses
    UNION ALL SELECT 'article', id, language, title, excerpt FROM articles
    UNION ALL SELECT 'video', id, language, title, description FROM videos
    UNION ALL SELECT 'lesson', l.id, c.language, l.title, l.description
                FROM course_lessons l JOIN courses c ON c.id = l.course_id
"""


def _spelled(title: str | None, summary: str | None) -> tuple[str, str]:
    """The romanised title with summary, and the title alone, with every alternative spelling.

    Only the summary's start: a lesson's description is the whole lesson, and
    word_similarity costs in proportion to the text on every candidate row.
    Full text still covers all of it.
    """
    return (
        romanize(f"{title or ''} {(summary or '')[:SPELLED_SUMMARY_CHARS]}", alternatives=True),
        romanize(title or "", alternatives=True),
    )


# Upsert what is there and delete what is gone, in one statement: the DELETE
# and the INSERT touch disjoint rows, so one snapshot serves both.
_REPLACE_SEARCH_TERMS = text(
    """
    WITH fresh AS (
        SELECT * FROM unnest(
            CAST(:kinds AS varchar[]), CAST(:ids AS uuid[]),
            CAST(:languages AS varchar[]), CAST(:romanized AS text[]), CAST(:titles AS text[]),
            CAST(:texts AS text[])
        )
            AS f(content_kind, content_id, language, romanized, title_romanized, text)
    ), gone AS (
        DELETE FROM search_terms st
         WHERE NOT EXISTS (
             SELECT 1 FROM fresh f
              WHERE f.content_kind = st.content_kind AND f.content_id = st.content_id
         )
    )
    INSERT INTO search_terms
        (content_kind, content_id, language, romanized, title_romanized, words)
    SELECT content_kind, content_id, language, romanized, title_romanized,
           to_tsvector('simple'::regconfig, searchable_text(text))
      FROM fresh
    ON CONFLICT (content_kind, content_id) DO UPDATE
       SET language = EXCLUDED.language, romanized = EXCLUDED.romanized,
           title_romanized = EXCLUDED.title_romanized, words = EXCLUDED.words, stale = false
     WHERE (search_terms.language, search_terms.romanized, search_terms.title_romanized,
            search_terms.words, search_terms.stale)
           IS DISTINCT FROM (EXCLUDED.language, EXCLUDED.romanized, EXCLUDED.title_romanized,
                             EXCLUDED.words, false)
    """
).bindparams(
    bindparam("kinds", type_=ARRAY(String(16))),
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("languages", type_=ARRAY(String(100))),
    bindparam("romanized", type_=ARRAY(String)),
    bindparam("titles", type_=ARRAY(String)),
    bindparam("texts", type_=ARRAY(String)),
)


async def refresh_search_terms(session: AsyncSession) -> int:
    """Re-spell every course, lesson, article and video at once; returns how many.

    For a whole catalogue loaded in one transaction (the YAML loader): the
    triggers have marked its rows stale, and this spells them before commit,
    so "sinchai" finds सिंचाई at once. One SELECT, one statement that upserts
    the changed rows and deletes those of items that are gone. Only flushes.
    """
    rows = (await session.execute(text(_CATALOGUE_TEXTS))).all()
    spelled = [_spelled(row.title, row.summary) for row in rows]
    await session.execute(
        _REPLACE_SEARCH_TERMS,
        {
            "kinds": [row.kind for row in rows],
            "ids": [row.id for row in rows],
            "languages": [row.language for row in rows],
            "romanized": [romanized for romanized, _title in spelled],
            "titles": [title for _romanized, title in spelled],
            "texts": [f"{row.title or ''} {row.summary or ''}" for row in rows],
        },
    )
    return len(rows)


# Locks the stale rows it takes: a write to one of these items meanwhile waits
# for this transaction, then marks its row stale again, so nothing is lost.
_STALE_ROWS = text(
    f"""
    SELECT st.content_kind AS kind, st.content_id AS id, c.language, c.title, c.summary
      FROM search_terms st
      JOIN ({_CATALOGUE_TEXTS}) c ON c.kind = st.content_kind AND c.id = st.content_id
     WHERE st.stale
     ORDER BY st.content_kind, st.content_id
     LIMIT :batch
       FOR UPDATE OF st SKIP LOCKED
    """
)
_SPELL_ROWS = text(
    """
    UPDATE search_terms st
       SET language = f.language, romanized = f.romanized,
           title_romanized = f.title_romanized, stale = false
      FROM unnest(
               CAST(:kinds AS varchar[]), CAST(:ids AS uuid[]), CAST(:languages AS varchar[]),
               CAST(:romanized AS text[]), CAST(:titles AS text[])
           ) AS f(content_kind, content_id, language, romanized, title_romanized)
     WHERE st.content_kind = f.content_kind AND st.content_id = f.content_id
    """
).bindparams(
    bindparam("kinds", type_=ARRAY(String(16))),
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("languages", type_=ARRAY(String(100))),
    bindparam("romanized", type_=ARRAY(String)),
    bindparam("titles", type_=ARRAY(String)),
)


async def index_stale_search_terms(session: AsyncSession, *, batch: int = INDEX_BATCH) -> int:
    """Re-spell up to `batch` items written since they were last spelled; returns how many.

    Two statements. Rows another indexer holds are skipped. Only flushes: the
    caller commits, and calls again while it gets a full batch.
    """
    rows = (await session.execute(_STALE_ROWS, {"batch": batch})).all()
    if not rows:
        return 0
    spelled = [_spelled(row.title, row.summary) for row in rows]
    await session.execute(
        _SPELL_ROWS,
        {
            "kinds": [row.kind for row in rows],
            "ids": [row.id for row in rows],
            "languages": [row.language for row in rows],
            "romanized": [romanized for romanized, _title in spelled],
            "titles": [title for _romanized, title in spelled],
        },
    )
    return len(rows)
