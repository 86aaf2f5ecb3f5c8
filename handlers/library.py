"""Articles and videos: featured first, then by topic, five at a time; read, watch, like.

/articles (cmd:articles) ─► featured articles + "By topic"
    acat ─► the six topics ─(acat:<slug>)─► five articles + "More" (acat:<slug>:<page>)
    article:<id> ─► the article, its view counted ─(like:a:<id>)─► thanks, counted once
/videos (cmd:videos) ─► the same with vcat, video:<id> and like:v:<id>
Everything here is a button or a menu number, so there are no free-text states.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from babel.numbers import format_decimal

from bot.i18n import N_, _, babel_locale, format_number, ngettext
from bot.messages import Option, Reply, media_kind
from db.queries import library as q
from handlers.base import IDLE, STAY, Answer, Conversation, Turn, bulleted, on, parse_uuid
from handlers.categories import (
    CATEGORIES,
    CONTENT_LANGUAGE,
    category_name,
    category_options,
    only_other_languages_note,
    other_languages_option,
)

PAGE_SIZE = 5
# The videos' skill_level and the roadmaps' difficulty, named in the farmer's language.
LEVELS = {
    "beginner": N_("Beginner"),
    "intermediate": N_("Intermediate"),
    "advanced": N_("Advanced"),
}


@dataclass(frozen=True, slots=True)
class _Shelf:
    """What differs between the articles and the videos; the texts are translated when shown."""

    kind: q.ContentKind
    item_prefix: str
    topic_prefix: str
    like_code: str
    emoji: str
    featured_title: str
    choose_topic: str
    topic_title: str
    topic_empty: str


ARTICLES = _Shelf(
    kind="article",
    item_prefix="article",
    topic_prefix="acat",
    like_code="a",
    emoji="📰",
    featured_title=N_("⭐ Featured articles. Choose one to read, or pick a topic."),
    choose_topic=N_("Which topic would you like to read about?"),
    topic_title=N_("{topic}: articles"),
    topic_empty=N_("There are no articles on this topic yet. Please choose another topic."),
)
VIDEOS = _Shelf(
    kind="video",
    item_prefix="video",
    topic_prefix="vcat",
    like_code="v",
    emoji="🎬",
    featured_title=N_("⭐ Featured videos. Choose one to watch, or pick a topic."),
    choose_topic=N_("Which topic would you like to watch videos about?"),
    topic_title=N_("{topic}: videos"),
    topic_empty=N_("There are no videos on this topic yet. Please choose another topic."),
)
_SHELVES = {shelf.like_code: shelf for shelf in (ARTICLES, VIDEOS)}


def level_name(level: str | None) -> str | None:
    """A difficulty or skill level in the farmer's language (unknown values as they are)."""
    if not level:
        return None
    label = LEVELS.get(level.strip().lower())
    return _(label) if label else level


def content_language(turn: Turn) -> str:
    """How the content's `language` column names the farmer's language."""
    return CONTENT_LANGUAGE.get(turn.farmer.language, CONTENT_LANGUAGE["en"])


def _item_option(shelf: _Shelf, item: q.ShelfItem) -> Option:
    return Option(f"{item.emoji or shelf.emoji} {item.title}", f"{shelf.item_prefix}:{item.id}")


def _topics(shelf: _Shelf, lead: str | None = None) -> Reply:
    text = _(shelf.choose_topic)
    return Reply(
        f"{lead}\n\n{text}" if lead else text, options=category_options(shelf.topic_prefix)
    )


def _back_to_list(shelf: _Shelf, category: str) -> Option:
    payload = (
        f"{shelf.topic_prefix}:{category}"
        if category in CATEGORIES
        else f"cmd:{shelf.item_prefix}s"
    )
    return Option(_("⬅️ Back to the list"), payload)


def _not_available(shelf: _Shelf) -> list[Reply]:
    return [_topics(shelf, _("Sorry, this is no longer available. Please choose something else."))]


# The topic slug of the featured shelf in payloads: `acat:*:1:o` is "featured, in the
# other languages".
FEATURED = "*"


async def _featured(turn: Turn, shelf: _Shelf, *, others: bool = False) -> Answer:
    """The featured shelf: the library's front page, so a farmer here is at rest."""
    return Answer(await _featured_items(turn, shelf, others=others), IDLE)


