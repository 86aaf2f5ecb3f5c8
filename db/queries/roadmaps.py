"""Learning roadmaps: the list, one roadmap with its steps, following it, and advancing it.

A step is a milestone linked to a course; it is done when the farmer's enrollment
in that course is completed. A milestone whose course was deleted (course_id SET
NULL) is shown but is not a step, so it can never block a roadmap from finishing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, exists, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models.learn import (
    Course,
    CourseEnrollment,
    LearningRoadmap,
    RoadmapMilestone,
    UserRoadmapProgress,
)


@dataclass(frozen=True, slots=True)
class RoadmapSummary:
    """One line of the roadmap list, with the farmer's standing on it."""

    id: uuid.UUID
    title: str
    emoji: str | None
    steps: int
    steps_done: int
    following: bool
    completed: bool


@dataclass(frozen=True, slots=True)
class Roadmap:
    id: uuid.UUID
    title: str
    emoji: str | None
    description: str
    goal: str
    difficulty: str | None
    estimated_hours: int | None


@dataclass(frozen=True, slots=True)
class Milestone:
    order_index: int
    title: str
    course_id: uuid.UUID | None
    course_title: str | None
    completed: bool


@dataclass(frozen=True, slots=True)
class Following:
    started_at: dt.datetime | None
    completed_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class CompletedRoadmap:
    """A roadmap whose last step the farmer has just finished."""

    id: uuid.UUID
    title: str
    emoji: str | None


def _course_completed(user_id: uuid.UUID) -> ColumnElement[bool]:
    """Whether the farmer finished the course of the milestone in the enclosing query."""
    return exists().where(
        CourseEnrollment.user_id == user_id,
        CourseEnrollment.course_id == RoadmapMilestone.course_id,
        CourseEnrollment.status == "completed",
    )


async def published_roadmaps(
    session: AsyncSession,
    user_id: uuid.UUID,
    content_language: str,
    limit: int = 20,
    *,
    in_language: bool = True,
) -> list[RoadmapSummary]:
    """Published roadmaps with courses in the farmer's language (or, `in_language=False`,
    the others), easy ones first."""
    steps = (
        select(func.count(RoadmapMilestone.course_id))
        .where(RoadmapMilestone.roadmap_id == LearningRoadmap.id)
        .correlate(LearningRoadmap)
        .scalar_subquery()
    )
    steps_done = (
        select(func.count())
        .select_from(RoadmapMilestone)
        .where(
            RoadmapMilestone.roadmap_id == LearningRoadmap.id,
            _course_completed(user_id),
        )
        .correlate(LearningRoadmap)
        .scalar_subquery()
    )
    # Roadmaps have no language of their own; their courses do.
    has_language = (
        exists()
        .where(
            RoadmapMilestone.roadmap_id == LearningRoadmap.id,
            Course.id == RoadmapMilestone.course_id,
            func.coalesce(Course.language, "English").ilike(f"%{content_language}%"),
        )
        .correlate(LearningRoadmap)
    )
    difficulty_order = case(
        (LearningRoadmap.difficulty == "beginner", 0),
        (LearningRoadmap.difficulty == "intermediate", 1),
        (LearningRoadmap.difficulty == "advanced", 2),
        else_=3,
    )
    statement = (
        select(
            LearningRoadmap.id,
            LearningRoadmap.title,
            LearningRoadmap.icon_emoji,
            steps.label("steps"),
            steps_done.label("steps_done"),
            UserRoadmapProgress.id.is_not(None).label("following"),
            UserRoadmapProgress.completed_at.is_not(None).label("completed"),
        )
        .outerjoin(
            UserRoadmapProgress,
            and_(
                UserRoadmapProgress.roadmap_id == LearningRoadmap.id,
                UserRoadmapProgress.user_id == user_id,
            ),
        )
        .where(
            LearningRoadmap.is_published.is_(True),
            has_language if in_language else ~has_language,
        )
        .order_by(difficulty_order, LearningRoadmap.title)
        .limit(limit)
    )
    rows = (await session.execute(statement)).all()
    return [
        RoadmapSummary(
            id=row.id,
            title=row.title,
            emoji=row.icon_emoji,
            steps=row.steps,
            steps_done=row.steps_done,
            following=row.following,
            completed=row.completed,
        )
        for row in rows
    ]


async def open_roadmap(
    session: AsyncSession, roadmap_id: uuid.UUID, *, count_view: bool
) -> Roadmap | None:
    """The published roadmap (counting a view when the farmer opened it), or None."""
    columns = (
        LearningRoadmap.id,
        LearningRoadmap.title,
        LearningRoadmap.icon_emoji,
        LearningRoadmap.description,
        LearningRoadmap.goal,
        LearningRoadmap.difficulty,
        LearningRoadmap.estimated_hours,
    )
    where = (LearningRoadmap.id == roadmap_id, LearningRoadmap.is_published.is_(True))
    if count_view:
        result = await session.execute(
            update(LearningRoadmap)
            .where(*where)
            .values(view_count=func.coalesce(LearningRoadmap.view_count, 0) + 1)
            .returning(*columns)
        )
    else:
        result = await session.execute(select(*columns).where(*where))
    row = result.one_or_none()
    if row is None:
        return None
    return Roadmap(
        id=row.id,
        title=row.title,
        emoji=row.icon_emoji,
        description=row.description,
        goal=row.goal,
        difficulty=row.difficulty,
        estimated_hours=row.estimated_hours,
    )


