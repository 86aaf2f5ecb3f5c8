"""Rewards: the points ledger, activity days and streaks, badge rules, leaderboards.

The rules themselves (how many points, what a requirement type counts) are
documented in handlers/rewards.py and docs/rewards.md; this module holds the SQL.
Every count a badge rule needs is taken from the underlying tables, not from
user_learning_stats, so a badge can never be earned on a drifted counter.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

# The farmer's local calendar day. `:today` overrides it (tests, back-fills).
_LOCAL_TODAY = (
    "coalesce(CAST(:today AS date),"
    " (now() AT TIME ZONE coalesce(u.timezone, 'Asia/Kolkata'))::date)"
)


@dataclass(frozen=True, slots=True)
class Marked:
    """What one event wrote: points newly awarded, and whether today was a new activity day."""

    points: int
    new_day: bool
    total_points: int | None  # None when nothing changed
    current_streak_days: int | None
    longest_streak_days: int | None


# One round trip for the event's own writes, in a fixed lock order: the farmer's
# stats row first (FOR UPDATE, so concurrent events of one farmer queue here and
# every later statement of this transaction sees what the earlier ones
# committed), then the ledger and the day, then the stats row's new totals.
#
# The streak is recounted from activity_days only when today is a new day: the
# run of consecutive days ending today is the current streak, the longest run
# ever the longest streak (`day - row_number()` is constant along a run).
_AWARD_AND_MARK = text(
    f"""
    WITH locked AS (
        SELECT id FROM user_learning_stats WHERE user_id = :user FOR UPDATE
    ), me AS (
        SELECT {_LOCAL_TODAY} AS today, (SELECT count(*) FROM locked) AS locked_rows
          FROM users u WHERE u.id = :user
    ), awarded AS (
        INSERT INTO points_ledger (user_id, points, reason, subject_id)
        SELECT :user, e.points, e.reason, :subject
          FROM me, unnest(CAST(:reasons AS varchar[]), CAST(:points AS int[])) AS e(reason, points)
        ON CONFLICT (user_id, reason, subject_id) DO NOTHING
        RETURNING points
    ), marked AS (
        INSERT INTO activity_days (user_id, day) SELECT :user, today FROM me
        ON CONFLICT (user_id, day) DO NOTHING
        RETURNING day
    ), runs AS (
        SELECT max(d) AS last_day, count(*) AS length
          FROM (SELECT d, d - CAST(row_number() OVER (ORDER BY d) AS int) AS run
                  FROM (SELECT day AS d FROM activity_days
                         WHERE user_id = :user AND EXISTS (SELECT 1 FROM marked)
                        UNION SELECT day FROM marked) days) numbered
         GROUP BY run
    ), streak AS (
        SELECT coalesce(max(length) FILTER (WHERE last_day = (SELECT day FROM marked)), 0)
                   AS current_days,
               coalesce(max(length), 0) AS longest_days
          FROM runs
    ), gained AS (
        SELECT coalesce(sum(points), 0) AS points FROM awarded
    ), stats AS (
        INSERT INTO user_learning_stats AS s
               (user_id, total_points, current_streak_days, longest_streak_days)
        SELECT :user, gained.points, streak.current_days, streak.longest_days
          FROM gained, streak
        ON CONFLICT (user_id) DO UPDATE
           SET total_points = coalesce(s.total_points, 0) + EXCLUDED.total_points,
               current_streak_days = CASE WHEN EXISTS (SELECT 1 FROM marked)
                                          THEN EXCLUDED.current_streak_days
                                          ELSE s.current_streak_days END,
               longest_streak_days = CASE WHEN EXISTS (SELECT 1 FROM marked)
                                          THEN greatest(coalesce(s.longest_streak_days, 0),
                                                        EXCLUDED.longest_streak_days)
                                          ELSE s.longest_streak_days END,
               updated_at = now()
         WHERE EXCLUDED.total_points > 0 OR EXISTS (SELECT 1 FROM marked)
        RETURNING s.total_points, s.current_streak_days, s.longest_streak_days
    )
    SELECT gained.points, EXISTS (SELECT 1 FROM marked) AS new_day,
           stats.total_points, stats.current_streak_days, stats.longest_streak_days
      FROM gained LEFT JOIN stats ON true
    """
)


async def award_and_mark_day(
    session: AsyncSession,
    user_id: uuid.UUID,
    subject_id: uuid.UUID,
    awards: list[tuple[str, int]],
    *,
    today: dt.date | None = None,
) -> Marked:
    """Award each (reason, points) once per subject, mark today, move the streak."""
    row = (
        await session.execute(
            _AWARD_AND_MARK,
            {
                "user": user_id,
                "subject": subject_id,
                "reasons": [reason for reason, _points in awards],
                "points": [points for _reason, points in awards],
                "today": today,
            },
        )
    ).one()
    return Marked(
        int(row.points),
        bool(row.new_day),
        row.total_points,
        row.current_streak_days,
        row.longest_streak_days,
    )


# How far the farmer is along each requirement type, counted from the tables
# that record the learning itself.
_MEASURES = """
    measures AS (
        SELECT
          (SELECT count(*) FROM course_enrollments
            WHERE user_id = :user AND status = 'completed') AS courses_completed,
          (SELECT count(*) FROM lesson_progress
            WHERE user_id = :user AND status = 'completed') AS lessons_completed,
          (SELECT count(DISTINCT quiz_id) FROM quiz_attempts
            WHERE user_id = :user AND passed) AS quizzes_passed,
          (SELECT count(DISTINCT quiz_id) FROM quiz_attempts
            WHERE user_id = :user AND passed AND percentage >= 100) AS perfect_quiz,
          (SELECT coalesce(max(longest_streak_days), 0) FROM user_learning_stats
            WHERE user_id = :user) AS consecutive_days,
          (SELECT coalesce(sum(points), 0) FROM points_ledger
            WHERE user_id = :user) AS total_points,
          (SELECT count(*) FROM user_roadmap_progress
            WHERE user_id = :user AND completed_at IS NOT NULL) AS roadmaps_completed,
          (SELECT count(*) FROM course_enrollments WHERE user_id = :user) AS first_enrollment,
          (SELECT coalesce(sum(time_spent_seconds), 0) FROM lesson_progress
            WHERE user_id = :user) / 3600 AS learning_hours
    ), standing AS (
        SELECT b.id, b.name, b.description, b.icon_emoji, b.category, b.requirement_type,
               greatest(coalesce(b.requirement_value, 1), 1) AS target,
               CASE b.requirement_type
                    WHEN 'courses_completed' THEN m.courses_completed
                    WHEN 'lessons_completed' THEN m.lessons_completed
                    WHEN 'quizzes_passed' THEN m.quizzes_passed
                    WHEN 'perfect_quiz' THEN m.perfect_quiz
                    WHEN 'consecutive_days' THEN m.consecutive_days
                    WHEN 'total_points' THEN m.total_points
                    WHEN 'roadmaps_completed' THEN m.roadmaps_completed
                    WHEN 'first_enrollment' THEN m.first_enrollment
                    WHEN 'learning_hours' THEN m.learning_hours
               END AS have,
               ub.earned_at
          FROM badges b
         CROSS JOIN measures m
          LEFT JOIN user_badges ub ON ub.badge_id = b.id AND ub.user_id = :user
    )
