"""The instructor and admin API's statements: instructors and their tokens and
invites, content rows, the essay grading queue, and course analytics."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Table, func, insert, null, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.models.learn import (
    Article,
    Badge,
    Course,
    CourseLesson,
    LearningRoadmap,
    Quiz,
    QuizQuestion,
    RoadmapMilestone,
    Video,
)
from db.queries.quiz import _SCORE

# --- instructors, tokens, invites ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstructorRow:
    id: uuid.UUID
    display_name: str | None
    preferred_language: str | None
    role: str
    created_at: dt.datetime
    courses: int
    active_tokens: int
    chat_bound: bool


_INSTRUCTOR = """
    SELECT u.id, u.display_name, u.preferred_language, u.role, u.created_at,
           (SELECT count(*) FROM courses c WHERE c.instructor_id = u.id) AS courses,
           (SELECT count(*) FROM instructor_tokens t
             WHERE t.user_id = u.id AND t.revoked_at IS NULL) AS active_tokens,
           EXISTS (SELECT 1 FROM channel_identities ci WHERE ci.user_id = u.id) AS chat_bound
      FROM users u
     WHERE u.role = 'instructor'
"""


async def create_instructor(
    session: AsyncSession, *, display_name: str, language: str
) -> InstructorRow:
    row = (
        await session.execute(
            text(
                "INSERT INTO users (display_name, preferred_language, role)"
                " VALUES (:name, :language, 'instructor') RETURNING id"
            ),
            {"name": display_name, "language": language},
        )
    ).one()
    found = await get_instructor(session, row.id)
    assert found is not None
    return found


async def get_instructor(session: AsyncSession, user_id: uuid.UUID) -> InstructorRow | None:
    row = (
        await session.execute(text(_INSTRUCTOR + " AND u.id = :id"), {"id": user_id})
    ).one_or_none()
    return InstructorRow(**row._mapping) if row else None


async def list_instructors(session: AsyncSession) -> list[InstructorRow]:
    rows = await session.execute(text(_INSTRUCTOR + " ORDER BY u.display_name, u.id"))
    return [InstructorRow(**row._mapping) for row in rows]


async def add_token(
    session: AsyncSession, *, user_id: uuid.UUID, token_hash: str, label: str | None
) -> tuple[uuid.UUID, dt.datetime]:
    row = (
        await session.execute(
            text(
                "INSERT INTO instructor_tokens (user_id, token_hash, label)"
                " VALUES (:u, :h, :label) RETURNING id, created_at"
            ),
            {"u": user_id, "h": token_hash, "label": label},
        )
    ).one()
    return row.id, row.created_at


async def revoke_token(session: AsyncSession, *, user_id: uuid.UUID, token_id: uuid.UUID) -> bool:
    result = await session.execute(
        text(
            "UPDATE instructor_tokens SET revoked_at = now()"
            " WHERE id = :id AND user_id = :u AND revoked_at IS NULL"
        ),
        {"id": token_id, "u": user_id},
    )
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True, slots=True)
class TokenOwner:
    user_id: uuid.UUID
    display_name: str | None


async def instructor_for_token(conn: AsyncConnection, token_hash: str) -> TokenOwner | None:
    """The instructor whose live token hashes to this, or None."""
    row = (
        await conn.execute(
            text(
                """
                SELECT u.id AS user_id, u.display_name
                  FROM instructor_tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.token_hash = :h AND t.revoked_at IS NULL AND u.role = 'instructor'
                """
            ),
            {"h": token_hash},
        )
    ).one_or_none()
    return TokenOwner(**row._mapping) if row else None


async def add_invite(
    session: AsyncSession, *, user_id: uuid.UUID, token_hash: str, valid_for: dt.timedelta
) -> tuple[uuid.UUID, dt.datetime]:
    row = (
        await session.execute(
            text(
                "INSERT INTO instructor_invites (user_id, token_hash, expires_at)"
                " VALUES (:u, :h, now() + :valid) RETURNING id, expires_at"
            ),
            {"u": user_id, "h": token_hash, "valid": valid_for},
        )
    ).one()
    return row.id, row.expires_at


async def audit(
    session: AsyncSession, *, actor: str, action: str, subject: str, detail: Mapping[str, Any]
) -> None:
    """Who did what through the API, kept in audit_log."""
    await session.execute(
        text(
            "INSERT INTO audit_log (actor, action, subject, detail)"
            " VALUES (:actor, :action, :subject, CAST(:detail AS jsonb))"
        ),
        {
            "actor": actor[:100],
            "action": action[:64],
            "subject": subject[:100],
            "detail": orjson.dumps(dict(detail), default=str).decode(),
        },
    )


# --- content rows ---------------------------------------------------------------------


@dataclass(frozen=True)
class ContentTable:
    """One kind of content row the API writes, and how its owning instructor is found."""

    table: Table
    # The instructor who owns a row; None: no owner, only the admin writes these.
    owner: ColumnElement[Any] | None
    # Columns never returned (computed search vectors).
    hidden: tuple[str, ...] = ("search_vector",)


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _course_owner(course_id: Any) -> ColumnElement[Any]:
    return select(Course.instructor_id).where(Course.id == course_id).scalar_subquery()


CONTENT: dict[str, ContentTable] = {
    "courses": ContentTable(_table(Course), _table(Course).c.instructor_id),
    "lessons": ContentTable(_table(CourseLesson), _course_owner(CourseLesson.course_id)),
    "quizzes": ContentTable(_table(Quiz), _course_owner(Quiz.course_id)),
    "questions": ContentTable(
        _table(QuizQuestion),
        select(Course.instructor_id)
        .join(Quiz, Quiz.course_id == Course.id)
        .where(Quiz.id == QuizQuestion.quiz_id)
        .scalar_subquery(),
    ),
    "articles": ContentTable(_table(Article), _table(Article).c.author_id),
    "videos": ContentTable(_table(Video), _table(Video).c.creator_id),
    "roadmaps": ContentTable(_table(LearningRoadmap), None),
    "milestones": ContentTable(_table(RoadmapMilestone), None),
    "badges": ContentTable(_table(Badge), None),
}


def _columns(kind: ContentTable) -> list[Any]:
    return [c for c in kind.table.c if c.name not in kind.hidden]


async def content_owner(
    session: AsyncSession, resource: str, row_id: uuid.UUID
) -> tuple[bool, uuid.UUID | None]:
    """(exists, owning instructor) of one content row."""
    kind = CONTENT[resource]
    owner = kind.owner if kind.owner is not None else null()
    row = (
        await session.execute(
            select(kind.table.c.id, owner.label("owner")).where(kind.table.c.id == row_id)
        )
    ).one_or_none()
    return (row is not None, row.owner if row is not None else None)


async def get_content(
    session: AsyncSession, resource: str, row_id: uuid.UUID
) -> dict[str, Any] | None:
    kind = CONTENT[resource]
    row = (
        await session.execute(select(*_columns(kind)).where(kind.table.c.id == row_id))
    ).one_or_none()
    return dict(row._mapping) if row else None


async def list_content(
    session: AsyncSession,
    resource: str,
    *,
    owner: uuid.UUID | None,
    filters: Mapping[str, Any],
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """Rows of one kind; only the instructor's own when `owner` is given."""
    kind = CONTENT[resource]
    table = kind.table
    query = select(*_columns(kind))
    if owner is not None and kind.owner is not None:
        query = query.where(kind.owner == owner)
    for name, value in filters.items():
        query = query.where(table.c[name] == value)
    order = [table.c[name] for name in ("order_index", "created_at") if name in table.c]
    query = query.order_by(*order, table.c.id).limit(limit).offset(offset)
    return [dict(row._mapping) for row in await session.execute(query)]


