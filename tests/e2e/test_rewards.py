"""Rewards end to end: points, streaks and badges over the webhooks, each badge
notified once in the farmer's language, concurrent events, every rule type, the
daily reminder, /badges, /progress and /leaderboard."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.content import REQUIREMENT_TYPES, read_catalogue, stable_id
from bot.content.load import load_catalogue
from bot.i18n import _, format_number, ngettext, use_language
from bot.jobs import in_unit
from bot.runtime import Runtime
from db.engine import make_engine, make_sessionmaker
from db.queries import rewards as rewards_q
from handlers import rewards
from handlers.jobs import JOBS
from tests.harness import Service

REWARDS = Path(__file__).resolve().parent.parent / "data" / "rewards.yaml"
SEED = stable_id("course", "seed-en")
WATER = stable_id("course", "water-en")
SEED_QUIZ = stable_id("quiz", "seed-quiz")
WATER_QUIZ = stable_id("quiz", "water-quiz")
CLOCK_QUIZ = stable_id("quiz", "clock-quiz")
STARTER = stable_id("roadmap", "starter")
CATALOGUE = read_catalogue(REWARDS)
BADGES = {badge.name: badge for badge in CATALOGUE.badges}


def tr(language: str, message: str) -> str:
    with use_language(language):
        return _(message)


def trn(language: str, singular: str, plural: str, n: int) -> str:
    with use_language(language):
        return ngettext(singular, plural, n)


def header(language: str, name: str) -> str:
    """The first line of the notification of badge `name`, as the farmer sees it."""
    badge = BADGES.get(name)
    shown = (getattr(badge, f"name_{language}", None) if badge else None) or name
    emoji = badge.icon_emoji if badge else "🎖️"
    return tr(language, "{emoji} New badge: {name}!").format(emoji=emoji, name=shown)


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
async def rewards_service(service: Service) -> Service:
    async with make_sessionmaker(service.engine)() as session, session.begin():
        await load_catalogue(session, CATALOGUE)
    return service


async def settle(service: Service) -> None:
    """Wait until every message is answered and every reply has reached a fake provider."""
    await service.settle()


async def farmer(service: Service, language: str) -> int:
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start")
    await service.telegram_taps(chat, f"lang:{language}")
    return chat


async def user_of(service: Service, external_id: str | int) -> uuid.UUID:
    user: uuid.UUID = await service.scalar(
        "SELECT user_id FROM channel_identities WHERE external_id = :e", e=str(external_id)
    )
    return user


async def tap(service: Service, chat: int, payload: str) -> None:
    await service.telegram_taps(chat, payload)
    await settle(service)


async def answer_quiz(service: Service, chat: int, quiz: uuid.UUID, choices: list[int]) -> None:
    """Start `quiz` and tap the given option for each question in turn."""
    await tap(service, chat, f"qstart:{quiz}")
    for choice in choices:
        last = service.fakes.telegram.sent_to(chat)[-1]
        options = [b for b in buttons(last) if b.startswith("qa:")]
        assert options, last.params.get("text")
        await tap(service, chat, options[choice])


def notifications(texts: list[str], language: str, name: str) -> int:
    first_line = header(language, name)
    return sum(1 for t in texts if t.split("\n", 1)[0] == first_line)


async def earned(service: Service, user: uuid.UUID) -> list[str]:
    rows = await service.rows(
        "SELECT b.name FROM user_badges ub JOIN badges b ON b.id = ub.badge_id"
        " WHERE ub.user_id = :u ORDER BY b.name",
        u=user,
    )
    return [row[0] for row in rows]


async def assert_stats_match_a_recount(service: Service, user: uuid.UUID) -> None:
    stats = (
        await service.rows(
            "SELECT total_points, total_badges_earned, current_streak_days, longest_streak_days,"
            " total_courses_enrolled, total_courses_completed FROM user_learning_stats"
            " WHERE user_id = :u",
            u=user,
        )
    )[0]
    recount = (
        await service.rows(
            """
            WITH runs AS (
                SELECT max(day) AS last_day, count(*) AS length
                  FROM (SELECT day, day - CAST(row_number() OVER (ORDER BY day) AS int) AS run
                          FROM activity_days WHERE user_id = :u) d
                 GROUP BY run)
            SELECT (SELECT coalesce(sum(points), 0) FROM points_ledger WHERE user_id = :u),
                   (SELECT count(*) FROM user_badges WHERE user_id = :u),
                   (SELECT coalesce(max(length) FILTER (
                        WHERE last_day = (now() AT TIME ZONE 'Asia/Kolkata')::date), 0) FROM runs),
                   (SELECT coalesce(max(length), 0) FROM runs),
                   (SELECT count(*) FROM course_enrollments WHERE user_id = :u),
                   (SELECT count(*) FROM course_enrollments
                     WHERE user_id = :u AND status = 'completed')
            """,
            u=user,
        )
    )[0]
    assert tuple(stats) == tuple(recount)


JOURNEY_BADGES = [
    "Course Graduate",
    "First Step",
    "Hundred Points",
    "Perfect Score",
    "Quiz Pair",
    "Quiz Starter",
    "Roadmap Finisher",
    "Three Lessons",
    "Two Courses",
]


async def test_a_hindi_journey_earns_each_badge_once(rewards_service: Service) -> None:
    service = rewards_service
    telegram = service.fakes.telegram
    chat = await farmer(service, "hi")
    user = await user_of(service, chat)
    await tap(service, chat, f"follow:{STARTER}")

    await tap(service, chat, f"enroll:{SEED}")
    texts = telegram.texts_to(chat)
    # After the confirmation, before the first lesson; in Hindi, with the next badge.
    assert texts[-2].split("\n")[:2] == [
        header("hi", "First Step"),
        "आपने अपने पहले कोर्स में दाख़िला लिया।",
    ]
    assert "Buy certified seed" in texts[-1]
    assert tr("hi", "🎯 Next badge: {badge} ({progress})").split("{")[0] in texts[-2]

    await tap(service, chat, f"next:{stable_id('lesson', 'seed-1')}")
    await tap(service, chat, f"next:{stable_id('lesson', 'seed-2')}")
    await answer_quiz(service, chat, SEED_QUIZ, [0, 0])  # 100%: the course is complete
    assert await earned(service, user) == sorted(
        ["First Step", "Quiz Starter", "Perfect Score", "Three Lessons", "Course Graduate",
         "Hundred Points"]
    )  # fmt: skip
    assert (
        await service.scalar(
            "SELECT total_points FROM user_learning_stats WHERE user_id = :u", u=user
        )
        == 5 + 10 + 10 + 20 + 10 + 10 + 100
    )

    await tap(service, chat, f"enroll:{WATER}")
    await tap(service, chat, f"next:{stable_id('lesson', 'water-1')}")
    await answer_quiz(service, chat, WATER_QUIZ, [0, 1])  # 50%: passed, not perfect
    assert await earned(service, user) == JOURNEY_BADGES

    # Replays earn nothing: a stale button, enrolling again, passing a quiz again.
    await tap(service, chat, f"next:{stable_id('lesson', 'seed-1')}")
    await tap(service, chat, f"enroll:{SEED}")
    await answer_quiz(service, chat, SEED_QUIZ, [0, 0])
    await answer_quiz(service, chat, WATER_QUIZ, [0, 0])  # perfect now: the bonus, once

    texts = telegram.texts_to(chat)
    for name in BADGES:
        expected = 1 if name in JOURNEY_BADGES else 0
        assert notifications(texts, "hi", name) == expected, name
    assert await earned(service, user) == JOURNEY_BADGES
    ledger = await service.rows(
        "SELECT reason, count(*), sum(points) FROM points_ledger WHERE user_id = :u"
        " GROUP BY reason ORDER BY reason",
        u=user,
    )
    assert ledger == [
        ("course_completed", 2, 200),
        ("first_enrollment", 1, 5),
        ("lesson_completed", 5, 50),
        ("perfect_quiz", 2, 20),
        ("quiz_passed", 2, 40),
        ("roadmap_completed", 1, 50),
    ]
    await assert_stats_match_a_recount(service, user)
    assert (
        await service.scalar(
            "SELECT current_streak_days FROM user_learning_stats WHERE user_id = :u", u=user
        )
        == 1
    )

    await tap(service, chat, "cmd:progress")
    progress = telegram.texts_to(chat)[-1]
    assert tr("hi", "⭐ Points: {points}").format(points=format_number(365)) in progress
    assert trn("hi", "🔥 Streak: {count} day in a row", "🔥 Streak: {count} days in a row", 1
               ).format(count="1") in progress  # fmt: skip
    assert tr("hi", "🏅 Badges: {count}").format(count="9") in progress


async def test_a_marathi_whatsapp_farmer_gets_each_notification_once(
    rewards_service: Service,
) -> None:
    service = rewards_service
    twilio = service.fakes.twilio
    number = "+919822000001"
    await service.whatsapp_says(number, "start")
    await service.whatsapp_says(number, "3")  # मराठी
    for payload in (f"enroll:{SEED}", f"enroll:{SEED}"):
        form = service.whatsapp_form(number, "", ButtonPayload=payload)
        assert (await service.post_whatsapp(form)).status_code == 200
    await settle(service)
    texts = twilio.texts_to(number)
    assert notifications(texts, "mr", "First Step") == 1
    note = next(t for t in texts if t.startswith(header("mr", "First Step")))
    assert "तुम्ही तुमच्या पहिल्या अभ्यासक्रमात प्रवेश घेतला." in note
    assert "1." not in note  # no options: the lesson's numbers stay 1, 2, …
    assert "1. " + tr("mr", "✅ Done, next lesson") in texts[-1]


async def test_two_quizzes_passed_at_the_same_moment(rewards_service: Service) -> None:
    service = rewards_service
    telegram = service.fakes.telegram
    chat = await farmer(service, "en")
    user = await user_of(service, chat)

    # Both attempts wait on their last question; the last answers arrive together.
    def first_option() -> str:
        return next(b for b in buttons(telegram.sent_to(chat)[-1]) if b.startswith("qa:"))

    last_taps = []
    for quiz in (SEED_QUIZ, WATER_QUIZ):
        await tap(service, chat, f"qstart:{quiz}")
        await tap(service, chat, first_option())
        last_taps.append(first_option())
    responses = await asyncio.gather(
        *(service.post_telegram(service.telegram_tap(chat, payload)) for payload in last_taps)
    )
    assert [r.status_code for r in responses] == [200, 200]
    await settle(service)
    assert await earned(service, user) == ["Perfect Score", "Quiz Pair", "Quiz Starter"]
    texts = telegram.texts_to(chat)
    for name in ("Perfect Score", "Quiz Pair", "Quiz Starter"):
        assert notifications(texts, "en", name) == 1
    await assert_stats_match_a_recount(service, user)


@pytest.fixture
async def own_engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    """A database of the test's own, for transactions that really commit side by side."""
    eng = make_engine(fresh_database_url, pool_size=4)
    async with make_sessionmaker(eng)() as session, session.begin():
        await load_catalogue(session, CATALOGUE)
    yield eng
    await eng.dispose()


