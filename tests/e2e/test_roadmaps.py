"""Learning roadmaps over real HTTP: the list, a roadmap's steps, following it, advancing it."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _, ngettext, use_language
from db.queries.roadmaps import advance_roadmaps
from tests.harness import Service


def tr(language: str, message: str) -> str:
    with use_language(language):
        return _(message)


def trn(language: str, singular: str, plural: str, n: int) -> str:
    with use_language(language):
        return ngettext(singular, plural, n)


async def execute(service: Service, sql: str, **params: Any) -> None:
    async with service.engine.begin() as conn:
        await conn.execute(text(sql), params)


async def add_course(service: Service, title: str, language: str = "English") -> uuid.UUID:
    course_id = uuid.uuid4()
    await execute(
        service,
        "INSERT INTO courses (id, title, description, category, level, language, is_published)"
        " VALUES (:id, :title, 'A course', 'irrigation', 'beginner', :language, true)",
        id=course_id,
        title=title,
        language=language,
    )
    return course_id


@dataclass
class SeededRoadmap:
    id: uuid.UUID
    courses: list[uuid.UUID]


async def add_roadmap(
    service: Service,
    title: str,
    courses: list[uuid.UUID],
    *,
    published: bool = True,
    difficulty: str = "beginner",
    hours: int = 12,
) -> SeededRoadmap:
    roadmap_id = uuid.uuid4()
    await execute(
        service,
        "INSERT INTO learning_roadmaps (id, title, description, goal, difficulty,"
        " estimated_hours, icon_emoji, is_published)"
        " VALUES (:id, :title, :description, :goal, :difficulty, :hours, '💧', :published)",
        id=roadmap_id,
        title=title,
        description=f"{title}, step by step.",
        goal="Water every plant just enough.",
        difficulty=difficulty,
        hours=hours,
        published=published,
    )
    # Inserted out of order: the steps must come back sorted by order_index.
    for index, course_id in reversed(list(enumerate(courses, start=1))):
        await execute(
            service,
            "INSERT INTO roadmap_milestones (roadmap_id, order_index, title, course_id)"
            " VALUES (:r, :i, :title, :c)",
            r=roadmap_id,
            i=index,
            title=f"Step {index} of {title}",
            c=course_id,
        )
    return SeededRoadmap(roadmap_id, courses)


async def enroll(
    service: Service, user_id: uuid.UUID, course_id: uuid.UUID, status: str = "in_progress"
) -> None:
    await execute(
        service,
        "INSERT INTO course_enrollments (user_id, course_id, status) VALUES (:u, :c, :s)"
        " ON CONFLICT (user_id, course_id) DO UPDATE SET status = :s",
        u=user_id,
        c=course_id,
        s=status,
    )


async def complete_course(service: Service, user_id: uuid.UUID, course_id: uuid.UUID) -> None:
    await enroll(service, user_id, course_id, "completed")


async def user_of(service: Service, external_id: str) -> uuid.UUID:
    user_id = await service.scalar(
        "SELECT user_id FROM channel_identities WHERE external_id = :e", e=external_id
    )
    assert isinstance(user_id, uuid.UUID)
    return user_id


async def telegram_replies(service: Service, chat: int, count: int) -> list[dict[str, Any]]:
    telegram = service.fakes.telegram
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= count)
    return [call.params for call in telegram.sent_to(chat)[:count]]


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    keyboard = json.loads(message.get("reply_markup") or '{"inline_keyboard": []}')
    return [(row[0]["text"], row[0].get("callback_data")) for row in keyboard["inline_keyboard"]]


async def progress_rows(service: Service, user_id: uuid.UUID) -> dict[uuid.UUID, tuple[Any, ...]]:
    rows = await service.rows(
        "SELECT roadmap_id, completed_milestones, progress_percent, completed_at"
        " FROM user_roadmap_progress WHERE user_id = :u",
        u=user_id,
    )
    return {row[0]: tuple(row[1:]) for row in rows}


async def advance(service: Service, user_id: uuid.UUID) -> list[uuid.UUID]:
    """What the lessons module does when a course completes, in its own transaction."""
    async with AsyncSession(service.engine) as session, session.begin():
        return [roadmap.id for roadmap in await advance_roadmaps(session, user_id)]


async def test_roadmaps_list_the_farmers_language_first_and_show_ticked_steps(
    service: Service,
) -> None:
    drip, canal, pump = (
        await add_course(service, "Drip irrigation"),
        await add_course(service, "Canal water"),
        await add_course(service, "Pump care"),
    )
    hindi_course = await add_course(service, "सिंचाई की शुरुआत", language="Hindi, English")
    english = await add_roadmap(service, "Master smart irrigation", [drip, canal, pump])
    hindi = await add_roadmap(
        service, "पानी की बचत", [hindi_course], difficulty="advanced", hours=1
    )
    await add_roadmap(service, "Unpublished", [drip], published=False)

    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start")
    await service.telegram_taps(chat, "lang:hi")
    await service.telegram_says(chat, "/roadmaps")
    listing = (await telegram_replies(service, chat, 4))[-1]
    # Only the roadmap in the farmer's language; the others behind "Other languages".
    assert buttons(listing) == [
        ("💧 पानी की बचत", f"roadmap:{hindi.id}"),
        (tr("hi", "🌐 Other languages"), "roadmaps:o"),
    ]
    await service.telegram_taps(chat, "roadmaps:o")
    others = (await telegram_replies(service, chat, 5))[-1]
    assert buttons(others) == [("💧 Master smart irrigation", f"roadmap:{english.id}")]

    user_id = await user_of(service, str(chat))
    await complete_course(service, user_id, canal)
    await enroll(service, user_id, drip)  # started, not finished: no tick
    await service.telegram_taps(chat, f"roadmap:{english.id}")
    shown = (await telegram_replies(service, chat, 6))[-1]
    body = shown["text"]
    assert body.startswith("💧 Master smart irrigation\n\nMaster smart irrigation, step by step.")
    assert tr("hi", "Goal: {goal}").format(goal="Water every plant just enough.") in body
    assert tr("hi", "Level: {level}").format(level=tr("hi", "Beginner")) in body
    assert trn("hi", "About {n} hour", "About {n} hours", 12).format(n="12") in body
    steps = body[body.index(tr("hi", "Steps:")) :].splitlines()[1:]
    assert steps == [
        "▫️ Step 1 of Master smart irrigation",
        "      📘 Drip irrigation",
        "✅ Step 2 of Master smart irrigation",
        "      📘 Canal water",
        "▫️ Step 3 of Master smart irrigation",
        "      📘 Pump care",
    ]
    assert buttons(shown) == [
        (tr("hi", "🚩 Follow this roadmap"), f"follow:{english.id}"),
        (tr("hi", "⬅️ All roadmaps"), "cmd:roadmaps"),
    ]
    await service.telegram_taps(chat, f"roadmap:{hindi.id}")
    single = (await telegram_replies(service, chat, 7))[-1]["text"]
    assert trn("hi", "About {n} hour", "About {n} hours", 1).format(n="1") in single
    assert tr("hi", "Level: {level}").format(level=tr("hi", "Advanced")) in single
    views = await service.rows("SELECT id, view_count FROM learning_roadmaps")
    assert dict(views)[english.id] == 1
    assert await progress_rows(service, user_id) == {}  # looking is not following


async def test_following_counts_done_steps_and_offers_the_next_course(service: Service) -> None:
    courses = [await add_course(service, f"Course {n}") for n in (1, 2, 3)]
    roadmap = await add_roadmap(service, "Soil to harvest", courses)
    chat = await service.agreed_chat()
    await service.telegram_says(chat, "/help")
    await telegram_replies(service, chat, 1)
    user_id = await user_of(service, str(chat))
    await complete_course(service, user_id, courses[0])

    await service.telegram_taps(chat, f"follow:{roadmap.id}")
    message = (await telegram_replies(service, chat, 3))[-1]
    assert message["text"].startswith(
        tr(
            "en",
            "Good choice! You are now following this roadmap. "
            "Finish each course and I will tick it off here.",
        )
    )
    done = trn("en", "{done} of {total} step done", "{done} of {total} steps done", 3)
    assert "📊 " + done.format(done="1", total="3") in message["text"]
    assert buttons(message) == [
        (tr("en", "▶️ Next step: {course}").format(course="Course 2"), f"course:{courses[1]}"),
        (tr("en", "⬅️ All roadmaps"), "cmd:roadmaps"),
    ]
    assert await progress_rows(service, user_id) == {roadmap.id: (1, 33, None)}

    await service.telegram_taps(chat, f"follow:{roadmap.id}")
    again = (await telegram_replies(service, chat, 4))[-1]
    assert again["text"].startswith(tr("en", "You are already following this roadmap."))
    assert await service.scalar("SELECT count(*) FROM user_roadmap_progress") == 1

    await service.telegram_says(chat, "/roadmaps")
    listing = (await telegram_replies(service, chat, 5))[-1]
    assert buttons(listing) == [("💧 Soil to harvest (1/3)", f"roadmap:{roadmap.id}")]


async def test_advance_roadmaps_completes_each_roadmap_exactly_once(service: Service) -> None:
    a, b, c = [await add_course(service, name) for name in ("A", "B", "C")]
    long_way = await add_roadmap(service, "Long way", [a, b, c])
    short_way = await add_roadmap(service, "Short way", [b])
    not_followed = await add_roadmap(service, "Not followed", [a])
    chat = await service.agreed_chat()
    await service.telegram_taps(chat, f"follow:{long_way.id}")
    await service.telegram_taps(chat, f"follow:{short_way.id}")
    await telegram_replies(service, chat, 2)
    user_id = await user_of(service, str(chat))
    other_farmer = await service.agreed_chat()
    await service.telegram_taps(other_farmer, f"follow:{short_way.id}")
    await telegram_replies(service, other_farmer, 1)

    await complete_course(service, user_id, a)
    await enroll(service, user_id, b)  # in progress does not count
    await enroll(service, user_id, c, "dropped")
    assert await advance(service, user_id) == []
    assert (await progress_rows(service, user_id))[short_way.id] == (0, 0, None)
    await complete_course(service, user_id, b)
    assert await advance(service, user_id) == [short_way.id]
    rows = await progress_rows(service, user_id)
    assert rows[long_way.id] == (2, 67, None)
    assert rows[short_way.id][:2] == (1, 100) and rows[short_way.id][2] is not None
    assert not_followed.id not in rows

    await complete_course(service, user_id, c)
    assert await advance(service, user_id) == [long_way.id]
    finished = await progress_rows(service, user_id)
    assert await advance(service, user_id) == []
    assert await progress_rows(service, user_id) == finished  # completed_at set once
    assert finished[long_way.id][:2] == (3, 100)
    other = await progress_rows(service, await user_of(service, str(other_farmer)))
    assert other == {short_way.id: (0, 0, None)}

    await service.telegram_taps(chat, f"roadmap:{long_way.id}")
    shown = (await telegram_replies(service, chat, 3))[-1]
    assert tr("en", "You have finished every step of this roadmap. Well done!") in shown["text"]
    assert buttons(shown) == [(tr("en", "⬅️ All roadmaps"), "cmd:roadmaps")]


async def test_whatsapp_farmer_follows_a_roadmap_by_number(service: Service) -> None:
    course = await add_course(service, "Seed selection")
    roadmap = await add_roadmap(service, "Better seeds", [course])
    twilio = service.fakes.twilio
    number = "+919812300002"
    await service.agreed_number(number)
    await service.whatsapp_says(number, "roadmaps")
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 1)
    assert "1. 💧 Better seeds" in twilio.texts_to(number)[0]
    await service.whatsapp_says(number, "1")
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 2)
    assert f"1. {tr('en', '🚩 Follow this roadmap')}" in twilio.texts_to(number)[1]
    await service.whatsapp_says(number, "1")
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 3)
    followed = twilio.texts_to(number)[2]
    assert f"1. {tr('en', '▶️ Next step: {course}').format(course='Seed selection')}" in followed
    user_id = await user_of(service, number)
    assert await progress_rows(service, user_id) == {roadmap.id: (0, 0, None)}


async def test_unknown_or_unpublished_roadmaps_are_kindly_not_available(service: Service) -> None:
    hidden = await add_roadmap(service, "Draft", [await add_course(service, "X")], published=False)
    chat = await service.agreed_chat()
    taps = [
        f"roadmap:{uuid.uuid4()}",
        "roadmap:nonsense",
        f"roadmap:{hidden.id}",
        f"follow:{hidden.id}",
        "follow:",
    ]
    for payload in taps:
        await service.telegram_taps(chat, payload)
    messages = await telegram_replies(service, chat, len(taps))
    sorry = tr("en", "Sorry, this roadmap is no longer available.")
    assert [m["text"] for m in messages] == [sorry] * len(taps)
    assert await service.scalar("SELECT count(*) FROM user_roadmap_progress") == 0
    await service.telegram_says(chat, "/roadmaps")
    empty = (await telegram_replies(service, chat, len(taps) + 1))[-1]
    assert empty["text"] == tr("en", "There are no learning roadmaps yet. Please look again soon.")
