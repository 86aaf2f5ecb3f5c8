"""Lessons and the progress counters that move with them.

Every counter of the issue is kept here, in the turn's transaction:
lesson_progress, course_enrollments, courses.completion_rate, user_learning_stats.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.queries.catalog import refresh_completion_rate

# `now()` is UTC in our sessions; the seed's timestamp columns have no time zone.
NOW = "(now() AT TIME ZONE 'UTC')"


@dataclass(frozen=True, slots=True)
class LessonView:
    id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    course_emoji: str | None
    title: str
    description: str | None
    content_type: str
    content_url: str | None
    duration: str | None
    is_preview: bool
    order_index: int
    total_lessons: int
    course_price: Decimal
    enrollment_status: str | None
    progress_status: str | None

    @property
    def is_open_to(self) -> bool:
        return is_open_to(self.enrollment_status, self.is_preview, self.course_price)


def is_open_to(enrollment_status: str | None, is_preview: bool, course_price: Decimal) -> bool:
    """The access rule of a published course's content (lessons, quizzes): enrolled, a
    free preview, or a free course (which enrols on the way) may open it.

    A dropped enrollment (a refunded purchase) opens no more than no enrollment.
    Unpublished courses are not found at all by the queries that apply this rule.
    """
    enrolled = enrollment_status not in (None, "dropped")
    return enrolled or is_preview or course_price <= 0


@dataclass(frozen=True, slots=True)
class CourseAccess:
    """What the access rule needs to know about a published course and one farmer."""

    course_id: uuid.UUID
    course_price: Decimal
    enrollment_status: str | None
    is_preview: bool = False

    @property
    def is_open_to(self) -> bool:
        return is_open_to(self.enrollment_status, self.is_preview, self.course_price)


_PRICE = "coalesce(c.price, 0) * (100 - coalesce(c.discount_percent, 0)) / 100"


async def course_access(
    session: AsyncSession, course_id: uuid.UUID, user_id: uuid.UUID
) -> CourseAccess | None:
    """The farmer's access to a published course; None if there is no such course."""
    row = (
        await session.execute(
            text(
                f"""
                SELECT c.id AS course_id, {_PRICE} AS course_price,
                       e.status AS enrollment_status
                  FROM courses c
                  LEFT JOIN course_enrollments e ON e.course_id = c.id AND e.user_id = :user
                 WHERE c.id = :course AND c.is_published
                """
            ),
            {"course": course_id, "user": user_id},
        )
    ).one_or_none()
    return CourseAccess(**row._mapping) if row is not None else None


_LESSON = """
    SELECT l.id, l.course_id, c.title AS course_title, c.thumbnail_emoji AS course_emoji,
           l.title, l.description, l.content_type, l.content_url, l.duration,
           coalesce(l.is_preview, false) AS is_preview, l.order_index,
           (SELECT count(*) FROM course_lessons x WHERE x.course_id = l.course_id) AS total_lessons,
           coalesce(c.price, 0) * (100 - coalesce(c.discount_percent, 0)) / 100 AS course_price,
           e.status AS enrollment_status, p.status AS progress_status
      FROM course_lessons l
      JOIN courses c ON c.id = l.course_id
      LEFT JOIN course_enrollments e ON e.course_id = l.course_id AND e.user_id = :user
      LEFT JOIN lesson_progress p ON p.lesson_id = l.id AND p.user_id = :user
"""


async def get_lesson(
    session: AsyncSession, lesson_id: uuid.UUID, user_id: uuid.UUID
) -> LessonView | None:
    row = (
        await session.execute(
            text(_LESSON + " WHERE l.id = :lesson AND c.is_published"),
            {"lesson": lesson_id, "user": user_id},
        )
    ).one_or_none()
    return LessonView(**row._mapping) if row is not None else None


async def first_open_lesson(
    session: AsyncSession, course_id: uuid.UUID, user_id: uuid.UUID
) -> LessonView | None:
    """The first lesson of a course the farmer has not completed yet."""
    row = (
        await session.execute(
            text(
                _LESSON
                + """ WHERE l.course_id = :course AND c.is_published
                        AND p.status IS DISTINCT FROM 'completed'
                      ORDER BY l.order_index LIMIT 1"""
            ),
            {"course": course_id, "user": user_id},
        )
    ).one_or_none()
    return LessonView(**row._mapping) if row is not None else None


