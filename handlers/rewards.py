"""Rewards: points, daily streaks and badges; /badges and /leaderboard.

/badges ─► badges earned, and the closest ones still to earn ("3 of 5 lessons")
/leaderboard ─► top 10 this week and of all time, and the farmer's own place
lbname:show | lbname:hide ─► the farmer's name shown, or hidden again ("Farmer #1234");
    hidden until the farmer opts in (DPDP: no name shown to others without a choice)

The engine: `record_progress(session, user, event, subject, language=...)` runs
in the caller's transaction (it only flushes) and returns one notification per
badge newly earned. Inside a turn the caller adds them to the turn's replies;
outside one (a job, a payment callback) it queues them through
`handlers.outreach` (kind "badge"). Either way they are queued
in the same transaction as the event, so a failed send is retried, not lost.

Points, once per reason and subject (points_ledger is unique on both, so a
replayed event awards nothing), kept in user_learning_stats.total_points:
- first enrolment ever: 5            (event "enrolled"; later enrolments: 0)
- lesson completed: 10 per lesson    ("lesson_completed")
- quiz passed: 20 per quiz, + 10 once for a perfect score ("quiz_passed", perfect=)
- course completed: 100 per course   ("course_completed")
- roadmap completed: 50 per roadmap  ("roadmap_completed")
- "activity": no points; it only counts the day

Streaks are counted in the farmer's local calendar (users.timezone, Asia/Kolkata
by default). A day counts when the farmer enrols, completes a lesson or
finishes a quiz attempt (passed or not): learning, not browsing menus. Each
event marks today in activity_days; on a new day the current streak (the run of
days ending today) and the longest streak are recounted from activity_days. A
missed day ends the streak: the next activity starts again at 1, screens show 0
meanwhile, and the daily job sets the stored streak to 0. A quiz closed by its
deadline job counts on the day the job closes it.

Badge rules, by requirement_type, compared with requirement_value (at least 1),
each counted from the underlying tables:
- courses_completed: enrolments with status completed
- lessons_completed: lessons completed (lesson_progress)
- quizzes_passed: different quizzes passed at least once
- perfect_quiz: different quizzes passed with 100%
- consecutive_days: the longest streak of days in a row
- total_points: points in the ledger
- roadmaps_completed: roadmaps completed (user_roadmap_progress.completed_at)
- first_enrollment: courses enrolled in (1 = the first enrolment)
- learning_hours: whole hours of lesson time (lesson_progress.time_spent_seconds)
Every rule is evaluated after every event that wrote something. A badge is
awarded once (user_badges is unique per farmer and badge; the insert is ON
CONFLICT DO NOTHING RETURNING), and total_badges_earned counts only real inserts.
Events of one farmer queue on their stats row, so two quizzes passed at the same
moment in two transactions are both counted by the second.

Every day at 13:30 UTC (19:00 in India) the `streak_reminders` schedule reminds
each farmer who learned yesterday but not yet today, and has not opted out
(/stop), once a local day (reminders_sent).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _, format_number, ngettext, use_language
from bot.messages import Option, Reply
from db.queries import rewards as q
from handlers import outreach
from handlers.base import STAY, Conversation, Turn, on
from handlers.jobs import JOBS, Work

log = logging.getLogger(__name__)

POINTS_FIRST_ENROLLMENT = 5
POINTS_LESSON = 10
POINTS_QUIZ_PASSED = 20
POINTS_PERFECT_BONUS = 10
POINTS_COURSE = 100
POINTS_ROADMAP = 50

# Ledger reasons (points_ledger.reason) each event awards.
EVENT_AWARDS: dict[str, tuple[tuple[str, int], ...]] = {
    "enrolled": (("first_enrollment", POINTS_FIRST_ENROLLMENT),),
    "lesson_completed": (("lesson_completed", POINTS_LESSON),),
    "quiz_passed": (("quiz_passed", POINTS_QUIZ_PASSED),),
    "course_completed": (("course_completed", POINTS_COURSE),),
    "roadmap_completed": (("roadmap_completed", POINTS_ROADMAP),),
    "activity": (),
}
EVENTS = tuple(EVENT_AWARDS)

LEADERBOARD_SIZE = 10
CLOSEST_BADGES = 3
REMINDER_JOB = "streak_reminders"
REMINDER_CRON = "30 13 * * *"  # 19:00 IST, when the day's work in the field is done
REMINDER_BATCH = 500
MAX_NAME_CHARS = 24
MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}


def awards_for(event: str, *, perfect: bool = False) -> list[tuple[str, int]]:
    """The (ledger reason, points) an event may award. Unknown events are a bug."""
    if event not in EVENT_AWARDS:
        raise ValueError(f"unknown progress event {event!r}; known: {', '.join(EVENTS)}")
    awards = list(EVENT_AWARDS[event])
    if event == "quiz_passed" and perfect:
        awards.append(("perfect_quiz", POINTS_PERFECT_BONUS))
    return awards


async def record_progress(
    session: AsyncSession,
    user_id: uuid.UUID,
    event: str,
    subject_id: uuid.UUID,
    *,
    language: str,
    perfect: bool = False,
    today: dt.date | None = None,
) -> list[Reply]:
    """Award points, count the day, award badges; returns one notification per new badge.

    `subject_id` is what the event is about: the course, lesson, quiz or roadmap.
    `today` overrides the farmer's local date (tests and back-fills only).
    """
    awards = awards_for(event, perfect=perfect)
    # The first-enrolment bonus is once per farmer, whatever the course.
    subject = user_id if event == "enrolled" else subject_id
    marked = await q.award_and_mark_day(session, user_id, subject, awards, today=today)
    if not marked.points and not marked.new_day and event != "enrolled":
        # A replay, or another quiz on a day already counted: no count has moved.
        return []
    standings = await q.evaluate_badges(session, user_id, language)
    with use_language(language):
        return badge_notifications(standings)


def progress_phrase(badge: q.BadgeStanding) -> str:
    """How far the farmer is towards a badge, in its own unit: "3 of 5 lessons"."""
    have, target = min(badge.have, badge.target), badge.target
    values = {"done": format_number(have), "count": format_number(target)}
    kind = badge.requirement_type
    if kind == "courses_completed":
        text = ngettext("{done} of {count} course", "{done} of {count} courses", target)
    elif kind == "lessons_completed":
        text = ngettext("{done} of {count} lesson", "{done} of {count} lessons", target)
    elif kind == "quizzes_passed":
        text = ngettext("{done} of {count} quiz passed", "{done} of {count} quizzes passed", target)
    elif kind == "perfect_quiz":
        text = ngettext(
            "{done} of {count} perfect quiz", "{done} of {count} perfect quizzes", target
        )
    elif kind == "consecutive_days":
        text = ngettext("{done} of {count} day in a row", "{done} of {count} days in a row", target)
    elif kind == "total_points":
        text = ngettext("{done} of {count} point", "{done} of {count} points", target)
    elif kind == "roadmaps_completed":
        text = ngettext("{done} of {count} roadmap", "{done} of {count} roadmaps", target)
    elif kind == "first_enrollment":
        text = ngettext(
            "{done} of {count} course joined", "{done} of {count} courses joined", target
        )
    elif kind == "learning_hours":
        text = ngettext(
            "{done} of {count} hour of learning", "{done} of {count} hours of learning", target
        )
    else:
        text = "{done} / {count}"
    return text.format(**values)


def closest_badges(standings: list[q.BadgeStanding], limit: int) -> list[q.BadgeStanding]:
    """The badges not earned yet, nearest first: the largest share done, then the fewest steps."""
    waiting = [b for b in standings if not b.earned]
    waiting.sort(key=lambda b: (-min(b.have, b.target) / b.target, b.target - b.have, b.name))
    return waiting[:limit]


def _badge_label(badge: q.BadgeStanding) -> str:
    return f"{badge.emoji or '🏅'} {badge.name}"


def badge_notification(badge: q.BadgeStanding, following: q.BadgeStanding | None) -> Reply:
    """The message for one new badge: emoji, name, what it was for, the next one within reach."""
    lines = [
        _("{emoji} New badge: {name}!").format(emoji=badge.emoji or "🏅", name=badge.name),
        badge.description,
    ]
    if following is not None:
        lines += [
            "",
            _("🎯 Next badge: {badge} ({progress})").format(
                badge=_badge_label(following), progress=progress_phrase(following)
            ),
        ]
    return Reply("\n".join(lines))


def badge_notifications(standings: list[q.BadgeStanding]) -> list[Reply]:
    """One Reply per badge this evaluation awarded, in the current language."""
    new = [b for b in standings if b.new]
    if not new:
        return []
    following = next(iter(closest_badges(standings, 1)), None)
    return [badge_notification(badge, following) for badge in new]


async def show_badges(turn: Turn) -> list[Reply]:
    """Answers /badges: the badges earned and the closest ones to earn; offers the leaderboard."""
    # Evaluating here also grants badges added to the catalogue since the last event.
    standings = await q.evaluate_badges(turn.session, turn.farmer.user_id, turn.farmer.language)
    earned = sorted(
        (b for b in standings if b.earned),
        key=lambda b: (b.earned_at is None, b.earned_at or dt.datetime.min, b.name),
    )
    lines = [
        _("🏅 Your badges: {earned} of {total}").format(
            earned=format_number(len(earned)), total=format_number(len(standings))
        ),
        "",
    ]
    if earned:
        lines += [f"{_badge_label(b)}: {b.description}" for b in earned]
    else:
        lines.append(_("No badges yet. Finish a lesson or a quiz to earn your first one."))
    closest = closest_badges(standings, CLOSEST_BADGES)
    if closest:
        lines += ["", _("🎯 Closest to earn:")]
        lines += [f"{_badge_label(b)}: {progress_phrase(b)}" for b in closest]
    elif standings:
        lines += ["", _("You have earned every badge. Wonderful work! 🎉")]
    reply = Reply(
        "\n".join(lines).strip(),
        options=(
            Option(_("🏆 Leaderboard"), "cmd:leaderboard"),
            Option(_("▶️ Continue my lesson"), "cmd:lesson"),
        ),
    )
    return [*badge_notifications(standings), reply]


def anonymous_name(user_id: uuid.UUID) -> str:
    """What others see instead of a hidden name: stable for the farmer, not revealing."""
    return _("Farmer #{number}").format(number=f"{user_id.int % 10000:04d}")


def _shown_name(line: q.Standing) -> str:
    if line.visible and line.display_name and line.display_name.strip():
        return " ".join(line.display_name.split())[:MAX_NAME_CHARS]
    return anonymous_name(line.user_id)


def _points(points: int) -> str:
    return ngettext("{count} point", "{count} points", points).format(count=format_number(points))


def _board_lines(lines: list[q.Standing], user_id: uuid.UUID, empty: str) -> list[str]:
    top = [line for line in lines if line.place <= LEADERBOARD_SIZE]
    mine = next((line for line in lines if line.user_id == user_id), None)
    shown = []
    for line in top:
        name = _shown_name(line)
        if line.user_id == user_id:
            name = _("👉 {name} (you)").format(name=name)
        marker = MEDALS.get(line.rank, format_number(line.rank) + ".")
        shown.append(f"{marker} {name}: {_points(line.points)}")
    if mine is None:
        shown.append(empty)
    else:
        shown.append(
            _("Your place: {rank} of {players}, with {points}").format(
                rank=format_number(mine.rank),
                players=format_number(mine.players),
                points=_points(mine.points),
            )
        )
    return shown


async def show_leaderboard(turn: Turn) -> list[Reply]:
    """Answers /leaderboard: the top farmers this week and of all time, and the farmer's place."""
    user_id = turn.farmer.user_id
    lines = await q.leaderboard(turn.session, user_id, top=LEADERBOARD_SIZE)
    visible = await q.leaderboard_visible(turn.session, user_id)
    text = [_("🏆 Leaderboard"), "", _("📅 This week")]
    text += _board_lines(
        [line for line in lines if line.board == "week"],
        user_id,
        _("You have no points this week yet. Finish a lesson to join!"),
    )
    text += ["", _("🌾 All time")]
    text += _board_lines(
        [line for line in lines if line.board == "all"],
        user_id,
        _("You have no points yet. Finish a lesson to join!"),
    )
    if not visible:
        text += ["", _("Others see you as {name}.").format(name=anonymous_name(user_id))]
    toggle = (
        Option(_("🙈 Hide my name"), "lbname:hide")
        if visible
        else Option(_("👤 Show my name"), "lbname:show")
    )
    return [Reply("\n".join(text), options=(toggle, Option(_("🏅 My badges"), "cmd:badges")))]


