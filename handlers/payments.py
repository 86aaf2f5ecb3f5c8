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

Settling what a provider says (a webhook, reconciliation, the admin, Stars) is
handlers/settlement.py; the Razorpay calls are the engine's (bot/payments/links.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _, format_money, format_number
from bot.messages import ChannelPayment, Invoice, NativePayment, Option, Reply
from bot.payments import upi
from bot.payments.events import Paid, Refunded, minor_units
from bot.settings import Settings
from db.queries import catalog as catalog_q
from db.queries import lessons as lessons_q
from db.queries import payments as q
from db.queries.jobs import enqueue
from handlers import outreach, settlement
from handlers.base import IDLE, STAY, Answer, Conversation, Turn, on, parse_uuid
from handlers.categories import (
    CONTENT_LANGUAGE,
    only_other_languages_note,
    other_languages_option,
)
from handlers.lessons import LESSON

log = logging.getLogger(__name__)

# A farmer may need a day to get to a phone with UPI or to top up their account.
LINK_VALIDITY = dt.timedelta(hours=24)
# The engine's job (bot/payments/links.py) that calls the gateway once the turn committed.
OPEN_LINK_JOB = "open_payment_link"
LIST_LIMIT = 5
STARS = "stars"  # the provider of Telegram Stars payments
STARS_CURRENCY = "XTR"
# course_purchases.payment_method of a Stars payment (the column has no CHECK):
# how the farmer paid, beside Razorpay's upi | card | netbanking | wallet.
STARS_METHOD = "stars"


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
            return [payments_down()]
        purchase = opened
    return [payment_reply(turn.settings, purchase, card, again=again)]


def payments_down() -> Reply:
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


def payment_reply(
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


# --- Telegram Stars: the channel itself took the money ----------------------------


async def stars_paid(turn: Turn) -> Answer | list[Reply]:
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
    outcome = await settlement.settle(
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
    if outcome is settlement.Outcome.UNKNOWN:
        return [
            Reply(_("We have received your payment. Our team will check it and write to you soon."))
        ]
    return await outreach.where_it_left(turn)


async def _stars_refunded(
    turn: Turn, payment: ChannelPayment, purchase: q.Purchase | None
) -> Answer | list[Reply]:
    """Telegram gave the Stars back: the purchase is refunded and the course closed,
    exactly as a gateway's refund. Telegram refunds a Stars payment only whole."""
    if purchase is not None and purchase.payment_id not in (None, payment.charge_id):
        purchase = None  # the payload names a purchase another charge paid: go by the charge
    outcome = await settlement.settle(
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
    if outcome is settlement.Outcome.UNKNOWN:
        return [Reply(_("Telegram has returned your Stars to you."))]
    await outreach.where_it_left(turn)
    return []


# Buying asks only; the conversation moves when the payment settles (`_unlocked`: the
# first lesson), told outside the turn, or in it for Telegram Stars.
CONVERSATION = Conversation(
    name="payments",
    commands={"buy": on(buy_command, STAY)},
    buttons={"buy": on(buy, STAY), "buylist": on(buy_list, STAY)},
    events={"a Telegram Stars payment or refund": on(stars_paid, LESSON, IDLE, STAY)},
    aliases={"buy": "buy", "खरीदें": "buy", "खरीदना": "buy", "विकत घ्या": "buy", "kharidna": "buy"},
)