async def next_lesson(
    session: AsyncSession, course_id: uuid.UUID, after_order: int, user_id: uuid.UUID
) -> LessonView | None:
    row = (
        await session.execute(
            text(
                _LESSON + " WHERE l.course_id = :course AND c.is_published"
                " AND l.order_index > :after"
                " ORDER BY l.order_index LIMIT 1"
            ),
            {"course": course_id, "after": after_order, "user": user_id},
        )
    ).one_or_none()
    return LessonView(**row._mapping) if row is not None else None


async def current_course(session: AsyncSession, user_id: uuid.UUID) -> uuid.UUID | None:
    """The course the farmer touched last and has not finished."""
    return (
        await session.execute(
            text(
                """
                SELECT course_id FROM course_enrollments
                 WHERE user_id = :user AND status IN ('enrolled', 'in_progress')
                 ORDER BY last_accessed_at DESC NULLS LAST, enrolled_at DESC LIMIT 1
                """
            ),
            {"user": user_id},
        )
    ).scalar_one_or_none()


async def start_lesson(
    session: AsyncSession, user_id: uuid.UUID, lesson_id: uuid.UUID, course_id: uuid.UUID
) -> None:
    """The lesson was sent: in progress (unless already done), the course in progress too."""
    await session.execute(
        text(
            f"""
            WITH p AS (
                INSERT INTO lesson_progress AS p (user_id, lesson_id, status, last_watched_at)
                VALUES (:user, :lesson, 'in_progress', {NOW})
                ON CONFLICT (user_id, lesson_id) DO UPDATE
                   SET last_watched_at = EXCLUDED.last_watched_at,
                       status = CASE WHEN p.status = 'completed' THEN 'completed'
                                     ELSE 'in_progress' END
            ), e AS (
                UPDATE course_enrollments
                   SET status = CASE WHEN status = 'enrolled' THEN 'in_progress' ELSE status END,
                       last_accessed_at = {NOW}
                 WHERE user_id = :user AND course_id = :course
            )
            UPDATE user_learning_stats SET last_activity_date = {NOW} WHERE user_id = :user
            """
        ),
        {"user": user_id, "lesson": lesson_id, "course": course_id},
    )


@dataclass(frozen=True, slots=True)
class Completion:
    newly_completed: bool  # False when the lesson was already done (a stale "next")
    course_completed: bool  # the course became complete with this lesson
    lessons_completed: int
    total_lessons: int


