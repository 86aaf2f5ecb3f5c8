"""Articles and videos over real HTTP: featured and by topic, paging, reading, watching, liking once."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text

from bot.i18n import _, ngettext, use_language
from tests.harness import Service

RAMESH_NUMBER = "+919812300001"


def tr(language: str, message: str) -> str:
    with use_language(language):
        return _(message)


def trn(language: str, singular: str, plural: str, n: int) -> str:
    with use_language(language):
        return ngettext(singular, plural, n)


async def execute(service: Service, sql: str, **params: Any) -> None:
    async with service.engine.begin() as conn:
        await conn.execute(text(sql), params)


async def add_article(
    service: Service,
    title: str,
    *,
    category: str = "irrigation",
    language: str = "English",
    featured: bool = False,
    published: bool = True,
    **columns: Any,
) -> uuid.UUID:
    article_id = uuid.uuid4()
    values = {
        "id": article_id,
        "title": title,
        "excerpt": f"About {title}",
        "content": f"All about {title}.",
        "category": category,
        "language": language,
        "is_featured": featured,
        "is_published": published,
        **columns,
    }
    names = ", ".join(values)
    await execute(
        service,
        f"INSERT INTO articles ({names}) VALUES ({', '.join(':' + n for n in values)})",
        **values,
    )
    return article_id


async def add_video(
    service: Service,
    title: str,
    *,
    category: str = "irrigation",
    language: str = "English",
    featured: bool = False,
    published: bool = True,
    **columns: Any,
) -> uuid.UUID:
    video_id = uuid.uuid4()
    values = {
        "id": video_id,
        "title": title,
        "category": category,
        "language": language,
        "video_url": f"https://videos.example/{video_id}",
        "is_featured": featured,
        "is_published": published,
        **columns,
    }
    names = ", ".join(values)
    await execute(
        service,
        f"INSERT INTO videos ({names}) VALUES ({', '.join(':' + n for n in values)})",
        **values,
    )
    return video_id


async def telegram_replies(service: Service, chat: int, count: int) -> list[dict[str, Any]]:
    """The first `count` messages sent to the chat, waiting for them."""
    telegram = service.fakes.telegram
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= count)
    return [call.params for call in telegram.sent_to(chat)[:count]]


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, callback data or url) of each button of a Telegram message."""
    keyboard = json.loads(message.get("reply_markup") or '{"inline_keyboard": []}')
    return [
        (row[0]["text"], row[0].get("callback_data") or row[0].get("url"))
        for row in keyboard["inline_keyboard"]
    ]


async def hindi_farmer(service: Service) -> tuple[int, int]:
    """A Telegram farmer who chose Hindi; returns the chat and how many messages they got."""
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start")
    await service.telegram_taps(chat, "lang:hi")
    await telegram_replies(service, chat, 3)
    return chat, 3


async def test_articles_feature_first_then_topics_paged_in_the_farmers_language(
    service: Service,
) -> None:
    english_star = await add_article(service, "Drip basics", featured=True)
    hindi_star = await add_article(service, "टपक सिंचाई", language="Hindi, English", featured=True)
    await add_article(service, "Hidden star", featured=True, published=False)
    english = [await add_article(service, f"Canal tip {n}") for n in range(5)]
    hindi = [await add_article(service, f"नहर {n}", language="Hindi") for n in range(2)]
    await add_article(service, "Withdrawn", published=False)
    await add_article(service, "Other topic", category="weather")

    chat, seen = await hindi_farmer(service)
    await service.telegram_says(chat, "/articles")
    featured = (await telegram_replies(service, chat, seen + 1))[-1]
    assert featured["text"] == tr(
        "hi", "⭐ Featured articles. Choose one to read, or pick a topic."
    )
    # Only what is in the farmer's language; the rest behind "Other languages".
    assert buttons(featured) == [
        ("📰 टपक सिंचाई", f"article:{hindi_star}"),
        (tr("hi", "🌐 Other languages"), "acat:*:1:o"),
        (tr("hi", "📂 By topic"), "acat"),
    ]

    await service.telegram_taps(chat, "acat")
    topics = (await telegram_replies(service, chat, seen + 2))[-1]
    assert [payload for _label, payload in buttons(topics)] == [
        "acat:crop-management",
        "acat:irrigation",
        "acat:pest-control",
        "acat:soil-health",
        "acat:equipment",
        "acat:weather",
    ]

    await service.telegram_taps(chat, "acat:irrigation")
    first_page = (await telegram_replies(service, chat, seen + 3))[-1]
    assert first_page["text"] == tr("hi", "{topic}: articles").format(
        topic=tr("hi", "💧 Irrigation")
    )
    payloads = [payload for _label, payload in buttons(first_page)]
    # The Hindi articles (the featured one first), then the way to the others.
    assert payloads[0] == f"article:{hindi_star}"
    assert sorted(payloads[1:3]) == sorted(f"article:{i}" for i in hindi)
    assert payloads[3:] == ["acat:irrigation:1:o", "acat"]

    await service.telegram_taps(chat, "acat:irrigation:1:o")
    second_page = (await telegram_replies(service, chat, seen + 4))[-1]
    others = [payload for _label, payload in buttons(second_page)]
    assert others[0] == f"article:{english_star}"  # featured first
    assert set(others[1:5]) < {f"article:{i}" for i in english}
    assert others[5:] == ["acat:irrigation:2:o", "acat"]