async def insert_content(
    session: AsyncSession, resource: str, values: Mapping[str, Any]
) -> dict[str, Any]:
    kind = CONTENT[resource]
    row = (
        await session.execute(insert(kind.table).values(dict(values)).returning(*_columns(kind)))
    ).one()
    return dict(row._mapping)


async def update_content(
    session: AsyncSession, resource: str, row_id: uuid.UUID, values: Mapping[str, Any]
) -> dict[str, Any] | None:
    kind = CONTENT[resource]
    if not values:
        return await get_content(session, resource, row_id)
    row = (
        await session.execute(
            update(kind.table)
            .where(kind.table.c.id == row_id)
            .values(dict(values))
            .returning(*_columns(kind))
        )
    ).one_or_none()
    return dict(row._mapping) if row else None


async def set_publication(
    session: AsyncSession, resource: str, row_id: uuid.UUID, action: str
) -> dict[str, Any] | None:
    """Publish (and un-archive), unpublish (hidden, not archived), or archive (and
    unpublish) one row."""
    table = CONTENT[resource].table
    values: dict[str, Any] = {"is_published": action == "publish"}
    if "is_archived" in table.c and action != "unpublish":
        values["is_archived"] = action == "archive"
    if action == "publish" and "published_at" in table.c:
        # The seed's timestamps are UTC without a time zone.
        values["published_at"] = func.coalesce(
            table.c.published_at, func.timezone("UTC", func.now())
        )
    return await update_content(session, resource, row_id, values)


async def next_order_index(session: AsyncSession, resource: str, parent: uuid.UUID) -> int:
    """The order after the last lesson or quiz of a course, question of a quiz, or milestone."""
    kind = CONTENT[resource]
    parent_column = {
        "lessons": "course_id",
        "quizzes": "course_id",
        "questions": "quiz_id",
        "milestones": "roadmap_id",
    }[resource]
    value = (
        await session.execute(
            select(func.coalesce(func.max(kind.table.c.order_index), 0) + 1).where(
                kind.table.c[parent_column] == parent
            )
        )
    ).scalar_one()
    return int(value)


async def refresh_lesson_count(session: AsyncSession, course_id: uuid.UUID) -> None:
    """courses.lessons is what the catalogue shows; it follows the lessons."""
    await session.execute(
        text(
            "UPDATE courses SET lessons = (SELECT count(*) FROM course_lessons"
            " WHERE course_id = :c) WHERE id = :c"
        ),
        {"c": course_id},
    )


# --- essay grading -------------------------------------------------------------------------


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
