"""Broadcasts over HTTP and chat: fan-out to every enrolled farmer exactly once, at
the channel's rate, with skips counted by reason; replies first; quiet hours."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr

from bot.broadcasts import fan_out
from bot.i18n import _, use_language
from db.engine import make_sessionmaker
from tests.harness import Fakes, Service, start_service

ADMIN = "admin-secret-for-broadcast-tests"
RATE = 40.0

ServiceFactory = Callable[..., contextlib.AbstractAsyncContextManager[Service]]


def tr(language: str, message: str) -> str:
    with use_language(language):
        return _(message)


@pytest.fixture
def make_service(
    fresh_database_url: str, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> ServiceFactory:
    """The service with the admin token, both channels at RATE, quiet hours off."""
    monkeypatch.setenv("BROADCAST_QUIET_HOURS", "off")

    @contextlib.asynccontextmanager
    async def started(**overrides: Any) -> AsyncIterator[Service]:
        settings: dict[str, Any] = {
            "admin_api_token": SecretStr(ADMIN),
            "telegram_rate_per_s": RATE,
            "whatsapp_rate_per_s": RATE,
            **overrides,
        }
        async with start_service(fresh_database_url, fakes, **settings) as service:
            yield service

    return started


# --- helpers -----------------------------------------------------------------------


async def api(
    service: Service, method: str, path: str, token: str | None = ADMIN, **kw: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await service.http.request(method, "/api/v1" + path, headers=headers, **kw)


@dataclass
class Instructor:
    id: str
    token: str
    start_payload: str


async def new_instructor(service: Service, name: str) -> Instructor:
    response = await api(service, "POST", "/instructors", json={"display_name": name})
    assert response.status_code == 201, response.text
    body = response.json()
    return Instructor(
        body["instructor"]["id"], body["token"]["token"], body["invite"]["start_payload"]
    )


async def new_course(service: Service, token: str, title: str) -> tuple[str, str]:
    """A published course of the instructor with one text lesson: (course id, lesson id)."""
    course = await api(
        service,
        "POST",
        "/courses",
        token,
        json={"title": title, "description": "Test course", "category": "irrigation",
              "level": "beginner", "thumbnail_emoji": "💧"},
    )  # fmt: skip
    assert course.status_code == 201, course.text
    course_id = course.json()["id"]
    lesson = await api(
        service,
        "POST",
        "/lessons",
        token,
        json={"course_id": course_id, "title": "Drip basics", "content_type": "text",
              "description": "Water the roots, not the leaves."},
    )  # fmt: skip
    assert lesson.status_code == 201, lesson.text
    published = await api(service, "POST", f"/courses/{course_id}/publish", token)
    assert published.status_code == 200, published.text
    return course_id, lesson.json()["id"]


_SEED = """
    WITH g AS (SELECT g, gen_random_uuid() AS uid FROM generate_series(1, :n) g),
    u AS (
        INSERT INTO users (id, display_name, preferred_language, consent_status)
        SELECT uid, 'Farmer ' || g, (ARRAY['hi', 'mr', 'en'])[1 + g % 3], :consent FROM g
    ), ci AS (
        INSERT INTO channel_identities (user_id, channel, external_id, last_inbound_at,
                                        is_active, inactive_reason)
        SELECT uid, :channel, CAST(:prefix AS text) || (CAST(:first AS int) + g),
               now() - CAST(:age AS float) * interval '1 hour',
               CAST(:active AS boolean), CAST(:reason AS text)
          FROM g WHERE CAST(:with_address AS boolean)
    ), e AS (
        INSERT INTO course_enrollments (user_id, course_id, status, enrollment_type)
        SELECT uid, CAST(:course AS uuid), :status, 'free' FROM g
         WHERE CAST(:course AS uuid) IS NOT NULL
    )
    SELECT count(*) FROM g
"""
_next_address = iter(range(7_000_000, 10**9, 10_000))


async def seed(
    service: Service,
    course_id: str | None,
    n: int,
    *,
    channel: str = "telegram",
    consent: str = "opted_in",
    age_hours: float = 1.0,
    active: bool = True,
    reason: str | None = None,
    status: str = "enrolled",
    with_address: bool = True,
) -> list[str]:
    """`n` farmers enrolled in the course; returns their chat ids or WhatsApp numbers."""
    first = next(_next_address)
    prefix = "+91" if channel == "whatsapp" else ""
    await service.execute(
        _SEED,
        n=n, consent=consent, channel=channel, prefix=prefix, first=first, age=age_hours,
        active=active, reason=reason, with_address=with_address,
        course=uuid.UUID(course_id) if course_id else None, status=status,
    )  # fmt: skip
    return [f"{prefix}{first + i}" for i in range(1, n + 1)]


async def wait_broadcast(
    service: Service, broadcast_id: str, token: str = ADMIN, timeout: float = 30.0
) -> dict[str, Any]:
    """Poll the API until the broadcast is fanned out and nothing is owed any more."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = (
            await api(service, "GET", f"/broadcasts/{broadcast_id}", token)
        ).json()
        if body["status"] in ("queued", "cancelled") and body["counts"]["queued"] == 0:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(body)
        await asyncio.sleep(0.2)


