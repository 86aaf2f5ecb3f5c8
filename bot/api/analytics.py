"""Course analytics for its instructor: enrolments, completion, quiz pass rates and
where farmers stop (drop-off by lesson)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.auth import Actor, CurrentActor
from bot.api.courses import require_owner
from bot.api.routing import ApiRoute
from bot.runtime import UnitOfWork
from db.queries import analytics as analytics_q
from db.queries import authoring as authoring_q

router = APIRouter(tags=["analytics"], route_class=ApiRoute)


class EnrolmentsOut(BaseModel):
    enrolled: int
    not_started: int
    in_progress: int
    completed: int
    dropped: int
    average_progress_percent: Decimal | None
    completion_rate: float = Field(description="completed ÷ enrolled, 0…1")


class QuizOut(BaseModel):
    quiz_id: uuid.UUID
    title: str
    passing_score: int
    attempts: int
    attempts_passed: int
    farmers: int
    farmers_passed: int
    pass_rate: float = Field(description="farmers who passed ÷ farmers who tried, 0…1")
    average_percentage: Decimal | None


class LessonOut(BaseModel):
    lesson_id: uuid.UUID
    order_index: int
    title: str
    started: int
    completed: int
    completion_rate: float = Field(description="completed ÷ enrolled, 0…1")
    stopped_here: int = Field(
        description="Enrolled farmers, not finished, for whom this is the next lesson to do"
    )


class AnalyticsOut(BaseModel):
    course_id: uuid.UUID
    enrolments: EnrolmentsOut
    quizzes: list[QuizOut]
    lessons: list[LessonOut]


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


@router.get("/courses/{course_id}/analytics", response_model=AnalyticsOut)
async def course_analytics(
    course_id: uuid.UUID, request: Request, session: UnitOfWork, actor: CurrentActor
) -> Any:
    """Enrolments, completion rate, quiz pass rates and drop-off by lesson of one course."""
    return await analytics_of(session, actor, course_id)


async def analytics_of(session: AsyncSession, actor: Actor, course_id: uuid.UUID) -> AnalyticsOut:
    """One course's figures, for its instructor or the admin (403 for another's)."""
    exists, owner = await authoring_q.content_owner(session, "courses", course_id)
    require_owner(actor, exists, owner, "course")
    enrolled = await analytics_q.enrolments(session, course_id)
    quizzes = await analytics_q.quiz_stats(session, course_id)
    lessons = await analytics_q.lesson_stats(session, course_id)
    furthest = await analytics_q.furthest_lessons(session, course_id)
    # A farmer stopped at the first lesson after the furthest one they finished.
    stopped: dict[uuid.UUID, int] = {}
    for done, farmers in furthest.items():
        following = next((x for x in lessons if x.order_index > done), None)
        if following is not None:
            stopped[following.lesson_id] = stopped.get(following.lesson_id, 0) + farmers
    return AnalyticsOut(
        course_id=course_id,
        enrolments=EnrolmentsOut(
            enrolled=enrolled.enrolled,
            not_started=enrolled.not_started,
            in_progress=enrolled.in_progress,
            completed=enrolled.completed,
            dropped=enrolled.dropped,
            average_progress_percent=enrolled.average_progress,
            completion_rate=_rate(enrolled.completed, enrolled.enrolled),
        ),
        quizzes=[
            QuizOut(
                quiz_id=quiz.quiz_id,
                title=quiz.title,
                passing_score=quiz.passing_score,
                attempts=quiz.attempts,
                attempts_passed=quiz.attempts_passed,
                farmers=quiz.farmers,
                farmers_passed=quiz.farmers_passed,
                pass_rate=_rate(quiz.farmers_passed, quiz.farmers),
                average_percentage=quiz.average_percentage,
            )
            for quiz in quizzes
        ],
        lessons=[
            LessonOut(
                lesson_id=lesson.lesson_id,
                order_index=lesson.order_index,
                title=lesson.title,
                started=lesson.started,
                completed=lesson.completed,
                completion_rate=_rate(lesson.completed, enrolled.enrolled),
                stopped_here=stopped.get(lesson.lesson_id, 0),
            )
            for lesson in lessons
        ],
    )
