"""Quizzes: attempts, answers and scores, in the seed's quiz tables."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.queries.lessons import CourseAccess


@dataclass(frozen=True, slots=True)
class QuizInfo:
    id: uuid.UUID
    course_id: uuid.UUID | None
    lesson_id: uuid.UUID | None
    title: str
    description: str | None
    passing_score: int
    time_limit_minutes: int | None
    shuffle_questions: bool
    show_correct_answer: bool
    is_required: bool
    question_count: int


_QUIZ = """
    SELECT q.id, q.course_id, q.lesson_id, q.title, q.description,
           coalesce(q.passing_score, 70) AS passing_score, q.time_limit_minutes,
           coalesce(q.shuffle_questions, false) AS shuffle_questions,
           coalesce(q.show_correct_answer, true) AS show_correct_answer,
           coalesce(q.is_required, true) AS is_required,
           (SELECT count(*) FROM quiz_questions x WHERE x.quiz_id = q.id) AS question_count
      FROM quizzes q
"""


async def get_quiz(session: AsyncSession, quiz_id: uuid.UUID) -> QuizInfo | None:
    row = (await session.execute(text(_QUIZ + " WHERE q.id = :id"), {"id": quiz_id})).one_or_none()
    return QuizInfo(**row._mapping) if row else None


async def quiz_access(
    session: AsyncSession, quiz_id: uuid.UUID, user_id: uuid.UUID
) -> CourseAccess | None:
    """The farmer's access to a quiz, by its course's rule (its lesson's preview flag
    counts); None if the quiz or its published course does not exist."""
    row = (
        await session.execute(
            text(
                """
                SELECT c.id AS course_id,
                       coalesce(c.price, 0) * (100 - coalesce(c.discount_percent, 0)) / 100
                           AS course_price,
                       e.status AS enrollment_status,
                       coalesce(l.is_preview, false) AS is_preview
                  FROM quizzes q
                  LEFT JOIN course_lessons l ON l.id = q.lesson_id
                  JOIN courses c ON c.id = coalesce(q.course_id, l.course_id)
                  LEFT JOIN course_enrollments e ON e.course_id = c.id AND e.user_id = :user
                 WHERE q.id = :quiz AND c.is_published
                """
            ),
            {"quiz": quiz_id, "user": user_id},
        )
    ).one_or_none()
    return CourseAccess(**row._mapping) if row is not None else None


async def quiz_of_lesson(session: AsyncSession, lesson_id: uuid.UUID) -> QuizInfo | None:
    row = (
        await session.execute(
            text(_QUIZ + " WHERE q.lesson_id = :id ORDER BY q.order_index NULLS LAST LIMIT 1"),
            {"id": lesson_id},
        )
    ).one_or_none()
    return QuizInfo(**row._mapping) if row else None


async def quizzes_of_course(session: AsyncSession, course_id: uuid.UUID) -> list[QuizInfo]:
    rows = await session.execute(
        text(_QUIZ + " WHERE q.course_id = :id ORDER BY q.order_index NULLS LAST, q.title"),
        {"id": course_id},
    )
    return [QuizInfo(**row._mapping) for row in rows]


async def next_due_quiz(session: AsyncSession, user_id: uuid.UUID) -> QuizInfo | None:
    """The first quiz of the farmer's current course whose lesson is not done yet."""
    row = (
        await session.execute(
            text(
                _QUIZ
                + """
                  JOIN course_lessons l ON l.id = q.lesson_id
                  LEFT JOIN lesson_progress p ON p.lesson_id = l.id AND p.user_id = :user
                 WHERE q.course_id = (
                        SELECT course_id FROM course_enrollments
                         WHERE user_id = :user AND status IN ('enrolled', 'in_progress')
                         ORDER BY last_accessed_at DESC NULLS LAST LIMIT 1)
                   AND p.status IS DISTINCT FROM 'completed'
                 ORDER BY l.order_index LIMIT 1
                """
            ),
            {"user": user_id},
        )
    ).one_or_none()
    return QuizInfo(**row._mapping) if row else None


