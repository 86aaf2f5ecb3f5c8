"""The instructor console in a real browser (Debian's Chromium through Playwright),
one journey end to end: sign in by the chat link; make a course with two lessons and
a 3-question quiz and publish it; a farmer on (fake) Telegram enrols and finishes it;
the analytics show them; a broadcast reaches them and its live report says "sent";
their essay is graded and they are told; a second instructor is refused the pages.

`python -m tests.browser.screenshots` runs it too, writing the main pages at 360 px
and 1280 px under docs/console/."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from pydantic import SecretStr

from tests.console_support import ADMIN, chat_sign_in_link, new_instructor
from tests.harness import Fakes, Service, start_service

SHOTS = os.environ.get("KRISHI_CONSOLE_SCREENSHOTS")
WIDTHS = (360, 1280)


@pytest.fixture
async def service(
    fresh_database_url: str, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Service]:
    # The journey runs at any hour: quiet hours would hold the broadcast till morning.
    monkeypatch.setenv("BROADCAST_QUIET_HOURS", "off")
    async with start_service(
        fresh_database_url, fakes, admin_api_token=SecretStr(ADMIN)
    ) as running:
        yield running


async def shoot(page: Page, name: str) -> None:
    """With KRISHI_CONSOLE_SCREENSHOTS set: this page at phone and desktop widths."""
    if not SHOTS:
        return
    folder = Path(SHOTS)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 800})
        await page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    await page.set_viewport_size({"width": 360, "height": 800})


def buttons(call: Any) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup")
    if not markup:
        return []
    return [
        (b["text"], b.get("callback_data") or b.get("url") or "")
        for row in json.loads(markup)["inline_keyboard"]
        for b in row
    ]


async def wait_until(service: Service, sql: str, expected: Any, **params: Any) -> None:
    for _ in range(200):
        if await service.scalar(sql, **params) == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{sql} never became {expected!r}")


async def sign_in(page: Page, link: str) -> None:
    await page.goto(link)
    await page.click("#signin-button")
    await expect(page).to_have_url(re.compile(r"/console/courses$"))


async def add_question(page: Page, kind: str, text: str, **fields: str) -> None:
    form = page.locator("#question-form")
    await form.locator("#q-type").select_option(kind)
    await form.locator("#q-text").fill(text)
    for name, value in fields.items():
        await form.locator(f"#q-{name}").fill(value)
    await form.get_by_role("button").click()
    await expect(page.locator("ul.plain li", has_text=text)).to_be_visible()


async def test_instructor_journey(service: Service, browser: Browser) -> None:
    telegram = service.fakes.telegram
    sunita = await new_instructor(service, "Dr. Sunita Patil")
    context = await browser.new_context(viewport={"width": 360, "height": 800})
    page = await context.new_page()

    # 1. Sign in by the link the bot sent to her own chat.
    await sign_in(page, await chat_sign_in_link(service, sunita.chat))
    await shoot(page, "courses-empty")

    # 2. A course with two lessons and a 3-question quiz, published.
    await page.get_by_role("link", name="New course").click()
    await page.fill("#title", "Drip irrigation for cotton")
    await page.fill("#description", "Save water and grow more cotton with drip lines.")
    await page.select_option("#category", "irrigation")
    await page.select_option("#level", "beginner")
    await page.fill("#thumbnail_emoji", "💧")
    await shoot(page, "course-new")
    await page.get_by_role("button", name="Create course").click()
    await expect(page).to_have_url(re.compile(r"/console/courses/[0-9a-f-]{36}$"))
    course_id = page.url.rsplit("/", 1)[1]
    # The price as farmers will read it, refreshed by htmx as she types.
    await page.fill("#price", "499")
    await page.fill("#discount_percent", "20")
    await expect(page.locator("#farmer-price")).to_contain_text("₹399 instead of ₹499")
    await page.fill("#price", "0")
    await page.fill("#discount_percent", "0")
    await expect(page.locator("#farmer-price")).to_contain_text("Free")

    await page.get_by_role("link", name="Add a lesson").click()
    await page.fill("#title", "Why drip")
    await page.select_option("#content_type", "text")
    await page.fill("#description", "Drip puts water at the roots, where the plant drinks.")
    await page.get_by_role("button", name="Save").click()
    await page.get_by_role("link", name="Add a lesson").click()
    await page.fill("#title", "Check yourself")
    await page.select_option("#content_type", "quiz")
    await page.get_by_role("button", name="Save").click()
    # A quiz lesson opens its quiz's editor.
    await expect(page).to_have_url(re.compile(r"/console/quizzes/[0-9a-f-]{36}$"))
    await add_question(
        page, "multiple_choice", "Where does drip put the water?",
        options="At the roots\nOn the leaves\nBetween the rows", correct="1",
        explanation="The roots drink; wet leaves invite fungus.",
    )  # fmt: skip
    await add_question(page, "true_false", "Drip saves water.", correct="true")
    await add_question(page, "essay", "How would you lay drip lines on your field?", points="5")
    await page.fill("#z-pass", "60")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator("#z-pass")).to_have_value("60")
    await shoot(page, "quiz")
    # The preview renders each question through the channels' own code.
    await page.get_by_role("link", name="Preview as farmers see it").click()
    await expect(page.locator(".bubble.wa").first).to_contain_text("Question 1 of 3")
    await expect(page.locator(".bubble.wa").first).to_contain_text("1. At the roots")
    await expect(page.locator(".tg-button").first).to_have_text("At the roots")
    await shoot(page, "quiz-preview")

    await page.goto(f"{service.url}/console/courses/{course_id}")
    await page.click("#publish")
    await expect(page.locator(".badge.published")).to_be_visible()
    await shoot(page, "course")
    assert await service.scalar("SELECT lessons FROM courses WHERE id = :c", c=course_id) == 2

    # 3. A farmer on Telegram enrols and finishes it.
    lessons = [
        row.id
        for row in await service.rows(
            "SELECT id FROM course_lessons WHERE course_id = :c ORDER BY order_index", c=course_id
        )
    ]
    quiz_id = await service.scalar("SELECT id FROM quizzes WHERE course_id = :c", c=course_id)
    farmer = service.new_chat_id()
    await service.telegram_says(farmer, "/start")
    await service.telegram_taps(farmer, "lang:en")
    await service.telegram_taps(farmer, f"enroll:{course_id}")
    await service.telegram_taps(farmer, f"next:{lessons[0]}")
    await service.telegram_taps(farmer, f"next:{lessons[1]}")
    await telegram.wait_for(
        lambda _c: any(p == f"qstart:{quiz_id}" for _t, p in buttons(telegram.sent_to(farmer)[-1]))
    )
    await service.telegram_taps(farmer, f"qstart:{quiz_id}")
    for right in ("At the roots", "True"):
        await telegram.wait_for(
            lambda _c, r=right: any(t == r for t, _p in buttons(telegram.sent_to(farmer)[-1]))
        )
        tap = next(p for t, p in buttons(telegram.sent_to(farmer)[-1]) if t == right)
        await service.telegram_taps(farmer, tap)
    await telegram.wait_for(lambda _c: "drip lines on your field" in telegram.texts_to(farmer)[-1])
    await service.telegram_says(farmer, "Along each row of cotton, one dripper per plant.")
    await wait_until(
        service, "SELECT status FROM course_enrollments WHERE course_id = :c", "completed",
        c=course_id,
    )  # fmt: skip

    # 4. The analytics show them.
    await page.goto(f"{service.url}/console/courses/{course_id}/analytics")
    await expect(page.locator("#enrolled")).to_have_text("1")
    await expect(page.locator("#completed")).to_have_text("1")
    await expect(page.locator("#chart-funnel svg")).to_contain_text("Why drip")
    await expect(page.locator("#chart-questions svg")).to_contain_text("100%")
    await expect(page.locator("#chart-channels svg")).to_contain_text("Telegram")
    await shoot(page, "analytics")
    csv = await page.request.get(f"{service.url}/console/courses/{course_id}/analytics/funnel.csv")
    assert csv.ok and "Why drip" in await csv.text()

    # 5. A broadcast goes to them; the live report reaches "sent" by itself.
    await page.get_by_role("link", name="Broadcasts").click()
    await page.select_option("#b-course", course_id)
    await page.wait_for_url(re.compile(r"course="))
    notice = "Rain tomorrow: do not irrigate tonight."
    await page.fill("#b-text", notice)
    await page.get_by_role("button", name="Preview and confirm").click()
    await expect(page.locator("#audience")).to_contain_text("1 farmer")
    # The preview is what the fan-out will send: the course's header, then her words.
    await expect(page.locator(".bubble.tg")).to_contain_text("From your course")
    await expect(page.locator(".bubble.tg")).to_contain_text(notice)
    await shoot(page, "broadcast-confirm")
    await page.click("#send-broadcast")
    await expect(page.locator("#count-sent")).to_have_text("1", timeout=20_000)
    await expect(page.locator("#report-state")).to_have_text("Finished.")
    await shoot(page, "broadcast-report")
    assert any(notice in text for text in telegram.texts_to(farmer))

    # 6. The essay is graded; the farmer is told.
    await page.get_by_role("link", name="Grading").click()
    essay = page.locator(".essay", has_text="drip lines on your field")
    await expect(essay).to_contain_text("one dripper per plant")
    await shoot(page, "grading")
    await essay.locator("input[name=points]").fill("4")
    await essay.locator("textarea[name=feedback]").fill("Good: mind the slope too.")
    await essay.get_by_role("button", name="Save the grade").click()
    await expect(page.get_by_role("status")).to_contain_text("The farmer has been told")
    await telegram.wait_for(lambda _c: "4 of 5 points" in telegram.texts_to(farmer)[-1])
    assert "mind the slope" in telegram.texts_to(farmer)[-1]

    await page.goto(f"{service.url}/console/courses")
    await expect(page.locator(".course-line")).to_contain_text("100%")
    await shoot(page, "courses")
    # The same page in Hindi, from the language links in the header.
    await page.get_by_role("link", name="हिन्दी").click()
    await expect(page.locator("h1")).to_have_text("मेरे कोर्स")
    await shoot(page, "courses-hi")
    await page.get_by_role("link", name="English").click()
    await expect(page.locator("h1")).to_have_text("My courses")

    # 7. A second instructor is refused the first one's pages.
    ravi = await new_instructor(service, "Ravi Jadhav")
    other = await browser.new_context(viewport={"width": 360, "height": 800})
    second = await other.new_page()
    await sign_in(second, await chat_sign_in_link(service, ravi.chat))
    for path in (
        f"/console/courses/{course_id}",
        f"/console/courses/{course_id}/analytics",
        f"/console/quizzes/{quiz_id}",
    ):
        response = await second.goto(service.url + path)
        assert response is not None and response.status == 403, path
        await expect(second.locator("h1")).to_have_text("This page is not yours")
    await shoot(second, "refused")
    await expect(second.locator("body")).not_to_contain_text("Drip irrigation for cotton")
    with contextlib.suppress(Exception):
        await other.close()

    # The admin's page, for the screenshots and to see it render in a browser.
    admin = await browser.new_context(viewport={"width": 360, "height": 800})
    admin_page = await admin.new_page()
    await admin_page.goto(f"{service.url}/console/signin")
    await shoot(admin_page, "signin")
    await admin_page.fill("#token", ADMIN)
    await admin_page.get_by_role("button", name="Sign in").click()
    await admin_page.get_by_role("link", name="Admin").click()
    await expect(admin_page.locator("body")).to_contain_text("Dr. Sunita Patil")
    await shoot(admin_page, "admin")
    await context.close()
    await admin.close()