async def complete_lesson(
    session: AsyncSession,
    user_id: uuid.UUID,
    lesson_id: uuid.UUID,
    course_id: uuid.UUID,
    *,
    max_seconds: int,
) -> Completion:
    """Mark a lesson done and move every counter that depends on it, exactly once."""
    spent = (
        await session.execute(
            text(
                f"""
                INSERT INTO lesson_progress AS p
                       (user_id, lesson_id, status, completion_date, time_spent_seconds, last_watched_at)
                VALUES (:user, :lesson, 'completed', {NOW}, 0, {NOW})
                ON CONFLICT (user_id, lesson_id) DO UPDATE
                   SET status = 'completed', completion_date = {NOW}, last_watched_at = {NOW},
                       -- Time from the lesson being sent to "done", capped: farmers leave
                       -- the chat for the field and come back hours later.
                       time_spent_seconds = coalesce(p.time_spent_seconds, 0) + least(
                           :cap, greatest(0, extract(epoch FROM {NOW} - p.created_at))::int)
                 WHERE p.status IS DISTINCT FROM 'completed'
                RETURNING time_spent_seconds
                """
            ),
            {"user": user_id, "lesson": lesson_id, "cap": max_seconds},
        )
    ).scalar_one_or_none()
    if spent is None:
        done, total = await _lesson_counts(session, user_id, course_id)
        return Completion(False, False, done, total)

    row = (
        await session.execute(
            text(
                f"""
                WITH counts AS (
                    SELECT count(*) FILTER (WHERE p.status = 'completed') AS done, count(*) AS total
                      FROM course_lessons l
                      LEFT JOIN lesson_progress p ON p.lesson_id = l.id AND p.user_id = :user
                     WHERE l.course_id = :course
                ), before AS (
                    SELECT status FROM course_enrollments
                     WHERE user_id = :user AND course_id = :course FOR UPDATE
                ), e AS (
                    UPDATE course_enrollments e
                       SET lessons_completed = counts.done,
                           progress_percent = (100 * counts.done / greatest(counts.total, 1)),
                           status = CASE WHEN counts.done >= counts.total THEN 'completed'
                                         ELSE 'in_progress' END,
                           completion_date = CASE WHEN counts.done >= counts.total
                                                  THEN coalesce(e.completion_date, {NOW}) END,
                           last_accessed_at = {NOW}
                      FROM counts
                     WHERE e.user_id = :user AND e.course_id = :course
                    RETURNING e.status
                )
                SELECT counts.done, counts.total,
                       coalesce((SELECT status FROM e) = 'completed'
                                AND (SELECT status FROM before) IS DISTINCT FROM 'completed',
                                false) AS course_completed
                  FROM counts
                """
            ),
            {"user": user_id, "course": course_id},
        )
    ).one()
    course_completed = bool(row.course_completed)
    await session.execute(
        text(
            f"""
            INSERT INTO user_learning_stats AS s
                   (user_id, total_courses_completed, total_learning_hours, last_activity_date)
            VALUES (:user, CASE WHEN :course_completed THEN 1 ELSE 0 END,
                    round(:spent / 3600.0, 2), {NOW})
            ON CONFLICT (user_id) DO UPDATE
               SET total_courses_completed = coalesce(s.total_courses_completed, 0)
                       + CASE WHEN :course_completed THEN 1 ELSE 0 END,
                   total_learning_hours = coalesce(s.total_learning_hours, 0) + round(:spent / 3600.0, 2),
                   last_activity_date = {NOW}
            """
        ),
        {
            "user": user_id,
            "course": course_id,
            "course_completed": course_completed,
            "spent": spent,
        },
    )
    if course_completed:
        await refresh_completion_rate(session, course_id)
    return Completion(True, course_completed, int(row.done), int(row.total))


async def _lesson_counts(
    session: AsyncSession, user_id: uuid.UUID, course_id: uuid.UUID
) -> tuple[int, int]:
    row = (
        await session.execute(
            text(
                """
                SELECT count(*) FILTER (WHERE p.status = 'completed') AS done, count(*) AS total
                  FROM course_lessons l
                  LEFT JOIN lesson_progress p ON p.lesson_id = l.id AND p.user_id = :user
                 WHERE l.course_id = :course
                """
            ),
            {"user": user_id, "course": course_id},
        )
    ).one()
    return int(row.done), int(row.total)


@dataclass(frozen=True, slots=True)
class CourseProgress:
    course_id: uuid.UUID
    title: str
    emoji: str | None
    status: str
    progress_percent: int
    lessons_completed: int
    total_lessons: int
    next_lesson_id: uuid.UUID | None
    next_lesson_title: str | None


async def progress_of(session: AsyncSession, user_id: uuid.UUID) -> list[CourseProgress]:
    rows = await session.execute(
        text(
            """
            SELECT c.id AS course_id, c.title, c.thumbnail_emoji AS emoji, e.status,
                   coalesce(e.progress_percent, 0) AS progress_percent,
                   coalesce(e.lessons_completed, 0) AS lessons_completed,
                   (SELECT count(*) FROM course_lessons l WHERE l.course_id = c.id) AS total_lessons,
                   n.id AS next_lesson_id, n.title AS next_lesson_title
              FROM course_enrollments e
              JOIN courses c ON c.id = e.course_id
              LEFT JOIN LATERAL (
                    SELECT l.id, l.title FROM course_lessons l
                      LEFT JOIN lesson_progress p ON p.lesson_id = l.id AND p.user_id = e.user_id
                     WHERE l.course_id = c.id AND p.status IS DISTINCT FROM 'completed'
                     ORDER BY l.order_index LIMIT 1) n ON true
             WHERE e.user_id = :user AND e.status <> 'dropped'
             ORDER BY e.last_accessed_at DESC NULLS LAST, e.enrolled_at DESC
            """
        ),
        {"user": user_id},
    )
    return [CourseProgress(**row._mapping) for row in rows]
