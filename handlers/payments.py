"""Buying a paid course in the chat. Only the payment's confirmation unlocks it.

/buy [course] ─► the course meant: named (id or title words), else the pending
                 purchase, else the paid course whose preview was opened last,
                 else a list of paid courses to choose from
buy:<course>  ─► a pending purchase (reused while its link is open), the price and
                 a link: a Razorpay payment link, else a static UPI link and its QR code;
                 on Telegram with TELEGRAM_PAYMENTS=stars, a Telegram Stars invoice
successful_payment (Telegram Stars) ─► settled like any provider's Paid event
refunded_payment (Telegram Stars)   ─► settled like any provider's Refunded event
owned already ─► says so, offers to continue

`settle(event)` runs outside any turn (gateway webhook, reconciliation job, admin
confirmation), in the caller's one transaction:
  Paid     ─► purchase success, paid enrollment, badge rules, "unlocked" + first lesson
              (amount or currency differs ─► held for review, farmer told, nothing unlocked)
  Closed   ─► a pending purchase fails, the farmer is told and offered to buy again
  Refunded ─► purchase refunded, enrollment dropped (lessons refuse again), farmer told
Duplicate, late and reordered events end the same: the purchase row is locked and
every transition is guarded (success is final except for a refund; refunded is final).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import logging
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _, format_money, format_number, use_language
from bot.jobs import JOBS, enqueue
from bot.messages import ChannelPayment, Inbound, Invoice, NativePayment, Option, Reply
from bot.payments import razorpay, upi
from bot.payments.events import (
    SETTLEMENTS,
    Closed,
    Paid,
    PaymentEvent,
    Refunded,
    minor_units,
)
from bot.runtime import Runtime
from bot.settings import Settings
from bot.templates import templates_for
from db.queries import catalog as catalog_q
from db.queries import lessons as lessons_q
from db.queries import outbox
from db.queries import payments as q
from db.queries import turns as turns_q
from handlers import lessons, rewards
from handlers.base import Conversation, Turn, parse_uuid
from handlers.categories import (
    CONTENT_LANGUAGE,
    only_other_languages_note,
    other_languages_option,
)

log = logging.getLogger(__name__)

# A farmer may need a day to get to a phone with UPI or to top up their account.
LINK_VALIDITY = dt.timedelta(hours=24)
RECONCILE_JOB = "reconcile_payments"
OPEN_LINK_JOB = "open_payment_link"
RECONCILE_EVERY = dt.timedelta(minutes=5)
RECONCILE_BATCH = 100
# Razorpay marks a link expired shortly after expire_by; past this we stop waiting for it.
EXPIRY_GRACE = dt.timedelta(hours=1)
LIST_LIMIT = 5
STARS = "stars"  # the provider of Telegram Stars payments
STARS_CURRENCY = "XTR"
# course_purchases.payment_method of a Stars payment (the column has no CHECK):
# how the farmer paid, beside Razorpay's upi | card | netbanking | wallet.
STARS_METHOD = "stars"


class Outcome(enum.StrEnum):
    UNLOCKED = "unlocked"
    ALREADY = "already"  # paid before: this event changes nothing
    HELD = "held_for_review"
    FAILED = "failed"
    REFUNDED = "refunded"
    IGNORED = "ignored"  # too late to matter (e.g. expired after paid, paid after refund)
    UNKNOWN = "unknown"  # names no purchase of ours


def _not_available() -> list[Reply]:
    return [
        Reply(
            _("Sorry, this course is not available."),
            options=(Option(_("📚 Browse courses"), "cmd:courses"),),
        )
    ]


def _title(emoji: str | None, title: str | None) -> str:
    return f"{emoji or '📘'} {title or ''}".strip()


def _price(purchase: q.Purchase) -> str:
    """The purchase's own price (a reused link keeps the price it was made with)."""
    price = format_money(purchase.final_amount, purchase.currency)
    if purchase.discount_amount > 0 and purchase.amount > 0:
        percent = (purchase.discount_amount * 100 / purchase.amount).quantize(Decimal("1"))
        return _("{price} instead of {full} ({percent}% off)").format(
            price=price,
            full=format_money(purchase.amount, purchase.currency),
            percent=format_number(percent),
        )
    return price


# --- Asking to buy ---------------------------------------------------------------


async def buy(turn: Turn) -> list[Reply]:
    """Answers `buy:<course>`: the price and a payment link; asks the farmer to pay."""
    course_id = parse_uuid(turn.arg)
    return await offer(turn, course_id) if course_id else _not_available()