async def test_reading_an_article_counts_views_and_credits_its_source(service: Service) -> None:
    scraped = await add_article(
        service,
        "Mulching saves water",
        author_name="Dr. Patil",
        read_time_minutes=5,
        thumbnail_emoji="🌱",
        content="Cover the soil with straw.\n\nIt keeps the soil moist for longer.",
        source_type="scraped",
        source_url="https://icar.example/mulch",
        source_title="ICAR bulletin",
    )
    internal = await add_article(
        service, "Our own tip", read_time_minutes=1, source_type="internal", source_url="x"
    )
    chat = await service.agreed_chat()
    await service.telegram_taps(chat, f"article:{scraped}")
    await service.telegram_taps(chat, f"article:{scraped}")
    await service.telegram_taps(chat, f"article:{internal}")
    first, second, third = await telegram_replies(service, chat, 3)

    assert first["text"] == second["text"]
    assert first["text"].startswith("🌱 Mulching saves water\n")
    assert "Dr. Patil" in first["text"]
    assert trn("en", "{n} minute read", "{n} minutes read", 5).format(n="5") in first["text"]
    assert "It keeps the soil moist for longer." in first["text"]
    assert first["text"].endswith(
        tr("en", "Source: {title} ({url})").format(
            title="ICAR bulletin", url="https://icar.example/mulch"
        )
    )
    assert buttons(first) == [
        (tr("en", "👍 Like"), f"like:a:{scraped}"),
        (tr("en", "⬅️ Back to the list"), "acat:irrigation"),
    ]
    assert "1 minute read" in third["text"]
    assert "Source" not in third["text"]
    views = await service.rows(
        "SELECT id, view_count FROM articles WHERE id IN (:a, :b)", a=scraped, b=internal
    )
    assert dict(views) == {scraped: 2, internal: 1}


async def test_a_like_counts_once_per_farmer(service: Service) -> None:
    article = await add_article(service, "Neem spray")
    ramesh, sunita = await service.agreed_chat(), await service.agreed_chat()
    for _attempt in range(2):
        await service.telegram_taps(ramesh, f"like:a:{article}")
    await service.telegram_taps(sunita, f"like:a:{article}")

    liked, liked_again = await telegram_replies(service, ramesh, 2)
    thanks, again = liked["text"], liked_again["text"]
    assert buttons(liked) == [(tr("en", "⬅️ Back to the list"), "acat:irrigation")]
    assert thanks == tr("en", "👍 Thank you! Your like helps other farmers find good lessons.")
    assert again == tr("en", "You already liked this. Thank you! 🙏")
    assert (await telegram_replies(service, sunita, 1))[0]["text"] == thanks
    assert await service.scalar("SELECT like_count FROM articles WHERE id = :a", a=article) == 2
    assert await service.scalar("SELECT count(*) FROM content_likes") == 2


async def test_a_video_shows_duration_level_creator_and_a_watch_link(service: Service) -> None:
    video = await add_video(
        service,
        "Setting up drip lines",
        duration_seconds=12 * 60 + 5,
        skill_level="Beginner",
        creator_name="KVK Baramati",
        description="Lay the lines along the beds.",
        category="equipment",
    )
    chat = await service.agreed_chat()
    await service.telegram_taps(chat, f"video:{video}")
    message = (await telegram_replies(service, chat, 1))[0]
    assert message["text"].startswith("🎬 Setting up drip lines\n⏱️ 12:05 · 📶 ")
    assert tr("en", "Level: {level}").format(level=tr("en", "Beginner")) in message["text"]
    assert "KVK Baramati" in message["text"]
    assert message["text"].endswith("Lay the lines along the beds.")
    assert buttons(message) == [
        (tr("en", "👍 Like"), f"like:v:{video}"),
        (tr("en", "⬅️ Back to the list"), "vcat:equipment"),
        (tr("en", "▶️ Watch"), f"https://videos.example/{video}"),
    ]
    await service.telegram_taps(chat, f"like:v:{video}")
    await service.telegram_taps(chat, f"like:v:{video}")
    await telegram_replies(service, chat, 3)
    counts = await service.rows("SELECT view_count, like_count FROM videos WHERE id = :v", v=video)
    assert counts == [(1, 1)]