async def new_user(session: AsyncSession, language: str = "en") -> uuid.UUID:
    user: uuid.UUID = (
        await session.execute(
            text(
                "INSERT INTO users (display_name, preferred_language) VALUES ('Asha', :l) RETURNING id"
            ),
            {"l": language},
        )
    ).scalar_one()
    return user


async def pass_quiz(session: AsyncSession, user: uuid.UUID, quiz: uuid.UUID, percent: int) -> None:
    await session.execute(
        text(
            "INSERT INTO quiz_attempts (user_id, quiz_id, score, percentage, passed)"
            " VALUES (:u, :q, 2, :p, true)"
        ),
        {"u": user, "q": quiz, "p": percent},
    )


async def test_concurrent_transactions_of_one_farmer_award_each_badge_once(
    own_engine: AsyncEngine,
) -> None:
    engine = own_engine
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        user = await new_user(session, "hi")
        # As after any enrolment: the stats row exists, and events queue on its lock.
        await session.execute(
            text("INSERT INTO user_learning_stats (user_id) VALUES (:u)"), {"u": user}
        )
    both_inserted = asyncio.Barrier(2)

    async def quiz_passed(quiz: uuid.UUID) -> list[str]:
        async with sessionmaker() as session, session.begin():
            await pass_quiz(session, user, quiz, 100)
            await both_inserted.wait()  # neither has committed: each sees only its own pass
            replies = await rewards.record_progress(
                session, user, "quiz_passed", quiz, language="hi", perfect=True
            )
        return [reply.text.split("\n")[0] for reply in replies]

    first, second = await asyncio.gather(quiz_passed(SEED_QUIZ), quiz_passed(WATER_QUIZ))
    # One transaction waited for the other's lock, then saw both passes.
    everything = sorted(first + second)
    assert everything == sorted(
        [header("hi", "Perfect Score"), header("hi", "Quiz Starter"), header("hi", "Quiz Pair")]
    )
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT total_badges_earned, total_points,"
                    " (SELECT count(*) FROM user_badges WHERE user_id = :u)"
                    " FROM user_learning_stats WHERE user_id = :u"
                ),
                {"u": user},
            )
        ).one()
    assert tuple(row) == (3, 60, 3)