async def leaderboard_name(turn: Turn) -> list[Reply]:
    """Answers `lbname:hide|show`: hides or shows the farmer's name on the leaderboard."""
    if turn.arg not in ("hide", "show"):
        return [Reply(_("That choice is no longer available."))]
    visible = turn.arg == "show"
    await q.set_leaderboard_visible(turn.session, turn.farmer.user_id, visible)
    text = (
        _("Your name is now shown on the leaderboard.")
        if visible
        else _("Your name is now hidden on the leaderboard. Others see you as {name}.").format(
            name=anonymous_name(turn.farmer.user_id)
        )
    )
    return [Reply(text, options=(Option(_("🏆 Leaderboard"), "cmd:leaderboard"),))]


def _learning_time(seconds: int) -> str:
    """Lesson time as the farmer spent it: from a lesson reaching them to their "done",
    at most 30 minutes a lesson (see docs/learning-time.md)."""
    if seconds < 60:
        return _("⏱️ Learning time: less than a minute")
    if seconds < 3600:
        minutes = round(seconds / 60)
        return ngettext(
            "⏱️ Learning time: {count} minute", "⏱️ Learning time: {count} minutes", minutes
        ).format(count=format_number(minutes))
    rounded = (Decimal(seconds) / 3600).quantize(Decimal("0.1"))
    return ngettext(
        "⏱️ Learning time: {count} hour",
        "⏱️ Learning time: {count} hours",
        1 if rounded == 1 else 2,
    ).format(count=format_number(rounded))


