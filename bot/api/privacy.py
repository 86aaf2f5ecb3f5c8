"""Admin API for the farmer's right to erasure (DPDP Act 2023): erase one user."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from bot.api.auth import AdminActor
from bot.api.routing import ApiRoute
from bot.runtime import UnitOfWork
from db.queries import payments as payments_q
from db.queries import privacy as privacy_q
from db.queries import turns as turns_q

router = APIRouter(prefix="/users", tags=["privacy"], route_class=ApiRoute)


class ErasureOut(BaseModel):
    user_id: uuid.UUID
    # False when the user had been erased before: nothing more was done.
    erased_now: bool
    addresses_removed: int
    answers_blanked: int
    # Purchases kept, without a name, as tax and accounting law requires.
    purchases_kept: int


@router.post("/{user_id}/erase")
async def erase_user(
    user_id: uuid.UUID, actor: AdminActor, request: Request, session: UnitOfWork
) -> ErasureOut:
    """Erase a farmer's personal data: names, chat addresses, free-text answers,
    conversation. Payment records and anonymous aggregates are kept. The next
    message from their number starts a brand-new farmer. Audited; repeatable.
    404 for an unknown user, 409 for an instructor or admin account."""
    role = await privacy_q.role_of(session, user_id)
    if role is None:
        raise HTTPException(404, "no such user")
    if role != "farmer":
        # Staff accounts own courses, tokens and audit entries: demote them first.
        raise HTTPException(409, "only a farmer's account is erased this way")
    # Wait for a turn of theirs in flight, and keep the next one out until we commit.
    await turns_q.lock_conversation(session, user_id)
    erased_before = await privacy_q.is_erased(session, user_id)
    done = await privacy_q.erase_person(session, user_id, method="admin", keep_identity=None)
    await payments_q.record_audit(
        session,
        actor=actor.name,
        action="user.erase",
        subject=f"user:{user_id}",
        detail={
            "erased_before": erased_before,
            "addresses_removed": done.addresses_removed,
            "purchases_kept": done.purchases_kept,
        },
    )
    return ErasureOut(
        user_id=user_id,
        erased_now=not erased_before,
        addresses_removed=done.addresses_removed,
        answers_blanked=done.answers_blanked,
        purchases_kept=done.purchases_kept,
    )