"""

_SHOW = """
    SELECT st.id, coalesce(t.name, st.name) AS name,
           coalesce(t.description, st.description) AS description,
           st.icon_emoji AS emoji, st.requirement_type, st.target, coalesce(st.have, 0) AS have,
           st.earned_at, {new} AS new
      FROM standing st
      LEFT JOIN badge_translations t ON t.badge_id = st.id AND t.language = :language
"""

# Award every badge whose rule now holds. The unique (user_id, badge_id) and
# ON CONFLICT make a badge land once even when two transactions race for it;
# only the rows this statement really inserted count towards total_badges_earned.
_EVALUATE = text(
    "WITH "
    + _MEASURES
    + """
    , earned AS (
        INSERT INTO user_badges (user_id, badge_id)
        SELECT :user, id FROM standing WHERE earned_at IS NULL AND have >= target
        ON CONFLICT (user_id, badge_id) DO NOTHING
        RETURNING badge_id
    ), counted AS (
        INSERT INTO user_learning_stats AS s (user_id, total_badges_earned)
        SELECT :user, count(*) FROM earned HAVING count(*) > 0
        ON CONFLICT (user_id) DO UPDATE
           SET total_badges_earned = coalesce(s.total_badges_earned, 0)
                                     + EXCLUDED.total_badges_earned,
               updated_at = now()
    )
    """
    + _SHOW.format(new="EXISTS (SELECT 1 FROM earned e WHERE e.badge_id = st.id)")
)

_STANDING = text("WITH " + _MEASURES + _SHOW.format(new="false"))


@dataclass(frozen=True, slots=True)
class BadgeStanding:
    """One badge of the catalogue, in the farmer's language, and how far they are."""

    id: uuid.UUID
    name: str
    description: str
    emoji: str | None
    requirement_type: str
    target: int
    have: int
    earned_at: dt.datetime | None  # before this statement
    new: bool  # earned by this statement

    @property
    def earned(self) -> bool:
        return self.new or self.earned_at is not None