async def buy_command(turn: Turn) -> list[Reply]:
    """Answers /buy [course]: the payment link of the course meant; else asks which course."""
    words = turn.arg.strip()
    course_id = parse_uuid(words) if words else None
    if course_id is not None:
        return await offer(turn, course_id)
    if not words:
        # The course on the farmer's screen comes first: its card, or one of its
        # lessons (a preview). Only then an older pending link, or the last preview.
        course_id = await _course_looked_at(turn)
        if course_id is None:
            pending = await q.pending_purchase(turn.session, turn.farmer.user_id)
            course_id = pending.course_id if pending else None
        course_id = course_id or await q.last_previewed_paid_course(
            turn.session, turn.farmer.user_id
        )
        if course_id is not None:
            return await offer(turn, course_id)
    if words:
        courses = await q.paid_courses_to_buy(
            turn.session, turn.farmer.user_id, words=words, limit=LIST_LIMIT
        )
        if len(courses) == 1:
            return await offer(turn, courses[0].id)
        if courses:
            options = [Option(_title(c.emoji, c.title), f"course:{c.id}") for c in courses]
            options.append(Option(_("📚 Browse courses"), "cmd:courses"))
            return [Reply(_("Which course would you like to buy?"), options=tuple(options))]
        heading = _("I found no paid course called “{words}”.").format(words=words[:60])
        return await _paid_list(turn, heading=heading)
    return await _paid_list(turn)


async def buy_list(turn: Turn) -> list[Reply]:
    """Answers `buylist:o`: the paid courses in the other languages; asks which to open."""
    return await _paid_list(turn, others=True)


async def _paid_list(
    turn: Turn, *, heading: str | None = None, others: bool = False
) -> list[Reply]:
    """The paid courses in the farmer's language (the others only on request, or when
    there are none in theirs)."""
    language = CONTENT_LANGUAGE[turn.farmer.language]

    async def courses_in(in_language: bool, limit: int = LIST_LIMIT) -> list[q.PaidCourse]:
        return await q.paid_courses_to_buy(
            turn.session, turn.farmer.user_id, words=None, limit=limit,
            language=language, in_language=in_language,
        )  # fmt: skip

    courses = await courses_in(not others)
    lines = [heading] if heading else []
    if not courses and not others:
        others = True
        courses = await courses_in(False)
        if courses:
            lines.append(only_other_languages_note())
    options = [Option(_title(c.emoji, c.title), f"course:{c.id}") for c in courses]
    if courses and not others and await courses_in(False, limit=1):
        options.append(other_languages_option("buylist:o"))
    options.append(Option(_("📚 Browse courses"), "cmd:courses"))
    if not courses:
        lines = [_("There is no paid course for you to buy right now.")]
    else:
        lines.append(_("Which course would you like to buy?"))
    return [Reply("\n".join(lines), options=tuple(options))]


async def _course_looked_at(turn: Turn) -> uuid.UUID | None:
    """The paid course whose card or lesson the farmer saw last, if they do not own it."""
    course_id = parse_uuid(turn.data.get("course"))
    lesson_id = parse_uuid(turn.data.get("lesson"))
    if course_id is None and lesson_id is not None:
        lesson = await lessons_q.get_lesson(turn.session, lesson_id, turn.farmer.user_id)
        course_id = lesson.course_id if lesson is not None else None
    if course_id is None:
        return None
    card = await catalog_q.course_card(turn.session, course_id, turn.farmer.user_id)
    if card is None or card.is_free or card.enrollment_status not in (None, "dropped"):
        return None
    return card.id