async def progress_lines(turn: Turn) -> list[str]:
    """The rewards part of /progress: points, streak, learning time and badges."""
    summary = await q.summary(turn.session, turn.farmer.user_id)
    streak = ngettext(
        "🔥 Streak: {count} day in a row",
        "🔥 Streak: {count} days in a row",
        summary.current_streak_days,
    ).format(count=format_number(summary.current_streak_days))
    if summary.longest_streak_days > summary.current_streak_days:
        streak += " " + _("(best: {count})").format(
            count=format_number(summary.longest_streak_days)
        )
    return [
        _("⭐ Points: {points}").format(points=format_number(summary.total_points)),
        streak,
        _learning_time(summary.learning_seconds),
        _("🏅 Badges: {count}").format(count=format_number(summary.badges)),
    ]


def streak_reminder(streak_days: int) -> Reply:
    """The evening nudge to a farmer whose streak ends unless they learn today."""
    return Reply(
        "\n".join(
            [
                ngettext(
                    "🔥 You learned yesterday: a {count}-day streak!",
                    "🔥 You have learned {count} days in a row!",
                    streak_days,
                ).format(count=format_number(streak_days)),
                _("Take one short lesson today to keep your streak going. Send /lesson."),
                _("Send /stop if you do not want reminders."),
            ]
        )
    )


