"""Search: courses, lessons, articles and videos together, in whatever script the farmer types.

/search WORDS ─► searching (5 results a page, "More" for the next 5)
/search ─► search_query ─(the next free text)─► searching
free text (the router's fallback) ─► searching
nothing found ─► idle, with the topics to choose from instead

A result is an option whose payload (`course:<id>`, `lesson:<id>`,
`article:<id>`, `video:<id>`) the catalogue and lesson modules answer: a
lesson of a paid course offers the purchase. Matching and ranking live in
db.queries.search; this module words the replies, and runs the job that keeps
the romanised index up with every write (see db.queries.search).
"""

from __future__ import annotations

import unicodedata

from bot.i18n import _, format_number, ngettext
from bot.messages import Option, Reply
from bot.romanize import romanize
from db.queries import search as q
from handlers import start
from handlers.base import IDLE, STAY, Answer, Conversation, Turn, on
from handlers.categories import CONTENT_LANGUAGE, category_options, other_languages_option
from handlers.jobs import JOBS, Work

PAGE_SIZE = 5

# Results are on screen; the state carries {"query", "offset"} so "more" pages on.
SEARCHING = "searching"
# /search asked what to look for: typed text is the query.
ASKING = "search_query"
# Longer queries are cut: they are shown back to the farmer and kept in the state.
MAX_QUERY_CHARS = 100
# Telegram shows about this much of a button; WhatsApp lists stay readable too.
MAX_LABEL_CHARS = 60
MAX_QUOTED_CHARS = 40

KIND_EMOJI = {"course": "📘", "lesson": "📖", "article": "📄", "video": "🎬"}
MORE_PAYLOAD = "search:more"
ALL_LANGUAGES_PAYLOAD = "search:all"
# What farmers type, instead of the option's number, to see the next page.
_MORE_WORDS = frozenset(
    {"more", "next page", "aur", "aur dikhao", "और", "और दिखाओ", "aage", "आगे", "ajun", "अजून", "pudhe", "पुढे"}
)  # fmt: skip
_VIRAMA = "\u094d"


def clean_query(text: str) -> str:
    """The words as typed, NFC, on one line, and not too long."""
    words = " ".join(unicodedata.normalize("NFC", text).split())
    return _shorten(words, MAX_QUERY_CHARS, ellipsis="")


