"""Admin API for purchases: look one up, and confirm a static UPI payment (audited)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Body, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.auth import Actor, AdminActor
from bot.api.routing import ApiRoute
from bot.api.storable import StorableText
from bot.payments import upi
from bot.payments.events import Refunded, minor_units
from bot.runtime import RefusedAfterWork, UnitOfWork, runtime_of
from bot.settings import Settings
from db.queries import payments as payments_q
from handlers import settlement

router = APIRouter(prefix="/purchases", tags=["purchases"], route_class=ApiRoute)


class PurchaseOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID | None
    course_title: str | None
    amount: Decimal
    discount_amount: Decimal
    final_amount: Decimal
    currency: str
    status: str
    payment_id: str | None
    payment_method: str | None
    provider: str | None
    review_reason: str | None
    # What this call did: unlocked, already, held_for_review, ignored …
    outcome: str | None = None

    @classmethod
    def of(cls, purchase: payments_q.Purchase, outcome: str | None = None) -> PurchaseOut:
        return cls(
            id=purchase.id,
            user_id=purchase.user_id,
            course_id=purchase.course_id,
            course_title=purchase.course_title,
            amount=purchase.amount,
            discount_amount=purchase.discount_amount,
            final_amount=purchase.final_amount,
            currency=purchase.currency,
            status=purchase.status,
            payment_id=purchase.payment_id,
            payment_method=purchase.payment_method,
            provider=purchase.provider,
            review_reason=purchase.review_reason,
            outcome=outcome,
        )


class Confirmation(StorableText):
    """What the admin saw arrive: the bank's reference (UPI UTR) and how it was paid."""

    payment_ref: str | None = Field(default=None, max_length=100)
    method: Literal["upi", "card", "netbanking", "wallet", "cash"] = "upi"
    note: str | None = Field(default=None, max_length=500)


@router.get("/{purchase_id}")
async def get_purchase(
    purchase_id: uuid.UUID, actor: AdminActor, request: Request, session: UnitOfWork
) -> PurchaseOut:
    """One purchase and its payment state."""
    purchase = await payments_q.get_purchase(session, purchase_id)
    if purchase is None:
        raise HTTPException(404, "no such purchase")
    return PurchaseOut.of(purchase)


@router.post("/{purchase_id}/confirm")
async def confirm_purchase(
    purchase_id: uuid.UUID,
    actor: AdminActor,
    request: Request,
    session: UnitOfWork,
    confirmation: Annotated[Confirmation | None, Body()] = None,
) -> PurchaseOut:
    """The money of a static UPI payment arrived: unlock the course, as a webhook would.

    Confirming twice changes nothing the second time; a refunded purchase is 409.
    Every call is written to the audit log with the admin who made it.
    """
    return await confirm(
        session, runtime_of(request).settings, actor, purchase_id, confirmation or Confirmation()
    )


async def confirm(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    purchase_id: uuid.UUID,
    given: Confirmation,
) -> PurchaseOut:
    """Settle a purchase as paid by the admin's word (API and console), audited."""
    if not actor.is_admin:
        raise HTTPException(403, "admin only")
    purchase = await payments_q.get_purchase(session, purchase_id)
    if purchase is None:
        raise HTTPException(404, "no such purchase")
    outcome = await settlement.confirm_by_admin(
        session, settings, purchase, payment_ref=given.payment_ref, method=given.method
    )
    await payments_q.record_audit(
        session,
        actor=actor.name,
        action="purchase.confirm",
        subject=f"purchase:{purchase_id}",
        detail={
            "outcome": outcome.value,
            "status_before": purchase.status,
            "payment_ref": given.payment_ref,
            "method": given.method,
            "note": given.note,
            "amount": str(purchase.final_amount),
            "currency": purchase.currency,
        },
    )
    after = await payments_q.get_purchase(session, purchase_id)
    assert after is not None
    if after.status == "refunded":
        # The attempt stays in the audit log, as every confirmation does.
        raise RefusedAfterWork(409, "this purchase was refunded")
    return PurchaseOut.of(after, outcome.value)


async def refund_by_hand(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    purchase_id: uuid.UUID,
    note: str | None = None,
) -> PurchaseOut:
    """The admin sent the money back outside the gateway (a purchase held for review):
    settle it as a full refund, as the gateway's refund webhook would, audited."""
    if not actor.is_admin:
        raise HTTPException(403, "admin only")
    purchase = await payments_q.get_purchase(session, purchase_id)
    if purchase is None:
        raise HTTPException(404, "no such purchase")
    paid = minor_units(purchase.final_amount, purchase.currency)
    outcome = await settlement.settle(
        session,
        settings,
        Refunded(
            provider=purchase.provider or upi.PROVIDER,
            purchase_id=purchase.id,
            payment_id=purchase.payment_id,
            refund_id=f"manual-{purchase.id.hex[:16]}",
            refunded_minor=paid,
            paid_minor=paid,
        ),
    )
    await payments_q.record_audit(
        session,
        actor=actor.name,
        action="purchase.refund",
        subject=f"purchase:{purchase_id}",
        detail={
            "outcome": outcome.value,
            "status_before": purchase.status,
            "note": note,
            "amount": str(purchase.final_amount),
            "currency": purchase.currency,
        },
    )
    after = await payments_q.get_purchase(session, purchase_id)
    assert after is not None
    return PurchaseOut.of(after, outcome.value)