def _standings(rows: Sequence[Row[Any]]) -> list[BadgeStanding]:
    standings = []
    for row in rows:
        values = dict(row._mapping)
        values.update(
            target=int(values["target"]), have=int(values["have"]), new=bool(values["new"])
        )
        standings.append(BadgeStanding(**values))
    return standings


async def evaluate_badges(
    session: AsyncSession, user_id: uuid.UUID, language: str
) -> list[BadgeStanding]:
    """Award what is due (once each), then every badge with the farmer's standing."""
    rows = await session.execute(_EVALUATE, {"user": user_id, "language": language})
    return _standings(rows.all())


async def badge_standing(
    session: AsyncSession, user_id: uuid.UUID, language: str
) -> list[BadgeStanding]:
    """Every badge with the farmer's standing, awarding nothing."""
    rows = await session.execute(_STANDING, {"user": user_id, "language": language})
    return _standings(rows.all())


@dataclass(frozen=True, slots=True)
class Summary:
    """The farmer's rewards at a glance, for /progress."""

    total_points: int
    current_streak_days: int
    longest_streak_days: int
    # Summed from each lesson's own seconds, not from the rounded hours counter:
    # rounding six short lessons to 0.01 h each once showed "0 minutes".
    learning_seconds: int
    badges: int


async def summary(session: AsyncSession, user_id: uuid.UUID) -> Summary:
    """Points, streak (0 once a day was missed), hours and badges."""
    row = (
        await session.execute(
            text(
                f"""
                SELECT coalesce(s.total_points, 0) AS total_points,
                       CASE WHEN EXISTS (
                                SELECT 1 FROM activity_days a
                                 WHERE a.user_id = u.id AND a.day >= {_LOCAL_TODAY} - 1)
                            THEN coalesce(s.current_streak_days, 0) ELSE 0 END
                           AS current_streak_days,
                       coalesce(s.longest_streak_days, 0) AS longest_streak_days,
                       (SELECT coalesce(sum(p.time_spent_seconds), 0) FROM lesson_progress p
                         WHERE p.user_id = u.id) AS learning_seconds,
                       coalesce(s.total_badges_earned, 0) AS badges
                  FROM users u LEFT JOIN user_learning_stats s ON s.user_id = u.id
                 WHERE u.id = :user
                """
            ),
            {"user": user_id, "today": None},
        )
    ).one()
    return Summary(
        int(row.total_points),
        int(row.current_streak_days),
        int(row.longest_streak_days),
        int(row.learning_seconds),
        int(row.badges),
    )


@dataclass(frozen=True, slots=True)
class Standing:
    """One line of a leaderboard."""

    board: str  # "week" or "all"
    user_id: uuid.UUID
    points: int
    rank: int  # ties share a rank
    place: int  # the order shown
    players: int  # farmers with points on this board
    display_name: str | None
    visible: bool


# The top of each board, plus the asking farmer's own line wherever it falls.
# The week starts on Monday 00:00 in the asking farmer's time zone.
_LEADERBOARD = text(
    """
    WITH me AS (
        SELECT date_trunc('week', now() AT TIME ZONE coalesce(u.timezone, 'Asia/Kolkata'))
                   AT TIME ZONE coalesce(u.timezone, 'Asia/Kolkata') AS week_start
          FROM users u WHERE u.id = :user
    ), week AS (
        SELECT user_id, sum(points) AS points, max(created_at) AS reached_at
          FROM points_ledger
         WHERE created_at >= (SELECT week_start FROM me)
         GROUP BY user_id
    ), ranked AS (
        SELECT 'week' AS board, user_id, points,
               rank() OVER (ORDER BY points DESC) AS rank,
               row_number() OVER (ORDER BY points DESC, reached_at, user_id) AS place,
               count(*) OVER () AS players
          FROM week WHERE points > 0
        UNION ALL
        SELECT 'all', user_id, total_points,
               rank() OVER (ORDER BY total_points DESC),
               row_number() OVER (ORDER BY total_points DESC, user_id),
               count(*) OVER ()
          FROM user_learning_stats s WHERE total_points > 0
           AND NOT EXISTS (SELECT 1 FROM erasures x WHERE x.user_id = s.user_id)
    )
    SELECT r.board, r.user_id, r.points, r.rank, r.place, r.players, u.display_name,
           EXISTS (SELECT 1 FROM leaderboard_opt_ins o WHERE o.user_id = r.user_id) AS visible
      FROM ranked r JOIN users u ON u.id = r.user_id
     WHERE r.place <= :top OR r.user_id = :user
     ORDER BY r.board DESC, r.place
    """
)