async def test_marathi_farmer_opens_a_featured_video_from_the_videos_button(
    service: Service,
) -> None:
    video = await add_video(service, "Tractor care", duration_seconds=65, featured=True)
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start")
    await service.telegram_taps(chat, "lang:mr")
    await service.telegram_taps(chat, "cmd:videos")
    featured = (await telegram_replies(service, chat, 4))[-1]
    assert buttons(featured)[0] == ("🎬 Tractor care", f"video:{video}")
    await service.telegram_taps(chat, f"video:{video}")
    message = (await telegram_replies(service, chat, 5))[-1]
    assert "⏱️ 1:05" in message["text"]
    assert buttons(message)[-1] == (tr("mr", "▶️ Watch"), f"https://videos.example/{video}")
    assert buttons(message)[0] == (tr("mr", "👍 Like"), f"like:v:{video}")


async def test_unknown_or_unpublished_items_are_kindly_not_available(service: Service) -> None:
    hidden_article = await add_article(service, "Draft", published=False)
    hidden_video = await add_video(service, "Draft video", published=False)
    chat = await service.agreed_chat()
    taps = [
        f"article:{uuid.uuid4()}",
        "article:not-a-uuid",
        f"article:{hidden_article}",
        f"video:{hidden_video}",
        f"like:a:{hidden_article}",
        f"like:v:{uuid.uuid4()}",
        f"like:x:{hidden_article}",
        "like:",
        "acat:no-such-topic",
    ]
    for payload in taps:
        await service.telegram_taps(chat, payload)
    messages = await telegram_replies(service, chat, len(taps))
    sorry = tr("en", "Sorry, this is no longer available. Please choose something else.")
    assert all(m["text"].startswith(sorry) for m in messages), [m["text"] for m in messages]
    assert buttons(messages[3])[0][1] == "vcat:crop-management"  # the topics, to go on with
    assert await service.scalar("SELECT count(*) FROM content_likes") == 0
    assert await service.scalar("SELECT view_count FROM articles") == 0
    # Besides the three welcome replies (agreeing to the privacy notice), one each.
    assert await service.scalar("SELECT count(*) FROM outbound_messages") == len(taps) + 3


async def test_whatsapp_farmer_browses_videos_by_number_and_likes_one(service: Service) -> None:
    star = await add_video(
        service, "Pest traps", featured=True, category="pest-control", duration_seconds=90
    )
    others = [await add_video(service, f"Trap {n}", category="pest-control") for n in range(6)]
    twilio = service.fakes.twilio
    number = RAMESH_NUMBER
    await service.whatsapp_says(number, "start")
    await service.whatsapp_says(number, "1")  # English
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 3)

    await service.whatsapp_says(number, "videos")
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 4)
    listing = twilio.texts_to(number)[3]
    assert "1. 🎬 Pest traps" in listing
    assert f"2. {tr('en', '📂 By topic')}" in listing

    await service.whatsapp_says(number, "2")  # By topic
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 5)
    assert f"3. {tr('en', '🐛 Pest control')}" in twilio.texts_to(number)[4]
    await service.whatsapp_says(number, "3")  # Pest control
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 6)
    page = twilio.texts_to(number)[5]
    assert f"6. {tr('en', '➡️ More')}" in page
    await service.whatsapp_says(number, "6")  # More
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 7)
    assert "1. 🎬 " in twilio.texts_to(number)[6]

    await service.whatsapp_says(number, "videos")
    await service.whatsapp_says(number, "1")  # Pest traps
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 9)
    opened = twilio.texts_to(number)[8]
    assert opened.startswith("🎬 Pest traps\n⏱️ 1:30")
    assert f"{tr('en', '▶️ Watch')}: https://videos.example/{star}" in opened
    assert f"1. {tr('en', '👍 Like')}" in opened

    await service.whatsapp_says(number, "1")  # Like
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 10)
    thanks = twilio.texts_to(number)[9]
    assert thanks.startswith(
        tr("en", "👍 Thank you! Your like helps other farmers find good lessons.")
    )
    assert f"1. {tr('en', '⬅️ Back to the list')}" in thanks
    await service.whatsapp_says(number, "1")  # back to the pest control videos
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 11)
    assert twilio.texts_to(number)[10] == page
    counts = await service.rows("SELECT view_count, like_count FROM videos WHERE id = :v", v=star)
    assert counts == [(1, 1)]
    untouched = await service.scalar(
        "SELECT sum(view_count) FROM videos WHERE id = ANY(:ids)", ids=others
    )
    assert untouched == 0