async def test_the_unique_constraint_settles_a_race_for_one_badge(
    own_engine: AsyncEngine,
) -> None:
    """Without the stats lock, two evaluations both see the badge unearned: the insert decides."""
    engine = own_engine
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        user = await new_user(session)
        await pass_quiz(session, user, SEED_QUIZ, 80)

    async with sessionmaker() as first:
        await first.begin()
        won = await rewards_q.evaluate_badges(first, user, "en")
        async with sessionmaker() as second:
            await second.begin()
            racing = asyncio.create_task(rewards_q.evaluate_badges(second, user, "en"))
            await asyncio.sleep(0.3)
            assert not racing.done()  # waiting on the first transaction's user_badges row
            await first.commit()
            lost = await racing
            await second.commit()
    assert [b.name for b in won if b.new] == ["Quiz Starter"]
    assert [b.name for b in lost if b.new] == []
    async with engine.connect() as conn:
        counts = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM user_badges WHERE user_id = :u),"
                    " (SELECT total_badges_earned FROM user_learning_stats WHERE user_id = :u)"
                ),
                {"u": user},
            )
        ).one()
    assert tuple(counts) == (1, 1)


# --- one test per rule type, on the rolled-back test database ------------------------

Step = Callable[[AsyncSession, uuid.UUID, int], Awaitable[tuple[str, uuid.UUID, dict[str, Any]]]]


