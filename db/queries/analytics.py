"""Course analytics for instructors: enrolments, quiz and lesson statistics."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# --- instructors, tokens, invites ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enrolments:
    enrolled: int
    not_started: int
    in_progress: int
    completed: int
    dropped: int
    average_progress: Decimal | None


async def enrolments(session: AsyncSession, course_id: uuid.UUID) -> Enrolments:
    row = (
        await session.execute(
            text(
                """
                SELECT count(*) AS enrolled,
                       count(*) FILTER (WHERE status = 'enrolled' OR status IS NULL) AS not_started,
                       count(*) FILTER (WHERE status = 'in_progress') AS in_progress,
                       count(*) FILTER (WHERE status = 'completed') AS completed,
                       count(*) FILTER (WHERE status = 'dropped') AS dropped,
                       round(avg(progress_percent), 1) AS average_progress
                  FROM course_enrollments WHERE course_id = :c
                """
            ),
            {"c": course_id},
        )
    ).one()
    return Enrolments(**row._mapping)


@dataclass(frozen=True, slots=True)
class QuizStats:
    quiz_id: uuid.UUID
    title: str
    passing_score: int
    attempts: int
    attempts_passed: int
    farmers: int
    farmers_passed: int
    average_percentage: Decimal | None


async def quiz_stats(session: AsyncSession, course_id: uuid.UUID) -> list[QuizStats]:
    """Per quiz of the course: scored attempts, and farmers who tried and who passed."""
    rows = await session.execute(
        text(
            """
            SELECT z.id AS quiz_id, z.title, coalesce(z.passing_score, 70) AS passing_score,
                   count(a.id) AS attempts, count(a.id) FILTER (WHERE a.passed) AS attempts_passed,
                   count(DISTINCT a.user_id) AS farmers,
                   count(DISTINCT a.user_id) FILTER (WHERE a.passed) AS farmers_passed,
                   round(avg(a.percentage), 1) AS average_percentage
              FROM quizzes z
              LEFT JOIN quiz_attempts a ON a.quiz_id = z.id AND a.score IS NOT NULL
             WHERE z.course_id = :c
             GROUP BY z.id
             ORDER BY z.order_index NULLS LAST, z.title
            """
        ),
        {"c": course_id},
    )
    return [QuizStats(**row._mapping) for row in rows]


@dataclass(frozen=True, slots=True)
class LessonStats:
    lesson_id: uuid.UUID
    order_index: int
    title: str
    started: int
    completed: int


async def lesson_stats(session: AsyncSession, course_id: uuid.UUID) -> list[LessonStats]:
    """Per lesson: enrolled farmers who opened it and who finished it."""
    rows = await session.execute(
        text(
            """
            SELECT l.id AS lesson_id, l.order_index, l.title,
                   count(p.id) AS started,
                   count(p.id) FILTER (WHERE p.status = 'completed') AS completed
              FROM course_lessons l
              LEFT JOIN lesson_progress p
                     ON p.lesson_id = l.id
                    AND EXISTS (SELECT 1 FROM course_enrollments e
                                 WHERE e.course_id = l.course_id AND e.user_id = p.user_id)
             WHERE l.course_id = :c
             GROUP BY l.id
             ORDER BY l.order_index, l.id
            """
        ),
        {"c": course_id},
    )
    return [LessonStats(**row._mapping) for row in rows]


async def furthest_lessons(session: AsyncSession, course_id: uuid.UUID) -> dict[int, int]:
    """For farmers who have not completed the course: furthest lesson done (0: none) → farmers."""
    rows = await session.execute(
        text(
            """
            SELECT coalesce(max(l.order_index) FILTER (WHERE p.status = 'completed'), 0) AS furthest,
                   e.user_id
              FROM course_enrollments e
              LEFT JOIN lesson_progress p ON p.user_id = e.user_id
              LEFT JOIN course_lessons l ON l.id = p.lesson_id AND l.course_id = e.course_id
             WHERE e.course_id = :c AND e.status IS DISTINCT FROM 'completed'
             GROUP BY e.user_id
            """
        ),
        {"c": course_id},
    )
    histogram: dict[int, int] = {}
    for row in rows:
        histogram[int(row.furthest)] = histogram.get(int(row.furthest), 0) + 1
    return histogram
