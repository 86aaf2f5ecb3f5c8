"""Quizzes over HTTP: grading, stored answers, scores, retakes, deadlines, gating."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.content import read_catalogue, stable_id
from bot.content.load import load_catalogue
from db.engine import make_sessionmaker
from tests.harness import Service

QUIZZES = Path(__file__).resolve().parent.parent / "data" / "quiz.yaml"
SOIL = stable_id("course", "soil-en")
MIXED = stable_id("quiz", "soil-mixed")
TIMED = stable_id("quiz", "timed-quiz")


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
async def quiz_service(service: Service) -> Service:
    async with make_sessionmaker(service.engine)() as session, session.begin():
        await load_catalogue(session, read_catalogue(QUIZZES))
    return service


async def farmer(service: Service, language: str = "en") -> int:
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start")
    await service.telegram_taps(chat, f"lang:{language}")
    return chat


async def last_buttons(service: Service, chat: int, prefix: str) -> list[str]:
    # Everything queued first: else the previous question, still the last message
    # while this turn's replies are on their way, would be read as the answer.
    await settle(service, chat)
    telegram = service.fakes.telegram
    await telegram.wait_for(
        lambda c: any(b.startswith(prefix) for b in buttons(telegram.sent_to(chat)[-1]))
    )
    return [b for b in buttons(telegram.sent_to(chat)[-1]) if b.startswith(prefix)]


async def settle(service: Service, chat: int) -> None:
    """Wait until every reply queued for this chat has reached the fake."""
    for _ in range(100):
        pending = await service.scalar(
            "SELECT (SELECT count(*) FROM inbox WHERE address = :e AND status = 'pending')"
            " + (SELECT count(*) FROM outbound_messages o"
            " JOIN channel_identities ci ON ci.id = o.identity_id"
            " WHERE ci.external_id = :e AND o.status IN ('queued', 'sending'))",
            e=str(chat),
        )
        if pending == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("replies still queued")


async def answer_current(service: Service, chat: int) -> None:
    """Answer whatever question is showing: the first option, or a sentence."""
    await settle(service, chat)
    last = service.fakes.telegram.sent_to(chat)[-1]
    options = [b for b in buttons(last) if b.startswith("qa:")]
    if options:
        await service.telegram_taps(chat, options[0])
    else:
        await service.telegram_says(chat, "I will sow soybean after 100 mm of rain.")
    await settle(service, chat)


async def attempts(service: Service, chat: int, quiz: Any) -> list[tuple[Any, ...]]:
    return await service.rows(
        "SELECT a.attempt_number, a.score, a.percentage, a.passed, a.time_spent_seconds IS NOT NULL"
        " FROM quiz_attempts a JOIN channel_identities ci ON ci.user_id = a.user_id"
        " WHERE ci.external_id = :e AND a.quiz_id = :q ORDER BY a.attempt_number",
        e=str(chat),
        q=quiz,
    )


async def test_mixed_quiz_on_telegram_scores_once_and_gates_the_course(
    quiz_service: Service,
) -> None:
    service = quiz_service
    telegram = service.fakes.telegram
    chat = await farmer(service)
    await service.telegram_taps(chat, f"enroll:{SOIL}")
    await service.telegram_taps(chat, f"next:{stable_id('lesson', 'soil-en-1')}")
    start = await last_buttons(service, chat, "qstart:")
    assert start == [f"qstart:{MIXED}"]
    intro = telegram.texts_to(chat)[-1]
    assert "5 questions" in intro and "To pass: 70%" in intro and "Attempt: 1" in intro

    await service.telegram_taps(chat, start[0])
    q1 = await last_buttons(service, chat, "qa:")
    await service.telegram_taps(chat, q1[1])  # 15 cm: right (2 points)
    await service.telegram_taps(chat, q1[0])  # a duplicate, stale tap: changes nothing
    q2 = await last_buttons(service, chat, "qa:")
    assert q2[0].split(":")[2] == "1"
    await service.telegram_taps(chat, q2[0])  # True: wrong
    await settle(service, chat)
    await service.telegram_says(chat, "  ½ ")  # short answer, right
    await settle(service, chat)
    q4 = await last_buttons(service, chat, "qa:")
    await service.telegram_taps(chat, q4[0])  # Ration card: wrong
    await settle(service, chat)
    await service.telegram_says(chat, "१०")  # Devanagari ten: right
    await settle(service, chat)

    texts = telegram.texts_to(chat)
    assert any(t.startswith("✅ Correct!\nTake the sample from the plough layer") for t in texts)
    assert any("❌ Not quite. The right answer: False" in t for t in texts)
    assert any("That answer was already counted. You are on question 2 of 5." in t for t in texts)
    assert any("Your score: 4 of 6 points · 3 of 5 questions right · 66%" in t for t in texts)
    assert await attempts(service, chat, MIXED) == [(1, 4, Decimal("66.67"), False, True)]
    answers = await service.rows(
        "SELECT q.order_index, a.user_answer, a.is_correct, a.points_earned FROM quiz_answers a"
        " JOIN quiz_questions q ON q.id = a.question_id ORDER BY q.order_index"
    )
    assert answers == [
        (1, "15 cm", True, 2),
        (2, "True", False, 0),
        (3, "½", True, 1),
        (4, "Ration card", False, 0),
        (5, "१०", True, 1),
    ]

    # A required quiz not passed holds the next lesson.
    await service.telegram_says(chat, "/next")
    assert await last_buttons(service, chat, "qstart:") == [f"qstart:{MIXED}"]
    assert await service.scalar("SELECT status FROM course_enrollments") == "in_progress"

    # Attempt 2, all right: passed, the quiz lesson completes and the next lesson comes.
    await service.telegram_taps(chat, f"qstart:{MIXED}")
    for answer in ("qa:1", "qa:1", "0.5", "qa:1", "ten"):
        if answer.startswith("qa:"):
            options = await last_buttons(service, chat, "qa:")
            await service.telegram_taps(chat, options[int(answer.split(":")[1])])
        else:
            await settle(service, chat)
            await service.telegram_says(chat, answer)
        await settle(service, chat)
    assert (await attempts(service, chat, MIXED))[1] == (2, 6, Decimal("100.00"), True, True)
    assert "Read your card" in telegram.texts_to(chat)[-1]
    assert await service.scalar("SELECT count(*) FROM quiz_answers") == 10
    assert await service.scalar("SELECT lessons_completed FROM course_enrollments") == 2


async def test_quiz_over_whatsapp_with_numbers_and_words(quiz_service: Service) -> None:
    service = quiz_service
    twilio = service.fakes.twilio
    number = "+919811111111"

    async def say(text: str) -> None:
        await service.whatsapp_says(number, text)
        for _ in range(100):
            pending = await service.scalar(
                "SELECT count(*) FROM outbound_messages WHERE status IN ('queued', 'sending')"
            )
            if pending == 0:
                return
            await asyncio.sleep(0.05)

    await say("start")
    await say("1")  # English
    await say("quiz")  # nothing due yet
    assert "No quiz is waiting" in twilio.texts_to(number)[-1]
    await service.whatsapp_says(number, "hello")
    # Open the quiz from the course's quiz list.
    form = service.whatsapp_form(number, "", ButtonPayload=f"quizlist:{SOIL}")
    assert (await service.post_whatsapp(form)).status_code == 200
    await say("1")  # the only quiz
    await say("1")  # start it
    assert "1. 5 cm\n2. 15 cm\n3. 50 cm" in twilio.texts_to(number)[-1]
    await say("2")  # by number: right
    await say("false")  # by the option's words: right
    await say("half")
    await say("Soil Health Card")
    await say("7")  # wrong short answer
    rows = await service.rows("SELECT score, percentage, passed FROM quiz_attempts")
    assert rows == [(5, Decimal("83.33"), True)]
    assert await service.scalar("SELECT count(*) FROM quiz_answers") == 5


async def test_shuffled_timed_quiz_resumes_then_expires_on_its_own(quiz_service: Service) -> None:
    service = quiz_service
    telegram = service.fakes.telegram
    chat = await farmer(service)
    await service.telegram_taps(chat, f"quiz:{TIMED}")
    await service.telegram_taps(chat, f"qstart:{TIMED}")
    await settle(service, chat)
    assert "Time limit: 10 minutes" in telegram.texts_to(chat)[-2]
    await answer_current(service, chat)
    assert telegram.texts_to(chat)[-2] in (
        "Answer recorded.",
        "📝 Answer saved. Your teacher will check it.",
    )

    # The farmer leaves, and comes back: resume shows the same question as before.
    asked = telegram.texts_to(chat)[-1]
    await service.telegram_says(chat, "/help")
    await service.telegram_taps(chat, f"quiz:{TIMED}")
    resume = await last_buttons(service, chat, "qresume:")
    await service.telegram_taps(chat, resume[0])
    await settle(service, chat)
    assert telegram.texts_to(chat)[-1] == asked

    order = await service.scalar("SELECT question_ids FROM quiz_attempt_progress")
    texts_in_order = [
        await service.scalar("SELECT question_text FROM quiz_questions WHERE id = :i", i=i)
        for i in order
    ]
    assert sorted(texts_in_order) == sorted(t for t in texts_in_order)  # all five, once

    # Time passes: the deadline is reached and the job closes the attempt unprompted.
    await service.execute(
        "UPDATE quiz_attempt_progress SET deadline_at = now() - interval '1 second'"
    )
    await service.execute("UPDATE pgqueuer SET execute_after = now()")
    await telegram.wait_for(
        lambda c: "⏰ Time is up for this quiz." in telegram.texts_to(chat)[-1], 15
    )
    rows = await service.rows("SELECT status FROM quiz_attempt_progress")
    assert rows == [("expired",)]
    assert (await attempts(service, chat, TIMED))[0][0] == 1

    # An answer after the deadline is not graded.
    await service.telegram_taps(chat, resume[0])
    await settle(service, chat)
    assert await service.scalar("SELECT count(*) FROM quiz_answers") == 1

    # Attempt 2 has its own order, kept stable within the attempt.
    await service.telegram_taps(chat, f"qstart:{TIMED}")
    await settle(service, chat)
    assert "Attempt: 2" in telegram.texts_to(chat)[-2]
    orders = await service.rows(
        "SELECT question_ids FROM quiz_attempt_progress ORDER BY started_at"
    )
    assert len(orders) == 2 and sorted(orders[0][0]) == sorted(orders[1][0])


async def test_essay_is_stored_ungraded(quiz_service: Service) -> None:
    service = quiz_service
    chat = await farmer(service)
    await service.telegram_taps(chat, f"qstart:{TIMED}")
    for _ in range(5):
        await answer_current(service, chat)
    essay = await service.rows(
        "SELECT a.is_correct, a.points_earned FROM quiz_answers a JOIN quiz_questions q"
        " ON q.id = a.question_id WHERE q.question_type = 'essay'"
    )
    assert essay == [(None, None)]
    assert any("teacher" in t for t in service.fakes.telegram.texts_to(chat)[-3:])
