"""WhatsApp's own ways, over HTTP: buttons and lists (Twilio Content API), the
24-hour window with templates and held messages, delivery receipts, and media."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.content import read_catalogue, stable_id
from bot.content.load import load_catalogue
from bot.i18n import _, use_language
from bot.jobs import in_unit
from bot.runtime import Runtime
from bot.templates import templates_for
from db.engine import make_sessionmaker
from db.queries import outbox
from handlers import rewards
from tests.e2e import test_broadcasts as broadcasts
from tests.fakes import Recorded
from tests.harness import TWILIO_TOKEN, Fakes, Service, start_service

QUIZZES = Path(__file__).resolve().parent.parent / "data" / "quiz.yaml"
SOIL = stable_id("course", "soil-en")
MIXED = stable_id("quiz", "soil-mixed")
# Quiz answers as the Telegram test records them (tests/e2e/test_quiz.py).
EXPECTED_ANSWERS = [
    (1, "15 cm", True, 2),
    (2, "True", False, 0),
    (3, "½", True, 1),
    (4, "Ration card", False, 0),
    (5, "१०", True, 1),
]

ServiceFactory = Callable[..., contextlib.AbstractAsyncContextManager[Service]]


@pytest.fixture
async def make_service(fresh_database_url: str, fakes: Fakes) -> ServiceFactory:
    """The service with settings of the test's choosing (one at a time)."""

    @contextlib.asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[Service]:
        async with start_service(fresh_database_url, fakes, **overrides) as running:
            yield running

    return make


async def load(service: Service, path: Path = QUIZZES) -> None:
    async with make_sessionmaker(service.engine)() as session, session.begin():
        await load_catalogue(session, read_catalogue(path))


async def settle(service: Service, number: str) -> None:
    """Wait until every message queued for this number has reached the fake."""
    for _attempt in range(200):
        pending = await service.scalar(
            "SELECT count(*) FROM outbound_messages o JOIN channel_identities ci"
            " ON ci.id = o.identity_id WHERE ci.external_id = :e"
            " AND o.status IN ('queued', 'sending')",
            e=number,
        )
        if pending == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("messages still queued")


async def say(service: Service, number: str, text: str, **extra: str) -> None:
    """The farmer writes (or taps); returns once every reply to it has arrived."""
    twilio = service.fakes.twilio
    before = len(twilio.sent_to(number))
    await service.whatsapp_says(number, text, **extra)
    # The webhook may only record the message and a worker answer it a moment later:
    # wait for the first reply at the provider, then for the rest of the turn's.
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) > before)
    await settle(service, number)


def last_interactive(service: Service, number: str) -> Recorded:
    return next(
        c for c in reversed(service.fakes.twilio.sent_to(number)) if "ContentSid" in c.params
    )


async def tap(service: Service, number: str, prefix: str, index: int) -> str:
    """Tap the `index`th button (or list item) whose id starts with `prefix` on the last
    interactive message, as WhatsApp reports it to Twilio and Twilio to us."""
    twilio = service.fakes.twilio
    await twilio.wait_for(
        lambda c: any(
            i.startswith(prefix) for _t, i in twilio.choices_of(last_interactive(service, number))
        )
    )
    call = last_interactive(service, number)
    choices = [(t, i) for t, i in twilio.choices_of(call) if i.startswith(prefix)]
    title, payload = choices[index]
    kind = twilio.content_of(call)
    assert kind is not None
    if kind[0] == "twilio/quick-reply":
        fields = {"ButtonPayload": payload, "ButtonText": title, "MessageType": "button"}
    else:
        fields = {"ListId": payload, "ListTitle": title, "MessageType": "interactive"}
    await say(service, number, title, **fields)
    return payload


