"""Broadcasts over HTTP: start one (202, fanned out by a job), follow its counts,
cancel it, and see a course's audience before writing to it."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.auth import Actor, CurrentActor
from bot.api.courses import instructor_of, invalid, require_owner
from bot.api.routing import ApiRoute
from bot.api.storable import StorableText
from bot.runtime import UnitOfWork, runtime_of
from bot.settings import Settings
from db.queries import audit as audit_q
from db.queries import authoring as authoring_q
from db.queries import broadcasts as q
from handlers import outreach
from handlers.broadcasting import BroadcastSettings, TooManyBroadcasts, create_broadcast

router = APIRouter(tags=["broadcasts"], route_class=ApiRoute)

# A broadcast may be scheduled this far ahead at most.
MAX_AHEAD = dt.timedelta(days=30)


class BroadcastIn(StorableText):
    """A message (`text`) or a lesson (`lesson_id`) for everyone enrolled in the course."""

    model_config = ConfigDict(
        extra="forbid",
        # The schema's own account of `_one_message`, so clients (and the fuzz test)
        # can tell a valid body from the schema alone.
        json_schema_extra={
            "oneOf": [
                {"required": ["text"], "properties": {"text": {"type": "string"}}},
                {"required": ["lesson_id"], "properties": {"lesson_id": {"type": "string"}}},
            ]
        },
    )

    course_id: uuid.UUID
    text: str | None = Field(None, min_length=1, description="Sent as written, not translated")
    lesson_id: uuid.UUID | None = None
    send_at: dt.datetime | None = Field(None, description="Later, or now when absent (UTC)")

    @model_validator(mode="after")
    def _one_message(self) -> BroadcastIn:
        if (self.text is None) == (self.lesson_id is None):
            raise ValueError("give either text or lesson_id")
        return self


class Accepted(BaseModel):
    id: uuid.UUID
    status: str
    send_at: dt.datetime
    status_url: str


def _out(broadcast: q.BroadcastRow, counts: q.Counts, policy: BroadcastSettings) -> dict[str, Any]:
    return {
        "id": str(broadcast.id),
        "course_id": str(broadcast.course_id),
        "course_title": broadcast.course_title,
        "source": broadcast.source,
        "text": broadcast.text,
        "lesson_id": str(broadcast.lesson_id) if broadcast.lesson_id else None,
        "lesson_title": broadcast.lesson_title,
        "status": broadcast.status,
        "error": broadcast.error,
        "send_at": broadcast.send_at.isoformat(),
        "created_at": broadcast.created_at.isoformat(),
        "fanned_out_at": broadcast.fanned_out_at.isoformat() if broadcast.fanned_out_at else None,
        "audience": broadcast.audience_count,
        "counts": counts.as_dict(),
        "quiet_hours": policy.quiet_hours,
    }


async def _course_of_actor(session: AsyncSession, actor: Actor, course_id: uuid.UUID) -> None:
    exists, owner = await authoring_q.content_owner(session, "courses", course_id)
    if not exists:
        raise invalid("course_id", "no such course", str(course_id))
    require_owner(actor, exists, owner, "course")


async def _broadcast_of_actor(
    session: AsyncSession, actor: Actor, broadcast_id: uuid.UUID
) -> q.BroadcastRow:
    broadcast = await q.get_broadcast(session, broadcast_id)
    if broadcast is None:
        raise HTTPException(404, "no such broadcast")
    _exists, owner = await authoring_q.content_owner(session, "courses", broadcast.course_id)
    me = instructor_of(actor)
    # The course's current owner only: an instructor who wrote it but no longer owns
    # the course (it was handed to someone else) may neither read nor cancel it.
    if me is not None and me != owner:
        raise HTTPException(403, "this broadcast belongs to another instructor")
    return broadcast


@router.post("/broadcasts", status_code=202, response_model=Accepted)
async def start_broadcast(
    body: BroadcastIn, request: Request, session: UnitOfWork, actor: CurrentActor
) -> Any:
    """Broadcast to a course: answers at once; a job queues it to every enrolled farmer.

    429 past the hourly limit per instructor (with Retry-After), 422 for a message
    that is too long or a lesson of another course, 403 for another instructor's course.
    """
    return await start(session, actor, body)


async def start(session: AsyncSession, actor: Actor, body: BroadcastIn) -> Accepted:
    """Check and create a broadcast as `actor`; a job fans it out (API and console)."""
    policy = BroadcastSettings()
    if body.text is not None and len(body.text) > policy.max_chars:
        raise invalid("text", f"at most {policy.max_chars} characters", len(body.text))
    send_at = body.send_at
    if send_at is not None:
        if send_at.tzinfo is None:
            send_at = send_at.replace(tzinfo=dt.UTC)
        if send_at > dt.datetime.now(dt.UTC) + MAX_AHEAD:
            raise invalid("send_at", "at most 30 days ahead", send_at.isoformat())
    me = instructor_of(actor)
    await _course_of_actor(session, actor, body.course_id)
    if body.lesson_id is not None:
        lesson = await q.get_lesson_line(session, body.lesson_id)
        if lesson is None or lesson.course_id != body.course_id:
            raise invalid("lesson_id", "not a lesson of this course", str(body.lesson_id))
    try:
        created = await create_broadcast(
            session,
            policy,
            course_id=body.course_id,
            instructor_id=me,
            created_by=actor.name,
            source="api",
            message=body.text,
            lesson_id=body.lesson_id,
            send_at=send_at,
        )
    except TooManyBroadcasts as limit:
        raise HTTPException(
            429,
            f"at most {limit.limit} broadcasts an hour",
            headers={"Retry-After": str(limit.retry_after_s)},
        ) from limit
    await audit_q.audit(
        session,
        actor=actor.name,
        action="broadcast.create",
        subject=str(created.id),
        detail={"course": str(body.course_id), "lesson": str(body.lesson_id or "")},
    )
    return Accepted(
        id=created.id,
        status="scheduled",
        send_at=created.send_at,
        status_url=f"/api/v1/broadcasts/{created.id}",
    )


@router.get("/broadcasts/{broadcast_id}")
async def get_broadcast(
    broadcast_id: uuid.UUID, request: Request, session: UnitOfWork, actor: CurrentActor
) -> Any:
    """A broadcast and its counts: queued, sent, delivered, read, failed and skipped, with
    reasons; `receipts` says per channel whether delivery and reading are reported."""
    return JSONResponse(await report(session, actor, broadcast_id))


async def report(session: AsyncSession, actor: Actor, broadcast_id: uuid.UUID) -> dict[str, Any]:
    """A broadcast `actor` may see, with its counts (404, or 403 for another's)."""
    broadcast = await _broadcast_of_actor(session, actor, broadcast_id)
    counts = await q.counts(session, broadcast)
    return _out(broadcast, counts, BroadcastSettings())


@router.get("/broadcasts")
async def list_broadcasts(
    request: Request,
    session: UnitOfWork,
    actor: CurrentActor,
    course_id: uuid.UUID | None = Query(None),
    limit: int = Query(20, ge=1, le=100),
) -> Any:
    """The newest broadcasts of the caller's courses, with their counts."""
    return JSONResponse(await latest(session, actor, course_id, limit))


async def latest(
    session: AsyncSession, actor: Actor, course_id: uuid.UUID | None, limit: int
) -> list[dict[str, Any]]:
    """The newest broadcasts of `actor`'s courses (all for the admin), with their counts."""
    policy = BroadcastSettings()
    rows = await q.latest_broadcasts(
        session, instructor_id=instructor_of(actor), course_id=course_id, limit=limit
    )
    return [_out(row, await q.counts(session, row), policy) for row in rows]


@router.post("/broadcasts/{broadcast_id}/cancel")
async def cancel_broadcast(
    broadcast_id: uuid.UUID, request: Request, session: UnitOfWork, actor: CurrentActor
) -> Any:
    """Stop a broadcast: messages not sent yet are skipped with the reason "cancelled"."""
    await _broadcast_of_actor(session, actor, broadcast_id)
    withdrawn = await q.cancel_broadcast(session, broadcast_id, "cancelled")
    await audit_q.audit(
        session,
        actor=actor.name,
        action="broadcast.cancel",
        subject=str(broadcast_id),
        detail={"withdrawn": withdrawn},
    )
    broadcast = await q.get_broadcast(session, broadcast_id)
    assert broadcast is not None
    counts = await q.counts(session, broadcast)
    return JSONResponse(_out(broadcast, counts, BroadcastSettings()))


@router.get("/courses/{course_id}/audience")
async def course_audience(
    course_id: uuid.UUID, request: Request, session: UnitOfWork, actor: CurrentActor
) -> Any:
    """Who a broadcast to this course would reach now, per channel and language, and who
    not (and why)."""
    return JSONResponse(await audience_of(session, runtime_of(request).settings, actor, course_id))


async def audience_of(
    session: AsyncSession, settings: Settings, actor: Actor, course_id: uuid.UUID
) -> dict[str, Any]:
    """Who a broadcast to the course would reach now, per channel and language; who not."""
    exists, owner = await authoring_q.content_owner(session, "courses", course_id)
    require_owner(actor, exists, owner, "course")
    groups = await q.audience(
        session, course_id, template_languages=list(outreach.templates(settings, "broadcast"))
    )
    reach: dict[str, dict[str, int]] = {}
    skipped: dict[str, int] = {}
    for group in groups:
        if group.skip_reason is None and group.channel:
            by_language = reach.setdefault(group.channel, {})
            by_language[group.language] = by_language.get(group.language, 0) + group.farmers
        elif group.skip_reason:
            skipped[group.skip_reason] = skipped.get(group.skip_reason, 0) + group.farmers
    return {
        "course_id": str(course_id),
        "reached": sum(sum(v.values()) for v in reach.values()),
        "by_channel": reach,
        "skipped": skipped,
    }