async def remind_streaks(work: Work, *, today: dt.date | None = None) -> int:
    """End the streaks of farmers who missed a day, then remind a batch of those about
    to miss one.

    Returns how many reminders were queued; a full batch (REMINDER_BATCH) means there
    may be more. Safe to run again the same day: each farmer is reminded once a local
    day. `today` overrides the local date (tests).
    """
    session = work.session
    await q.reset_broken_streaks(session, today=today)
    due = await q.claim_streak_reminders(session, limit=REMINDER_BATCH, today=today)
    queued = 0
    for farmer in due:
        with use_language(farmer.language):
            reply = streak_reminder(farmer.streak_days)
        queued += await outreach.tell(
            session, work.settings, farmer.user_id, [reply], kind="reminder"
        )
    log.info("streak reminders queued: %d", queued)
    return queued


@JOBS.every(REMINDER_JOB, REMINDER_CRON)
async def streak_reminders(work: Work) -> bool:
    """The daily schedule, a batch per unit of work (a long run never holds one huge
    transaction open): see remind_streaks."""
    return await remind_streaks(work) >= REMINDER_BATCH


CONVERSATION = Conversation(
    name="rewards",
    commands={"badges": on(show_badges, STAY), "leaderboard": on(show_leaderboard, STAY)},
    buttons={"lbname": on(leaderboard_name, STAY)},
    aliases={
        "badges": "badges",
        "badge": "badges",
        "बैज": "badges",
        "बॅज": "badges",
        "leaderboard": "leaderboard",
        "लीडरबोर्ड": "leaderboard",
        "गुणतालिका": "leaderboard",
    },
)