@dataclass(frozen=True, slots=True)
class OpenAttempt:
    attempt_id: uuid.UUID
    attempt_number: int
    current_index: int
    total: int
    deadline_at: dt.datetime | None


async def open_attempt(
    session: AsyncSession, user_id: uuid.UUID, quiz_id: uuid.UUID
) -> OpenAttempt | None:
    row = (
        await session.execute(
            text(
                """
                SELECT p.attempt_id, a.attempt_number, p.current_index,
                       cardinality(p.question_ids) AS total, p.deadline_at
                  FROM quiz_attempt_progress p JOIN quiz_attempts a ON a.id = p.attempt_id
                 WHERE p.user_id = :user AND p.quiz_id = :quiz AND p.status = 'in_progress'
                 ORDER BY p.started_at DESC LIMIT 1
                """
            ),
            {"user": user_id, "quiz": quiz_id},
        )
    ).one_or_none()
    return OpenAttempt(**row._mapping) if row else None


async def question_ids(session: AsyncSession, quiz_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.execute(
        text(
            "SELECT id FROM quiz_questions WHERE quiz_id = :q ORDER BY order_index NULLS LAST, id"
        ),
        {"q": quiz_id},
    )
    return [row.id for row in rows]


async def count_attempts(session: AsyncSession, user_id: uuid.UUID, quiz_id: uuid.UUID) -> int:
    return int(
        (
            await session.execute(
                text("SELECT count(*) FROM quiz_attempts WHERE user_id = :u AND quiz_id = :q"),
                {"u": user_id, "q": quiz_id},
            )
        ).scalar_one()
    )


async def start_attempt(
    session: AsyncSession,
    user_id: uuid.UUID,
    quiz_id: uuid.UUID,
    order: list[uuid.UUID],
    time_limit_minutes: int | None,
) -> tuple[uuid.UUID, int]:
    """A new attempt (any open one is abandoned). Returns (attempt id, attempt number)."""
    row = (
        await session.execute(
            text(
                """
                WITH abandoned AS (
                    UPDATE quiz_attempt_progress SET status = 'abandoned', finished_at = now()
                     WHERE user_id = :user AND quiz_id = :quiz AND status = 'in_progress'
                ), attempt AS (
                    INSERT INTO quiz_attempts (user_id, quiz_id, attempt_number)
                    SELECT :user, :quiz, count(*) + 1 FROM quiz_attempts
                     WHERE user_id = :user AND quiz_id = :quiz
                    RETURNING id, attempt_number
                ), progress AS (
                    INSERT INTO quiz_attempt_progress (attempt_id, user_id, quiz_id, question_ids,
                                                       deadline_at)
                    SELECT id, :user, :quiz, CAST(:order AS uuid[]),
                           now() + make_interval(mins => CAST(:limit AS int))
                      FROM attempt
                )
                SELECT id, attempt_number FROM attempt
                """
            ),
            {
                "user": user_id,
                "quiz": quiz_id,
                "order": [str(q) for q in order],
                "limit": time_limit_minutes,
            },
        )
    ).one()
    return row.id, int(row.attempt_number)


@dataclass(frozen=True, slots=True)
class Question:
    id: uuid.UUID
    question_type: str
    question_text: str
    options: list[dict[str, Any]]
    points: int
    explanation: str | None


@dataclass(frozen=True, slots=True)
class AttemptState:
    attempt_id: uuid.UUID
    user_id: uuid.UUID
    quiz_id: uuid.UUID
    attempt_number: int
    question_ids: list[uuid.UUID]
    current_index: int
    status: str
    started_at: dt.datetime
    deadline_at: dt.datetime | None
    now: dt.datetime
    quiz: QuizInfo
    # The question at current_index (None once every question is answered).
    question: Question | None
    # The attempt's farmer's access to the quiz now (None: its course is unpublished
    # or gone): a refund or an unpublished course stops an attempt already open.
    access: CourseAccess | None = None

    @property
    def total(self) -> int:
        return len(self.question_ids)

    @property
    def out_of_time(self) -> bool:
        return self.deadline_at is not None and self.now > self.deadline_at


_QUESTION_COLUMNS = """
    qq.id AS q_id, qq.question_type AS q_type, qq.question_text AS q_text,
    coalesce(qq.options, '[]'::jsonb) AS q_options, coalesce(qq.points, 1) AS q_points,
    qq.explanation AS q_explanation
"""


def _question(row: Any) -> Question | None:
    if row.q_id is None:
        return None
    return Question(row.q_id, row.q_type, row.q_text, row.q_options, int(row.q_points),
                    row.q_explanation)  # fmt: skip


async def lock_attempt(session: AsyncSession, attempt_id: uuid.UUID) -> AttemptState | None:
    """The attempt, its quiz and its current question, locked for this transaction:
    one answer at a time changes it. One statement for all three."""
    row = (
        await session.execute(
            text(
                f"""
                SELECT p.attempt_id, p.user_id, p.quiz_id, a.attempt_number, p.question_ids,
                       p.current_index, p.status, p.started_at, p.deadline_at, now() AS now,
                       z.course_id, z.lesson_id, z.title, z.description,
                       coalesce(z.passing_score, 70) AS passing_score, z.time_limit_minutes,
                       coalesce(z.shuffle_questions, false) AS shuffle_questions,
                       coalesce(z.show_correct_answer, true) AS show_correct_answer,
                       coalesce(z.is_required, true) AS is_required,
                       cardinality(p.question_ids) AS question_count,
                       c.id AS access_course_id,
                       coalesce(c.price, 0) * (100 - coalesce(c.discount_percent, 0)) / 100
                           AS access_price,
                       e.status AS access_enrollment, coalesce(zl.is_preview, false) AS access_preview,
                       {_QUESTION_COLUMNS}
                  FROM quiz_attempt_progress p
                  JOIN quiz_attempts a ON a.id = p.attempt_id
                  JOIN quizzes z ON z.id = p.quiz_id
                  LEFT JOIN course_lessons zl ON zl.id = z.lesson_id
                  LEFT JOIN courses c ON c.id = coalesce(z.course_id, zl.course_id)
                                     AND c.is_published
                  LEFT JOIN course_enrollments e ON e.course_id = c.id AND e.user_id = p.user_id
                  LEFT JOIN quiz_questions qq ON qq.id = p.question_ids[p.current_index + 1]
                 WHERE p.attempt_id = :a
                   FOR UPDATE OF p
                """
            ),
            {"a": attempt_id},
        )
    ).one_or_none()
    if row is None:
        return None
    quiz = QuizInfo(
        row.quiz_id, row.course_id, row.lesson_id, row.title, row.description,
        row.passing_score, row.time_limit_minutes, row.shuffle_questions,
        row.show_correct_answer, row.is_required, row.question_count,
    )  # fmt: skip
    return AttemptState(
        row.attempt_id, row.user_id, row.quiz_id, row.attempt_number, row.question_ids,
        row.current_index, row.status, row.started_at, row.deadline_at, row.now, quiz,
        _question(row),
        CourseAccess(row.access_course_id, row.access_price, row.access_enrollment,
                     row.access_preview) if row.access_course_id is not None else None,
    )  # fmt: skip


async def record_answer(
    session: AsyncSession,
    state: AttemptState,
    question_id: uuid.UUID,
    *,
    answer: str,
    is_correct: bool | None,
    points: int | None,
) -> AttemptState:
    """Store the answer and move to the next question, together; returns the moved state."""
    row = (
        await session.execute(
            text(
                f"""
                WITH answer AS (
                    INSERT INTO quiz_answers (attempt_id, question_id, user_answer, is_correct,
                                              points_earned)
                    VALUES (:a, :q, :answer, :correct, :points)
                ), moved AS (
                    UPDATE quiz_attempt_progress SET current_index = current_index + 1
                     WHERE attempt_id = :a
                    RETURNING current_index, question_ids
                )
                SELECT moved.current_index, {_QUESTION_COLUMNS}
                  FROM moved
                  LEFT JOIN quiz_questions qq ON qq.id = moved.question_ids[moved.current_index + 1]
                """
            ),
            {
                "a": state.attempt_id,
                "q": question_id,
                "answer": answer,
                "correct": is_correct,
                "points": points,
            },
        )
    ).one()
    return dataclasses.replace(state, current_index=row.current_index, question=_question(row))


@dataclass(frozen=True, slots=True)
class Result:
    score: int
    possible: int
    percentage: Decimal
    passed: bool
    time_spent_seconds: int
    ungraded: int
    # Points and questions differ when questions weigh differently: a farmer reads both.
    right_answers: int = 0
    questions: int = 0


# Score over the questions that can be scored: an essay counts once an instructor grades it.
_SCORE = """
    WITH totals AS (
        SELECT coalesce(sum(a.points_earned) FILTER (WHERE a.is_correct IS NOT NULL), 0) AS score,
               coalesce(sum(coalesce(q.points, 1)) FILTER (
                   WHERE q.question_type <> 'essay' OR a.is_correct IS NOT NULL), 0) AS possible,
               count(*) FILTER (WHERE q.question_type = 'essay' AND a.is_correct IS NULL)
                   AS ungraded,
               count(*) FILTER (WHERE a.is_correct) AS right_answers,
               count(*) FILTER (WHERE q.question_type <> 'essay' OR a.is_correct IS NOT NULL)
                   AS scored_questions
          FROM quiz_questions q
          LEFT JOIN quiz_answers a ON a.question_id = q.id AND a.attempt_id = :a
         WHERE q.quiz_id = (SELECT quiz_id FROM quiz_attempts WHERE id = :a)
    )
"""


async def finish_attempt(session: AsyncSession, attempt_id: uuid.UUID, status: str) -> Result:
    """Score the attempt into quiz_attempts and close it ('finished' or 'expired')."""
    row = (
        await session.execute(
            text(
                _SCORE
                + """
                , progress AS (
                    UPDATE quiz_attempt_progress SET status = :status, finished_at = now()
                     WHERE attempt_id = :a
                    RETURNING started_at, finished_at
                )
                UPDATE quiz_attempts a
                   SET score = t.score,
                       percentage = round(100.0 * t.score / greatest(t.possible, 1), 2),
                       passed = round(100.0 * t.score / greatest(t.possible, 1), 2)
                                >= coalesce(z.passing_score, 70),
                       time_spent_seconds = greatest(0, extract(epoch FROM
                                            (SELECT finished_at - started_at FROM progress)))::int
                  FROM totals t, quizzes z
                 WHERE a.id = :a AND z.id = a.quiz_id
                RETURNING a.score, t.possible, a.percentage, a.passed, a.time_spent_seconds,
                          t.ungraded, t.right_answers, t.scored_questions
                """
            ),
            {"a": attempt_id, "status": status},
        )
    ).one()
    return Result(int(row.score), int(row.possible), row.percentage, bool(row.passed),
                  int(row.time_spent_seconds), int(row.ungraded),
                  int(row.right_answers), int(row.scored_questions))  # fmt: skip


async def has_passed(session: AsyncSession, user_id: uuid.UUID, quiz_id: uuid.UUID) -> bool:
    return bool(
        (
            await session.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM quiz_attempts WHERE user_id = :u"
                    " AND quiz_id = :q AND passed)"
                ),
                {"u": user_id, "q": quiz_id},
            )
        ).scalar_one()
    )


async def user_language(session: AsyncSession, user_id: uuid.UUID) -> str:
    return str(
        (
            await session.execute(
                text("SELECT preferred_language FROM users WHERE id = :u"), {"u": user_id}
            )
        ).scalar_one()
    )