def busiest_second(times: list[float]) -> int:
    """The most calls that fell in any one-second window."""
    times = sorted(times)
    best, left = 0, 0
    for right, at in enumerate(times):
        while at - times[left] >= 1.0:
            left += 1
        best = max(best, right - left + 1)
    return best


def received(provider: Any, marker: str, key: str) -> Counter[str]:
    """How many calls carrying `marker` each address got."""
    counts: Counter[str] = Counter()
    for call in provider.calls:
        body = str(call.params.get("text") or call.params.get("Body") or "")
        variables = str(call.params.get("ContentVariables") or "")
        if call.method in ("sendMessage", "Messages") and (marker in body or marker in variables):
            counts[str(call.params.get(key, "")).removeprefix("whatsapp:")] += 1
    return counts


# --- tests ---------------------------------------------------------------------------


async def test_instructor_broadcasts_from_telegram_chat(make_service: ServiceFactory) -> None:
    async with make_service() as service:
        telegram, twilio = service.fakes.telegram, service.fakes.twilio
        teacher = await new_instructor(service, "Dr. Sunita Patil")
        course_id, _lesson = await new_course(service, teacher.token, "Drip irrigation")
        chats = await seed(service, course_id, 150)
        numbers = await seed(service, course_id, 30, channel="whatsapp", age_hours=2)
        stale = await seed(service, course_id, 10, channel="whatsapp", age_hours=30)
        opted_out = await seed(service, course_id, 10, consent="opted_out")
        blocked = await seed(service, course_id, 5, active=False, reason="blocked")
        await seed(service, course_id, 5, with_address=False)
        dropped = await seed(service, course_id, 5, status="dropped")
        outsiders = await seed(service, None, 20)

        # The admin's invite binds the instructor's Telegram chat.
        chat = service.new_chat_id()
        await service.telegram_says(chat, f"/start {teacher.start_payload}")
        await telegram.wait_for(lambda c: telegram.sent_to(chat))
        assert "Dr. Sunita Patil" in telegram.texts_to(chat)[0]
        # It is single use.
        other = service.new_chat_id()
        await service.telegram_says(other, f"/start {teacher.start_payload}")
        await telegram.wait_for(lambda c: telegram.sent_to(other))
        assert telegram.texts_to(other)[0] == tr(
            "en", "This invite link is not valid any more. Please ask for a new one."
        )

        telegram.rate_limit_per_s = RATE
        twilio.rate_limit_per_s = RATE
        await service.telegram_says(chat, "/broadcast")
        await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 2)
        keyboard = json.loads(telegram.sent_to(chat)[-1].params["reply_markup"])
        choices = [b["callback_data"] for row in keyboard["inline_keyboard"] for b in row]
        assert f"bcc:{course_id}" in choices
        await service.telegram_taps(chat, f"bcc:{course_id}")
        marker = "Rain tomorrow: do not irrigate tonight. " + uuid.uuid4().hex[:8]
        await service.telegram_says(chat, marker)
        await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 4)
        preview = telegram.texts_to(chat)[-1]
        assert marker in preview
        assert "180" in preview  # 150 on Telegram + 30 on WhatsApp
        assert "• Telegram: 150" in preview and "• WhatsApp: 30" in preview
        started = time.monotonic()
        await service.telegram_taps(chat, "bcs")

        await telegram.wait_for(lambda c: len(received(telegram, marker, "chat_id")) >= 151, 30)
        await twilio.wait_for(lambda c: len(received(twilio, marker, "To")) >= 30, 30)
        broadcast_id = await service.scalar("SELECT id FROM broadcasts")
        status = await wait_broadcast(service, str(broadcast_id), teacher.token)
        await asyncio.sleep(0.5)  # nothing more may arrive

        got_telegram = received(telegram, marker, "chat_id")
        del got_telegram[str(chat)]  # the instructor's own preview
        got_whatsapp = received(twilio, marker, "To")
        assert set(got_telegram) == set(chats) and set(got_telegram.values()) == {1}
        assert set(got_whatsapp) == set(numbers) and set(got_whatsapp.values()) == {1}
        for nobody in stale + opted_out + blocked + dropped + outsiders:
            assert nobody not in got_telegram and nobody not in got_whatsapp

        # Never above the limit: the fakes answered no 429 and counted no excess.
        assert telegram.rate_violations == 0 and twilio.rate_violations == 0
        times = [
            c.at
            for c in telegram.calls
            if c.method == "sendMessage" and marker in str(c.params.get("text"))
        ]
        assert busiest_second(times) <= RATE
        assert (len(times) - 1) / (max(times) - min(times)) <= RATE * 1.01
        assert max(times) - started < 150 / RATE + 8  # fan-out and job pickup included

        counts = status["counts"]
        assert counts["sent"] == 180 and counts["failed"] == 0
        assert counts["skipped_reasons"] == {
            "needs template": 10,
            "opted out": 10,
            "address inactive: blocked": 5,
            "no chat address": 5,
        }
        assert counts["skipped"] == 30 and status["audience"] == 210

        # Each farmer reads the header in their own language, the words as written.
        hindi = next(c for c in telegram.calls if c.method == "sendMessage" and
                     str(c.params.get("chat_id")) == chats[0])  # fmt: skip
        assert (
            hindi.params["text"]
            == tr("mr", "📢 From your course {title}:").format(title="💧 Drip irrigation")
            + "\n\n"
            + marker
        )  # farmer 1 of a seed is Marathi (1 % 3 = 1)

        await service.telegram_says(chat, "/broadcast status")
        await telegram.wait_for(lambda c: "📊" in telegram.texts_to(chat)[-1])
        report = telegram.texts_to(chat)[-1]
        assert "Sent 180" in report and "Skipped 30" in report
        assert "opted out 10" in report and "no chat address 5" in report


