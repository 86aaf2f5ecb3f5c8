"""Instructors, made by the admin: the user, their API tokens, and chat invites.

An invite is a single-use, expiring deep link (`/start invite-<token>`): the chat
that sends it becomes the instructor's. Tokens and invites are shown once and
stored as their SHA-256 only.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.auth import Actor, AdminActor
from bot.api.routing import ApiRoute
from bot.api.storable import StorableText
from bot.runtime import UnitOfWork, runtime_of
from bot.settings import Settings
from db.queries import audit as audit_q
from db.queries import instructors as instructors_q
from handlers.broadcast import INVITE_PREFIX, token_hash

router = APIRouter(prefix="/instructors", tags=["instructors"], route_class=ApiRoute)

InstructorId = Annotated[uuid.UUID, Path(description="The instructor's user id")]


class InstructorIn(StorableText):
    display_name: str = Field(min_length=1, max_length=255)
    language: Literal["en", "hi", "mr"] = "en"
    # How long the invite link that comes with a new instructor stays valid.
    invite_valid_hours: int = Field(72, ge=1, le=24 * 30)
    token_label: str | None = Field(None, max_length=100)


class InviteIn(StorableText):
    valid_hours: int = Field(72, ge=1, le=24 * 30)


class TokenIn(StorableText):
    label: str | None = Field(None, max_length=100)


class InstructorOut(BaseModel):
    id: uuid.UUID
    display_name: str | None
    language: str | None
    courses: int
    active_tokens: int
    chat_bound: bool
    created_at: dt.datetime

    @classmethod
    def of(cls, row: instructors_q.InstructorRow) -> InstructorOut:
        return cls(
            id=row.id,
            display_name=row.display_name,
            language=row.preferred_language,
            courses=row.courses,
            active_tokens=row.active_tokens,
            chat_bound=row.chat_bound,
            created_at=row.created_at,
        )


class InviteOut(BaseModel):
    start_payload: str = Field(description="What the instructor's chat sends after /start")
    start_command: str
    whatsapp_link: str | None = Field(None, description="Opens WhatsApp with the command typed")
    expires_at: dt.datetime


class TokenOut(BaseModel):
    id: uuid.UUID
    token: str = Field(description="The bearer token; shown only this once")
    label: str | None
    created_at: dt.datetime


class NewInstructorOut(BaseModel):
    instructor: InstructorOut
    token: TokenOut
    invite: InviteOut


async def _invite(
    settings: Settings, session: AsyncSession, user_id: uuid.UUID, hours: int
) -> InviteOut:
    secret = secrets.token_urlsafe(24)  # 32 URL-safe characters: fits Telegram's 64
    _id, expires_at = await instructors_q.add_invite(
        session, user_id=user_id, token_hash=token_hash(secret), valid_for=dt.timedelta(hours=hours)
    )
    payload = INVITE_PREFIX + secret
    number = (settings.twilio_whatsapp_from or "").removeprefix("whatsapp:").lstrip("+")
    return InviteOut(
        start_payload=payload,
        start_command=f"/start {payload}",
        whatsapp_link=f"https://wa.me/{number}?text={quote('start ' + payload)}"
        if number
        else None,
        expires_at=expires_at,
    )


async def _token(session: AsyncSession, user_id: uuid.UUID, label: str | None) -> TokenOut:
    secret = "kli_" + secrets.token_urlsafe(32)
    token_id, created_at = await instructors_q.add_token(
        session, user_id=user_id, token_hash=token_hash(secret), label=label
    )
    return TokenOut(id=token_id, token=secret, label=label, created_at=created_at)


async def _existing(session: AsyncSession, instructor_id: uuid.UUID) -> instructors_q.InstructorRow:
    row = await instructors_q.get_instructor(session, instructor_id)
    if row is None:
        raise HTTPException(404, "no such instructor")
    return row


@router.post("", status_code=201, response_model=NewInstructorOut)
async def create_instructor(
    body: InstructorIn, request: Request, session: UnitOfWork, actor: AdminActor
) -> NewInstructorOut:
    """Create an instructor; returns their first API token and a chat invite link."""
    return await new_instructor(session, runtime_of(request).settings, actor, body)


async def new_instructor(
    session: AsyncSession, settings: Settings, actor: Actor, body: InstructorIn
) -> NewInstructorOut:
    """The admin makes an instructor, with a token and an invite (API and console)."""
    if not actor.is_admin:
        raise HTTPException(403, "admin only")
    row = await instructors_q.create_instructor(
        session, display_name=body.display_name, language=body.language
    )
    token = await _token(session, row.id, body.token_label)
    invite = await _invite(settings, session, row.id, body.invite_valid_hours)
    await _audit(session, actor, "instructor.create", row.id, {"name": body.display_name})
    return NewInstructorOut(instructor=InstructorOut.of(row), token=token, invite=invite)


@router.get("", response_model=list[InstructorOut])
async def list_instructors(
    request: Request, session: UnitOfWork, actor: AdminActor
) -> list[InstructorOut]:
    """Every instructor, with their course and token counts."""
    return await all_instructors(session, actor)


async def all_instructors(session: AsyncSession, actor: Actor) -> list[InstructorOut]:
    if not actor.is_admin:
        raise HTTPException(403, "admin only")
    return [InstructorOut.of(row) for row in await instructors_q.list_instructors(session)]


@router.get("/{instructor_id}", response_model=InstructorOut)
async def get_instructor(
    instructor_id: InstructorId, request: Request, session: UnitOfWork, actor: AdminActor
) -> InstructorOut:
    """One instructor."""
    return InstructorOut.of(await _existing(session, instructor_id))


@router.post("/{instructor_id}/invites", status_code=201, response_model=InviteOut)
async def create_invite(
    instructor_id: InstructorId,
    body: InviteIn,
    request: Request,
    session: UnitOfWork,
    actor: AdminActor,
) -> InviteOut:
    """A new single-use chat invite (for a new phone, or when the last one expired)."""
    return await new_invite(
        session, runtime_of(request).settings, actor, instructor_id, body.valid_hours
    )


async def new_invite(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    instructor_id: uuid.UUID,
    valid_hours: int,
) -> InviteOut:
    if not actor.is_admin:
        raise HTTPException(403, "admin only")
    await _existing(session, instructor_id)
    invite = await _invite(settings, session, instructor_id, valid_hours)
    await _audit(session, actor, "instructor.invite", instructor_id, {})
    return invite


@router.post("/{instructor_id}/tokens", status_code=201, response_model=TokenOut)
async def create_token(
    instructor_id: InstructorId,
    body: TokenIn,
    request: Request,
    session: UnitOfWork,
    actor: AdminActor,
) -> TokenOut:
    """A new API token for the instructor; the old ones keep working until revoked."""
    await _existing(session, instructor_id)
    token = await _token(session, instructor_id, body.label)
    await _audit(session, actor, "instructor.token", instructor_id, {"token": str(token.id)})
    return token


@router.delete("/{instructor_id}/tokens/{token_id}", status_code=204)
async def revoke_token(
    instructor_id: InstructorId,
    token_id: uuid.UUID,
    request: Request,
    session: UnitOfWork,
    actor: AdminActor,
) -> None:
    """Revoke a token: it gets 401 from now on."""
    if not await instructors_q.revoke_token(session, user_id=instructor_id, token_id=token_id):
        raise HTTPException(404, "no such live token")
    await _audit(session, actor, "instructor.revoke", instructor_id, {"token": str(token_id)})


async def _audit(
    session: AsyncSession, actor: Actor, action: str, subject: uuid.UUID, detail: dict[str, str]
) -> None:
    await audit_q.audit(
        session, actor=actor.name, action=action, subject=str(subject), detail=detail
    )