async def _course(session: AsyncSession, n: int) -> uuid.UUID:
    course: uuid.UUID = (
        await session.execute(
            text(
                "INSERT INTO courses (title, description, category, level)"
                " VALUES (:t, 'd', 'irrigation', 'beginner') RETURNING id"
            ),
            {"t": f"Course {n}"},
        )
    ).scalar_one()
    return course


async def _lesson(session: AsyncSession, user: uuid.UUID, n: int, seconds: int) -> uuid.UUID:
    course = await _course(session, n)
    lesson: uuid.UUID = (
        await session.execute(
            text(
                "INSERT INTO course_lessons (course_id, title, order_index)"
                " VALUES (:c, 'L', 1) RETURNING id"
            ),
            {"c": course},
        )
    ).scalar_one()
    await session.execute(
        text(
            "INSERT INTO lesson_progress (user_id, lesson_id, status, time_spent_seconds)"
            " VALUES (:u, :l, 'completed', :s)"
        ),
        {"u": user, "l": lesson, "s": seconds},
    )
    return lesson


async def _quiz(session: AsyncSession, user: uuid.UUID, percent: int) -> uuid.UUID:
    quiz: uuid.UUID = (
        await session.execute(text("INSERT INTO quizzes (title) VALUES ('Q') RETURNING id"))
    ).scalar_one()
    await pass_quiz(session, user, quiz, percent)
    return quiz


async def step_courses(
    s: AsyncSession, user: uuid.UUID, n: int
) -> tuple[str, uuid.UUID, dict[str, Any]]:
    course = await _course(s, n)
    await s.execute(
        text(
            "INSERT INTO course_enrollments (user_id, course_id, status) VALUES (:u, :c, 'completed')"
        ),
        {"u": user, "c": course},
    )
    return "course_completed", course, {}


async def step_lessons(
    s: AsyncSession, user: uuid.UUID, n: int
) -> tuple[str, uuid.UUID, dict[str, Any]]:
    return "lesson_completed", await _lesson(s, user, n, 60), {}


