"""The instructor console over HTTP: sign-in by chat link and by token, the cookie's
flags, CSRF, sign-out and expiry, and the API's ownership rules on every page."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr

from tests.console_support import (
    ADMIN,
    chat_sign_in_link,
    csrf_of,
    new_instructor,
    sign_in_by_link,
)
from tests.harness import Fakes, Service, start_service

ServiceFactory = Callable[..., contextlib.AbstractAsyncContextManager[Service]]


@pytest.fixture
def make_service(fresh_database_url: str, fakes: Fakes) -> ServiceFactory:
    @contextlib.asynccontextmanager
    async def started(**overrides: Any) -> AsyncIterator[Service]:
        settings = {"admin_api_token": SecretStr(ADMIN), **overrides}
        async with start_service(fresh_database_url, fakes, **settings) as service:
            yield service

    return started


def browser(service: Service) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=service.url, timeout=30)


async def create_course(client: httpx.AsyncClient, title: str) -> str:
    page = await client.get("/console/courses/new")
    assert page.status_code == 200, page.text
    made = await client.post(
        "/console/courses/new",
        data={"csrf": csrf_of(page.text), "title": title, "description": "Drip lines for cotton",
              "category": "irrigation", "level": "beginner", "language": "Hindi",
              "price": "499", "discount_percent": "20"},
    )  # fmt: skip
    assert made.status_code == 303, made.text
    found = re.fullmatch(r"/console/courses/([0-9a-f-]{36})", made.headers["location"])
    assert found, made.headers["location"]
    return found.group(1)


async def test_chat_link_signs_in_once_with_a_safe_cookie(make_service: ServiceFactory) -> None:
    async with make_service() as service, browser(service) as client:
        teacher = await new_instructor(service, "Dr. Sunita Patil")
        link = await chat_sign_in_link(service, teacher.chat)
        assert link.startswith(service.settings.public_base_url + "/console/signin/")

        # Not signed in: the console sends the browser to the sign-in page.
        assert (await client.get("/console/courses")).headers["location"] == "/console/signin"

        # Opening the link (or a chat app's preview of it) does not spend it.
        assert (await client.get(link)).status_code == 200
        # A POST without the form's CSRF token is refused and spends nothing.
        assert (await client.post(link, data={"csrf": "forged"})).status_code == 403
        signed = await sign_in_by_link(client, link)
        assert signed.status_code == 303, signed.text
        cookie = next(
            h for h in signed.headers.get_list("set-cookie") if h.startswith("krishi_console=")
        )
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
        assert "Secure" not in cookie  # http://127.0.0.1: a Secure cookie would never return

        courses = await client.get("/console/courses")
        assert courses.status_code == 200
        assert "Sign out" in courses.text

        # Used once: a second browser gets "expired or used".
        async with browser(service) as other:
            assert (await other.get(link)).status_code == 410
            page = await other.get("/console/signin")
            again = await other.post(link, data={"csrf": csrf_of(page.text)})
            assert again.status_code == 410

        # Sign out ends the session for every copy of the cookie.
        copied = client.cookies.get("krishi_console")
        out = await client.post("/console/signout", data={"csrf": csrf_of(courses.text)})
        assert out.status_code == 303
        async with browser(service) as thief:
            thief.cookies.set("krishi_console", copied or "", path="/console")
            assert (await thief.get("/console/courses")).status_code == 303


async def test_expired_link_and_expired_session(make_service: ServiceFactory) -> None:
    async with make_service() as service, browser(service) as client:
        teacher = await new_instructor(service, "Ravi")
        link = await chat_sign_in_link(service, teacher.chat)
        await service.execute("UPDATE console_sign_in_links SET expires_at = now() - interval '1s'")
        assert (await client.get(link)).status_code == 410

        fresh = await chat_sign_in_link(service, teacher.chat)
        assert (await sign_in_by_link(client, fresh)).status_code == 303
        assert (await client.get("/console/courses")).status_code == 200
        await service.execute("UPDATE console_sessions SET expires_at = now() - interval '1s'")
        assert (await client.get("/console/courses")).headers["location"] == "/console/signin"


async def test_farmers_are_told_the_console_is_for_instructors(
    make_service: ServiceFactory,
) -> None:
    async with make_service() as service:
        telegram = service.fakes.telegram
        chat = await service.agreed_chat()
        before = len(telegram.sent_to(chat))
        await service.telegram_says(chat, "/console")
        await telegram.wait_for(lambda _c: len(telegram.sent_to(chat)) > before)
        assert "for instructors" in telegram.texts_to(chat)[-1]
        assert "/console/signin/" not in telegram.texts_to(chat)[-1]
        assert await service.scalar("SELECT count(*) FROM console_sign_in_links") == 0


async def test_tokens_sign_in_and_ownership_is_the_apis(make_service: ServiceFactory) -> None:
    async with (
        make_service() as service,
        browser(service) as first,
        browser(service) as second,
        browser(service) as admin,
    ):
        sunita = await new_instructor(service, "Sunita")
        ravi = await new_instructor(service, "Ravi")
        for client, token in ((first, sunita.token), (second, ravi.token), (admin, ADMIN)):
            page = await client.get("/console/signin")
            signed = await client.post(
                "/console/signin", data={"csrf": csrf_of(page.text), "token": token}
            )
            assert signed.status_code == 303, signed.text
        page = await first.get("/console/signin")
        assert page.status_code == 303  # signed in already

        async with browser(service) as stranger:
            page = await stranger.get("/console/signin")
            wrong = await stranger.post(
                "/console/signin", data={"csrf": csrf_of(page.text), "token": "kli_wrong"}
            )
            assert wrong.status_code == 401
            assert "not valid" in wrong.text

        course_id = await create_course(first, "Drip irrigation for cotton")
        course = await first.get(f"/console/courses/{course_id}")
        assert course.status_code == 200
        # The price as the farmer will read it: ₹499 less 20%, in Indian format.
        assert "₹399 instead of ₹499" in course.text

        # Ravi is refused Sunita's pages and writes, exactly as the API refuses him.
        for path in (
            f"/console/courses/{course_id}",
            f"/console/courses/{course_id}/analytics",
            f"/console/courses/{course_id}/lessons/new",
            f"/console/broadcasts?course={course_id}",
        ):
            refused = await second.get(path)
            assert refused.status_code == 403, path
            assert "not yours" in refused.text
        mine = await second.get("/console/courses")
        csrf = csrf_of(mine.text)
        publish = await second.post(f"/console/courses/{course_id}/publish", data={"csrf": csrf})
        assert publish.status_code == 403
        assert "Drip irrigation for cotton" not in mine.text
        assert await service.scalar(
            "SELECT is_published FROM courses WHERE id = :c", c=course_id
        ) is False  # fmt: skip
        api = await service.http.get(
            f"/api/v1/courses/{course_id}", headers={"Authorization": f"Bearer {ravi.token}"}
        )
        assert api.status_code == 403

        # The admin sees it, and the admin page; instructors do not get the admin page.
        assert (await admin.get(f"/console/courses/{course_id}")).status_code == 200
        assert (await admin.get("/console/admin")).status_code == 200
        assert (await first.get("/console/admin")).status_code == 403


async def test_forms_need_csrf_and_show_the_apis_errors(make_service: ServiceFactory) -> None:
    async with make_service() as service, browser(service) as client:
        teacher = await new_instructor(service, "Asha")
        assert (
            await sign_in_by_link(client, await chat_sign_in_link(service, teacher.chat))
        ).status_code == 303
        course_id = await create_course(client, "Soil testing")
        page = await client.get(f"/console/courses/{course_id}/lessons/new")
        csrf = csrf_of(page.text)

        no_csrf = await client.post(
            f"/console/courses/{course_id}/lessons/new",
            data={"title": "Sampling", "content_type": "text", "description": "Dig 15 cm."},
        )
        assert no_csrf.status_code == 403
        # The API's own rule: a video lesson needs its link. Nothing is written.
        video = await client.post(
            f"/console/courses/{course_id}/lessons/new",
            data={"csrf": csrf, "title": "Watch", "content_type": "video"},
        )
        assert video.status_code == 422
        assert "a video lesson needs content_url" in video.text
        assert await service.scalar("SELECT count(*) FROM course_lessons") == 0

        for title in ("Sampling", "Reading the report"):
            made = await client.post(
                f"/console/courses/{course_id}/lessons/new",
                data={"csrf": csrf, "title": title, "content_type": "text", "description": "..."},
            )
            assert made.status_code == 303, made.text
        course = await client.get(f"/console/courses/{course_id}")
        assert course.text.index("Sampling") < course.text.index("Reading the report")
        second = re.findall(r"/console/lessons/([0-9a-f-]{36})/move", course.text)[-1]
        moved = await client.post(
            f"/console/lessons/{second}/move", data={"csrf": csrf, "direction": "up"}
        )
        assert moved.status_code == 303
        course = await client.get(f"/console/courses/{course_id}")
        assert course.text.index("Reading the report") < course.text.index("Sampling")

        # A published course shows as such; unpublish and archive too.
        for action, published, archived in (
            ("publish", True, False), ("unpublish", False, False), ("archive", False, True),
        ):  # fmt: skip
            done = await client.post(f"/console/courses/{course_id}/{action}", data={"csrf": csrf})
            assert done.status_code == 303
            row = (await service.rows(
                "SELECT is_published, is_archived FROM courses WHERE id = :c", c=course_id
            ))[0]  # fmt: skip
            assert (row.is_published, row.is_archived) == (published, archived), action


async def test_console_speaks_hindi(make_service: ServiceFactory) -> None:
    async with make_service() as service, browser(service) as client:
        page = await client.get("/console/signin?lang=hi")
        assert page.status_code == 200
        assert 'lang="hi"' in page.text
        assert "Sign in to the instructor console" not in page.text


async def test_cookie_is_secure_behind_https(make_service: ServiceFactory) -> None:
    async with make_service() as service, browser(service) as client:
        page = await client.get("/console/signin")
        service.settings.public_base_url = "https://learn.example.in"
        signed = await client.post(
            "/console/signin", data={"csrf": csrf_of(page.text), "token": ADMIN}
        )
        assert signed.status_code == 303
        cookie = next(
            h for h in signed.headers.get_list("set-cookie") if h.startswith("krishi_console=")
        )
        assert "Secure" in cookie


async def test_htmx_is_served_locally(make_service: ServiceFactory) -> None:
    async with make_service() as service:
        js = await service.http.get("/console/static/htmx.min.js")
        assert js.status_code == 200 and "htmx" in js.text[:200]
        page = await service.http.get("/console/signin")
        assert '<script src="/console/static/htmx.min.js"' in page.text
        assert "unpkg" not in page.text and "cdn" not in page.text.lower()
        assert (await service.http.get("/console/static/..%2Fauth.py")).status_code == 404


async def admin_browser(service: Service) -> httpx.AsyncClient:
    client = browser(service)
    page = await client.get("/console/signin")
    signed = await client.post("/console/signin", data={"csrf": csrf_of(page.text), "token": ADMIN})
    assert signed.status_code == 303
    return client


async def held_purchase(service: Service, chat: int, course_id: str) -> str:
    """A farmer's purchase a gateway held for review (paid the wrong amount)."""
    user_id = await service.scalar(
        "SELECT user_id FROM channel_identities WHERE external_id = :e", e=str(chat)
    )
    purchase_id = str(uuid.uuid4())
    await service.execute(
        "INSERT INTO course_purchases (id, user_id, course_id, amount, final_amount, currency,"
        " payment_status) VALUES (:p, :u, :c, 499, 499, 'INR', 'pending')",
        p=purchase_id, u=user_id, c=course_id,
    )  # fmt: skip
    await service.execute(
        "INSERT INTO payment_links (purchase_id, provider, review_reason)"
        " VALUES (:p, 'upi', 'paid 40000 INR, expected 49900 INR')",
        p=purchase_id,
    )
    return str(purchase_id)