async def test_whatsapp_quiz_by_tapping_quick_replies_matches_telegram(
    service: Service,
) -> None:
    await load(service)
    twilio = service.fakes.twilio
    number = "+919822200001"
    await say(service, number, "start")
    # The language question is three quick-reply buttons.
    call = last_interactive(service, number)
    assert twilio.content_of(call)[0] == "twilio/quick-reply"  # type: ignore[index]
    assert [i for _t, i in twilio.choices_of(call)] == ["lang:en", "lang:hi", "lang:mr"]
    await tap(service, number, "lang:", 0)
    await say(service, number, "", ButtonPayload=f"enroll:{SOIL}")
    await say(service, number, "", ButtonPayload=f"next:{stable_id('lesson', 'soil-en-1')}")
    await tap(service, number, "qstart:", 0)

    # Question 1: three options, three buttons; the body keeps them numbered in full.
    call = last_interactive(service, number)
    assert "1. 5 cm\n2. 15 cm\n3. 50 cm" in twilio.text_of(call)
    assert [t for t, _i in twilio.choices_of(call)] == ["5 cm", "15 cm", "50 cm"]
    await tap(service, number, "qa:", 1)  # 15 cm: right
    await tap(service, number, "qa:", 0)  # True: wrong
    await say(service, number, "  ½ ")  # short answer, typed
    stale = await tap(service, number, "qa:", 0)  # Ration card: wrong
    await say(service, number, "१०")
    # The same button tapped again later is a stale tap: answered, not graded twice.
    await say(service, number, "Ration card", ButtonPayload=stale, ButtonText="Ration card")

    answers = await service.rows(
        "SELECT q.order_index, a.user_answer, a.is_correct, a.points_earned FROM quiz_answers a"
        " JOIN quiz_questions q ON q.id = a.question_id ORDER BY q.order_index"
    )
    assert answers == EXPECTED_ANSWERS
    assert any(
        "Your score: 4 of 6 points · 3 of 5 questions right · 66%" in t
        for t in twilio.texts_to(number)
    )

    # One content per distinct set of options, made once and cached by its hash.
    created = [c for c in twilio.calls if c.method == "Content"]
    stored = await service.scalar("SELECT count(*) FROM whatsapp_contents")
    assert (
        stored
        == len(created)
        == len({json.dumps(c.params["types"], sort_keys=True) for c in created})
    )
    # Sent by ContentSid, the text as variable 1.
    sends = [c for c in twilio.sent_to(number) if "ContentSid" in c.params]
    assert {c.params["ContentSid"] for c in sends} == set(twilio.contents)
    assert all(json.loads(c.params["ContentVariables"])["1"] for c in sends)


SEVEN = """
version: 1
courses:
"""
for n, title in enumerate(("Drip basics", "Sprinkler care", "Farm ponds"), start=1):
    SEVEN += f"""
  - key: water-{n}
    title: "{title}"
    description: "Water course {n}"
    category: irrigation
    level: beginner
    language: English
    price: 0
    lessons:
      - key: water-{n}-1
        title: "Lesson {n}"
        content_type: text
        body: "Body {n}"
"""


async def test_seven_item_menu_is_a_list_answered_by_a_list_reply(
    service: Service, tmp_path: Path
) -> None:
    catalogue = tmp_path / "seven.yaml"
    catalogue.write_text(SEVEN, encoding="utf-8")
    await load(service, catalogue)
    twilio = service.fakes.twilio
    number = "+919822200002"
    await say(service, number, "start")
    await tap(service, number, "lang:", 0)
    await say(service, number, "", ButtonPayload="cat:irrigation")

    call = last_interactive(service, number)
    kind, definition = twilio.content_of(call)  # type: ignore[misc]
    assert kind == "twilio/list-picker"
    items = definition["items"]
    assert len(items) == 7
    assert all(len(item["item"]) <= 24 for item in items)
    ponds = next(i for i, item in enumerate(items) if "Farm ponds" in item["description"])
    assert items[ponds]["id"] == f"course:{stable_id('course', 'water-3')}"
    # The body holds every option in full, numbered as the list's items are.
    body = twilio.text_of(call)
    assert f"{ponds + 1}. 📘 Farm ponds" in body
    assert items[ponds]["item"] == f"{ponds + 1}. 📘 Farm ponds"
    assert definition["button"] == "☰ 1–7"

    await tap(service, number, "course:", ponds)  # by a list reply
    assert "Farm ponds" in twilio.texts_to(number)[-1]
    assert "Water course 3" in twilio.texts_to(number)[-1]

    # The farmer may still type the number: the body's numbers hold.
    await say(service, number, "", ButtonPayload="cat:irrigation")
    await say(service, number, str(ponds + 1))
    assert "Water course 3" in twilio.texts_to(number)[-1]
    # The same list again: its content is reused, not made twice.
    lists = [
        c
        for c in twilio.calls
        if c.method == "Content" and "twilio/list-picker" in c.params["types"]
    ]
    assert len(lists) == 1


async def test_content_api_down_falls_back_to_numbered_text(service: Service) -> None:
    twilio = service.fakes.twilio
    number = "+919822200003"
    twilio.contents_fail = True
    await say(service, number, "start")
    last = twilio.sent_to(number)[-1]
    assert "ContentSid" not in last.params
    assert "1. ✓ English\n2. हिन्दी\n3. मराठी" in last.params["Body"]
    assert await service.scalar("SELECT count(*) FROM whatsapp_contents") == 0


