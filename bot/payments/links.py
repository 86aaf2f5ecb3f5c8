"""The payment gateway's side of a purchase: the engine's jobs that call Razorpay.

The gateway is never called inside a transaction or a farmer's lock: a payment
link is commit, call, record. The farmer's turn (handlers/payments.py) commits a
pending purchase and enqueues `open_payment_link`; this job reads it, calls the
gateway with no transaction open, then records the link and sends it. The
reconciliation schedule asks Razorpay about purchases pending too long (a lost
webhook) and hands its answer to the settlement service (handlers/settlement.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from bot.i18n import use_language
from bot.jobs import ENGINE_JOBS
from bot.payments import razorpay
from bot.payments.events import Closed, PaymentEvent, minor_units
from bot.runtime import Runtime
from db.queries import catalog as catalog_q
from db.queries import payments as q
from handlers import outreach, settlement
from handlers.base import parse_uuid
from handlers.payments import LINK_VALIDITY, OPEN_LINK_JOB, payment_reply, payments_down

log = logging.getLogger(__name__)

RECONCILE_JOB = "reconcile_payments"
RECONCILE_EVERY = dt.timedelta(minutes=5)
RECONCILE_BATCH = 100
# Razorpay marks a link expired shortly after expire_by; past this we stop waiting for it.
EXPIRY_GRACE = dt.timedelta(hours=1)


@ENGINE_JOBS.job(OPEN_LINK_JOB)
async def open_payment_link(runtime: Runtime, payload: dict[str, Any]) -> None:
    """A Razorpay payment link for a purchase the farmer's turn committed: read, call the
    gateway with no transaction open, then record the link and send it."""
    settings = runtime.settings
    purchase_id, course_id = parse_uuid(payload.get("purchase")), parse_uuid(payload.get("course"))
    if purchase_id is None or course_id is None:
        return
    async with runtime.sessionmaker() as session:
        purchase = await q.get_purchase(session, purchase_id)
        if purchase is None:
            return
        card = await catalog_q.course_card(session, course_id, purchase.user_id)
    if card is None or purchase.status != "pending":
        return
    if purchase.provider is not None:  # made already (this job ran before and was retried)
        return
    now = dt.datetime.now(dt.UTC)
    try:
        link = await razorpay.create_payment_link(
            settings,
            purchase_id=purchase.id,
            user_id=purchase.user_id,
            course_id=card.id,
            amount_minor=minor_units(purchase.final_amount, purchase.currency),
            currency=purchase.currency,
            description=card.title,
            expires_at=now + LINK_VALIDITY,
        )
    except razorpay.GatewayError as exc:
        # The purchase stays pending without a link; asking again tries again.
        log.warning("payment link not created: %s", exc)
        link = None
    async with runtime.sessionmaker() as session, session.begin():
        who = await q.contact(session, purchase.user_id)
        if link is not None:
            await q.save_link(
                session, purchase.id, provider=razorpay.PROVIDER, link_id=link.id,
                url=link.url, expires_at=link.expires_at,
            )  # fmt: skip
            purchase = await q.get_purchase(session, purchase.id) or purchase
        if who is None:
            return
        with use_language(who.language):
            reply = (
                payment_reply(settings, purchase, card, again=bool(payload.get("again")))
                if link is not None
                else payments_down()
            )
        # The farmer just asked for it: inside WhatsApp's window, no template.
        await outreach.tell(session, None, purchase.user_id, [reply], kind="payment")


@ENGINE_JOBS.every(RECONCILE_JOB, "*/5 * * * *")
async def reconcile_payments(runtime: Runtime) -> None:
    """Ask Razorpay about purchases pending too long (a lost webhook) and settle its answer."""
    settings = runtime.settings
    if not settings.razorpay_enabled:
        return
    async with runtime.sessionmaker() as session, session.begin():
        due = await q.due_for_reconciliation(session, window=RECONCILE_EVERY, limit=RECONCILE_BATCH)
    now = dt.datetime.now(dt.UTC)
    for purchase_id, link_id in due:
        try:
            link = await razorpay.fetch_payment_link(settings, link_id)
        except razorpay.GatewayError as exc:
            log.warning("reconcile %s: %s", purchase_id, exc)
            continue
        event = razorpay.event_from_link(link)
        if event is None:
            event = await _overdue(runtime, purchase_id, link_id, now)
        if event is None:
            continue
        async with runtime.sessionmaker() as session, session.begin():
            await settlement.settle(session, settings, event)


async def _overdue(
    runtime: Runtime, purchase_id: uuid.UUID, link_id: str, now: dt.datetime
) -> PaymentEvent | None:
    """A link long past its expiry that Razorpay still calls open: we stop waiting for it."""
    async with runtime.sessionmaker() as session:
        purchase = await q.get_purchase(session, purchase_id)
    if purchase and purchase.expires_at and purchase.expires_at + EXPIRY_GRACE < now:
        return Closed(razorpay.PROVIDER, purchase_id, link_id, "expired")
    return None
