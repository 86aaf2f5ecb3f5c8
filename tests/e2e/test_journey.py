"""A farmer's course, end to end over both channels, and every counter it moves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.content import read_catalogue, stable_id
from bot.content.load import load_catalogue
from db.engine import make_sessionmaker
from tests.harness import Service

MINI = Path(__file__).resolve().parent.parent / "data" / "mini.yaml"
DRIP = stable_id("course", "drip-hi")
COTTON = stable_id("course", "cotton-en")


async def load_mini(service: Service) -> None:
    sessionmaker = make_sessionmaker(service.engine)
    async with sessionmaker() as session, session.begin():
        await load_catalogue(session, read_catalogue(MINI))


def buttons(call: Any) -> list[str]:
    markup = call.params.get("reply_markup")
    if not markup:
        return []
    return [
        b.get("callback_data") or b.get("url")
        for row in json.loads(markup)["inline_keyboard"]
        for b in row
    ]


@pytest.fixture
async def catalogue_service(service: Service) -> Service:
    await load_mini(service)
    return service


async def hindi_farmer(service: Service) -> int:
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start")
    await service.telegram_taps(chat, "lang:hi")
    return chat


async def test_telegram_farmer_completes_a_course(catalogue_service: Service) -> None:
    service = catalogue_service
    telegram = service.fakes.telegram
    chat = await hindi_farmer(service)

    await service.telegram_says(chat, "/courses")
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 4)
    assert "cat:irrigation" in buttons(telegram.sent_to(chat)[-1])

    await service.telegram_taps(chat, "cat:irrigation")
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 5)
    assert f"course:{DRIP}" in buttons(telegram.sent_to(chat)[-1])

    await service.telegram_taps(chat, f"course:{DRIP}")
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 6)
    card = telegram.sent_to(chat)[-1]
    assert "ड्रिप सिंचाई से पानी की बचत" in card.params["text"]
    assert "Dr. Asha Verma" in card.params["text"]
    assert buttons(card)[0] == f"enroll:{DRIP}"

    await service.telegram_taps(chat, f"enroll:{DRIP}")
    await service.telegram_taps(chat, f"enroll:{DRIP}")  # enrolling twice is harmless
    lessons = [stable_id("lesson", f"drip-hi-{n}") for n in range(1, 5)]
    for lesson in lessons:
        await service.telegram_taps(chat, f"next:{lesson}")
    # The last lesson is a quiz: it hands over to the quiz, and finishing it ends the course.
    await telegram.wait_for(
        lambda c: (
            buttons(telegram.sent_to(chat)[-1])[:1]
            == [f"qstart:{stable_id('quiz', 'drip-hi-quiz')}"]
        )
    )
    await service.telegram_taps(chat, f"qstart:{stable_id('quiz', 'drip-hi-quiz')}")
    await telegram.wait_for(
        lambda c: any(b.startswith("qa:") for b in buttons(telegram.sent_to(chat)[-1]))
    )
    await service.telegram_taps(chat, buttons(telegram.sent_to(chat)[-1])[0])
    await service.telegram_taps(chat, f"next:{lessons[0]}")  # a stale tap counts nothing
    await telegram.wait_for(lambda c: any("🎉" in t for t in telegram.texts_to(chat)[-3:]), 10)

    texts = telegram.texts_to(chat)
    assert any("ड्रिप क्या है" in t for t in texts)
    video = next(
        c for c in telegram.sent_to(chat) if "ड्रिप लगाने का वीडियो" in c.params.get("text", "")
    )
    assert "https://www.youtube.com/watch?v=abcdefghijk" in buttons(video)

    user_id = await service.scalar(
        "SELECT user_id FROM channel_identities WHERE external_id = :e", e=str(chat)
    )
    enrollment = (await service.rows(
        "SELECT status, progress_percent, lessons_completed, completion_date IS NOT NULL,"
        " enrollment_type, last_accessed_at IS NOT NULL FROM course_enrollments WHERE user_id = :u",
        u=user_id))  # fmt: skip
    assert enrollment == [("completed", 100, 4, True, "free", True)]
    progress = await service.rows(
        "SELECT status, completion_date IS NOT NULL, time_spent_seconds >= 0, last_watched_at IS NOT NULL"
        " FROM lesson_progress WHERE user_id = :u", u=user_id)  # fmt: skip
    assert progress == [("completed", True, True, True)] * 4
    course = (
        await service.rows(
            "SELECT enrolled_count, completion_rate, view_count FROM courses WHERE id = :c", c=DRIP
        )
    )[0]
    assert (course[0], float(course[1]), course[2]) == (1, 100.0, 1)  # one card opened
    stats = await service.rows(
        "SELECT total_courses_enrolled, total_courses_completed, total_learning_hours >= 0,"
        " last_activity_date IS NOT NULL FROM user_learning_stats WHERE user_id = :u",
        u=user_id,
    )
    assert stats == [(1, 1, True, True)]

    await service.telegram_says(chat, "/progress")
    await telegram.wait_for(lambda c: "▓▓▓▓▓▓▓▓▓▓" in telegram.texts_to(chat)[-1])


async def test_whatsapp_farmer_uses_numbers_all_the_way(catalogue_service: Service) -> None:
    service = catalogue_service
    twilio = service.fakes.twilio
    number = "+919800000001"

    async def say(text: str, expect: int) -> str:
        await service.whatsapp_says(number, text)
        await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= expect)
        return twilio.texts_to(number)[-1]

    await say("start", 1)
    await say("2", 3)  # हिन्दी
    topics = await say("courses", 4)
    assert "2. 💧" in topics
    listing = await say("2", 5)
    assert "1. 💧 ड्रिप सिंचाई से पानी की बचत" in listing
    card = await say("1", 6)
    assert "मुफ़्त" in card or "Free" not in card
    await say("1", 9)  # enrol: confirmation + the "First Step" badge + first lesson
    for expect in (10, 11, 12):
        await say("1", expect)  # done → next lesson
    await say("/next", 13)  # the slash works too: the quiz lesson offers its quiz
    question = await say("1", 15)  # start the quiz: intro + question
    assert "1. सही" in question
    await say("सही", 18)  # typed option text: feedback, result, course completed
    assert (
        await service.scalar(
            "SELECT status FROM course_enrollments e JOIN channel_identities ci ON ci.user_id = e.user_id"
            " WHERE ci.external_id = :n",
            n=number,
        )
        == "completed"
    )


async def test_paid_course_offers_preview_and_buy(catalogue_service: Service) -> None:
    service = catalogue_service
    telegram = service.fakes.telegram
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start")
    await service.telegram_taps(chat, "lang:en")
    await service.telegram_taps(chat, f"course:{COTTON}")
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 4)
    card = telegram.sent_to(chat)[-1]
    assert "₹239 instead of ₹299 (20% off)" in card.params["text"]
    preview = stable_id("lesson", "cotton-en-1")
    assert buttons(card)[:2] == [f"lesson:{preview}", f"buy:{COTTON}"]

    await service.telegram_taps(chat, f"lesson:{preview}")
    await service.telegram_taps(chat, f"lesson:{stable_id('lesson', 'cotton-en-2')}")
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 6)
    texts = telegram.texts_to(chat)
    assert "The pink bollworm larva feeds inside the boll." in texts[-2]
    assert "paid course" in texts[-1]
    assert await service.scalar("SELECT count(*) FROM course_enrollments") == 0


async def test_deep_link_opens_the_course(catalogue_service: Service) -> None:
    service = catalogue_service
    telegram = service.fakes.telegram
    newcomer = service.new_chat_id()
    await service.telegram_says(newcomer, f"/start course-{DRIP}", language_code="hi")
    await service.telegram_taps(newcomer, "lang:hi")
    await telegram.wait_for(lambda c: len(telegram.sent_to(newcomer)) >= 3)
    assert "ड्रिप सिंचाई से पानी की बचत" in telegram.texts_to(newcomer)[-1]

    known = await hindi_farmer(service)
    await service.telegram_says(known, f"/start course-{DRIP}")
    await telegram.wait_for(lambda c: len(telegram.sent_to(known)) >= 4)
    assert "ड्रिप सिंचाई से पानी की बचत" in telegram.texts_to(known)[-1]


async def test_lesson_without_a_course_and_stale_ids(catalogue_service: Service) -> None:
    service = catalogue_service
    telegram = service.fakes.telegram
    chat = await hindi_farmer(service)
    await service.telegram_says(chat, "/lesson")
    await service.telegram_taps(chat, "course:not-a-uuid")
    await service.telegram_taps(chat, "lesson:00000000-0000-0000-0000-000000000000")
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 6)
    assert "cmd:courses" in buttons(telegram.sent_to(chat)[3])


async def test_loading_twice_changes_nothing(catalogue_service: Service) -> None:
    service = catalogue_service
    before = await service.rows("SELECT id, updated_at FROM courses ORDER BY id")
    sessionmaker = make_sessionmaker(service.engine)
    async with sessionmaker() as session, session.begin():
        changed = await load_catalogue(session, read_catalogue(MINI))
    assert sum(changed.values()) == 0
    assert await service.rows("SELECT id, updated_at FROM courses ORDER BY id") == before