async def _featured_items(turn: Turn, shelf: _Shelf, *, others: bool) -> list[Reply]:
    language = content_language(turn)
    items = await q.featured(
        turn.session, shelf.kind, language, limit=PAGE_SIZE, in_language=not others
    )
    note = None
    if not items and not others:
        items = await q.featured(turn.session, shelf.kind, language, limit=PAGE_SIZE,
                                 in_language=False)  # fmt: skip
        others = True
        note = only_other_languages_note() if items else None
    if not items:
        return [_topics(shelf)]
    options = [_item_option(shelf, item) for item in items]
    if not others and await q.featured(
        turn.session, shelf.kind, language, limit=1, in_language=False
    ):
        options.append(other_languages_option(f"{shelf.topic_prefix}:{FEATURED}:1:o"))
    options.append(Option(_("📂 By topic"), shelf.topic_prefix))
    title = _(shelf.featured_title)
    return [Reply(f"{note}\n\n{title}" if note else title, options=tuple(options))]


async def _topic_page(turn: Turn, shelf: _Shelf) -> Answer | list[Reply]:
    slug, _sep, rest = turn.arg.partition(":")
    page_text, _sep, scope = rest.partition(":")
    others = scope == "o"
    if slug == FEATURED:
        return await _featured(turn, shelf, others=others)
    if not slug:
        return [_topics(shelf)]
    if slug not in CATEGORIES:
        return _not_available(shelf)
    page = int(page_text) if page_text.isdigit() and 0 < int(page_text) <= 10_000 else 1
    language = content_language(turn)

    async def items_of(in_language: bool, *, limit: int) -> list[q.ShelfItem]:
        return await q.in_category(
            turn.session, shelf.kind, slug, language,
            offset=(page - 1) * PAGE_SIZE, limit=limit, in_language=in_language,
        )  # fmt: skip

    # One item more than a page tells whether "More" has anything behind it.
    items = await items_of(not others, limit=PAGE_SIZE + 1)
    note = None
    if not items and not others and page == 1:
        others = True
        items = await items_of(False, limit=PAGE_SIZE + 1)
        note = only_other_languages_note() if items else None
    if not items:
        return [_topics(shelf, _(shelf.topic_empty))]
    scope_suffix = ":o" if others else ""
    options = [_item_option(shelf, item) for item in items[:PAGE_SIZE]]
    if len(items) > PAGE_SIZE:
        options.append(Option(_("➡️ More"), f"{shelf.topic_prefix}:{slug}:{page + 1}{scope_suffix}"))
    if not others and page == 1 and await items_of(False, limit=1):
        options.append(other_languages_option(f"{shelf.topic_prefix}:{slug}:1:o"))
    options.append(Option(_("📂 Other topics"), shelf.topic_prefix))
    title = _(shelf.topic_title).format(topic=category_name(slug))
    return [Reply(f"{note}\n\n{title}" if note else title, options=tuple(options))]


def _like_option(shelf: _Shelf, item_id: uuid.UUID) -> Option:
    return Option(_("👍 Like"), f"like:{shelf.like_code}:{item_id}")


def article_text(article: q.ArticleView) -> str:
    lines = [f"{article.emoji or ARTICLES.emoji} {article.title}"]
    about = []
    if article.author_name:
        about.append("✍️ " + _("By {author}").format(author=article.author_name))
    if article.read_time_minutes:
        minutes = article.read_time_minutes
        read = ngettext("{n} minute read", "{n} minutes read", minutes)
        about.append("⏱️ " + read.format(n=format_number(minutes)))
    if about:
        lines.append(" · ".join(about))
    lines += ["", bulleted(article.content.strip())]
    if article.source_type in ("external", "scraped") and article.source_url:
        title = article.source_title or urlsplit(article.source_url).netloc or article.source_url
        credit = _("Source: {title} ({url})").format(title=title, url=article.source_url)
        lines += ["", "🔗 " + credit]
    return "\n".join(lines)


def duration_text(seconds: int) -> str:
    """Minutes:seconds (75:05 for a long video), digits in the farmer's script."""
    minutes, rest = divmod(max(seconds, 0), 60)
    locale = babel_locale()
    return format_decimal(minutes, locale=locale) + ":" + format_decimal(rest, "00", locale=locale)