async def test_admin_console(make_service: ServiceFactory) -> None:
    async with make_service() as service:
        admin = await admin_browser(service)
        telegram = service.fakes.telegram
        try:
            page = await admin.get("/console/admin")
            csrf = csrf_of(page.text)
            made = await admin.post(
                "/console/admin/instructors",
                data={"csrf": csrf, "display_name": "Meena Kulkarni", "language": "mr"},
            )
            assert made.status_code == 200
            token = re.search(r"(kli_[\w-]+)", made.text)
            assert token and "/start invite-" in made.text
            assert await service.scalar(
                "SELECT preferred_language FROM users WHERE display_name = 'Meena Kulkarni'"
            ) == "mr"  # fmt: skip

            # Her token signs her in; her page speaks Marathi, her language of choice.
            async with browser(service) as meena:
                page = await meena.get("/console/signin")
                signed = await meena.post(
                    "/console/signin", data={"csrf": csrf_of(page.text), "token": token.group(1)}
                )
                assert signed.status_code == 303
                course_id = await create_course(meena, "Soybean sowing")
                await meena.get(
                    "/console/language/mr", headers={"referer": "https://evil.example/console"}
                )
                courses = await meena.get("/console/courses")
                assert "माझे कोर्स" in courses.text

            # Two farmers' purchases held for review: one confirmed, one refunded.
            first, second = service.new_chat_id(), service.new_chat_id()
            for chat in (first, second):
                await service.telegram_says(chat, "/start")
                await telegram.wait_for(lambda _c, c=chat: telegram.sent_to(c))
            confirm = await held_purchase(service, first, course_id)
            refund = await held_purchase(service, second, course_id)
            page = await admin.get("/console/admin")
            assert page.text.count("expected 49900 INR") == 2
            assert "Telegram" in page.text  # channel health

            done = await admin.post(
                f"/console/admin/purchases/{confirm}/confirm",
                data={"csrf": csrf, "payment_ref": "UTR123456"},
            )
            assert done.status_code == 303
            done = await admin.post(
                f"/console/admin/purchases/{refund}/refund", data={"csrf": csrf}
            )
            assert done.status_code == 303
            states = dict(
                (str(r.id), r.payment_status)
                for r in await service.rows("SELECT id, payment_status FROM course_purchases")
            )
            assert states == {confirm: "success", refund: "refunded"}
            assert await service.scalar(
                "SELECT count(*) FROM course_enrollments WHERE course_id = :c", c=course_id
            ) == 1  # fmt: skip
            page = await admin.get("/console/admin")
            assert "expected 49900 INR" not in page.text
            revenue = await admin.get("/console/analytics")
            assert "Soybean sowing" in revenue.text and "₹499" in revenue.text
            csv = await admin.get("/console/analytics/revenue.csv")
            assert "Soybean sowing,INR,499.00,1" in csv.text
            actions = [r.action for r in await service.rows("SELECT action FROM audit_log")]
            assert "purchase.confirm" in actions and "purchase.refund" in actions
            await telegram.wait_for(lambda _c: len(telegram.sent_to(first)) >= 2)
        finally:
            await admin.aclose()