async def step_quizzes(
    s: AsyncSession, user: uuid.UUID, n: int
) -> tuple[str, uuid.UUID, dict[str, Any]]:
    return "quiz_passed", await _quiz(s, user, 80), {}


async def step_perfect(
    s: AsyncSession, user: uuid.UUID, n: int
) -> tuple[str, uuid.UUID, dict[str, Any]]:
    return "quiz_passed", await _quiz(s, user, 100), {"perfect": True}


async def step_days(
    s: AsyncSession, user: uuid.UUID, n: int
) -> tuple[str, uuid.UUID, dict[str, Any]]:
    return "activity", user, {"today": dt.date(2026, 3, 2) + dt.timedelta(days=n)}


async def step_points(
    s: AsyncSession, user: uuid.UUID, n: int
) -> tuple[str, uuid.UUID, dict[str, Any]]:
    # A lesson's 10 points, without the lesson: only the ledger moves.
    return "lesson_completed", uuid.uuid4(), {}


async def step_roadmaps(
    s: AsyncSession, user: uuid.UUID, n: int
) -> tuple[str, uuid.UUID, dict[str, Any]]:
    roadmap: uuid.UUID = (
        await s.execute(
            text(
                "INSERT INTO learning_roadmaps (title, description, goal)"
                " VALUES ('R', 'd', 'g') RETURNING id"
            )
        )
    ).scalar_one()
    await s.execute(
        text(
            "INSERT INTO user_roadmap_progress (user_id, roadmap_id, completed_at)"
            " VALUES (:u, :r, now())"
        ),
        {"u": user, "r": roadmap},
    )
    return "roadmap_completed", roadmap, {}


async def step_enrolments(
    s: AsyncSession, user: uuid.UUID, n: int
) -> tuple[str, uuid.UUID, dict[str, Any]]:
    course = await _course(s, n)
    await s.execute(
        text(
            "INSERT INTO course_enrollments (user_id, course_id, status) VALUES (:u, :c, 'enrolled')"
        ),
        {"u": user, "c": course},
    )
    return "enrolled", course, {}


async def step_hours(
    s: AsyncSession, user: uuid.UUID, n: int
) -> tuple[str, uuid.UUID, dict[str, Any]]:
    return "lesson_completed", await _lesson(s, user, n, 3600), {}


# (requirement type, how one more unit happens, target). total_points: 10 a step.
RULES: dict[str, tuple[Step, int]] = {
    "courses_completed": (step_courses, 2),
    "lessons_completed": (step_lessons, 2),
    "quizzes_passed": (step_quizzes, 2),
    "perfect_quiz": (step_perfect, 2),
    "consecutive_days": (step_days, 2),
    "total_points": (step_points, 20),
    "roadmaps_completed": (step_roadmaps, 2),
    "first_enrollment": (step_enrolments, 2),
    "learning_hours": (step_hours, 2),
}


def test_every_rule_type_has_a_test() -> None:
    assert set(RULES) == set(REQUIREMENT_TYPES)


@pytest.mark.parametrize("kind", sorted(RULES))
async def test_rule_type(db: AsyncSession, kind: str) -> None:
    step, target = RULES[kind]
    await db.execute(
        text(
            "INSERT INTO badges (name, description, icon_emoji, category, requirement_type,"
            " requirement_value) VALUES (:n, 'For trying.', '🎖️', 'special', :k, :v)"
        ),
        {"n": f"Rule {kind}", "k": kind, "v": target},
    )
    user = await new_user(db, "mr")
    earned_at_step = []
    for n in range(1, 4):
        event, subject, extra = await step(db, user, n)
        replies = await rewards.record_progress(db, user, event, subject, language="mr", **extra)
        if replies:
            earned_at_step.append(n)
            [note] = replies
            assert note.text.startswith(
                tr("mr", "{emoji} New badge: {name}!").format(emoji="🎖️", name=f"Rule {kind}")
            )
    assert earned_at_step == [2]
    standing = await rewards_q.badge_standing(db, user, "en")
    [rule] = [b for b in standing if b.name == f"Rule {kind}"]
    assert rule.earned and rule.have >= target
    assert (
        await db.execute(
            text("SELECT total_badges_earned FROM user_learning_stats WHERE user_id = :u"),
            {"u": user},
        )
    ).scalar_one() == 1