async def test_api_broadcast_lesson_with_template_and_idempotent_retry(
    make_service: ServiceFactory,
) -> None:
    async with make_service(twilio_broadcast_content_sid="HX" + "a" * 32) as service:
        twilio, telegram = service.fakes.twilio, service.fakes.telegram
        teacher = await new_instructor(service, "Er. Anil Deshmukh")
        course_id, lesson_id = await new_course(service, teacher.token, "Soil testing")
        chats = await seed(service, course_id, 40)
        stale = await seed(service, course_id, 12, channel="whatsapp", age_hours=48)

        response = await api(
            service, "POST", "/broadcasts", teacher.token,
            json={"course_id": course_id, "lesson_id": lesson_id},
        )  # fmt: skip
        assert response.status_code == 202, response.text
        broadcast_id = response.json()["id"]
        status = await wait_broadcast(service, broadcast_id, teacher.token)
        assert status["counts"]["sent"] == 52 and status["counts"]["skipped"] == 0

        # Outside the 24-hour window the approved template goes, with its variables.
        templates = [c for c in twilio.calls if c.method == "Messages"]
        assert {c.params["To"].removeprefix("whatsapp:") for c in templates} == set(stale)
        assert all(c.params["ContentSid"] == "HX" + "a" * 32 for c in templates)
        assert json.loads(templates[0].params["ContentVariables"]) == {
            "1": "Soil testing",
            "2": "Drip basics",
        }
        # On Telegram the lesson comes with its Done button.
        first = next(c for c in telegram.calls if str(c.params.get("chat_id")) == chats[0])
        assert "Water the roots, not the leaves." in first.params["text"]
        assert f"next:{lesson_id}" in first.params["reply_markup"]

        # The job runs again (a retry, a second worker): nobody gets it twice.
        await service.execute(
            "UPDATE broadcasts SET status = 'fanning_out' WHERE id = :id",
            id=uuid.UUID(broadcast_id),
        )
        again = await fan_out(
            make_sessionmaker(service.engine), service.settings, uuid.UUID(broadcast_id)
        )
        assert again is not None and again.queued == 0 and again.audience == 52
        await asyncio.sleep(0.5)
        rows = await service.scalar(
            "SELECT count(*) FROM outbound_messages WHERE broadcast_id = :id",
            id=uuid.UUID(broadcast_id),
        )
        assert rows == 52
        assert len([c for c in telegram.calls if c.method == "sendMessage"]) == 40