async def test_bad_input_is_a_form_error_not_a_500(make_service: ServiceFactory) -> None:
    async with make_service() as service, browser(service) as client:
        teacher = await new_instructor(service, "Kiran")
        await sign_in_by_link(client, await chat_sign_in_link(service, teacher.chat))
        course_id = await create_course(client, "Onion storage")
        page = await client.get(f"/console/courses/{course_id}")
        csrf = csrf_of(page.text)
        bad = await client.post(
            f"/console/courses/{course_id}",
            data={"csrf": csrf, "title": "Onion storage", "description": "x",
                  "category": "irrigation", "level": "beginner", "price": "abc",
                  "discount_percent": "150"},
        )  # fmt: skip
        assert bad.status_code == 422
        assert "price" in bad.text and "discount_percent" in bad.text
        preview = await client.post(
            f"/console/courses/{course_id}/price-preview",
            data={"csrf": csrf, "price": "abc"},
        )
        assert preview.status_code == 200 and "—" in preview.text
        for path in ("/console/courses/not-a-uuid", f"/console/quizzes/{course_id}"):
            answer = await client.get(path)
            assert answer.status_code in (404, 422), (path, answer.status_code)
        quiz_less = await client.post(
            f"/console/courses/{course_id}/quizzes/new", data={"csrf": csrf, "title": ""}
        )
        assert quiz_less.status_code == 422
        question = await client.post(
            f"/console/quizzes/{course_id}/questions/new",
            data={"csrf": csrf, "type": "multiple_choice", "text": "?", "options": "a\nb"},
        )
        assert question.status_code in (404, 422)
        broadcast = await client.post(
            "/console/broadcasts/preview", data={"csrf": csrf, "course_id": course_id, "text": ""}
        )
        assert broadcast.status_code == 422
        grade = await client.post(
            f"/console/grading/{course_id}", data={"csrf": csrf, "points": "x"}
        )
        assert grade.status_code == 422