async def test_streaks_across_a_week_with_a_gap(db: AsyncSession) -> None:
    await load_catalogue(db, CATALOGUE)
    user = await new_user(db, "hi")
    monday = dt.date(2026, 3, 2)

    async def learn(day: int) -> list[str]:
        replies = await rewards.record_progress(
            db, user, "activity", user, language="hi", today=monday + dt.timedelta(days=day)
        )
        return [reply.text.split("\n")[0] for reply in replies]

    async def streak() -> tuple[int, int]:
        row = (
            await db.execute(
                text(
                    "SELECT current_streak_days, longest_streak_days FROM user_learning_stats"
                    " WHERE user_id = :u"
                ),
                {"u": user},
            )
        ).one()
        return int(row[0]), int(row[1])

    assert await learn(0) == []
    assert await streak() == (1, 1)
    assert await learn(0) == []  # the same day twice counts once
    assert await learn(1) == []
    assert await learn(2) == [header("hi", "Three-Day Streak")]
    assert await learn(3) == []
    assert await streak() == (4, 4)
    # Friday is missed. On Saturday evening the job finds the streak broken.
    await rewards_q.reset_broken_streaks(db, today=monday + dt.timedelta(days=5))
    assert await streak() == (0, 4)
    assert await learn(5) == []
    assert await streak() == (1, 4)
    assert await learn(6) == []
    assert await streak() == (2, 4)
    assert await learn(6) == []
    days = (
        await db.execute(text("SELECT count(*) FROM activity_days WHERE user_id = :u"), {"u": user})
    ).scalar_one()
    assert days == 6
    badges = (
        await db.execute(text("SELECT count(*) FROM user_badges WHERE user_id = :u"), {"u": user})
    ).scalar_one()
    assert badges == 1


async def test_a_streak_over_the_webhooks_after_a_gap(rewards_service: Service) -> None:
    service = rewards_service
    chat = await farmer(service, "en")
    user = await user_of(service, chat)
    await tap(service, chat, f"enroll:{SEED}")  # today counts
    # Move the record back: Monday to Thursday learned, Friday missed, Saturday learned.
    await service.execute("DELETE FROM activity_days WHERE user_id = :u", u=user)
    await service.execute(
        "INSERT INTO activity_days (user_id, day)"
        " SELECT :u, (now() AT TIME ZONE 'Asia/Kolkata')::date - d FROM unnest(ARRAY[6, 5, 4, 3, 1]) d",
        u=user,
    )
    await tap(service, chat, f"next:{stable_id('lesson', 'seed-1')}")  # Sunday: today
    assert await service.rows(
        "SELECT current_streak_days, longest_streak_days FROM user_learning_stats WHERE user_id = :u",
        u=user,
    ) == [(2, 4)]
    await assert_stats_match_a_recount(service, user)


def runtime_of(service: Service) -> Runtime:
    return Runtime(
        settings=service.settings,
        database_url=service.settings.database_url or "",
        embedded=False,
        engine=service.engine,
        sessionmaker=make_sessionmaker(service.engine),
    )