# --- the 24-hour window ----------------------------------------------------------------


def runtime_of(service: Service) -> Runtime:
    return Runtime(
        settings=service.settings,
        database_url=service.settings.database_url or "",
        embedded=False,
        engine=service.engine,
        sessionmaker=make_sessionmaker(service.engine),
    )


async def whatsapp_farmer(service: Service, number: str, language: str) -> uuid.UUID:
    await say(service, number, "start")
    await tap(service, number, "lang:", ["en", "hi", "mr"].index(language))
    user: uuid.UUID = await service.scalar(
        "SELECT user_id FROM channel_identities WHERE external_id = :e", e=number
    )
    return user


async def about_to_lose_streak(service: Service, user: uuid.UUID) -> None:
    """Learned yesterday and the day before, not yet today: due a reminder."""
    await service.execute(
        "INSERT INTO activity_days (user_id, day) SELECT :u,"
        " (now() AT TIME ZONE 'Asia/Kolkata')::date - d FROM unnest(ARRAY[1, 2]) d",
        u=user,
    )
    await service.execute(
        "INSERT INTO user_learning_stats (user_id, current_streak_days, longest_streak_days)"
        " VALUES (:u, 2, 2)",
        u=user,
    )


async def silent_for(service: Service, number: str, hours: int) -> None:
    await service.execute(
        "UPDATE channel_identities SET last_inbound_at = now() - :h * interval '1 hour'"
        " WHERE external_id = :e",
        h=hours,
        e=number,
    )


async def test_reminder_outside_the_window_goes_as_template_or_is_held(
    make_service: ServiceFactory, tmp_path: Path
) -> None:
    templates = tmp_path / "templates.yaml"
    templates.write_text(
        "reminder:\n  hi: HXreminderhi\nbadge:\n  en: HXbadgeen\n", encoding="utf-8"
    )
    async with make_service(whatsapp_templates=str(templates)) as service:
        await load(service)
        twilio = service.fakes.twilio
        hindi, marathi, fresh = "+919822200011", "+919822200012", "+919822200013"
        users = {
            number: await whatsapp_farmer(service, number, language)
            for number, language in ((hindi, "hi"), (marathi, "mr"), (fresh, "hi"))
        }
        for user in users.values():
            await about_to_lose_streak(service, user)
        await silent_for(service, hindi, 25)
        await silent_for(service, marathi, 25)
        await silent_for(service, fresh, 3)
        before = {number: len(twilio.sent_to(number)) for number in users}

        assert await in_unit(runtime_of(service), rewards.remind_streaks) == 3
        await twilio.wait_for(lambda c: len(twilio.sent_to(fresh)) > before[fresh])
        await twilio.wait_for(lambda c: len(twilio.sent_to(hindi)) > before[hindi])
        await settle(service, hindi)

        with use_language("hi"):
            reminder = rewards.streak_reminder(2).text
        # Silent for 25 hours, Hindi: the approved template, the reminder as variable 1.
        [template] = twilio.sent_to(hindi)[before[hindi] :]
        assert template.params["ContentSid"] == "HXreminderhi"
        assert "Body" not in template.params
        variable = json.loads(template.params["ContentVariables"])["1"]
        assert variable == " · ".join(line for line in reminder.splitlines() if line.strip())
        # Inside the window: an ordinary message.
        [normal] = twilio.sent_to(fresh)[before[fresh] :]
        assert normal.params["Body"] == reminder and "ContentSid" not in normal.params
        # Marathi has no reminder template: held, with the reason, nothing sent to fail.
        assert len(twilio.sent_to(marathi)) == before[marathi]
        status, error = (
            await service.rows(
                "SELECT o.status, o.error FROM outbound_messages o JOIN channel_identities ci"
                " ON ci.id = o.identity_id WHERE ci.external_id = :e AND o.kind = 'reminder'",
                e=marathi,
            )
        )[0]
        assert status == "needs_template"
        assert error == (
            "needs_template: outside the 24-hour window and no approved template for reminder in mr"
        )

        # A badge is held too; when the farmer writes again the badge goes (still true),
        # and yesterday's streak reminder does not (its day has passed).
        async with make_sessionmaker(service.engine)() as session, session.begin():
            held = await outbox.queue_for_user(
                session, users[marathi], [{"text": "🏅 New badge: Soil scout"}], kind="badge",
                templates=templates_for(service.settings, "badge"),
            )  # fmt: skip
        assert held == 1
        assert len(twilio.sent_to(marathi)) == before[marathi]
        await say(service, marathi, "/help")
        texts = twilio.texts_to(marathi)[before[marathi] :]
        assert texts[0] == "🏅 New badge: Soil scout"
        assert reminder not in texts
        rows = await service.rows(
            "SELECT o.kind, o.status, o.error FROM outbound_messages o JOIN channel_identities ci"
            " ON ci.id = o.identity_id WHERE ci.external_id = :e AND o.kind <> 'reply'"
            " ORDER BY o.id",
            e=marathi,
        )
        assert rows == [
            ("reminder", "skipped", "needs_template: out of date when the farmer wrote again"),
            ("badge", "sent", None),
        ]


