"""Settling a purchase: what a payment provider said, applied exactly once.

Every source calls `settle` in the caller's one transaction: the Razorpay webhook
(bot/payments/webhooks.py), the reconciliation job (bot/payments/links.py), the admin
API (a static UPI payment seen, a refund) and Telegram Stars (handlers/payments.py).

  Paid     ─► purchase success, paid enrollment, badge rules, "unlocked" + first lesson
              (amount or currency differs ─► held for review, farmer told, nothing unlocked)
  Closed   ─► a pending purchase fails, the farmer is told and offered to buy again
  Refunded ─► purchase refunded, enrollment dropped (lessons refuse again), farmer told
Duplicate, late and reordered events end the same: the purchase row is locked and
every transition is guarded (success is final except for a refund; refunded is final).
The farmer is told through handlers.outreach, as a turn would tell them.
"""

from __future__ import annotations

import enum
import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _, format_money
from bot.messages import Option, Reply
from bot.payments import upi
from bot.payments.events import SETTLEMENTS, Closed, Paid, PaymentEvent, Refunded, minor_units
from bot.settings import Settings
from db.queries import catalog as catalog_q
from db.queries import payments as q
from db.queries import turns as turns_q
from handlers import lessons, outreach, rewards
from handlers.base import Answer, Turn

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    UNLOCKED = "unlocked"
    ALREADY = "already"  # paid before: this event changes nothing
    HELD = "held_for_review"
    FAILED = "failed"
    REFUNDED = "refunded"
    IGNORED = "ignored"  # too late to matter (e.g. expired after paid, paid after refund)
    UNKNOWN = "unknown"  # names no purchase of ours


async def settle(session: AsyncSession, settings: Settings, event: PaymentEvent) -> Outcome:
    """Apply what a provider said about a purchase, exactly once, in the caller's transaction."""
    outcome = await _settle(session, settings, event)
    SETTLEMENTS.labels(event.provider, type(event).__name__.lower(), outcome.value).inc()
    return outcome


async def _settle(session: AsyncSession, settings: Settings, event: PaymentEvent) -> Outcome:
    purchase_id = event.purchase_id
    if purchase_id is None and isinstance(event, Paid | Closed) and event.link_id:
        purchase_id = await q.purchase_id_for_link(session, event.link_id)
    if purchase_id is None and isinstance(event, Refunded) and event.payment_id:
        purchase_id = await q.purchase_id_for_payment(session, event.payment_id)
    if purchase_id is None:
        log.warning("payment event for no purchase of ours: %s", event)
        return Outcome.UNKNOWN
    # The farmer's conversation first, then the purchase: the order a turn takes
    # them in, so a turn and a settlement never wait on each other in a circle.
    locked = await q.lock_buyer_conversation(session, purchase_id)
    if locked is not None:
        conversation = turns_q.ConversationRow(**locked[1])
    else:
        found = await q.get_purchase(session, purchase_id)
        if found is None:
            log.warning("payment event for no purchase of ours: %s", event)
            return Outcome.UNKNOWN
        conversation = await turns_q.lock_conversation(session, found.user_id)
    purchase = await q.get_purchase(session, purchase_id, lock=True)
    assert purchase is not None
    farmer = outreach.FarmerMessages(
        session, settings, purchase.user_id, conversation, kind="payment"
    )
    if isinstance(event, Paid):
        return await _settle_paid(session, farmer, purchase, event)
    if isinstance(event, Closed):
        return await _settle_closed(session, farmer, purchase, event)
    return await _settle_refund(session, farmer, purchase, event)


async def _settle_paid(
    session: AsyncSession, farmer: outreach.FarmerMessages, purchase: q.Purchase, event: Paid
) -> Outcome:
    if purchase.status == "refunded":
        return Outcome.IGNORED  # the refund arrived first: the money went back already
    if purchase.status == "success":
        second = purchase.payment_id != event.payment_id and not event.by_hand
        if second and not purchase.review_reason:
            await q.flag_for_review(
                session, purchase.id, f"second payment {event.payment_id}: refund due",
                provider=event.provider,
            )  # fmt: skip
        return Outcome.ALREADY
    expected = minor_units(purchase.final_amount, purchase.currency)
    if event.currency.upper() != purchase.currency.upper() or event.amount_minor != expected:
        first_time = not purchase.review_reason
        await q.flag_for_review(
            session,
            purchase.id,
            f"paid {event.amount_minor} {event.currency}, expected {expected} "
            f"{purchase.currency} (payment {event.payment_id})",
            provider=purchase.provider or event.provider,
        )
        await q.note_payment(session, purchase.id, payment_id=event.payment_id, method=event.method)
        if first_time:
            await farmer.tell(lambda turn: _held_for_review(purchase))
        return Outcome.HELD
    if purchase.course_id is None:
        await q.flag_for_review(
            session, purchase.id, "the course no longer exists: refund due",
            provider=purchase.provider or event.provider,
        )  # fmt: skip
        await q.note_payment(session, purchase.id, payment_id=event.payment_id, method=event.method)
        return Outcome.HELD
    course_id = purchase.course_id
    await q.mark_paid(session, purchase.id, payment_id=event.payment_id, method=event.method)
    created = await catalog_q.enroll(
        session, purchase.user_id, course_id,
        enrollment_type="paid", amount_paid=purchase.final_amount,
    )  # fmt: skip
    reopened = not created and await q.restore_enrollment(
        session, purchase.user_id, course_id, amount_paid=purchase.final_amount
    )
    if not (created or reopened):
        # The farmer had the course already (another purchase): the money goes back.
        await q.flag_for_review(
            session, purchase.id, "course already owned: refund due",
            provider=purchase.provider or event.provider,
        )  # fmt: skip
        await farmer.tell(lambda turn: _paid_twice(purchase))
        return Outcome.ALREADY
    await farmer.tell(lambda turn: _unlocked(turn, purchase, course_id))
    return Outcome.UNLOCKED


