"""The essay grading queue: written answers waiting for a teacher, and their marks."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.queries.quiz import _SCORE

# --- instructors, tokens, invites ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class EssayAnswer:
    answer_id: uuid.UUID
    attempt_id: uuid.UUID
    user_id: uuid.UUID | None
    farmer_name: str | None
    course_id: uuid.UUID | None
    course_title: str | None
    instructor_id: uuid.UUID | None
    quiz_id: uuid.UUID
    quiz_title: str
    question_id: uuid.UUID
    question_text: str
    max_points: int
    user_answer: str
    is_correct: bool | None
    points_earned: int | None
    attempt_open: bool
    answered_at: dt.datetime | None


_ESSAYS = """
    SELECT a.id AS answer_id, a.attempt_id, t.user_id, u.display_name AS farmer_name,
           c.id AS course_id, c.title AS course_title, c.instructor_id,
           z.id AS quiz_id, z.title AS quiz_title, q.id AS question_id, q.question_text,
           coalesce(q.points, 1) AS max_points, a.user_answer, a.is_correct, a.points_earned,
           coalesce(p.status = 'in_progress', false) AS attempt_open, a.created_at AS answered_at
      FROM quiz_answers a
      JOIN quiz_questions q ON q.id = a.question_id AND q.question_type = 'essay'
      JOIN quiz_attempts t ON t.id = a.attempt_id
      JOIN quizzes z ON z.id = t.quiz_id
      LEFT JOIN courses c ON c.id = z.course_id
      LEFT JOIN users u ON u.id = t.user_id
      LEFT JOIN quiz_attempt_progress p ON p.attempt_id = t.id
"""


async def essays_to_grade(
    session: AsyncSession,
    *,
    instructor_id: uuid.UUID | None,
    course_id: uuid.UUID | None,
    limit: int,
) -> list[EssayAnswer]:
    """Ungraded essay answers of the instructor's courses (all for None), oldest first."""
    rows = await session.execute(
        text(
            _ESSAYS
            + """
             WHERE a.is_correct IS NULL
               AND (CAST(:instructor AS uuid) IS NULL OR c.instructor_id = :instructor)
               AND (CAST(:course AS uuid) IS NULL OR c.id = :course)
             ORDER BY a.created_at, a.id LIMIT :limit
            """
        ),
        {"instructor": instructor_id, "course": course_id, "limit": limit},
    )
    return [EssayAnswer(**row._mapping) for row in rows]


async def essay_answer(session: AsyncSession, answer_id: uuid.UUID) -> EssayAnswer | None:
    row = (
        await session.execute(text(_ESSAYS + " WHERE a.id = :id"), {"id": answer_id})
    ).one_or_none()
    return EssayAnswer(**row._mapping) if row else None


@dataclass(frozen=True, slots=True)
class Rescored:
    score: int | None
    possible: int
    percentage: Decimal | None
    passed: bool | None
    ungraded: int


async def grade_essay(
    session: AsyncSession, answer: EssayAnswer, *, is_correct: bool, points: int
) -> Rescored:
    """Record the instructor's grade and score the attempt again, the way finishing it does.

    An attempt the farmer is still answering is scored when they finish it.
    """
    await session.execute(
        text("UPDATE quiz_answers SET is_correct = :c, points_earned = :p WHERE id = :id"),
        {"c": is_correct, "p": points, "id": answer.answer_id},
    )
    # Lock the attempt so two graders of one attempt score it one after the other.
    await session.execute(
        text("SELECT 1 FROM quiz_attempts WHERE id = :a FOR UPDATE"), {"a": answer.attempt_id}
    )
    if answer.attempt_open:
        row = (
            await session.execute(
                text(
                    _SCORE
                    + """
                    SELECT NULL::int AS score, t.possible, NULL::numeric AS percentage,
                           NULL::boolean AS passed, t.ungraded FROM totals t
                    """
                ),
                {"a": answer.attempt_id},
            )
        ).one()
    else:
        row = (
            await session.execute(
                text(
                    _SCORE
                    + """
                    UPDATE quiz_attempts a
                       SET score = t.score,
                           percentage = round(100.0 * t.score / greatest(t.possible, 1), 2),
                           passed = round(100.0 * t.score / greatest(t.possible, 1), 2)
                                    >= coalesce(z.passing_score, 70)
                      FROM totals t, quizzes z
                     WHERE a.id = :a AND z.id = a.quiz_id
                    RETURNING a.score, t.possible, a.percentage, a.passed, t.ungraded
                    """
                ),
                {"a": answer.attempt_id},
            )
        ).one()
    return Rescored(row.score, int(row.possible), row.percentage, row.passed, int(row.ungraded))


# --- analytics -------------------------------------------------------------------------------