async def test_broadcast_template_setting_still_works(make_service: ServiceFactory) -> None:
    async with make_service(twilio_broadcast_content_sid="HXbroadcast") as service:
        assert templates_for(service.settings, "broadcast") == {
            "en": "HXbroadcast",
            "hi": "HXbroadcast",
            "mr": "HXbroadcast",
        }
        assert templates_for(service.settings, "reminder") == {}


# --- receipts ------------------------------------------------------------------------


async def test_status_callbacks_become_broadcast_counts(
    fresh_database_url: str, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROADCAST_QUIET_HOURS", "off")
    overrides: dict[str, Any] = {"admin_api_token": SecretStr(broadcasts.ADMIN)}
    async with start_service(fresh_database_url, fakes, **overrides) as service:
        twilio, telegram = service.fakes.twilio, service.fakes.telegram
        teacher = await broadcasts.new_instructor(service, "Dr. Sunita Patil")
        course_id, _lesson = await broadcasts.new_course(service, teacher.token, "Neem sprays")
        numbers = await broadcasts.seed(service, course_id, 4, channel="whatsapp")
        chats = await broadcasts.seed(service, course_id, 3)
        response = await broadcasts.api(
            service, "POST", "/broadcasts", teacher.token,
            json={"course_id": course_id, "text": "Spray neem oil at dusk."},
        )  # fmt: skip
        assert response.status_code == 202, response.text
        broadcast_id = response.json()["id"]
        status = await broadcasts.wait_broadcast(service, broadcast_id, teacher.token)
        assert status["counts"]["sent"] == 7

        # Twilio reports back, in its own order: interim states, a read before its
        # delivered, and an undelivered message with its error code.
        calls = [twilio.sent_to(number)[-1] for number in numbers]
        callbacks = [
            (calls[0], "sent", None),
            (calls[0], "delivered", None),
            (calls[1], "delivered", None),
            (calls[1], "read", None),
            (calls[2], "read", None),
            (calls[2], "delivered", None),  # late: a status only moves forward
            (calls[3], "undelivered", "30003"),
        ]
        for call, state, code in callbacks:
            answer = await twilio.send_status(call, state, auth_token=TWILIO_TOKEN, error_code=code)
            assert answer == 204

        async def counts() -> dict[str, Any]:
            got = await broadcasts.api(service, "GET", f"/broadcasts/{broadcast_id}", teacher.token)
            assert got.status_code == 200
            return dict(got.json()["counts"])

        for _attempt in range(50):
            report = await counts()
            if report["failed"] == 1 and report["read"] == 2:
                break
            await asyncio.sleep(0.1)
        assert {k: report[k] for k in ("queued", "sent", "delivered", "read", "failed")} == {
            "queued": 0, "sent": 3, "delivered": 1, "read": 2, "failed": 1,
        }  # fmt: skip
        assert report["failed_reasons"] == {"twilio 30003": 1}
        assert report["by_channel"]["telegram"] == {"sent": 3}
        assert report["sent_without_receipts"] == 3
        assert report["receipts"]["telegram"].startswith("none: Telegram does not report")
        row = await service.rows(
            "SELECT status, error, delivered_at IS NOT NULL FROM outbound_messages"
            " WHERE provider_message_id = :sid",
            sid=twilio.sid_of(calls[2]),
        )
        assert row == [("read", None, True)]

        # The instructor asks in chat.
        chat = service.new_chat_id()
        await service.telegram_says(chat, f"/start {teacher.start_payload}")
        await service.telegram_says(chat, "/broadcast status")
        await telegram.wait_for(lambda c: "📊" in (telegram.texts_to(chat) or [""])[-1])
        text = telegram.texts_to(chat)[-1]
        assert "Queued 0 · Sent 3 · Delivered 1 · Read 2 · Failed 1 · Skipped 0" in text
        assert "Telegram does not report delivery or reading: 3 sent there" in text
        assert "Failed: phone switched off or unreachable 1" in text
        assert chats  # the Telegram farmers, counted as sent and said so


# --- media from farmers ------------------------------------------------------------------


async def test_voice_note_is_answered_kindly_on_both_channels(service: Service) -> None:
    twilio, telegram = service.fakes.twilio, service.fakes.telegram
    with use_language("hi"):
        expected = _("🎤 Thank you for the voice message! I cannot listen to voice notes yet.")
    # WhatsApp, a Hindi farmer in the middle of a quiz: a voice note (Body empty).
    await load(service)
    number = "+919822200021"
    await whatsapp_farmer(service, number, "hi")
    state_before = await service.scalar(
        "SELECT c.state FROM conversations c JOIN channel_identities ci ON ci.user_id = c.user_id"
        " WHERE ci.external_id = :e",
        e=number,
    )
    await say(
        service, number, "", NumMedia="1", MediaContentType0="audio/ogg",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1",
    )  # fmt: skip
    assert twilio.texts_to(number)[-1].startswith(expected)
    assert "menu" in twilio.texts_to(number)[-1]
    # A location and a photo: kind words too, never a search, never an error.
    await say(service, number, "", Latitude="19.99", Longitude="73.78")
    assert "📍" in twilio.texts_to(number)[-1]
    await say(service, number, "", NumMedia="1", MediaContentType0="image/jpeg")
    assert "📷" in twilio.texts_to(number)[-1]
    assert (
        await service.scalar(
            "SELECT c.state FROM conversations c JOIN channel_identities ci ON ci.user_id = c.user_id"
            " WHERE ci.external_id = :e",
            e=number,
        )
        == state_before
    )

    # Telegram: a voice note, then a sticker.
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start", language_code="hi")
    await service.telegram_taps(chat, "lang:hi")
    voice = service.telegram_message(chat, "")
    del voice["message"]["text"]
    voice["message"]["voice"] = {"file_id": "AwACAgI", "file_unique_id": "AgAD", "duration": 4,
                                 "mime_type": "audio/ogg"}  # fmt: skip
    assert (await service.post_telegram(voice)).status_code == 200
    await telegram.wait_for(lambda c: any(t.startswith(expected) for t in telegram.texts_to(chat)))
    sticker = service.telegram_message(chat, "")
    del sticker["message"]["text"]
    sticker["message"]["sticker"] = {"file_id": "CAACAgI", "file_unique_id": "AgADs", "width": 512,
                                     "height": 512, "is_animated": False, "is_video": False,
                                     "type": "regular"}  # fmt: skip
    assert (await service.post_telegram(sticker)).status_code == 200
    await telegram.wait_for(lambda c: "😊" in telegram.texts_to(chat)[-1])
    # One kind answer per attachment: no search, no apology for an error.
    with use_language("hi"):
        sorry = _("Sorry, something went wrong on our side. Please try again.")
    assert not any(sorry in t for t in telegram.texts_to(chat) + twilio.texts_to(number))


async def test_a_badge_refused_for_the_closed_window_is_held_then_sent(service: Service) -> None:
    twilio = service.fakes.twilio
    number = "+919822200041"
    user = await whatsapp_farmer(service, number, "en")
    async with make_sessionmaker(service.engine)() as session, session.begin():
        await outbox.queue_for_user(
            session, user, [{"text": "🏅 New badge: Early riser"}], kind="badge"
        )
    await twilio.wait_for(lambda c: twilio.texts_to(number)[-1] == "🏅 New badge: Early riser")
    await settle(service, number)
    badge = twilio.sent_to(number)[-1]
    # The window closed on WhatsApp's clock before ours: Twilio reports 63016.
    answer = await twilio.send_status(badge, "failed", auth_token=TWILIO_TOKEN, error_code="63016")
    assert answer == 204
    held = await service.rows("SELECT status, error FROM outbound_messages WHERE kind = 'badge'")
    assert held == [("needs_template", "needs template")]
    await say(service, number, "hello")
    assert twilio.texts_to(number).count("🏅 New badge: Early riser") == 2
    assert (
        await service.scalar("SELECT status FROM outbound_messages WHERE kind = 'badge'") == "sent"
    )
