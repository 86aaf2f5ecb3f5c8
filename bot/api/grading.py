"""The essay grading queue: essay answers wait for their instructor's grade, which
sets is_correct and points_earned and scores the attempt again."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.auth import Actor, CurrentActor
from bot.api.courses import instructor_of, invalid
from bot.api.routing import ApiRoute
from bot.api.storable import StorableText
from bot.i18n import _, format_number, use_language
from bot.messages import Reply
from bot.runtime import UnitOfWork
from db.queries import audit as audit_q
from db.queries import grading as grading_q
from db.queries import quiz as quiz_q
from handlers import outreach

router = APIRouter(prefix="/grading", tags=["grading"], route_class=ApiRoute)


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """quiz_answers.answered_at is a timestamp without time zone holding UTC; the
    API's date-times are RFC 3339, which needs the offset."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


class EssayOut(BaseModel):
    answer_id: uuid.UUID
    attempt_id: uuid.UUID
    farmer_name: str | None
    course_id: uuid.UUID | None
    course_title: str | None
    quiz_id: uuid.UUID
    quiz_title: str
    question_id: uuid.UUID
    question_text: str
    max_points: int
    user_answer: str
    is_correct: bool | None
    points_earned: int | None
    attempt_open: bool = Field(description="The farmer is still answering this attempt")
    answered_at: dt.datetime | None

    @classmethod
    def of(cls, answer: grading_q.EssayAnswer) -> EssayOut:
        return cls(
            answer_id=answer.answer_id,
            attempt_id=answer.attempt_id,
            farmer_name=answer.farmer_name,
            course_id=answer.course_id,
            course_title=answer.course_title,
            quiz_id=answer.quiz_id,
            quiz_title=answer.quiz_title,
            question_id=answer.question_id,
            question_text=answer.question_text,
            max_points=answer.max_points,
            user_answer=answer.user_answer,
            is_correct=answer.is_correct,
            points_earned=answer.points_earned,
            attempt_open=answer.attempt_open,
            answered_at=_utc(answer.answered_at),
        )


class Grade(StorableText):
    model_config = ConfigDict(extra="forbid")

    points: int = Field(ge=0, description="At most the question's points")
    # Absent: correct when it earned at least half the question's points.
    is_correct: bool | None = None
    feedback: str | None = Field(None, max_length=1000, description="Sent to the farmer")


class AttemptScore(BaseModel):
    score: int | None
    possible: int
    percentage: Decimal | None
    passed: bool | None
    ungraded: int = Field(description="Essays of this attempt still waiting for a grade")


class Graded(BaseModel):
    answer: EssayOut
    attempt: AttemptScore


@router.get("/essays", response_model=list[EssayOut])
async def essays_to_grade(
    request: Request,
    session: UnitOfWork,
    actor: CurrentActor,
    course_id: uuid.UUID | None = Query(None),
    limit: int = Query(50, ge=1, le=500),
) -> Any:
    """Ungraded essay answers of the caller's courses, oldest first."""
    answers = await grading_q.essays_to_grade(
        session, instructor_id=instructor_of(actor), course_id=course_id, limit=limit
    )
    return [EssayOut.of(answer) for answer in answers]


def _graded_reply(answer: grading_q.EssayAnswer, points: int) -> Reply:
    """What the farmer reads when their essay has been graded."""
    return Reply(
        _("📝 Your answer in “{quiz}” has been graded: {points} of {possible} points.").format(
            quiz=answer.quiz_title,
            points=format_number(points),
            possible=format_number(answer.max_points),
        )
        + "\n"
        + _("Question: {question}").format(question=answer.question_text)
    )


async def grade(
    session: AsyncSession,
    actor: Actor,
    answer_id: uuid.UUID,
    body: Grade,
    *,
    feedback: str | None = None,
) -> Graded:
    """Grade one essay answer (again, if need be) as `actor`, and tell the farmer; the
    API and the console both grade through here."""
    me = instructor_of(actor)
    answer = await grading_q.essay_answer(session, answer_id)
    if answer is None:
        raise HTTPException(404, "no such essay answer")
    if me is not None and answer.instructor_id != me:
        raise HTTPException(403, "this answer is to another instructor's quiz")
    if body.points > answer.max_points:
        raise invalid("points", f"at most {answer.max_points}", body.points)
    is_correct = (
        body.is_correct
        if body.is_correct is not None
        else body.points > 0 and 2 * body.points >= answer.max_points
    )
    score = await grading_q.grade_essay(session, answer, is_correct=is_correct, points=body.points)
    await audit_q.audit(
        session,
        actor=actor.name,
        action="essay.grade",
        subject=str(answer_id),
        detail={"points": body.points, "is_correct": is_correct, "passed": score.passed},
    )
    if answer.user_id is not None:
        # In the same transaction as the grade: the farmer hears of it exactly once.
        with use_language(await quiz_q.user_language(session, answer.user_id)):
            reply = _graded_reply(answer, body.points)
            if feedback:
                reply = Reply(
                    reply.text + "\n" + _("Feedback: {feedback}").format(feedback=feedback)
                )
        await outreach.tell(session, None, answer.user_id, [reply], kind="notification")
    graded = await grading_q.essay_answer(session, answer_id)
    assert graded is not None
    return Graded(
        answer=EssayOut.of(graded),
        attempt=AttemptScore(
            score=score.score,
            possible=score.possible,
            percentage=score.percentage,
            passed=score.passed,
            ungraded=score.ungraded,
        ),
    )


@router.post("/essays/{answer_id}", response_model=Graded)
async def grade_essay(
    answer_id: uuid.UUID, body: Grade, request: Request, session: UnitOfWork, actor: CurrentActor
) -> Any:
    """Grade one essay answer (again, if need be); the attempt's score, percentage and
    pass are computed anew the same way as when the farmer finished it. The farmer is
    told their points."""
    return await grade(session, actor, answer_id, body, feedback=body.feedback)
