"""Payment gateway callbacks (POST /webhooks/razorpay), and the static UPI QR and pay page.

Thin routes: the signature is checked in a Depends class, the gateway's body
becomes our event in bot.payments.razorpay, and handlers.settlement settles it,
all of one delivery in one transaction.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _, format_money, use_language
from bot.payments import razorpay, upi
from bot.runtime import RuntimeDep, UnitOfWork, runtime_of
from db.queries import payments as payments_q
from handlers import settlement

log = logging.getLogger(__name__)

router = APIRouter()


class RazorpaySignature:
    """Depends: the raw body, when X-Razorpay-Signature is its HMAC-SHA256 under
    RAZORPAY_WEBHOOK_SECRET; otherwise 400 before anything is written."""

    async def __call__(self, request: Request) -> bytes:
        settings = runtime_of(request).settings
        body = await request.body()  # capped by the app's BodyLimit
        secret = settings.razorpay_webhook_secret
        if not razorpay.signature_is_valid(
            body,
            request.headers.get("x-razorpay-signature"),
            # An empty secret is no secret: every signature is refused.
            (secret.get_secret_value() or None) if secret else None,
        ):
            raise HTTPException(status_code=400, detail="bad signature")
        return body


SignedBody = Annotated[bytes, Depends(RazorpaySignature())]


@router.post("/webhooks/razorpay")
async def razorpay_webhook(
    request: Request, body: SignedBody, rt: RuntimeDep, session: UnitOfWork
) -> Response:
    """A Razorpay event: recorded once under its event id, then settled, in one transaction
    (the request's unit of work, opened after the signature was checked)."""
    try:
        event = razorpay.parse_event(orjson.loads(body))
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=f"malformed event: {exc}") from exc
    # Razorpay names each event; a body without the header still deduplicates on itself.
    event_id = request.headers.get("x-razorpay-event-id") or hashlib.sha256(body).hexdigest()
    if not await payments_q.record_gateway_event(session, razorpay.PROVIDER, event_id):
        return Response(status_code=200)
    if event is not None:
        await settlement.settle(session, rt.settings, event)
    return Response(status_code=200)


# The pay page and QR name one farmer's purchase: no shared cache may keep them, and
# they stop working once the purchase is settled (paid, failed, refunded or being
# checked), so an old link or screenshot cannot be paid a second time.
NO_STORE = {"Cache-Control": "no-store"}


async def _upi_purchase(
    session: AsyncSession, purchase_id: uuid.UUID
) -> tuple[payments_q.Purchase, str]:
    """The static UPI purchase and its buyer's language; 404 if there is none."""
    purchase = await payments_q.get_purchase(session, purchase_id)
    buyer = await payments_q.contact(session, purchase.user_id) if purchase else None
    if purchase is None or purchase.provider != upi.PROVIDER or not purchase.link_url:
        raise HTTPException(status_code=404, detail="no such UPI payment", headers=NO_STORE)
    return purchase, buyer.language if buyer else "en"


def _payable(purchase: payments_q.Purchase) -> bool:
    return purchase.status == "pending" and not purchase.review_reason


@router.get("/media/upi/{purchase_id}.png")
async def upi_qr(purchase_id: uuid.UUID, session: UnitOfWork) -> Response:
    """The QR code of a static UPI purchase, drawn from its row on every request."""
    purchase, _language = await _upi_purchase(session, purchase_id)
    if not _payable(purchase):
        raise HTTPException(status_code=410, detail="this payment is closed", headers=NO_STORE)
    assert purchase.link_url is not None
    return Response(upi.qr_png(purchase.link_url), media_type="image/png", headers=NO_STORE)


@router.get("/pay/upi/{purchase_id}")
async def upi_pay_page(purchase_id: uuid.UUID, rt: RuntimeDep, session: UnitOfWork) -> HTMLResponse:
    """Opens the farmer's UPI app with the purchase's deep link (chat buttons cannot)."""
    purchase, language = await _upi_purchase(session, purchase_id)
    if not _payable(purchase):
        with use_language(language):
            closed = upi.closed_page(
                _("This payment is closed, so there is nothing to pay here. "
                  "Please go back to the chat."),
                payee=rt.settings.upi_payee_name,
            )  # fmt: skip
        return HTMLResponse(closed, status_code=410, headers=NO_STORE)
    assert purchase.link_url is not None
    with use_language("en"):
        amount = format_money(purchase.final_amount, purchase.currency)
    return HTMLResponse(
        upi.pay_page(
            purchase.link_url,
            qr_src=upi.qr_url(rt.settings.public_base_url, purchase.id),
            amount=amount,
            payee=rt.settings.upi_payee_name,
        ),
        headers=NO_STORE,
    )