async def test_grading_over_the_api_tells_the_farmer(make_service: ServiceFactory) -> None:
    """The API and the console grade through one service: both tell the farmer."""
    async with make_service() as service:
        telegram = service.fakes.telegram
        teacher = await new_instructor(service, "Asha")
        headers = {"Authorization": f"Bearer {teacher.token}"}
        course = await service.http.post(
            "/api/v1/courses", headers=headers,
            json={"title": "Farm ponds", "description": "d", "category": "irrigation",
                  "level": "beginner"},
        )  # fmt: skip
        course_id = course.json()["id"]
        lesson = await service.http.post(
            "/api/v1/lessons", headers=headers,
            json={"course_id": course_id, "title": "Pond check", "content_type": "quiz"},
        )  # fmt: skip
        quiz = await service.http.post(
            "/api/v1/quizzes", headers=headers,
            json={"course_id": course_id, "lesson_id": lesson.json()["id"], "title": "Ponds"},
        )  # fmt: skip
        quiz_id = quiz.json()["id"]
        await service.http.post(
            "/api/v1/questions", headers=headers,
            json={"quiz_id": quiz_id, "type": "essay", "text": "Where would you dig?", "points": 4},
        )  # fmt: skip
        await service.http.post(f"/api/v1/courses/{course_id}/publish", headers=headers)
        farmer = service.new_chat_id()
        await service.telegram_says(farmer, "/start")
        await service.telegram_taps(farmer, "lang:hi")
        await service.telegram_taps(farmer, f"enroll:{course_id}")
        await service.telegram_taps(farmer, f"qstart:{quiz_id}")
        await telegram.wait_for(lambda _c: "Where would you dig?" in telegram.texts_to(farmer)[-1])
        await service.telegram_says(farmer, "At the lowest corner of the field.")
        essays = None
        for _ in range(100):
            essays = (await service.http.get("/api/v1/grading/essays", headers=headers)).json()
            if essays:
                break
        assert essays
        graded = await service.http.post(
            f"/api/v1/grading/essays/{essays[0]['answer_id']}", headers=headers,
            json={"points": 3, "feedback": "Check the soil holds water."},
        )  # fmt: skip
        assert graded.status_code == 200, graded.text
        await telegram.wait_for(
            lambda _c: "Check the soil holds water." in telegram.texts_to(farmer)[-1]
        )
        told = telegram.texts_to(farmer)[-1]
        assert "4 में से 3 अंक" in told  # in the farmer's language