async def test_replies_go_first_while_a_big_broadcast_is_sending(
    make_service: ServiceFactory,
) -> None:
    async with make_service(telegram_rate_per_s=30.0) as service:
        telegram = service.fakes.telegram
        telegram.rate_limit_per_s = 30
        course_id, _lesson = await new_course(service, ADMIN, "Pest watch")
        chats = await seed(service, course_id, 240)
        response = await api(
            service, "POST", "/broadcasts", json={"course_id": course_id, "text": "Aphids alert"}
        )
        assert response.status_code == 202
        await telegram.wait_for(lambda c: len(c) >= 30, 10)
        # A farmer near the end of the audience writes while ~200 messages are still owed.
        farmer = int(chats[-1])
        asked = time.monotonic()
        await service.telegram_says(farmer, "/help")
        calls = await telegram.wait_for(
            lambda c: any(
                str(x.params.get("chat_id")) == str(farmer)
                and "Aphids" not in str(x.params.get("text"))
                for x in c
            ),
            5,
        )
        answered = next(
            x.at for x in calls
            if str(x.params.get("chat_id")) == str(farmer) and "Aphids" not in str(x.params.get("text"))
        )  # fmt: skip
        owed = await service.scalar(
            "SELECT count(*) FROM outbound_messages WHERE kind = 'broadcast' AND status = 'queued'"
        )
        assert answered - asked < 2.0
        assert owed > 100  # the broadcast was still going out
        assert telegram.rate_violations == 0


async def test_quiet_hours_hold_broadcasts_but_not_replies(
    make_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = dt.datetime.now(ZoneInfo("Asia/Kolkata"))
    window = f"{(now - dt.timedelta(hours=1)):%H:%M}-{(now + dt.timedelta(hours=1)):%H:%M}"
    monkeypatch.setenv("BROADCAST_QUIET_HOURS", window)
    async with make_service() as service:
        telegram = service.fakes.telegram
        course_id, _lesson = await new_course(service, ADMIN, "Night course")
        chats = await seed(service, course_id, 5)
        response = await api(
            service, "POST", "/broadcasts", json={"course_id": course_id, "text": "Good morning"}
        )
        assert response.status_code == 202
        for _try in range(50):
            queued = await service.scalar(
                "SELECT count(*) FROM outbound_messages WHERE kind = 'broadcast'"
                " AND status = 'queued'"
            )
            if queued == 5:
                break
            await asyncio.sleep(0.1)
        assert queued == 5
        await service.telegram_says(int(chats[0]), "/help")
        await telegram.wait_for(lambda c: len(c) >= 2)
        await asyncio.sleep(1.0)
        assert not any("Good morning" in str(c.params.get("text")) for c in telegram.calls)
        body = (await api(service, "GET", f"/broadcasts/{response.json()['id']}")).json()
        assert body["counts"]["queued"] == 5


async def test_creation_limits_length_and_cancel(
    make_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROADCAST_PER_HOUR", "2")
    async with make_service() as service:
        teacher = await new_instructor(service, "Limit tester")
        course_id, lesson_id = await new_course(service, teacher.token, "Limits")
        too_long = await api(
            service, "POST", "/broadcasts", teacher.token,
            json={"course_id": course_id, "text": "x" * 1001},
        )  # fmt: skip
        assert too_long.status_code == 422
        assert too_long.json()["detail"][0]["loc"] == ["body", "text"]
        both = await api(
            service, "POST", "/broadcasts", teacher.token,
            json={"course_id": course_id, "text": "hi", "lesson_id": lesson_id},
        )  # fmt: skip
        assert both.status_code == 422
        later = "2099-01-01T00:00:00Z"
        for _n in range(2):
            ok = await api(
                service, "POST", "/broadcasts", teacher.token,
                json={"course_id": course_id, "text": "Field day on Sunday",
                      "send_at": "2026-01-01T00:00:00Z"},
            )  # fmt: skip
            assert ok.status_code == 202, ok.text
        limited = await api(
            service, "POST", "/broadcasts", teacher.token,
            json={"course_id": course_id, "text": "One more"},
        )  # fmt: skip
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0
        far = await api(
            service,
            "POST",
            "/broadcasts",
            json={"course_id": course_id, "text": "x", "send_at": later},
        )
        assert far.status_code == 422 and far.json()["detail"][0]["loc"] == ["body", "send_at"]

        # A scheduled broadcast can be cancelled before it goes.
        in_an_hour = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
        scheduled = await api(
            service, "POST", "/broadcasts",
            json={"course_id": course_id, "text": "Later", "send_at": in_an_hour},
        )  # fmt: skip
        assert scheduled.status_code == 202
        cancelled = await api(service, "POST", f"/broadcasts/{scheduled.json()['id']}/cancel")
        assert cancelled.json()["status"] == "cancelled"
