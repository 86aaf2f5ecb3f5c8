"""Writing the catalogue through the API and console: courses, modules, lessons,
quizzes and questions, each checked against the instructor who owns the course."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, func, insert, null, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

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

# --- instructors, tokens, invites ----------------------------------------------------


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
