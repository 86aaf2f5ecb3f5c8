"""Forged button payloads (issue 15): every prefix the router knows, tapped over HTTP
with the ids of a paid course the farmer has not bought and of unpublished content.

Telegram lets any client send any callback data, so a payload is a claim, not a
permission. Each tap must get a kind answer, show none of the locked content and
write none of the rows that opening or taking it would write.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from bot.content import read_catalogue, stable_id
from bot.content.load import load_catalogue
from db.engine import make_sessionmaker
from handlers.router import BUTTONS
from tests.harness import Service

LOCKED = Path(__file__).resolve().parent.parent / "data" / "locked.yaml"
PAID = stable_id("course", "locked-paid")
PAID_LESSON = stable_id("lesson", "locked-paid-1")
PAID_QUIZ = stable_id("quiz", "locked-paid-quiz")
HIDDEN = stable_id("course", "locked-hidden")
HIDDEN_LESSON = stable_id("lesson", "locked-hidden-1")
HIDDEN_QUIZ = stable_id("quiz", "locked-hidden-quiz")
ARTICLE = stable_id("article", "locked-article")
VIDEO = stable_id("video", "locked-video")
ROADMAP = stable_id("roadmap", "locked-roadmap")

# What opening, taking or buying content writes; none of it may change.
COUNTED = {
    "enrolments": "SELECT count(*) FROM course_enrollments",
    "lesson progress": "SELECT count(*) FROM lesson_progress",
    "quiz attempts": "SELECT count(*) FROM quiz_attempts",
    "attempt progress": "SELECT count(*) FROM quiz_attempt_progress",
    "quiz answers": "SELECT count(*) FROM quiz_answers",
    "purchases": "SELECT count(*) FROM course_purchases",
    "likes": "SELECT count(*) FROM content_likes",
    "roadmap follows": "SELECT count(*) FROM user_roadmap_progress",
    "broadcasts": "SELECT count(*) FROM broadcasts",
    "points": "SELECT count(*) FROM points_ledger",
    "views": "SELECT (SELECT coalesce(sum(view_count), 0) FROM courses WHERE NOT is_published)"
    " + (SELECT coalesce(sum(view_count), 0) FROM articles WHERE NOT is_published)"
    " + (SELECT coalesce(sum(view_count), 0) FROM videos WHERE NOT is_published)"
    " + (SELECT coalesce(sum(view_count), 0) FROM learning_roadmaps WHERE NOT is_published)",
}


def forged_payloads(victim_attempt: str) -> dict[str, list[str]]:
    """Hostile payloads per prefix. Prefixes that carry no content id get junk."""
    return {
        # quizzes
        "quiz": [f"quiz:{PAID_QUIZ}", f"quiz:{HIDDEN_QUIZ}"],
        "quizlist": [f"quizlist:{PAID}", f"quizlist:{HIDDEN}"],
        "qstart": [f"qstart:{PAID_QUIZ}", f"qstart:{HIDDEN_QUIZ}"],
        "qresume": [f"qresume:{victim_attempt}"],
        "qa": [f"qa:{victim_attempt}:0:0", f"qa:{victim_attempt}:0:1"],
        # lessons and courses
        "lesson": [f"lesson:{PAID_LESSON}", f"lesson:{HIDDEN_LESSON}"],
        "next": [f"next:{PAID_LESSON}", f"next:{HIDDEN_LESSON}"],
        "continue": [f"continue:{PAID}", f"continue:{HIDDEN}"],
        "course": [f"course:{HIDDEN}"],
        "enroll": [f"enroll:{PAID}", f"enroll:{HIDDEN}"],
        "buy": [f"buy:{HIDDEN}"],
        "buylist": ["buylist:o"],
        "cat": ["cat:soil-health", "cat:soil-health:beginner:0"],
        # library
        "acat": ["acat:soil-health"],
        "vcat": ["vcat:soil-health"],
        "article": [f"article:{ARTICLE}"],
        "video": [f"video:{VIDEO}"],
        "like": [f"like:a:{ARTICLE}", f"like:v:{VIDEO}"],
        # roadmaps
        "roadmap": [f"roadmap:{ROADMAP}"],
        "follow": [f"follow:{ROADMAP}"],
        "roadmaps": ["roadmaps:o"],
        # a Yes to an erasure nobody asked for erases nothing
        "erase": ["erase:yes"],
        # instructors only
        "bcc": [f"bcc:{PAID}", f"bcc:{HIDDEN}"],
        "bcl": [f"bcl:{PAID_LESSON}"],
        "bcs": ["bcs"],
        "bcx": ["bcx"],
        "bcstat": ["bcstat"],
        # no content behind them
        "search": ["search:more"],
        "lang": ["lang:xx"],
        "help": ["help:x"],
        "menu": ["menu:x"],
        "lbname": ["lbname:everyone"],
        "cmd": ["cmd:quiz", "cmd:lesson", "cmd:nope"],
    }


def buttons(call: Any) -> list[str]:
    markup = call.params.get("reply_markup")
    if not markup:
        return []
    return [
        b.get("callback_data") or b.get("url") or ""
        for row in json.loads(markup)["inline_keyboard"]
        for b in row
    ]


async def counts(service: Service) -> dict[str, int]:
    return {name: int(await service.scalar(sql)) for name, sql in COUNTED.items()}


async def tap_and_wait(service: Service, chat: int, payload: str) -> list[Any]:
    """Tap, then wait for the whole answer (the webhook may answer before the turn ran)."""
    telegram = service.fakes.telegram
    before = len(telegram.sent_to(chat))
    await service.telegram_taps(chat, payload)
    await telegram.wait_for(lambda _calls: len(telegram.sent_to(chat)) > before)
    for _ in range(100):
        pending = await service.scalar(
            "SELECT count(*) FROM outbound_messages o"
            " JOIN channel_identities ci ON ci.id = o.identity_id"
            " WHERE ci.external_id = :e AND o.status IN ('queued', 'sending')",
            e=str(chat),
        )
        if pending == 0:
            break
        await asyncio.sleep(0.05)
    return telegram.sent_to(chat)[before:]


async def farmer(service: Service) -> int:
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start")
    await tap_and_wait(service, chat, "lang:en")
    return chat


async def test_forged_payloads_of_every_prefix_open_nothing(service: Service) -> None:
    async with make_sessionmaker(service.engine)() as session, session.begin():
        await load_catalogue(session, read_catalogue(LOCKED))
    # Articles and videos load published; these two are taken down again.
    await service.execute("UPDATE articles SET is_published = false WHERE id = :a", a=ARTICLE)
    await service.execute("UPDATE videos SET is_published = false WHERE id = :v", v=VIDEO)

    # A farmer who did buy the paid course, with a quiz attempt open: its id is the
    # one a forger would guess or copy.
    victim = await farmer(service)
    await service.execute(
        "INSERT INTO course_enrollments (user_id, course_id, status, enrollment_type)"
        " SELECT user_id, :c, 'enrolled', 'paid' FROM channel_identities WHERE external_id = :e",
        c=PAID,
        e=str(victim),
    )
    sent = await tap_and_wait(service, victim, f"qstart:{PAID_QUIZ}")
    assert any("SECRET paid question" in str(c.params.get("text")) for c in sent)
    attempt = await service.scalar(
        "SELECT a.id FROM quiz_attempts a JOIN channel_identities ci ON ci.user_id = a.user_id"
        " WHERE ci.external_id = :e",
        e=str(victim),
    )

    payloads = forged_payloads(str(attempt))
    assert set(payloads) == set(BUTTONS) | {"cmd"}, "a new button prefix needs a forged tap here"

    paid_quiz_taps = {f"quiz:{PAID_QUIZ}", f"qstart:{PAID_QUIZ}", f"quizlist:{PAID}"}
    forger = await farmer(service)
    failures: list[str] = []
    for taps in payloads.values():
        for payload in taps:
            before = await counts(service)
            replies = await tap_and_wait(service, forger, payload)
            after = await counts(service)
            texts = [str(c.params.get("text") or c.params.get("caption") or "") for c in replies]
            shown = " ".join(texts) + " " + " ".join(b for c in replies for b in buttons(c))
            if before != after:
                changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
                failures.append(f"{payload}: wrote {changed}")
            if "SECRET" in shown or str(HIDDEN) in shown or str(ARTICLE) in shown:
                failures.append(f"{payload}: showed locked content: {texts}")
            if not any(text.strip() for text in texts):
                failures.append(f"{payload}: no kind answer")
            if payload in paid_quiz_taps and f"buy:{PAID}" not in shown:
                failures.append(f"{payload}: no offer to buy: {texts}")
    assert not failures, "\n".join(failures)

    # The victim's attempt is untouched: still on question 1, no answer recorded.
    assert (
        await service.scalar(
            "SELECT current_index FROM quiz_attempt_progress WHERE attempt_id = :a", a=attempt
        )
        == 0
    )

    # The victim's purchase is refunded (the enrolment dropped): the attempt they had
    # open stops too, by button and by typed answer.
    await service.execute(
        "UPDATE course_enrollments SET status = 'dropped' WHERE course_id = :c", c=PAID
    )
    before = await counts(service)
    for payload in (f"qa:{attempt}:0:0", f"qresume:{attempt}"):
        replies = await tap_and_wait(service, victim, payload)
        assert any(f"buy:{PAID}" in buttons(call) for call in replies), payload
    telegram = service.fakes.telegram
    so_far = len(telegram.sent_to(victim))
    await service.telegram_says(victim, "True")
    await telegram.wait_for(lambda _calls: len(telegram.sent_to(victim)) > so_far)
    assert "SECRET" not in " ".join(telegram.texts_to(victim)[so_far:])
    assert await counts(service) == before