async def test_broadcast_can_be_scheduled(
    make_service: ServiceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROADCAST_QUIET_HOURS", "off")
    async with make_service() as service, browser(service) as client:
        teacher = await new_instructor(service, "Vandana")
        await sign_in_by_link(client, await chat_sign_in_link(service, teacher.chat))
        course_id = await create_course(client, "Mulching")
        page = await client.get(f"/console/broadcasts?course={course_id}")
        csrf = csrf_of(page.text)
        form = {"csrf": csrf, "course_id": course_id, "text": "Mulch before the rains.",
                "send_at": "2030-06-01T07:30"}  # fmt: skip
        confirm = await client.post("/console/broadcasts/preview", data=form)
        assert confirm.status_code == 200, confirm.text
        assert "Scheduled for" in confirm.text and "07:30" in confirm.text
        assert "From your course" in confirm.text
        sent = await client.post("/console/broadcasts/send", data=form)
        assert sent.status_code == 422  # more than 30 days ahead: the API's own rule
        form["send_at"] = (
            dt.datetime.now(ZoneInfo("Asia/Kolkata")) + dt.timedelta(days=2)
        ).strftime("%Y-%m-%dT%H:%M")
        sent = await client.post("/console/broadcasts/send", data=form)
        assert sent.status_code == 303, sent.text
        starts = await service.scalar("SELECT send_at FROM broadcasts")
        local = starts.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%dT%H:%M")
        assert local == form["send_at"]


async def test_whatsapp_instructor_gets_the_link_too(make_service: ServiceFactory) -> None:
    async with make_service() as service, browser(service) as client:
        made = await service.http.post(
            "/api/v1/instructors",
            json={"display_name": "Sunil", "language": "hi"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        payload = made.json()["invite"]["start_payload"]
        twilio = service.fakes.twilio
        number = "+919812345678"
        await service.whatsapp_says(number, f"start {payload}")
        await twilio.wait_for(lambda _c: twilio.sent_to(number))
        before = len(twilio.sent_to(number))
        await service.whatsapp_says(number, "console")  # the slash is optional on WhatsApp
        await twilio.wait_for(lambda _c: len(twilio.sent_to(number)) > before)
        text = twilio.texts_to(number)[-1]
        assert "sign-in link" in text
        link = re.search(r"(http\S+/console/signin/[\w-]+)", text)
        assert link, text
        assert (await sign_in_by_link(client, link.group(1))).status_code == 303
        courses = await client.get("/console/courses")
        assert "My courses" in courses.text  # the language his chat chose with the invite


async def test_every_question_type_and_quiz_settings(make_service: ServiceFactory) -> None:
    async with make_service() as service, browser(service) as client:
        teacher = await new_instructor(service, "Prakash")
        await sign_in_by_link(client, await chat_sign_in_link(service, teacher.chat))
        course_id = await create_course(client, "Fertiliser doses")
        page = await client.get(f"/console/courses/{course_id}")
        csrf = csrf_of(page.text)
        made = await client.post(
            f"/console/courses/{course_id}/quizzes/new", data={"csrf": csrf, "title": "Doses"}
        )
        assert made.status_code == 303
        quiz = made.headers["location"]
        questions = [
            {"type": "multiple_choice", "text": "Best time for urea?",
             "options": "Before rain\nAfter irrigation\nAt noon", "correct": "2", "points": "2",
             "explanation": "Moist soil holds it."},
            {"type": "true_false", "text": "DAP is a phosphate fertiliser.", "correct": "true"},
            {"type": "short_answer", "text": "Urea per acre for wheat, first dose?",
             "options": "50 kg\nfifty kg"},
            {"type": "essay", "text": "Describe your last season's fertiliser plan.",
             "points": "5"},
        ]  # fmt: skip
        for question in questions:
            added = await client.post(f"{quiz}/questions/new", data={"csrf": csrf, **question})
            assert added.status_code == 303, added.text
        # A multiple choice question without a correct option: the API's rule, shown.
        wrong = await client.post(
            f"{quiz}/questions/new",
            data={"csrf": csrf, "type": "multiple_choice", "text": "?", "options": "a\nb"},
        )
        assert wrong.status_code == 422 and "exactly one correct option" in wrong.text

        rows = await service.rows(
            "SELECT question_type, options, points, explanation FROM quiz_questions"
            " ORDER BY order_index"
        )
        assert [r.question_type for r in rows] == [
            "multiple_choice", "true_false", "short_answer", "essay",
        ]  # fmt: skip
        assert [o["is_correct"] for o in rows[0].options] == [False, True, False]
        assert (rows[0].points, rows[0].explanation) == (2, "Moist soil holds it.")
        assert [o["text"] for o in rows[2].options if o["is_correct"]] == ["50 kg", "fifty kg"]
        assert rows[3].points == 5

        # The editor shows a question as it was saved, and saves a change.
        listing = await client.get(quiz)
        first = re.search(r"/console/questions/([0-9a-f-]{36})", listing.text)
        assert first
        editor = await client.get(f"/console/questions/{first.group(1)}")
        assert "After irrigation" in editor.text and 'value="2"' in editor.text
        changed = await client.post(
            f"/console/questions/{first.group(1)}",
            data={"csrf": csrf, **questions[0], "correct": "1"},
        )
        assert changed.status_code == 303
        options = await service.scalar(
            "SELECT options FROM quiz_questions WHERE id = :q", q=first.group(1)
        )
        assert [o["is_correct"] for o in options] == [True, False, False]

        saved = await client.post(
            quiz,
            data={"csrf": csrf, "title": "Doses", "passing_score": "80",
                  "time_limit_minutes": "15", "shuffle_questions": "on"},
        )  # fmt: skip
        assert saved.status_code == 303
        settings = (await service.rows(
            "SELECT passing_score, time_limit_minutes, shuffle_questions, show_correct_answer,"
            " is_required FROM quizzes"
        ))[0]  # fmt: skip
        assert tuple(settings) == (80, 15, True, False, False)
        preview = await client.get(f"{quiz}/preview")
        assert "1. Before rain" in preview.text and "Question 4 of 4" in preview.text