async def offer(turn: Turn, course_id: uuid.UUID) -> list[Reply]:
    """The price and a payment link for one course, reusing a pending purchase."""
    card = await catalog_q.course_card(turn.session, course_id, turn.farmer.user_id)
    if card is None:
        return _not_available()
    if card.enrollment_status not in (None, "dropped"):
        return [
            Reply(
                _("You already have {title}. Carry on learning!").format(title=card.title),
                options=(Option(_("▶️ Continue learning"), f"continue:{card.id}"),),
            )
        ]
    if card.is_free:
        return [
            Reply(
                _("{title} is free. Enrol and start learning now.").format(title=card.title),
                options=(Option(_("✅ Enrol for free"), f"enroll:{card.id}"),),
            )
        ]
    purchase = await q.pending_purchase(turn.session, turn.farmer.user_id, card.id)
    if purchase is not None and purchase.review_reason:
        return [
            Reply(
                _(
                    "We have received a payment for {title} that our team is checking. "
                    "We will write to you soon."
                ).format(title=card.title)
            )
        ]
    if (
        purchase is not None
        and purchase.provider is not None
        and not purchase.link_is_open(turn.now)
    ):
        # Its link ran out and the gateway has not said so yet: that purchase is over,
        # a new one starts.
        await q.mark_failed(turn.session, purchase.id)
        purchase = None
    again = purchase is not None and purchase.provider is not None
    native = _native_payment(turn)
    if purchase is None:
        if not (native or turn.settings.razorpay_enabled or _static_upi(turn.settings, card)):
            return [
                Reply(
                    # The course named first: /buy may have picked it from the screen.
                    _title(card.emoji, card.title)
                    + "\n"
                    + _(
                        "Online payment is not open yet. The free preview lessons of this "
                        "course are open to you now."
                    ),
                    options=(Option(_("📘 See the course"), f"course:{card.id}"),),
                )
            ]
        purchase = await q.create_purchase(
            turn.session,
            user_id=turn.farmer.user_id,
            course_id=card.id,
            amount=card.price,
            discount_amount=card.price - card.final_price,
            final_amount=card.final_price,
            currency=card.currency,
        )
    if native:
        if purchase.provider is None:
            await q.save_link(
                turn.session, purchase.id, provider=STARS, link_id=None, url=None,
                expires_at=None,
            )  # fmt: skip
        return [_native_invoice(native, purchase, card)]
    if purchase.provider is None and turn.settings.razorpay_enabled:
        # Commit, call, record: the gateway is never called inside a turn (it would hold
        # this farmer's batch, and every farmer in it, for as long as it takes). The
        # job makes the link once this turn has committed, then sends it.
        await enqueue(
            turn.session,
            OPEN_LINK_JOB,
            {"purchase": str(purchase.id), "course": str(card.id), "again": again},
            dedupe_key=f"{OPEN_LINK_JOB}:{purchase.id}",
        )
        return []
    if purchase.provider is None:
        opened = await _open_static_upi(turn.session, turn.settings, purchase, card)
        if opened is None:
            return [_payments_down()]
        purchase = opened
    return [_payment_reply(turn.settings, purchase, card, again=again)]


def _payments_down() -> Reply:
    return Reply(_("Sorry, payments are not working right now. Please try again in a while."))


def _native_payment(turn: Turn) -> NativePayment | None:
    """The channel's own payment, when the operator chose it for selling there
    (Telegram sells digital goods for Stars only)."""
    native = turn.capabilities.native_payment
    return native if native is not None and native.preferred else None


def _native_invoice(
    native: NativePayment, purchase: q.Purchase, card: catalog_q.CourseCard
) -> Reply:
    """The invoice of a purchase in the channel's own currency (Telegram Stars): the
    channel sends it as a payable message."""
    stars = native.price(purchase.final_amount)
    description = (
        _("Price: {price}").format(price=_price(purchase))
        + "\n"
        + _(
            "Pay {stars} Telegram Stars. The course opens as soon as your payment reaches us."
        ).format(stars=format_number(stars))
    )
    return Reply(
        "💳 " + _title(card.emoji, card.title) + "\n" + description,
        invoice=Invoice(
            title=card.title[:32] or _("Course"),
            description=description[:255],
            payload=str(purchase.id),
            currency=native.currency,
            label=card.title[:32] or _("Course"),
            amount=stars,
        ),
    )


def _static_upi(settings: Settings, card: catalog_q.CourseCard) -> bool:
    return bool(settings.upi_vpa) and card.currency.upper() == "INR"


async def _open_static_upi(
    session: AsyncSession, settings: Settings, purchase: q.Purchase, card: catalog_q.CourseCard
) -> q.Purchase | None:
    """Make the purchase payable by a static UPI link (no gateway: nothing to call)."""
    if not (settings.upi_vpa and _static_upi(settings, card)):
        return None
    uri = upi.deep_link(
        vpa=settings.upi_vpa,
        payee=settings.upi_payee_name,
        amount=purchase.final_amount,
        purchase_id=purchase.id,
        note=card.title if card.title.isascii() else settings.upi_payee_name,
    )
    await q.save_link(
        session, purchase.id, provider=upi.PROVIDER, link_id=None, url=uri, expires_at=None
    )
    return await q.get_purchase(session, purchase.id)