async def test_daily_reminder_goes_once_to_farmers_about_to_lose_a_streak(
    rewards_service: Service,
) -> None:
    service = rewards_service
    telegram = service.fakes.telegram
    due, learned_today, opted_out, lapsed = [
        await farmer(service, lang) for lang in ("hi", "mr", "en", "en")
    ]
    await service.telegram_says(opted_out, "/stop")
    await settle(service)
    days = {due: [1, 2], learned_today: [0, 1], opted_out: [1], lapsed: [3, 4]}
    for chat, back in days.items():
        user = await user_of(service, chat)
        await service.execute(
            "INSERT INTO activity_days (user_id, day)"
            " SELECT :u, (now() AT TIME ZONE 'Asia/Kolkata')::date - d FROM unnest(CAST(:back AS int[])) d",
            u=user,
            back=back,
        )
        await service.execute(
            "INSERT INTO user_learning_stats (user_id, current_streak_days, longest_streak_days)"
            " VALUES (:u, :n, :n)",
            u=user,
            n=len(back),
        )
    sent_before = {chat: len(telegram.sent_to(chat)) for chat in days}

    runtime = runtime_of(service)
    assert await in_unit(runtime, rewards.remind_streaks) == 1
    assert await in_unit(runtime, rewards.remind_streaks) == 0  # once a day, however often it runs
    await settle(service)

    with use_language("hi"):
        expected = rewards.streak_reminder(2).text
    assert telegram.texts_to(due)[sent_before[due] :] == [expected]
    for chat in (learned_today, opted_out, lapsed):
        assert len(telegram.sent_to(chat)) == sent_before[chat]
    assert (
        await service.scalar(
            "SELECT kind FROM outbound_messages WHERE body->>'text' = :t", t=expected
        )
        == "reminder"
    )
    lapsed_streak = await service.scalar(
        "SELECT current_streak_days FROM user_learning_stats WHERE user_id = :u",
        u=await user_of(service, lapsed),
    )
    assert lapsed_streak == 0
    assert rewards.REMINDER_JOB in JOBS.schedules


async def test_a_quiz_passed_by_the_deadline_job_is_rewarded_and_notified(
    rewards_service: Service,
) -> None:
    service = rewards_service
    telegram = service.fakes.telegram
    chat = await farmer(service, "en")
    user = await user_of(service, chat)
    await tap(service, chat, f"qstart:{CLOCK_QUIZ}")
    for _question in range(2):
        options = [b for b in buttons(telegram.sent_to(chat)[-1]) if b.startswith("qa:")]
        await tap(service, chat, options[0])
    # The farmer leaves with 2 of 3 right (67%, a pass); the deadline job closes it.
    await service.execute(
        "UPDATE quiz_attempt_progress SET deadline_at = now() - interval '1 second'"
    )
    await service.execute("UPDATE pgqueuer SET execute_after = now()")
    await telegram.wait_for(
        lambda c: notifications(telegram.texts_to(chat), "en", "Quiz Starter") == 1, 15
    )
    await settle(service)
    assert "Quiz Starter" in await earned(service, user)
    reasons = await service.rows(
        "SELECT reason FROM points_ledger WHERE user_id = :u ORDER BY reason", u=user
    )
    assert reasons == [("lesson_completed",), ("quiz_passed",)]
    assert notifications(telegram.texts_to(chat), "en", "Quiz Starter") == 1
    assert (
        await service.scalar(
            "SELECT count(*) FROM outbound_messages WHERE kind = 'badge' AND body->>'text' LIKE :t",
            t=header("en", "Quiz Starter") + "%",
        )
        == 1
    )


async def test_badges_screen_shows_earned_and_closest(rewards_service: Service) -> None:
    service = rewards_service
    telegram = service.fakes.telegram
    chat = await farmer(service, "en")
    await tap(service, chat, f"enroll:{SEED}")
    await tap(service, chat, f"next:{stable_id('lesson', 'seed-1')}")
    await tap(service, chat, "cmd:badges")
    screen = telegram.sent_to(chat)[-1]
    lines = screen.params["text"].split("\n")
    assert lines[0] == "🏅 Your badges: 1 of 11"
    assert "🌱 First Step: Enrolled in your first course." in lines
    closest = lines[lines.index("🎯 Closest to earn:") + 1 :]
    assert closest[0] == "📖 Three Lessons: 1 of 3 lessons"
    assert len(closest) == 3
    assert buttons(screen) == ["cmd:leaderboard", "cmd:lesson"]

    # A badge added to the catalogue later is granted (and notified) by /badges.
    await service.execute(
        "INSERT INTO badges (name, description, icon_emoji, category, requirement_type,"
        " requirement_value) VALUES ('One Lesson', 'Completed a lesson.', '✏️', 'milestone',"
        " 'lessons_completed', 1)"
    )
    await tap(service, chat, "cmd:badges")
    texts = telegram.texts_to(chat)
    assert texts[-2].startswith("✏️ New badge: One Lesson!")
    assert texts[-1].startswith("🏅 Your badges: 2 of 12")