async def _unlocked(turn: Turn, purchase: q.Purchase, course_id: uuid.UUID) -> Answer | list[Reply]:
    """Told once the payment unlocked the course: it is open, and here is lesson one."""
    replies = [
        Reply(
            _("🎉 We have received your payment of {amount}. {title} is now open to you. "
              "Here is your first lesson.").format(
                amount=format_money(purchase.final_amount, purchase.currency),
                title=purchase.course_title or "",
            )
        )
    ]  # fmt: skip
    replies += await on_enrolled(turn, course_id)
    return replies + await lessons.continue_course(turn, course_id)


async def on_enrolled(turn: Turn, course_id: uuid.UUID) -> list[Reply]:
    """The badge rules of a paid enrolment: whatever they award, told after "unlocked"."""
    return await rewards.record_progress(
        turn.session, turn.farmer.user_id, "enrolled", course_id, language=turn.farmer.language
    )


def _held_for_review(purchase: q.Purchase) -> list[Reply]:
    return [
        Reply(
            _(
                "We have received a payment for {title}, but it does not match the price. "
                "Our team will check it and write to you soon."
            ).format(title=purchase.course_title or "")
        )
    ]


def _paid_twice(purchase: q.Purchase) -> list[Reply]:
    return [
        Reply(
            _(
                "We have received {amount} for {title}, which you already have. "
                "Our team will return this payment to you."
            ).format(
                amount=format_money(purchase.final_amount, purchase.currency),
                title=purchase.course_title or "",
            )
        )
    ]


async def _settle_closed(
    session: AsyncSession, farmer: outreach.FarmerMessages, purchase: q.Purchase, event: Closed
) -> Outcome:
    if purchase.status != "pending" or purchase.review_reason:
        return Outcome.IGNORED  # paid, refunded or failed already; or money is being checked
    await q.mark_failed(session, purchase.id)
    await farmer.tell(lambda turn: _closed(purchase, event.reason))
    return Outcome.FAILED


def _closed(purchase: q.Purchase, reason: str) -> list[Reply]:
    title = purchase.course_title or ""
    text = (
        _("The payment for {title} was cancelled. No money was taken.").format(title=title)
        if reason == "cancelled"
        else _("The payment link for {title} has expired. No money was taken.").format(title=title)
    )
    options = (
        (Option(_("💳 Buy this course"), f"buy:{purchase.course_id}"),)
        if purchase.course_id
        else ()
    )
    return [Reply(text + "\n" + _("You can ask for a new link at any time."), options=options)]


async def _settle_refund(
    session: AsyncSession, farmer: outreach.FarmerMessages, purchase: q.Purchase, event: Refunded
) -> Outcome:
    if purchase.status == "refunded":
        return Outcome.IGNORED
    expected = minor_units(purchase.final_amount, purchase.currency)
    if event.refunded_minor < expected:
        # A partial refund (a goodwill gesture, a fee) leaves the course open.
        await q.flag_for_review(
            session, purchase.id, f"partial refund {event.refund_id}: {event.refunded_minor}"
            f" of {expected}", provider=purchase.provider or event.provider,
        )  # fmt: skip
        return Outcome.HELD
    was = await q.mark_refunded(session, purchase.id, payment_id=event.payment_id)
    dropped = False
    if was == "success" and purchase.course_id is not None:
        dropped = await q.drop_enrollment(
            session, purchase.user_id, purchase.course_id, refunded=purchase.id
        )
    await farmer.tell(lambda turn: _refunded(purchase, closed=dropped))
    return Outcome.REFUNDED


def _refunded(purchase: q.Purchase, *, closed: bool) -> list[Reply]:
    text = _("Your payment of {amount} for {title} has been refunded.").format(
        amount=format_money(purchase.final_amount, purchase.currency),
        title=purchase.course_title or "",
    )
    if closed:
        text += "\n" + _("The course is closed to you now; its free preview lessons stay open.")
    return [Reply(text)]


async def confirm_by_admin(
    session: AsyncSession,
    settings: Settings,
    purchase: q.Purchase,
    *,
    payment_ref: str | None,
    method: str,
) -> Outcome:
    """An admin saw the money of a static UPI payment arrive: settle it as paid in full."""
    return await settle(
        session,
        settings,
        Paid(
            provider=purchase.provider or upi.PROVIDER,
            purchase_id=purchase.id,
            link_id=None,
            payment_id=payment_ref or f"manual-{purchase.id.hex[:16]}",
            method=method,
            amount_minor=minor_units(purchase.final_amount, purchase.currency),
            currency=purchase.currency,
            by_hand=True,
        ),
    )