def _shorten(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut `text` to at most `limit` characters, at a word if one ends late enough.

    Never inside a Devanagari letter: a cut must not strand a vowel sign, or leave a
    virama (half letter) or a joiner at the end.
    """
    if len(text) <= limit:
        return text
    room = limit - len(ellipsis)
    cut = text.rfind(" ", 0, room + 1)
    if cut < room // 2:
        cut = room
        while cut > 0 and (
            unicodedata.category(text[cut]).startswith("M")
            or text[cut - 1] in (_VIRAMA, "\u200c", "\u200d")
        ):
            cut -= 1
    return text[:cut].rstrip() + ellipsis


def result_label(found: q.Found) -> str:
    return _shorten(f"{KIND_EMOJI.get(found.kind, '•')} {found.title}", MAX_LABEL_CHARS)


def _quoted(query: str) -> str:
    return _shorten(query, MAX_QUOTED_CHARS)


async def _show_page(turn: Turn, query: str, offset: int, *, all_languages: bool = False) -> Answer:
    page = await q.search_catalogue(
        turn.session,
        query,
        content_language=CONTENT_LANGUAGE.get(turn.farmer.language),
        limit=PAGE_SIZE,
        offset=offset,
        all_languages=all_languages,
    )
    kept = {"query": query, "offset": offset, "all": all_languages}
    if not page.results:
        if offset > 0:
            all_found = Reply(_("That is all I found for “{query}”.").format(query=_quoted(query)))
            return Answer([all_found], SEARCHING, kept)
        nothing = Reply(
            _(
                "I could not find anything for “{query}”. Try another word, or choose a topic:"
            ).format(query=_quoted(query)),
            options=category_options(),
        )
        return Answer([nothing], IDLE)
    if offset == 0:
        header = ngettext(
            "I found {count} match for “{query}”. Choose one to open it:",
            "I found {count} matches for “{query}”. Choose one to open it:",
            page.total,
        ).format(count=format_number(page.total), query=_quoted(query))
    else:
        header = _("More matches for “{query}” ({first}–{last} of {total}):").format(
            query=_quoted(query),
            first=format_number(offset + 1),
            last=format_number(offset + len(page.results)),
            total=format_number(page.total),
        )
    options = [
        Option(result_label(found), f"{found.kind}:{found.content_id}") for found in page.results
    ]
    if offset + len(page.results) < page.total:
        options.append(Option(_("➡️ More results"), MORE_PAYLOAD))
    elif page.hidden_other_languages:
        # The farmer's own language first and alone; the rest behind one option.
        options.append(other_languages_option(ALL_LANGUAGES_PAYLOAD))
    found = Reply(header, options=tuple(options))
    return Answer([found], SEARCHING, kept)


def _ask_what(turn: Turn) -> Answer:
    return Answer(
        [Reply(_("What would you like to learn about?"), options=category_options())], ASKING
    )


async def _next_page(turn: Turn) -> Answer | list[Reply]:
    query = turn.data.get("query")
    offset = turn.data.get("offset")
    if turn.state != SEARCHING or not isinstance(query, str) or not isinstance(offset, int):
        return [Reply(_("That search is over. Send /search and a few words to search again."))]
    every = bool(turn.data.get("all"))
    return await _show_page(turn, query, offset + PAGE_SIZE, all_languages=every)


async def _other_languages(turn: Turn) -> Answer | list[Reply]:
    query = turn.data.get("query")
    if turn.state != SEARCHING or not isinstance(query, str):
        return [Reply(_("That search is over. Send /search and a few words to search again."))]
    return await _show_page(turn, query, 0, all_languages=True)


async def search(turn: Turn) -> Answer:
    """Answers /search WORDS with the first results to choose from; /search alone asks what to look for."""
    query = clean_query(turn.arg)
    if not query:
        return _ask_what(turn)
    return await _show_page(turn, query, 0)


async def search_button(turn: Turn) -> Answer | list[Reply]:
    """Answers `search:more` with the next results and `search:all` with those in every language; a bare `search` button asks what to look for."""
    if turn.arg == "more":
        return await _next_page(turn)
    if turn.arg == "all":
        return await _other_languages(turn)
    return _ask_what(turn)


async def search_typed_words(turn: Turn) -> Answer:
    """Answers the words typed after /search asked for them: the first results to choose from."""
    query = clean_query(turn.inbound.text)
    if not query:
        return _ask_what(turn)
    return await _show_page(turn, query, 0)


async def search_free_text(turn: Turn) -> Answer | list[Reply]:
    """Answers free text nothing else claims: results to choose from, or topics if none; "more" pages on."""
    query = clean_query(turn.inbound.text)
    if turn.state == SEARCHING and query.lower() in _MORE_WORDS:
        return await _next_page(turn)
    if not romanize(query):
        # Emoji, a sticker's text, another script: nothing to search for.
        return await start.not_understood(turn)
    return await _show_page(turn, query, 0)


# The content tables' triggers enqueue this job (migration 0011): the name is in SQL there.
INDEX_JOB = "index_search_terms"


@JOBS.job(INDEX_JOB)
async def index_search_terms(work: Work, payload: dict[str, object]) -> bool:
    """Re-spell the catalogue items written since they were last spelled, a batch per
    unit of work; more to do while a batch comes back full."""
    return await q.index_stale_search_terms(work.session) >= q.INDEX_BATCH


# A write whose trigger found a job already queued, which then ran before that
# write committed, has no job of its own: this sweep spells it a minute later.
@JOBS.every("index_search_terms_sweep", "* * * * *")
async def sweep_search_terms(work: Work) -> bool:
    """Spell whatever is still stale, once a minute."""
    return await q.index_stale_search_terms(work.session) >= q.INDEX_BATCH


CONVERSATION = Conversation(
    name="search",
    states={
        SEARCHING: on(search_free_text, SEARCHING, IDLE, STAY),
        ASKING: on(search_typed_words, ASKING, SEARCHING, IDLE),
    },
    commands={"search": on(search, ASKING, SEARCHING, IDLE)},
    buttons={"search": on(search_button, ASKING, SEARCHING, STAY)},
    events={"typed text no state claims": on(search_free_text, SEARCHING, IDLE, STAY)},
    aliases={
        "khoj": "search", "खोज": "search", "खोजें": "search",
        "shodh": "search", "शोध": "search", "शोधा": "search",
    },
)  # fmt: skip