async def leaderboard(session: AsyncSession, user_id: uuid.UUID, *, top: int) -> list[Standing]:
    """Both boards' top `top` lines, and the farmer's own line on each (if they have points)."""
    rows = await session.execute(_LEADERBOARD, {"user": user_id, "top": top})
    return [
        Standing(
            board=row.board,
            user_id=row.user_id,
            points=int(row.points),
            rank=int(row.rank),
            place=int(row.place),
            players=int(row.players),
            display_name=row.display_name,
            visible=bool(row.visible),
        )
        for row in rows
    ]


async def leaderboard_visible(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether the farmer chose to show their name (hidden unless they opted in)."""
    found = await session.execute(
        text("SELECT 1 FROM leaderboard_opt_ins WHERE user_id = :user"), {"user": user_id}
    )
    return found.first() is not None


async def set_leaderboard_visible(session: AsyncSession, user_id: uuid.UUID, visible: bool) -> None:
    statement = (
        "INSERT INTO leaderboard_opt_ins (user_id) VALUES (:user) ON CONFLICT DO NOTHING"
        if visible
        else "DELETE FROM leaderboard_opt_ins WHERE user_id = :user"
    )
    await session.execute(text(statement), {"user": user_id})


# A streak whose farmer missed a whole local day is over: the stats row says so
# too, not only the screens that read it.
_RESET_BROKEN_STREAKS = text(
    f"""
    UPDATE user_learning_stats s
       SET current_streak_days = 0, updated_at = now()
      FROM users u
     WHERE u.id = s.user_id AND s.current_streak_days > 0
       AND NOT EXISTS (SELECT 1 FROM activity_days a
                        WHERE a.user_id = s.user_id AND a.day >= {_LOCAL_TODAY} - 1)
    """
)


async def reset_broken_streaks(session: AsyncSession, *, today: dt.date | None = None) -> int:
    result = await session.execute(_RESET_BROKEN_STREAKS, {"today": today})
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class ReminderDue:
    user_id: uuid.UUID
    language: str
    streak_days: int


# Farmers who learned yesterday but not yet today (local days), who have not
# opted out, and were not reminded today. Inserting into reminders_sent claims
# them: a second run the same day, or a concurrent one, finds nobody left.
_CLAIM_REMINDERS = text(
    f"""
    WITH due AS (
        SELECT s.user_id, u.preferred_language AS language,
               s.current_streak_days AS streak_days, {_LOCAL_TODAY} AS today
          FROM user_learning_stats s JOIN users u ON u.id = s.user_id
         WHERE s.current_streak_days >= 1 AND u.consent_status = 'opted_in'
           AND EXISTS (SELECT 1 FROM activity_days a
                        WHERE a.user_id = s.user_id AND a.day = {_LOCAL_TODAY} - 1)
           AND NOT EXISTS (SELECT 1 FROM activity_days a
                            WHERE a.user_id = s.user_id AND a.day >= {_LOCAL_TODAY})
           AND NOT EXISTS (SELECT 1 FROM reminders_sent r
                            WHERE r.user_id = s.user_id AND r.day = {_LOCAL_TODAY})
         ORDER BY s.user_id
         LIMIT :limit
    ), claimed AS (
        INSERT INTO reminders_sent (user_id, day) SELECT user_id, today FROM due
        ON CONFLICT (user_id, day) DO NOTHING
        RETURNING user_id
    )
    SELECT due.user_id, due.language, due.streak_days
      FROM due JOIN claimed USING (user_id)
     ORDER BY due.user_id
    """
)


async def claim_streak_reminders(
    session: AsyncSession, *, limit: int, today: dt.date | None = None
) -> list[ReminderDue]:
    rows = await session.execute(_CLAIM_REMINDERS, {"limit": limit, "today": today})
    return [ReminderDue(row.user_id, row.language, int(row.streak_days)) for row in rows]


async def prune_badge_translations(
    session: AsyncSession,
    badge_ids: list[uuid.UUID],
    *,
    keep: list[tuple[uuid.UUID, str]],
) -> int:
    """Drop the translations of these badges that the content file no longer has."""
    if not badge_ids:
        return 0
    result = await session.execute(
        text(
            """
            DELETE FROM badge_translations t
             WHERE t.badge_id = ANY(CAST(:badges AS uuid[]))
               AND (t.badge_id, t.language) NOT IN (
                    SELECT k.badge_id, k.language
                      FROM unnest(CAST(:keep_ids AS uuid[]), CAST(:keep_languages AS varchar[]))
                           AS k(badge_id, language))
            """
        ),
        {
            "badges": badge_ids,
            "keep_ids": [badge_id for badge_id, _language in keep],
            "keep_languages": [language for _badge_id, language in keep],
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)
