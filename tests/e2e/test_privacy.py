"""The farmer's data rights (DPDP Act 2023), end to end: webhook in, fake provider
out, rows counted before and after. Consent at first contact and the privacy page,
/mydata, /delete and the admin erase API, /stop and /start around a broadcast, and
the leaderboard name that stays hidden until the farmer shows it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from bot.i18n import _, use_language
from bot.jobs import in_unit
from bot.runtime import Runtime
from db.engine import make_sessionmaker
from handlers import privacy, rewards
from tests.harness import ADMIN_TOKEN, Fakes, Service, start_service

ASK_TO_ERASE = (
    "Do you want to erase your data? Your name, chat address, answers and progress will be "
    "deleted and cannot be brought back. Payment records are kept, without your name, as the "
    "law requires."
)
ERASED = (
    "Your data has been erased. Thank you for learning with us. "
    "If you write again, we will start fresh and ask for your agreement again."
)


def tr(language: str, message: str) -> str:
    with use_language(language):
        return _(message)


@pytest.fixture
async def admin_service(
    fresh_database_url: str, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Service]:
    monkeypatch.setenv("BROADCAST_QUIET_HOURS", "off")
    async with start_service(
        fresh_database_url, fakes, admin_api_token=SecretStr(ADMIN_TOKEN)
    ) as service:
        yield service


async def api(
    service: Service, method: str, path: str, token: str | None = ADMIN_TOKEN, **kw: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await service.http.request(method, "/api/v1" + path, headers=headers, **kw)


def buttons(call: Any) -> list[str]:
    markup = call.params.get("reply_markup")
    if not markup:
        return []
    return [b.get("callback_data") for row in json.loads(markup)["inline_keyboard"] for b in row]


async def replies(service: Service, chat: int, count: int) -> list[str]:
    """Wait until `chat` has received `count` messages in all; their texts."""
    telegram = service.fakes.telegram
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= count)
    return telegram.texts_to(chat)


async def turn(
    service: Service, chat: int, text: str | None = None, tap: str | None = None
) -> list[str]:
    """Send a message (or tap a button) and return every reply that turn queued."""
    telegram = service.fakes.telegram
    before = len(telegram.sent_to(chat))
    if tap is not None:
        await service.telegram_taps(chat, tap)
    else:
        assert text is not None
        await service.telegram_says(chat, text)
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) > before)
    # The turn's replies were queued together: wait until none is still owed.
    for _attempt in range(200):
        owed = await service.scalar(
            "SELECT count(*) FROM outbound_messages o JOIN channel_identities ci"
            " ON ci.id = o.identity_id WHERE ci.external_id = :e"
            " AND o.status IN ('queued', 'sending')",
            e=str(chat),
        )
        if owed == 0:
            break
        await asyncio.sleep(0.05)
    return telegram.texts_to(chat)[before:]


async def user_of(service: Service, external_id: str | int) -> uuid.UUID | None:
    user: uuid.UUID | None = await service.scalar(
        "SELECT user_id FROM channel_identities WHERE external_id = :e", e=str(external_id)
    )
    return user


def runtime_of(service: Service) -> Runtime:
    return Runtime(
        settings=service.settings,
        database_url=service.settings.database_url or "",
        embedded=False,
        engine=service.engine,
        sessionmaker=make_sessionmaker(service.engine),
    )


async def insert(service: Service, sql: str, **params: Any) -> Any:
    """A committed INSERT … RETURNING (service.scalar rolls back)."""
    async with service.engine.begin() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def onboard(service: Service, chat: int, language: str) -> None:
    await turn(service, chat, "/start")
    await turn(service, chat, tap=f"lang:{language}")


async def count(service: Service, sql: str, **params: Any) -> int:
    return int(await service.scalar(sql, **params))


# --- consent at first contact ---------------------------------------------------------


async def test_learning_waits_for_consent_given_by_choosing_a_language(service: Service) -> None:
    telegram = service.fakes.telegram
    chat = service.new_chat_id()
    consents_before = await count(service, "SELECT count(*) FROM consents")

    # A first message that asks for courses gets the notice, not the courses.
    await service.telegram_says(chat, "/courses", language_code="hi")
    [first] = await replies(service, chat, 1)
    assert f"{service.settings.public_base_url}/privacy?lang=hi" in first
    assert "/privacy?lang=mr" in first and "/privacy?lang=en" in first
    assert first.index("/privacy?lang=hi") < first.index("/privacy?lang=en")  # theirs first
    assert buttons(telegram.sent_to(chat)[-1]) == ["lang:en", "lang:hi", "lang:mr"]
    user = await user_of(service, chat)
    assert await count(service, "SELECT count(*) FROM consents") == consents_before
    assert (
        await count(service, "SELECT count(*) FROM course_enrollments WHERE user_id = :u", u=user)
        == 0
    )

    # Another learning command before agreeing: the notice again, kindly.
    [again] = await turn(service, chat, "/lesson")
    assert again.startswith(tr("hi", "Before we start, please read this. It takes a minute."))
    assert "/privacy?lang=hi" in again
    # A button from elsewhere (a forged or forwarded payload) waits for consent too.
    for payload in ("cmd:courses", f"course:{uuid.uuid4()}", "cat:irrigation", "cmd:leaderboard"):
        [again] = await turn(service, chat, tap=payload)
        assert "/privacy?lang=hi" in again, payload
    # Help is not learning: it is answered.
    helped = await turn(service, chat, "/help")
    assert tr("hi", "I help you learn better farming, one short lesson at a time.") in helped[0]

    # Choosing the language is the "agree and continue" step: recorded, once.
    agreed = await turn(service, chat, tap="lang:mr")
    assert agreed[0] == tr("mr", "Done! I will talk with you in English.")
    rows = await service.rows(
        "SELECT method, notice_version, channel, given_at FROM consents WHERE user_id = :u", u=user
    )
    assert [(r.method, r.notice_version, r.channel) for r in rows] == [
        ("language_choice", privacy.NOTICE_VERSION, "telegram")
    ]
    # Learning has started: /courses answers with courses, not the notice.
    courses = await turn(service, chat, "/courses")
    assert not any("/privacy?lang=" in text for text in courses)
    # /language later is only a language change: no second consent, no notice.
    [asked] = await turn(service, chat, "/language")
    assert "/privacy?lang=" not in asked
    await turn(service, chat, tap="lang:hi")
    assert await count(service, "SELECT count(*) FROM consents WHERE user_id = :u", u=user) == 1


async def test_someone_who_never_agrees_is_forgotten_after_the_window(service: Service) -> None:
    waiting, agreed = service.new_chat_id(), service.new_chat_id()
    await turn(service, waiting, "/courses")
    await onboard(service, agreed, "en")
    month_ago = "UPDATE users SET created_at = now() - interval '31 days' WHERE id = :u"
    for chat in (waiting, agreed):
        await service.execute(month_ago, u=await user_of(service, chat))
    users_before = await count(service, "SELECT count(*) FROM users")

    assert await in_unit(runtime_of(service), privacy.forget_erased_addresses) == 1
    assert await user_of(service, waiting) is None
    assert await user_of(service, agreed) is not None
    assert await count(service, "SELECT count(*) FROM users") == users_before - 1
    # Writing again is simply a first contact.
    [welcome] = await turn(service, waiting, "hello")
    assert "/privacy?lang=en" in welcome


async def test_a_whatsapp_farmer_agrees_by_sending_a_language_number(service: Service) -> None:
    twilio = service.fakes.twilio
    number = "+919800000101"
    await service.whatsapp_says(number, "namaste")
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 1)
    notice = twilio.texts_to(number)[0]
    for language in ("en", "hi", "mr"):
        assert f"/privacy?lang={language}" in notice
    user = await user_of(service, f"whatsapp:{number}") or await user_of(service, number)
    assert await count(service, "SELECT count(*) FROM consents") == 0
    await service.whatsapp_says(number, "3")  # मराठी
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 3)
    assert (
        await count(
            service,
            "SELECT count(*) FROM consents WHERE user_id = :u AND channel = 'whatsapp'"
            " AND method = 'language_choice'",
            u=user,
        )
        == 1
    )


async def test_the_privacy_page_in_each_language(service: Service) -> None:
    for language in ("en", "hi", "mr"):
        page = await service.http.get("/privacy", params={"lang": language})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert f'<html lang="{language}">' in page.text
        assert tr(language, "What we keep") in page.text
        assert tr(language, "When you erase your data") in page.text
    assert tr("hi", "What we keep") != "What we keep"
    assert tr("mr", "What we keep") != tr("hi", "What we keep")
    # An unknown or missing language is the English page, never an error.
    for query in ({"lang": "xx"}, {}):
        page = await service.http.get("/privacy", params=query)
        assert page.status_code == 200 and '<html lang="en">' in page.text


# --- /mydata -------------------------------------------------------------------------------


async def test_mydata_shows_what_is_held_in_the_farmers_language(service: Service) -> None:
    chat = service.new_chat_id()
    await onboard(service, chat, "mr")
    user = await user_of(service, chat)
    await service.execute(
        "INSERT INTO user_learning_stats (user_id, total_points) VALUES (:u, 42)", u=user
    )
    [shown] = await turn(service, chat, "/mydata")
    assert shown.startswith(tr("mr", "🔒 What Krishi Learn keeps about you"))
    assert "Ramesh" in shown and f"Telegram: {chat}" in shown
    assert "मराठी" in shown
    assert tr("mr", "Points: {points}").format(points="४२") in shown or "42" in shown
    assert tr("mr", "Quiz attempts: {count}").split(":")[0] in shown
    assert tr("mr", "Your name on the leaderboard: hidden") in shown
    assert tr("mr", "Announcements and reminders: on") in shown
    assert tr("mr", "You agreed to our privacy notice on {day}.").split("{day}")[0] in shown


# --- erasure ---------------------------------------------------------------------------------


async def seed_learning(service: Service, user: uuid.UUID) -> dict[str, uuid.UUID]:
    """A course with an essay quiz the farmer answered, and a paid purchase of it."""
    course = await insert(
        service,
        "INSERT INTO courses (title, description, category, level, price, is_published)"
        " VALUES ('Drip irrigation', 'Water well', 'irrigation', 'beginner', 499, true)"
        " RETURNING id",
    )
    quiz = await insert(
        service,
        "INSERT INTO quizzes (course_id, title) VALUES (:c, 'Drip check') RETURNING id",
        c=course,
    )
    essay = await insert(
        service,
        "INSERT INTO quiz_questions (quiz_id, question_type, question_text)"
        " VALUES (:q, 'essay', 'Describe your farm') RETURNING id",
        q=quiz,
    )
    choice = await insert(
        service,
        "INSERT INTO quiz_questions (quiz_id, question_type, question_text, options)"
        " VALUES (:q, 'multiple_choice', 'Best time to water?',"
        ' \'[{"text": "Morning", "is_correct": true}]\') RETURNING id',
        q=quiz,
    )
    attempt = await insert(
        service,
        "INSERT INTO quiz_attempts (user_id, quiz_id, score, percentage, passed)"
        " VALUES (:u, :q, 1, 50, false) RETURNING id",
        u=user,
        q=quiz,
    )
    await service.execute(
        "INSERT INTO quiz_answers (attempt_id, question_id, user_answer, is_correct)"
        " VALUES (:a, :e, 'My 2 acres near Nashik, call me on 98xxxx', NULL),"
        "        (:a, :c, '0', true)",
        a=attempt,
        e=essay,
        c=choice,
    )
    await service.execute(
        "INSERT INTO course_enrollments (user_id, course_id, status, enrollment_type)"
        " VALUES (:u, :c, 'in_progress', 'paid')",
        u=user,
        c=course,
    )
    purchase = await insert(
        service,
        "INSERT INTO course_purchases (user_id, course_id, amount, final_amount,"
        " payment_status, payment_id, payment_method)"
        " VALUES (:u, :c, 499, 499, 'success', 'pay_TEST123', 'upi') RETURNING id",
        u=user,
        c=course,
    )
    await service.execute(
        "INSERT INTO points_ledger (user_id, points, reason, subject_id)"
        " VALUES (:u, 20, 'quiz_passed', :q)",
        u=user,
        q=quiz,
    )
    return {"course": course, "attempt": attempt, "purchase": purchase}


async def assert_erased(
    service: Service, old_user: uuid.UUID, seeded: dict[str, uuid.UUID]
) -> None:
    """Nothing that names or reaches the farmer is left; payment and aggregates are."""
    assert await service.scalar("SELECT display_name FROM users WHERE id = :u", u=old_user) is None
    for table in ("channel_identities", "conversations", "consents", "points_ledger",
                  "leaderboard_opt_ins", "outbound_messages"):  # fmt: skip
        assert (
            await count(service, f"SELECT count(*) FROM {table} WHERE user_id = :u", u=old_user)
            == 0
        ), table
    assert await count(service, "SELECT count(*) FROM erasures WHERE user_id = :u", u=old_user) == 1
    answers = await service.rows(
        "SELECT q.question_type, a.user_answer FROM quiz_answers a"
        " JOIN quiz_questions q ON q.id = a.question_id WHERE a.attempt_id = :a ORDER BY 1",
        a=seeded["attempt"],
    )
    assert [(r.question_type, r.user_answer) for r in answers] == [
        ("essay", ""),
        ("multiple_choice", "0"),
    ]
    assert (
        await count(service, "SELECT count(*) FROM quiz_answers WHERE user_answer LIKE '%Nashik%'")
        == 0
    )
    purchase = (
        await service.rows(
            "SELECT final_amount, payment_status, payment_id, course_id FROM course_purchases"
            " WHERE id = :p",
            p=seeded["purchase"],
        )
    )[0]
    assert (int(purchase.final_amount), purchase.payment_status, purchase.payment_id) == (
        499,
        "success",
        "pay_TEST123",
    )
    assert purchase.course_id == seeded["course"]
    # Quiz scores and the enrolment stay for the course's statistics, with no name.
    assert (
        await count(
            service, "SELECT count(*) FROM quiz_attempts WHERE id = :a", a=seeded["attempt"]
        )
        == 1
    )


async def test_delete_from_chat_in_hindi_with_confirmation(service: Service) -> None:
    telegram = service.fakes.telegram
    chat = service.new_chat_id()
    await onboard(service, chat, "hi")
    old_user = await user_of(service, chat)
    assert old_user is not None
    seeded = await seed_learning(service, old_user)
    users_before = await count(service, "SELECT count(*) FROM users")

    # The keyword asks first; "No" keeps everything.
    [asked] = await turn(service, chat, "मेरा डेटा हटाओ")
    assert asked.startswith(tr("hi", ASK_TO_ERASE))
    assert buttons(telegram.sent_to(chat)[-1]) == ["erase:yes", "erase:no"]
    kept = await turn(service, chat, tap="erase:no")
    assert kept[0] == tr("hi", "Nothing was erased. Your data is kept.")
    assert await user_of(service, chat) == old_user
    assert await count(service, "SELECT count(*) FROM erasures") == 0
    # A stale "yes" (not right after /delete) erases nothing either.
    stale = await turn(service, chat, tap="erase:yes")
    assert stale[0] == tr("hi", "That choice is no longer available.")
    assert await count(service, "SELECT count(*) FROM erasures") == 0

    await turn(service, chat, "/delete")
    [goodbye] = await turn(service, chat, tap="erase:yes")
    assert goodbye == tr(
        "hi",
        "Your data has been erased. Thank you for learning with us. "
        "If you write again, we will start fresh and ask for your agreement again.",
    )
    await assert_erased(service, old_user, seeded)
    # The goodbye went out; the address it used is forgotten by the next sweep.
    forgotten = await in_unit(runtime_of(service), privacy.forget_erased_addresses)
    assert forgotten <= 1
    assert (
        await count(
            service, "SELECT count(*) FROM channel_identities WHERE external_id = :e", e=str(chat)
        )
        == 0
    )
    assert await count(service, "SELECT count(*) FROM users") == users_before

    # The next message from that chat is a brand-new farmer, asked for consent again.
    [welcome] = await turn(service, chat, "/courses")
    assert "/privacy?lang=" in welcome
    new_user = await user_of(service, chat)
    assert new_user is not None and new_user != old_user
    assert await count(service, "SELECT count(*) FROM consents WHERE user_id = :u", u=new_user) == 0
    assert (
        await count(
            service, "SELECT count(*) FROM course_enrollments WHERE user_id = :u", u=new_user
        )
        == 0
    )


async def test_delete_in_marathi_by_typing_yes(service: Service) -> None:
    chat = service.new_chat_id()
    await onboard(service, chat, "mr")
    old_user = await user_of(service, chat)
    [asked] = await turn(service, chat, "माझा डेटा हटवा")
    assert asked.startswith(tr("mr", ASK_TO_ERASE))
    [goodbye] = await turn(service, chat, "होय")
    assert goodbye.startswith(tr("mr", ERASED))
    assert await count(service, "SELECT count(*) FROM erasures WHERE user_id = :u", u=old_user) == 1


async def test_admin_erases_a_whatsapp_farmer(admin_service: Service) -> None:
    service = admin_service
    twilio = service.fakes.twilio
    number = "+919800000202"
    await service.whatsapp_onboard(number, "hi")
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 3)
    old_user = await user_of(service, f"whatsapp:{number}") or await user_of(service, number)
    assert old_user is not None
    seeded = await seed_learning(service, old_user)
    identities_before = await count(service, "SELECT count(*) FROM channel_identities")

    # No token, a wrong token, an unknown user: nothing is erased.
    assert (await api(service, "POST", f"/users/{old_user}/erase", token=None)).status_code == 401
    assert (await api(service, "POST", f"/users/{old_user}/erase", token="nope")).status_code == 401
    assert (await api(service, "POST", f"/users/{uuid.uuid4()}/erase")).status_code == 404
    assert (await api(service, "POST", "/users/not-a-uuid/erase")).status_code == 422
    teacher = await api(service, "POST", "/instructors", json={"display_name": "Dr. Patil"})
    assert teacher.status_code == 201, teacher.text
    teacher_id = teacher.json()["instructor"]["id"]
    assert (await api(service, "POST", f"/users/{teacher_id}/erase")).status_code == 409
    instructor_token = teacher.json()["token"]["token"]
    assert (
        await api(service, "POST", f"/users/{old_user}/erase", token=instructor_token)
    ).status_code == 403
    assert await count(service, "SELECT count(*) FROM erasures") == 0
    assert await count(service, "SELECT count(*) FROM channel_identities") == identities_before

    response = await api(service, "POST", f"/users/{old_user}/erase")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["erased_now"] is True and body["purchases_kept"] == 1
    assert body["addresses_removed"] == 1 and body["answers_blanked"] == 1
    await assert_erased(service, old_user, seeded)
    assert await count(service, "SELECT count(*) FROM channel_identities") == identities_before - 1
    audit = await service.rows(
        "SELECT actor, action FROM audit_log WHERE subject = :s", s=f"user:{old_user}"
    )
    assert [(r.actor, r.action) for r in audit] == [("admin", "user.erase")]
    # Again: nothing more to do, still 200.
    again = await api(service, "POST", f"/users/{old_user}/erase")
    assert again.status_code == 200 and again.json()["erased_now"] is False

    # The number writes again: a new farmer, asked for consent again.
    sent_before = len(twilio.sent_to(number))
    await service.whatsapp_says(number, "courses")
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) > sent_before)
    assert "/privacy?lang=" in twilio.texts_to(number)[-1]
    new_user = await user_of(service, f"whatsapp:{number}") or await user_of(service, number)
    assert new_user is not None and new_user != old_user


# --- opting out of proactive messages ------------------------------------------------------


@pytest.mark.parametrize("keyword", ["/stop", "बंद करो", "थांबवा", "band karo", "ruko"])
async def test_stop_keywords_opt_out(service: Service, keyword: str) -> None:
    chat = service.new_chat_id()
    await onboard(service, chat, "hi")
    [stopped] = await turn(service, chat, keyword)
    assert stopped == tr(
        "hi",
        "You will not get course announcements or reminders any more. "
        "You can still ask me anything. Send /start to join again.",
    )
    status = await service.scalar(
        "SELECT consent_status FROM users WHERE id = :u", u=await user_of(service, chat)
    )
    assert status == "opted_out"


async def wait_broadcast_done(service: Service, broadcast_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        body: dict[str, Any] = (await api(service, "GET", f"/broadcasts/{broadcast_id}")).json()
        if body["status"] in ("queued", "cancelled") and body["counts"]["queued"] == 0:
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.2)


async def test_a_broadcast_skips_a_farmer_after_stop_and_reaches_them_after_start(
    admin_service: Service,
) -> None:
    service = admin_service
    telegram = service.fakes.telegram
    course = await api(
        service, "POST", "/courses",
        json={"title": "Pest watch", "description": "Pests", "category": "pest-control",
              "level": "beginner"},
    )  # fmt: skip
    assert course.status_code == 201, course.text
    course_id = course.json()["id"]
    chat = service.new_chat_id()
    await onboard(service, chat, "en")
    user = await user_of(service, chat)
    await service.execute(
        "INSERT INTO course_enrollments (user_id, course_id, status) VALUES (:u, :c, 'enrolled')",
        u=user,
        c=course_id,
    )
    await turn(service, chat, "band karo")

    async def broadcast(text: str) -> dict[str, Any]:
        response = await api(
            service, "POST", "/broadcasts", json={"course_id": course_id, "text": text}
        )
        assert response.status_code == 202, response.text
        return await wait_broadcast_done(service, response.json()["id"])

    status = await broadcast("Aphids seen nearby")
    assert status["counts"]["sent"] == 0
    assert not any("Aphids" in text for text in telegram.texts_to(chat))
    assert await count(
        service, "SELECT count(*) FROM outbound_messages WHERE user_id = :u AND kind = 'broadcast'"
        " AND status <> 'skipped'", u=user,
    ) == 0  # fmt: skip

    await turn(service, chat, "/start")
    assert (
        await service.scalar("SELECT consent_status FROM users WHERE id = :u", u=user) == "opted_in"
    )
    status = await broadcast("Rain tomorrow")
    assert status["counts"]["sent"] == 1
    await telegram.wait_for(lambda c: any("Rain tomorrow" in t for t in telegram.texts_to(chat)))


# --- the leaderboard name -----------------------------------------------------------------


async def test_leaderboard_hides_a_name_until_the_farmer_shows_it(service: Service) -> None:
    telegram = service.fakes.telegram
    ramesh, other = service.new_chat_id(), service.new_chat_id()
    await onboard(service, ramesh, "en")
    await onboard(service, other, "en")
    user = await user_of(service, ramesh)
    assert user is not None
    await service.execute("UPDATE users SET display_name = 'Ramesh Patil' WHERE id = :u", u=user)
    await service.execute(
        "INSERT INTO user_learning_stats (user_id, total_points) VALUES (:u, 30)", u=user
    )
    await service.execute(
        "INSERT INTO points_ledger (user_id, points, reason, subject_id)"
        " VALUES (:u, 30, 'lesson_completed', gen_random_uuid())",
        u=user,
    )
    [board] = await turn(service, other, "/leaderboard")
    assert "Ramesh" not in board
    assert rewards.anonymous_name(user) in board
    # Ramesh's own board offers to show the name, and showing it is a choice he makes.
    await turn(service, ramesh, "/leaderboard")
    assert buttons(telegram.sent_to(ramesh)[-1])[0] == "lbname:show"
    assert await count(service, "SELECT count(*) FROM leaderboard_opt_ins") == 0
    await turn(service, ramesh, tap="lbname:show")
    assert (
        await count(service, "SELECT count(*) FROM leaderboard_opt_ins WHERE user_id = :u", u=user)
        == 1
    )
    [board] = await turn(service, other, "/leaderboard")
    assert "Ramesh Patil" in board
    await turn(service, ramesh, tap="lbname:hide")
    [board] = await turn(service, other, "/leaderboard")
    assert "Ramesh" not in board