def video_text(video: q.VideoView) -> str:
    lines = [f"{video.emoji or VIDEOS.emoji} {video.title}"]
    about = []
    if video.duration_seconds:
        about.append("⏱️ " + duration_text(video.duration_seconds))
    level = level_name(video.skill_level)
    if level:
        about.append("📶 " + _("Level: {level}").format(level=level))
    if about:
        lines.append(" · ".join(about))
    if video.creator_name:
        lines.append("🎥 " + _("By {author}").format(author=video.creator_name))
    if video.description:
        lines += ["", bulleted(video.description.strip())]
    return "\n".join(lines)


async def show_articles(turn: Turn) -> Answer:
    """Answers /articles: featured articles and "By topic"; asks which to open."""
    return await _featured(turn, ARTICLES)


async def show_videos(turn: Turn) -> Answer:
    """Answers /videos: featured videos and "By topic"; asks which to watch."""
    return await _featured(turn, VIDEOS)


async def article_topic(turn: Turn) -> Answer | list[Reply]:
    """Answers `acat` (the topics) or `acat:<slug>[:<page>]` (five articles); asks which to read."""
    return await _topic_page(turn, ARTICLES)


async def video_topic(turn: Turn) -> Answer | list[Reply]:
    """Answers `vcat` (the topics) or `vcat:<slug>[:<page>]` (five videos); asks which to watch."""
    return await _topic_page(turn, VIDEOS)


async def open_article(turn: Turn) -> list[Reply]:
    """Answers `article:<id>`: the whole article, its view counted; offers Like and the list."""
    article_id = parse_uuid(turn.arg)
    article = await q.open_article(turn.session, article_id) if article_id else None
    if article is None:
        return _not_available(ARTICLES)
    return [
        Reply(
            article_text(article),
            options=(
                _like_option(ARTICLES, article.id),
                _back_to_list(ARTICLES, article.category),
            ),
        )
    ]


async def open_video(turn: Turn) -> list[Reply]:
    """Answers `video:<id>`: the video's details and a Watch link, its view counted; offers Like."""
    video_id = parse_uuid(turn.arg)
    video = await q.open_video(turn.session, video_id) if video_id else None
    if video is None:
        return _not_available(VIDEOS)
    options = (_like_option(VIDEOS, video.id), _back_to_list(VIDEOS, video.category))
    if media_kind(video.video_url) == "video":  # a video file plays in the chat
        return [Reply(video_text(video), options=options, media_url=video.video_url)]
    return [
        Reply(video_text(video), options=options, link=video.video_url, link_label=_("▶️ Watch"))
    ]


async def like(turn: Turn) -> list[Reply]:
    """Answers `like:a:<id>` or `like:v:<id>`: counts the like once; offers the list again."""
    code, _sep, raw_id = turn.arg.partition(":")
    shelf = _SHELVES.get(code)
    item_id = parse_uuid(raw_id)
    if shelf is None or item_id is None:
        return _not_available(ARTICLES if shelf is None else shelf)
    result = await q.like(turn.session, shelf.kind, item_id, turn.farmer.user_id)
    if result.outcome == "not_available" or result.category is None:
        return _not_available(shelf)
    back = (_back_to_list(shelf, result.category),)
    if result.outcome == "already_liked":
        return [Reply(_("You already liked this. Thank you! 🙏"), options=back)]
    return [
        Reply(_("👍 Thank you! Your like helps other farmers find good lessons."), options=back)
    ]


# The library has no states of its own: its front pages rest in IDLE.
CONVERSATION = Conversation(
    name="library",
    commands={"articles": on(show_articles, IDLE), "videos": on(show_videos, IDLE)},
    buttons={
        "acat": on(article_topic, IDLE, STAY),
        "vcat": on(video_topic, IDLE, STAY),
        "article": on(open_article, STAY),
        "video": on(open_video, STAY),
        "like": on(like, STAY),
    },
    aliases={
        "article": "articles", "lekh": "articles", "लेख": "articles",
        "video": "videos", "वीडियो": "videos", "विडियो": "videos", "व्हिडिओ": "videos",
    },
)  # fmt: skip