@JOBS.job(OPEN_LINK_JOB)
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
                _payment_reply(settings, purchase, card, again=bool(payload.get("again")))
                if link is not None
                else _payments_down()
            )
        await outbox.queue_for_user(session, purchase.user_id, [reply.to_json()], kind="payment")


def _payment_reply(
    settings: Settings, purchase: q.Purchase, card: catalog_q.CourseCard, *, again: bool
) -> Reply:
    amount = format_money(purchase.final_amount, purchase.currency)
    lines = [_("Here is your payment link again.")] if again else []
    lines += [
        "💳 " + _title(card.emoji, card.title),
        _("Price: {price}").format(price=_price(purchase)),
        "",
    ]
    if purchase.provider == upi.PROVIDER:
        lines.append(
            _(
                "Scan this QR code with any UPI app (PhonePe, Google Pay, Paytm, BHIM), or "
                "tap the button to pay from this phone. Once we see your payment, we open "
                "the course for you, usually within a few hours."
            )
        )
        return Reply(
            "\n".join(lines),
            link=upi.pay_page_url(settings.public_base_url, purchase.id),
            link_label=_("📲 Pay {amount} with UPI").format(amount=amount),
            media_url=upi.qr_url(settings.public_base_url, purchase.id),
        )
    lines.append(
        _(
            "Tap the button to pay with any UPI app (PhonePe, Google Pay, Paytm, BHIM). "
            "The course opens by itself as soon as your payment reaches us."
        )
    )
    return Reply(
        "\n".join(lines),
        link=purchase.link_url,
        link_label=_("💳 Pay {amount}").format(amount=amount),
    )


# --- The provider's word: settle --------------------------------------------------


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
    farmer = _FarmerMessages(session, settings, purchase.user_id, conversation)
    if isinstance(event, Paid):
        return await _settle_paid(session, farmer, purchase, event)
    if isinstance(event, Closed):
        return await _settle_closed(session, farmer, purchase, event)
    return await _settle_refund(session, farmer, purchase, event)


async def _settle_paid(
    session: AsyncSession, farmer: _FarmerMessages, purchase: q.Purchase, event: Paid
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


async def _unlocked(turn: Turn, purchase: q.Purchase, course_id: uuid.UUID) -> list[Reply]:
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
    session: AsyncSession, farmer: _FarmerMessages, purchase: q.Purchase, event: Closed
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
    session: AsyncSession, farmer: _FarmerMessages, purchase: q.Purchase, event: Refunded
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


class _FarmerMessages:
    """Messages to a farmer about their payment, outside any turn of theirs.

    They are built as a turn would build them (the farmer's language, the same
    lesson handlers) and become the conversation's latest menu, so a WhatsApp
    farmer's "1" means the first option of the lesson they just got.
    """

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        user_id: uuid.UUID,
        conversation: turns_q.ConversationRow,
    ) -> None:
        self.session = session
        self.settings = settings
        self.user_id = user_id
        self.conversation = conversation

    async def tell(self, build: Callable[[Turn], Awaitable[list[Reply]] | list[Reply]]) -> int:
        # bot.turns imports the router, which imports this module: import it when used.
        from bot.turns import MENU_KEY, MENU_LABELS_KEY, _number_options, option_labels

        who = await q.contact(self.session, self.user_id)
        if who is None:
            return 0
        data = dict(self.conversation.data)
        menu = data.pop(MENU_KEY, [])
        labels = data.pop(MENU_LABELS_KEY, [])
        turn = Turn(
            session=self.session,
            inbound=Inbound(
                channel=who.channel or "console",
                external_user_id=who.external_id or "",
                external_message_id="payment",
            ),
            farmer=turns_q.Farmer(
                user_id=self.user_id,
                identity_id=who.identity_id or uuid.UUID(int=0),
                language=who.language,
                role=who.role,
                consent_status=who.consent_status,
                display_name=who.display_name,
            ),
            settings=self.settings,
            state=self.conversation.state,
            data=data,
            now=dt.datetime.now(dt.UTC),
            menu=menu,
            menu_labels=labels,
        )
        with use_language(who.language):
            built = build(turn)
            replies = built if isinstance(built, list) else await built
        numbered, new_menu = _number_options(replies)
        queued = await outbox.queue_for_user(
            self.session, self.user_id, [r.to_json() for r in numbered], kind="payment",
            templates=templates_for(self.settings, "payment"),
        )  # fmt: skip
        saved = dict(turn.data)
        saved[MENU_KEY] = new_menu if numbered else menu
        saved[MENU_LABELS_KEY] = option_labels(numbered) if numbered else labels
        await q.save_conversation(self.session, self.user_id, state=turn.state, data=saved)
        self.conversation = dataclasses.replace(self.conversation, state=turn.state, data=saved)
        return queued