async def milestones(
    session: AsyncSession, roadmap_id: uuid.UUID, user_id: uuid.UUID
) -> list[Milestone]:
    """The roadmap's milestones in order, each with its course and whether the farmer finished it."""
    statement = (
        select(
            RoadmapMilestone.order_index,
            RoadmapMilestone.title,
            RoadmapMilestone.course_id,
            Course.title.label("course_title"),
            _course_completed(user_id).label("completed"),
        )
        .outerjoin(Course, Course.id == RoadmapMilestone.course_id)
        .where(RoadmapMilestone.roadmap_id == roadmap_id)
        .order_by(RoadmapMilestone.order_index, RoadmapMilestone.id)
    )
    rows = (await session.execute(statement)).all()
    return [
        Milestone(
            order_index=row.order_index,
            title=row.title,
            course_id=row.course_id,
            course_title=row.course_title,
            completed=bool(row.completed and row.course_id is not None),
        )
        for row in rows
    ]


async def following(
    session: AsyncSession, roadmap_id: uuid.UUID, user_id: uuid.UUID
) -> Following | None:
    """The farmer's progress row on this roadmap, or None if they do not follow it."""
    row = (
        await session.execute(
            select(UserRoadmapProgress.started_at, UserRoadmapProgress.completed_at).where(
                UserRoadmapProgress.roadmap_id == roadmap_id,
                UserRoadmapProgress.user_id == user_id,
            )
        )
    ).one_or_none()
    return None if row is None else Following(row.started_at, row.completed_at)


# The farmer's standing on each roadmap, from their completed enrollments.
_STEP_COUNTS = """
    SELECT m.roadmap_id,
           count(*) AS steps,
           count(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM course_enrollments e
                WHERE e.user_id = :user_id AND e.course_id = m.course_id
                  AND e.status = 'completed')) AS done
      FROM roadmap_milestones m
     WHERE m.course_id IS NOT NULL
"""

_FOLLOW = text(
    f"""
    WITH counts AS ({_STEP_COUNTS} AND m.roadmap_id = :roadmap_id GROUP BY m.roadmap_id)
    INSERT INTO user_roadmap_progress
           (user_id, roadmap_id, completed_milestones, progress_percent, completed_at)
    SELECT :user_id, r.id, coalesce(c.done, 0),
           CASE WHEN coalesce(c.steps, 0) = 0 THEN 0
                ELSE round(100.0 * c.done / c.steps)::int END,
           CASE WHEN c.steps > 0 AND c.done = c.steps THEN now() END
      FROM learning_roadmaps r LEFT JOIN counts c ON c.roadmap_id = r.id
     WHERE r.id = :roadmap_id AND r.is_published IS TRUE
    ON CONFLICT (user_id, roadmap_id) DO NOTHING
    RETURNING id
    """
)


async def follow(session: AsyncSession, roadmap_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    """Start following a published roadmap, counting the steps already done.

    True if the farmer was not following it before.
    """
    result = await session.execute(_FOLLOW, {"roadmap_id": roadmap_id, "user_id": user_id})
    return result.first() is not None


# Lock the farmer's progress rows first, so the completed_at read here is the one
# being replaced: a roadmap is reported complete by exactly one call.
_ADVANCE = text(
    f"""
    WITH mine AS (
        SELECT id, roadmap_id, completed_at FROM user_roadmap_progress
         WHERE user_id = :user_id
           FOR UPDATE
    ), counts AS ({_STEP_COUNTS} AND m.roadmap_id IN (SELECT roadmap_id FROM mine)
        GROUP BY m.roadmap_id
    ), advanced AS (
        UPDATE user_roadmap_progress p
           SET completed_milestones = c.done,
               progress_percent = round(100.0 * c.done / c.steps)::int,
               completed_at = CASE WHEN c.done = c.steps THEN coalesce(mine.completed_at, now())
                                   ELSE mine.completed_at END
          FROM mine JOIN counts c ON c.roadmap_id = mine.roadmap_id
         WHERE p.id = mine.id
           AND (p.completed_milestones IS DISTINCT FROM c.done
                OR p.progress_percent IS DISTINCT FROM round(100.0 * c.done / c.steps)::int
                OR (mine.completed_at IS NULL AND c.done = c.steps))
        RETURNING p.roadmap_id, mine.completed_at IS NULL AND p.completed_at IS NOT NULL
                  AS just_completed
    )
    SELECT r.id, r.title, r.icon_emoji
      FROM advanced a JOIN learning_roadmaps r ON r.id = a.roadmap_id
     WHERE a.just_completed
     ORDER BY r.title
    """
)


async def advance_roadmaps(session: AsyncSession, user_id: uuid.UUID) -> list[CompletedRoadmap]:
    """Recount the farmer's steps on every roadmap they follow, after a course completes.

    Sets completed_at once, when the last step is done. Returns the roadmaps that
    became complete in this call, so the caller can congratulate the farmer. Runs in
    the caller's transaction and only flushes.
    """
    rows = (await session.execute(_ADVANCE, {"user_id": user_id})).all()
    return [CompletedRoadmap(id=row.id, title=row.title, emoji=row.icon_emoji) for row in rows]