async def test_leaderboard_this_week_and_all_time(rewards_service: Service) -> None:
    service = rewards_service
    telegram = service.fakes.telegram
    chats = {name: await farmer(service, "en") for name in ("Asha", "Bhim", "Chitra")}
    users = {name: await user_of(service, chat) for name, chat in chats.items()}
    # (name, points this week, points earned long ago)
    for name, this_week, long_ago in (("Asha", 50, 250), ("Bhim", 100, 0), ("Chitra", 10, 0)):
        user = users[name]
        await service.execute("UPDATE users SET display_name = :n WHERE id = :u", n=name, u=user)
        await service.execute(
            "INSERT INTO points_ledger (user_id, points, reason, subject_id, created_at)"
            " VALUES (:u, :w, 'lesson_completed', gen_random_uuid(), now()),"
            "        (:u, :o, 'course_completed', gen_random_uuid(), now() - interval '30 days')",
            u=user,
            w=this_week,
            o=long_ago,
        )
        await service.execute(
            "INSERT INTO user_learning_stats (user_id, total_points) VALUES (:u, :t)",
            u=user,
            t=this_week + long_ago,
        )
    # Names are hidden until a farmer chooses to show theirs: Asha and Bhim do.
    await tap(service, chats["Asha"], "lbname:show")
    await tap(service, chats["Bhim"], "lbname:show")
    await tap(service, chats["Chitra"], "lbname:hide")
    hidden = rewards.anonymous_name(users["Chitra"])
    assert hidden in telegram.texts_to(chats["Chitra"])[-1]

    await tap(service, chats["Asha"], "cmd:leaderboard")
    board = telegram.sent_to(chats["Asha"])[-1]
    assert board.params["text"].split("\n") == [
        "🏆 Leaderboard",
        "",
        "📅 This week",
        "🥇 Bhim: 100 points",
        "🥈 👉 Asha (you): 50 points",
        f"🥉 {hidden}: 10 points",
        "Your place: 2 of 3, with 50 points",
        "",
        "🌾 All time",
        "🥇 👉 Asha (you): 300 points",
        "🥈 Bhim: 100 points",
        f"🥉 {hidden}: 10 points",
        "Your place: 1 of 3, with 300 points",
    ]
    assert buttons(board) == ["lbname:hide", "cmd:badges"]

    await tap(service, chats["Chitra"], "cmd:leaderboard")
    own = telegram.sent_to(chats["Chitra"])[-1]
    assert f"🥉 👉 {hidden} (you): 10 points" in own.params["text"]
    assert buttons(own)[0] == "lbname:show"

    newcomer = await farmer(service, "hi")
    await tap(service, newcomer, "cmd:leaderboard")
    text_hi = telegram.texts_to(newcomer)[-1]
    assert tr("hi", "You have no points this week yet. Finish a lesson to join!") in text_hi
    assert "🥇 Bhim" in text_hi


async def test_badge_translations_are_loaded_once_and_follow_the_file(db: AsyncSession) -> None:
    async def translations() -> list[tuple[str, str, str]]:
        rows = await db.execute(
            text(
                "SELECT b.name, t.language, t.name FROM badge_translations t"
                " JOIN badges b ON b.id = t.badge_id ORDER BY b.name, t.language"
            )
        )
        return [(row[0], row[1], row[2]) for row in rows]

    changed = await load_catalogue(db, CATALOGUE)
    assert changed["badge_translations"] == 2 * len(CATALOGUE.badges)
    assert ("First Step", "mr", "पहिले पाऊल") in await translations()
    assert (await load_catalogue(db, CATALOGUE))["badge_translations"] == 0

    edited = CATALOGUE.model_copy(deep=True)
    edited.badges[0].name_mr = None
    edited.badges[0].name_hi = "पहला क़दम"
    assert (await load_catalogue(db, edited))["badge_translations"] == 2
    rows = await translations()
    assert [row for row in rows if row[0] == "First Step"] == [("First Step", "hi", "पहला क़दम")]

    # The farmer's language picks the name; English is the fallback.
    user = await new_user(db, "mr")
    await step_enrolments(db, user, 1)
    [note] = await rewards.record_progress(db, user, "enrolled", SEED, language="mr")
    assert note.text.startswith(
        tr("mr", "{emoji} New badge: {name}!").format(emoji="🌱", name="First Step")
    )