# --- Telegram Stars: the channel itself took the money ----------------------------


async def stars_paid(turn: Turn) -> list[Reply]:
    """Answers Telegram's successful_payment: settles the purchase as any provider's Paid
    (and refunded_payment as any provider's Refunded)."""
    payment = turn.inbound.payment
    assert payment is not None
    purchase_id = parse_uuid(payment.payload)
    purchase = await q.get_purchase(turn.session, purchase_id) if purchase_id else None
    if payment.refunded:
        return await _stars_refunded(turn, payment, purchase)
    amount, currency = payment.amount, payment.currency
    native = turn.capabilities.native_payment
    if (
        purchase is not None
        and native is not None
        and currency.upper() == native.currency
        and amount == native.price(purchase.final_amount)
    ):
        # The stars asked for this purchase: its price in its own currency was paid.
        amount, currency = minor_units(purchase.final_amount, purchase.currency), purchase.currency
    outcome = await settle(
        turn.session,
        turn.settings,
        Paid(
            provider=STARS,
            purchase_id=purchase.id if purchase is not None else None,
            link_id=None,
            payment_id=payment.charge_id,
            method=STARS_METHOD,
            amount_minor=amount,
            currency=currency,
        ),
    )
    if outcome is Outcome.UNKNOWN:
        return [
            Reply(_("We have received your payment. Our team will check it and write to you soon."))
        ]
    return await _where_settlement_left(turn)


async def _where_settlement_left(turn: Turn) -> list[Reply]:
    """The settlement told the farmer and moved the conversation on (to the first
    lesson's menu, say); this turn ends where it left it."""
    # bot.turns imports the router, which imports this module: import it when used.
    from bot.turns import MENU_KEY, MENU_LABELS_KEY

    conversation = await turns_q.lock_conversation(turn.session, turn.farmer.user_id)
    data = dict(conversation.data)
    turn.menu = data.pop(MENU_KEY, [])
    turn.menu_labels = data.pop(MENU_LABELS_KEY, [])
    turn.state, turn.data = conversation.state, data
    return []


async def _stars_refunded(
    turn: Turn, payment: ChannelPayment, purchase: q.Purchase | None
) -> list[Reply]:
    """Telegram gave the Stars back: the purchase is refunded and the course closed,
    exactly as a gateway's refund. Telegram refunds a Stars payment only whole."""
    if purchase is not None and purchase.payment_id not in (None, payment.charge_id):
        purchase = None  # the payload names a purchase another charge paid: go by the charge
    outcome = await settle(
        turn.session,
        turn.settings,
        Refunded(
            provider=STARS,
            purchase_id=purchase.id if purchase is not None else None,
            payment_id=payment.charge_id,
            refund_id=f"stars:{payment.charge_id}",
            refunded_minor=(
                minor_units(purchase.final_amount, purchase.currency)
                if purchase is not None and payment.currency.upper() == STARS_CURRENCY
                else payment.amount
            ),
            paid_minor=payment.amount,
        ),
    )
    if outcome is Outcome.UNKNOWN:
        return [Reply(_("Telegram has returned your Stars to you."))]
    return await _where_settlement_left(turn)


# --- Confirmations that do not come from a webhook ---------------------------------


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


@JOBS.every(RECONCILE_JOB, "*/5 * * * *")
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
            await settle(session, settings, event)


async def _overdue(
    runtime: Runtime, purchase_id: uuid.UUID, link_id: str, now: dt.datetime
) -> PaymentEvent | None:
    """A link long past its expiry that Razorpay still calls open: we stop waiting for it."""
    async with runtime.sessionmaker() as session:
        purchase = await q.get_purchase(session, purchase_id)
    if purchase and purchase.expires_at and purchase.expires_at + EXPIRY_GRACE < now:
        return Closed(razorpay.PROVIDER, purchase_id, link_id, "expired")
    return None


CONVERSATION = Conversation(
    commands={"buy": buy_command},
    buttons={"buy": buy, "buylist": buy_list},
    aliases={"buy": "buy", "खरीदें": "buy", "खरीदना": "buy", "विकत घ्या": "buy", "kharidna": "buy"},
)
