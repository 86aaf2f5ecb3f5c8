"""Buying a paid course over HTTP: payment links, signed callbacks, replays, refunds,
static UPI with an admin's confirmation, and reconciliation with the gateway."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from pydantic import SecretStr

from bot.content import read_catalogue, stable_id
from bot.content.load import load_catalogue
from bot.payments.links import reconcile_payments
from bot.runtime import Runtime
from db.engine import make_sessionmaker
from tests.e2e.test_journey import MINI
from tests.fakes import FakeRazorpay, serve
from tests.harness import (
    ADMIN_TOKEN,
    Fakes,
    Service,
    post_razorpay,
    razorpay_overrides,
    start_service,
)

COTTON = stable_id("course", "cotton-en")
COTTON_1 = stable_id("lesson", "cotton-en-1")
COTTON_2 = stable_id("lesson", "cotton-en-2")
PAISE = 23900  # ₹299 less 20%, rounded to the whole rupee
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def buttons(call: Any) -> list[str]:
    markup = call.params.get("reply_markup")
    if not markup:
        return []
    return [
        b.get("callback_data") or b.get("url")
        for row in json.loads(markup)["inline_keyboard"]
        for b in row
    ]


async def _with_catalogue(service: Service) -> Service:
    async with make_sessionmaker(service.engine)() as session, session.begin():
        await load_catalogue(session, read_catalogue(MINI))
    return service


@pytest.fixture
async def razorpay() -> AsyncIterator[tuple[FakeRazorpay, str]]:
    fake = FakeRazorpay()
    async with serve(fake.app) as url:
        yield fake, url


@dataclass
class Shop:
    service: Service
    razorpay: FakeRazorpay


@pytest.fixture
async def shop(
    fresh_database_url: str, fakes: Fakes, razorpay: tuple[FakeRazorpay, str]
) -> AsyncIterator[Shop]:
    """The service selling through a fake Razorpay."""
    fake, url = razorpay
    async with start_service(
        fresh_database_url,
        fakes,
        admin_api_token=SecretStr(ADMIN_TOKEN),
        **razorpay_overrides(fake, url),
    ) as service:
        yield Shop(await _with_catalogue(service), fake)


@pytest.fixture
async def upi_shop(fresh_database_url: str, fakes: Fakes) -> AsyncIterator[Service]:
    """The service with a static UPI id and no gateway."""
    async with start_service(
        fresh_database_url,
        fakes,
        admin_api_token=SecretStr(ADMIN_TOKEN),
        upi_vpa="krishi.learn@okaxis",
        upi_payee_name="Krishi Learn",
    ) as service:
        yield await _with_catalogue(service)


async def telegram_farmer(service: Service, language: str = "en") -> int:
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start")
    await service.telegram_taps(chat, f"lang:{language}")
    return chat


async def user_of(service: Service, address: int | str) -> Any:
    return await service.scalar(
        "SELECT user_id FROM channel_identities WHERE external_id = :e", e=str(address)
    )


async def purchase_of(service: Service, address: int | str) -> Any:
    return await service.scalar(
        "SELECT id FROM course_purchases WHERE user_id = :u ORDER BY purchased_at DESC LIMIT 1",
        u=await user_of(service, address),
    )


async def buy_on_telegram(shop: Shop, chat: int) -> tuple[Any, dict[str, Any]]:
    """Open the card, tap Buy; returns (purchase id, the fake's link)."""
    service = shop.service
    await service.telegram_taps(chat, f"course:{COTTON}")
    await service.telegram_taps(chat, f"buy:{COTTON}")
    await service.fakes.telegram.wait_for(
        lambda c: any("rzp.io" in b for b in last_buttons(service, chat))
    )
    purchase_id = await purchase_of(service, chat)
    return purchase_id, shop.razorpay.link_for(purchase_id)


def last_buttons(service: Service, chat: int) -> list[str]:
    sent = service.fakes.telegram.sent_to(chat)
    return buttons(sent[-1]) if sent else []


async def enrollment(service: Service, address: int | str) -> list[Any]:
    return await service.rows(
        "SELECT status, enrollment_type, amount_paid FROM course_enrollments"
        " WHERE user_id = :u AND course_id = :c",
        u=await user_of(service, address),
        c=COTTON,
    )


async def purchase_row(service: Service, purchase_id: Any) -> Any:
    rows = await service.rows(
        "SELECT p.payment_status, p.payment_id, p.payment_method, p.amount, p.discount_amount,"
        " p.final_amount, p.currency, p.refunded_at, l.review_reason"
        " FROM course_purchases p LEFT JOIN payment_links l ON l.purchase_id = p.id"
        " WHERE p.id = :p",
        p=purchase_id,
    )
    return rows[0]


async def enrolled_count(service: Service) -> int:
    return int(await service.scalar("SELECT enrolled_count FROM courses WHERE id = :c", c=COTTON))


async def test_telegram_farmer_buys_and_one_signed_event_unlocks_once(shop: Shop) -> None:
    service, telegram, razorpay = shop.service, shop.service.fakes.telegram, shop.razorpay
    chat = await telegram_farmer(service)
    purchase_id, link = await buy_on_telegram(shop, chat)

    # The link request: paise, the purchase as reference, UPI, a day to pay, notes.
    [request] = razorpay.created()
    assert request["amount"] == PAISE and request["currency"] == "INR"
    assert request["reference_id"] == str(purchase_id)
    assert request["upi_link"] is True
    assert 23 * 3600 < request["expire_by"] - time.time() <= 24 * 3600
    user_id = await user_of(service, chat)
    assert request["notes"] == {
        "purchase_id": str(purchase_id),
        "user_id": str(user_id),
        "course_id": str(COTTON),
    }
    offer = telegram.sent_to(chat)[-1]
    assert "₹239 instead of ₹299 (20% off)" in offer.params["text"]
    assert link["short_url"] in buttons(offer)
    assert await purchase_row(service, purchase_id) == (
        "pending", None, None, Decimal("299.00"), Decimal("60.00"), Decimal("239.00"), "INR",
        None, None,
    )  # fmt: skip

    # Asking again reuses the purchase and its link.
    await service.telegram_says(chat, "/buy")
    await telegram.wait_for(lambda c: "payment link again" in telegram.texts_to(chat)[-1])
    assert link["short_url"] in last_buttons(service, chat)
    assert len(razorpay.created()) == 1
    assert await service.scalar("SELECT count(*) FROM course_purchases") == 1

    # One signed event, delivered three times (twice at once): unlocked once.
    payment = razorpay.payment(link)
    paid = razorpay.link_paid(link, payment)
    responses = await asyncio.gather(
        *(post_razorpay(service, paid, event_id="evt_paid_1") for _ in range(2))
    )
    responses.append(await post_razorpay(service, paid, event_id="evt_paid_1"))
    assert [r.status_code for r in responses] == [200, 200, 200]
    # The payment's own event after the link's: nothing more happens.
    assert (await post_razorpay(service, razorpay.captured(payment))).status_code == 200

    assert await enrollment(service, chat) == [("in_progress", "paid", Decimal("239.00"))]
    assert await enrolled_count(service) == 1
    status = await purchase_row(service, purchase_id)
    assert status[:3] == ("success", payment["id"], "upi") and status[-1] is None
    await telegram.wait_for(lambda c: "Know the pink bollworm" in telegram.texts_to(chat)[-1])
    texts = telegram.texts_to(chat)
    unlocked = [t for t in texts if "is now open to you" in t]
    assert len(unlocked) == 1 and "₹239" in unlocked[0]
    assert "Integrated pest management for cotton" in unlocked[0]
    assert f"next:{COTTON_1}" in last_buttons(service, chat)

    # The course is theirs now: the next lesson opens, and buying again says so.
    await service.telegram_taps(chat, f"next:{COTTON_1}")
    await telegram.wait_for(lambda c: "Put up 5 traps" in telegram.texts_to(chat)[-1])
    await service.telegram_taps(chat, f"buy:{COTTON}")
    await telegram.wait_for(lambda c: "You already have" in telegram.texts_to(chat)[-1])
    assert await service.scalar("SELECT count(*) FROM course_purchases") == 1
    assert (
        await service.scalar("SELECT count(*) FROM inbound_events WHERE source = 'razorpay'") == 2
    )

    # A second, different payment for the same purchase unlocks nothing more: a person
    # must return it.
    other = razorpay.payment(link)
    assert (await post_razorpay(service, razorpay.captured(other))).status_code == 200
    assert "second payment" in (await purchase_row(service, purchase_id))[-1]
    assert await enrolled_count(service) == 1


async def test_whatsapp_farmer_pays_captured_before_link_event(shop: Shop) -> None:
    service, twilio, razorpay = shop.service, shop.service.fakes.twilio, shop.razorpay
    number = "+919800000777"

    async def say(text: str, expect: int) -> str:
        await service.whatsapp_says(number, text)
        await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= expect)
        return twilio.texts_to(number)[-1]

    await say(f"start course-{COTTON}", 1)
    card = await say("2", 3)  # हिन्दी, then the course card
    assert "Integrated pest management for cotton" in card
    preview = await say("1", 4)  # the free preview lesson
    assert "The pink bollworm larva feeds inside the boll." in preview
    offer = await say("buy", 5)  # no course named: the one previewed last
    link = razorpay.link_for(await purchase_of(service, number))
    assert link["short_url"] in offer and "₹239" in offer
    assert link["amount"] == PAISE

    payment = razorpay.payment(link, method="wallet")
    assert (await post_razorpay(service, razorpay.captured(payment))).status_code == 200
    assert (await post_razorpay(service, razorpay.link_paid(link, payment))).status_code == 200
    # Unlocked, the first-enrolment badge (the badge rules ran), then the first lesson.
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 8)
    unlocked, badge, lesson = twilio.texts_to(number)[-3:]
    assert "Integrated pest management for cotton" in unlocked
    assert "First Step" in badge
    # The farmer's language: the lesson's header is in Hindi, its options numbered.
    assert "पाठ" in lesson and "Know the pink bollworm" in lesson and "1. " in lesson
    assert await enrollment(service, number) == [("in_progress", "paid", Decimal("239.00"))]
    assert (await purchase_row(service, await purchase_of(service, number)))[:3] == (
        "success", payment["id"], "wallet",
    )  # fmt: skip
    assert await enrolled_count(service) == 1

    # "1" now means the lesson's Done: the second lesson arrives.
    second = await say("1", 9)
    assert "Put up 5 traps per hectare." in second


@pytest.mark.timeout(300)  # 3,000 signed deliveries: slow on a busy machine
async def test_a_thousand_purchases_each_paid_three_times(shop: Shop) -> None:
    service, razorpay = shop.service, shop.razorpay
    await service.execute(
        """
        WITH u AS (
            INSERT INTO users (display_name) SELECT 'farmer ' || g FROM generate_series(1, 1000) g
            RETURNING id
        ), p AS (
            INSERT INTO course_purchases (user_id, course_id, amount, currency, discount_amount,
                                          final_amount, payment_status)
            SELECT id, :course, 299, 'INR', 60, 239, 'pending' FROM u
            RETURNING id
        )
        INSERT INTO payment_links (purchase_id, provider, link_id, url, expires_at)
        SELECT id, 'razorpay', 'plink_bulk_' || replace(id::text, '-', ''), 'https://rzp.io/i/x',
               now() + interval '1 day'
          FROM p
        """,
        course=COTTON,
    )
    purchases = [str(r[0]) for r in await service.rows("SELECT id FROM course_purchases")]
    assert len(purchases) == 1000
    deliveries: list[tuple[str, dict[str, Any]]] = []
    for purchase_id in purchases:
        link = {
            "id": "plink_bulk_" + purchase_id.replace("-", ""),
            "amount": PAISE,
            "currency": "INR",
            "reference_id": purchase_id,
            "notes": {"purchase_id": purchase_id},
        }
        event = razorpay.link_paid(link, razorpay.payment(link))
        deliveries += [(f"evt_bulk_{purchase_id}", event)] * 3
    random.Random(7).shuffle(deliveries)

    for start in range(0, len(deliveries), 100):
        batch = deliveries[start : start + 100]
        responses = await asyncio.gather(
            *(post_razorpay(service, event, event_id=event_id) for event_id, event in batch)
        )
        assert {r.status_code for r in responses} == {200}

    assert (
        await service.scalar(
            "SELECT count(*) FROM course_enrollments WHERE enrollment_type = 'paid'"
            " AND amount_paid = 239"
        )
        == 1000
    )
    assert (
        await service.scalar(
            "SELECT count(*) FROM course_purchases WHERE payment_status = 'success'"
        )
        == 1000
    )
    assert await enrolled_count(service) == 1000
    assert (
        await service.scalar("SELECT count(*) FROM inbound_events WHERE source = 'razorpay'")
        == 1000
    )


async def test_forged_or_malformed_callbacks_write_nothing(shop: Shop) -> None:
    service, razorpay = shop.service, shop.razorpay
    chat = await telegram_farmer(service)
    purchase_id, link = await buy_on_telegram(shop, chat)
    paid = razorpay.link_paid(link, razorpay.payment(link))
    before = await service.row_counts()

    forged = await post_razorpay(service, paid, signature="0" * 64)
    unsigned = await post_razorpay(service, paid, signature="")
    body = json.dumps(paid).encode()
    wrong_secret = await post_razorpay(
        service, body, signature=hmac.new(b"guess", body, hashlib.sha256).hexdigest()
    )
    assert [r.status_code for r in (forged, unsigned, wrong_secret)] == [400, 400, 400]
    malformed = await post_razorpay(service, b"{not json")
    not_an_event = await post_razorpay(service, b'{"hello": "world"}')
    assert [malformed.status_code, not_an_event.status_code] == [400, 400]

    assert await service.row_counts() == before
    assert (await purchase_row(service, purchase_id))[0] == "pending"
    assert await enrollment(service, chat) == []


async def test_wrong_amount_or_currency_is_held_for_review(shop: Shop) -> None:
    service, telegram, razorpay = shop.service, shop.service.fakes.telegram, shop.razorpay
    chat = await telegram_farmer(service)
    purchase_id, link = await buy_on_telegram(shop, chat)

    short = razorpay.payment(link, amount=100)
    assert (await post_razorpay(service, razorpay.link_paid(link, short))).status_code == 200
    status = await purchase_row(service, purchase_id)
    assert status[0] == "pending" and status[1] == short["id"]
    assert "paid 100 INR, expected 23900 INR" in status[-1]
    assert await enrollment(service, chat) == []
    assert await enrolled_count(service) == 0
    await telegram.wait_for(lambda c: "does not match the price" in telegram.texts_to(chat)[-1])

    # Another currency: still nothing unlocked; asking to buy says it is being checked.
    dollars = razorpay.payment(link, currency="USD")
    assert (await post_razorpay(service, razorpay.captured(dollars))).status_code == 200
    assert "USD" in (await purchase_row(service, purchase_id))[-1]
    assert await enrollment(service, chat) == []
    await service.telegram_taps(chat, f"buy:{COTTON}")
    await telegram.wait_for(lambda c: "our team is checking" in telegram.texts_to(chat)[-1])
    assert len(razorpay.created()) == 1


async def test_expired_link_fails_the_purchase_and_a_late_expiry_changes_nothing(
    shop: Shop,
) -> None:
    service, telegram, razorpay = shop.service, shop.service.fakes.telegram, shop.razorpay
    chat = await telegram_farmer(service)
    purchase_id, link = await buy_on_telegram(shop, chat)

    assert (await post_razorpay(service, razorpay.link_closed(link))).status_code == 200
    assert (await purchase_row(service, purchase_id))[0] == "failed"
    await telegram.wait_for(lambda c: "has expired" in telegram.texts_to(chat)[-1])
    assert last_buttons(service, chat) == [f"buy:{COTTON}"]

    # Buying again starts a new purchase with a new link; paying it unlocks the course,
    # and that link's late expiry or cancellation changes nothing.
    await service.telegram_taps(chat, f"buy:{COTTON}")
    await telegram.wait_for(lambda c: len(razorpay.created()) == 2)
    second_id = await purchase_of(service, chat)
    assert second_id != purchase_id
    second = razorpay.link_for(second_id)
    payment = razorpay.payment(second)
    assert (await post_razorpay(service, razorpay.link_paid(second, payment))).status_code == 200
    for status in ("expired", "cancelled"):
        late = razorpay.link_closed(second, status)
        assert (await post_razorpay(service, late)).status_code == 200
    assert (await purchase_row(service, second_id))[0] == "success"
    assert (await purchase_row(service, purchase_id))[0] == "failed"
    assert await enrollment(service, chat) == [("in_progress", "paid", Decimal("239.00"))]


async def test_refund_revokes_access(shop: Shop) -> None:
    service, telegram, razorpay = shop.service, shop.service.fakes.telegram, shop.razorpay
    chat = await telegram_farmer(service)
    purchase_id, link = await buy_on_telegram(shop, chat)
    payment = razorpay.payment(link)
    await post_razorpay(service, razorpay.link_paid(link, payment))
    assert await enrolled_count(service) == 1

    # A partial refund keeps the course open and asks a person to look.
    partial = razorpay.refunded(payment, amount=1000)
    assert (await post_razorpay(service, partial)).status_code == 200
    assert (await purchase_row(service, purchase_id))[0] == "success"
    assert "partial refund" in (await purchase_row(service, purchase_id))[-1]

    refund = razorpay.refunded(payment)
    for _ in range(2):
        response = await post_razorpay(service, refund, event_id="evt_refund_full")
        assert response.status_code == 200
    status = await purchase_row(service, purchase_id)
    assert status[0] == "refunded" and status[7] is not None
    assert await enrollment(service, chat) == [("dropped", "paid", Decimal("239.00"))]
    assert await enrolled_count(service) == 0
    await telegram.wait_for(lambda c: "has been refunded" in telegram.texts_to(chat)[-1])

    # Lessons refuse again (the preview stays open), and a late capture changes nothing.
    await service.telegram_taps(chat, f"lesson:{COTTON_2}")
    await telegram.wait_for(lambda c: "part of a paid course" in telegram.texts_to(chat)[-1])
    await service.telegram_taps(chat, f"lesson:{COTTON_1}")
    await telegram.wait_for(lambda c: "pink bollworm larva" in telegram.texts_to(chat)[-1])
    await post_razorpay(service, razorpay.captured(payment))
    assert (await purchase_row(service, purchase_id))[0] == "refunded"
    assert await enrollment(service, chat) == [("dropped", "paid", Decimal("239.00"))]

    # Buying it again opens the same enrollment again.
    await service.telegram_taps(chat, f"buy:{COTTON}")
    await telegram.wait_for(lambda c: len(razorpay.created()) == 2)
    again = razorpay.link_for(await purchase_of(service, chat))
    await post_razorpay(service, razorpay.link_paid(again, razorpay.payment(again)))
    assert [row[0] for row in await enrollment(service, chat)] == ["in_progress"]
    assert await enrolled_count(service) == 1


async def test_static_upi_link_qr_and_admin_confirmation(upi_shop: Service) -> None:
    service, telegram = upi_shop, upi_shop.fakes.telegram
    chat = await telegram_farmer(service)
    await service.telegram_taps(chat, f"buy:{COTTON}")
    await telegram.wait_for(lambda c: any(x.method == "sendPhoto" for x in telegram.sent_to(chat)))
    purchase_id = await purchase_of(service, chat)
    photo = telegram.sent_to(chat)[-1]
    base = service.settings.public_base_url
    assert photo.params["photo"] == f"{base}/media/upi/{purchase_id}.png"
    assert "₹239" in photo.params["caption"]
    assert buttons(photo) == [f"{base}/pay/upi/{purchase_id}"]

    deep_link = await service.scalar(
        "SELECT url FROM payment_links WHERE purchase_id = :p AND provider = 'upi'", p=purchase_id
    )
    assert deep_link == (
        "upi://pay?pa=krishi.learn%40okaxis&pn=Krishi%20Learn&am=239.00&cu=INR"
        f"&tr={purchase_id.hex}&tn={quote('Integrated pest management for cotton')}"
    )
    qr = await service.http.get(f"/media/upi/{purchase_id}.png")
    assert qr.status_code == 200 and qr.headers["content-type"] == "image/png"
    assert qr.content.startswith(b"\x89PNG\r\n\x1a\n")
    page = await service.http.get(f"/pay/upi/{purchase_id}")
    assert page.status_code == 200 and deep_link.replace("&", "&amp;") in page.text
    missing = await service.http.get("/media/upi/00000000-0000-0000-0000-000000000000.png")
    assert missing.status_code == 404

    # Buying twice: the same purchase and QR.
    await service.telegram_says(chat, "/buy")
    await telegram.wait_for(lambda c: "payment link again" in telegram.texts_to(chat)[-1])
    assert await service.scalar("SELECT count(*) FROM course_purchases") == 1

    # Only the admin confirms; every confirmation is audited with its actor.
    path = f"/api/v1/purchases/{purchase_id}/confirm"
    assert (await service.http.post(path)).status_code == 401
    wrong = await service.http.post(path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert await enrollment(service, chat) == []
    confirmed = await service.http.post(
        path, headers=ADMIN, json={"payment_ref": "UTR412345678901", "note": "seen in bank"}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["outcome"] == "unlocked" and confirmed.json()["status"] == "success"
    again = await service.http.post(path, headers=ADMIN)
    assert again.json()["outcome"] == "already"
    assert await enrollment(service, chat) == [("in_progress", "paid", Decimal("239.00"))]
    status = await purchase_row(service, purchase_id)
    assert status[:3] == ("success", "UTR412345678901", "upi") and status[-1] is None
    audit = await service.rows(
        "SELECT actor, action, subject, detail->>'outcome', detail->>'payment_ref'"
        " FROM audit_log ORDER BY id"
    )
    assert audit == [
        ("admin", "purchase.confirm", f"purchase:{purchase_id}", "unlocked", "UTR412345678901"),
        ("admin", "purchase.confirm", f"purchase:{purchase_id}", "already", None),
    ]
    await telegram.wait_for(lambda c: "Know the pink bollworm" in telegram.texts_to(chat)[-1])
    unknown = await service.http.post(
        "/api/v1/purchases/00000000-0000-0000-0000-000000000000/confirm", headers=ADMIN
    )
    assert unknown.status_code == 404
    looked_up = await service.http.get(f"/api/v1/purchases/{purchase_id}", headers=ADMIN)
    assert looked_up.json()["provider"] == "upi"


async def test_no_payment_configured_makes_no_purchase(service: Service) -> None:
    await _with_catalogue(service)
    telegram = service.fakes.telegram
    chat = await telegram_farmer(service)
    await service.telegram_taps(chat, f"buy:{COTTON}")
    await telegram.wait_for(lambda c: "not open yet" in telegram.texts_to(chat)[-1])
    assert await service.scalar("SELECT count(*) FROM course_purchases") == 0


async def test_reconciliation_settles_a_stale_pending_purchase(shop: Shop) -> None:
    service, telegram, razorpay = shop.service, shop.service.fakes.telegram, shop.razorpay
    stale_chat, fresh_chat, gone_chat = [await telegram_farmer(service) for _ in range(3)]
    stale_id, stale_link = await buy_on_telegram(shop, stale_chat)
    fresh_id, fresh_link = await buy_on_telegram(shop, fresh_chat)
    gone_id, gone_link = await buy_on_telegram(shop, gone_chat)

    # Paid, but the webhook was lost; another paid a minute ago; one link expired.
    payment = razorpay.payment(stale_link)
    razorpay.pay(stale_link, payment)
    razorpay.pay(fresh_link, razorpay.payment(fresh_link))
    gone_link["status"] = "expired"
    await service.execute(
        "UPDATE course_purchases SET purchased_at = purchased_at - interval '16 minutes'"
        " WHERE id IN (:a, :b)",
        a=stale_id,
        b=gone_id,
    )
    runtime = Runtime.open(service.settings, service.settings.database_url)
    try:
        await reconcile_payments(runtime)
        await reconcile_payments(runtime)  # the next run finds nothing left to do
    finally:
        await runtime.close()

    assert (await purchase_row(service, stale_id))[:3] == ("success", payment["id"], "upi")
    assert (await purchase_row(service, gone_id))[0] == "failed"
    assert (await purchase_row(service, fresh_id))[0] == "pending"
    fetched = [c.params["id"] for c in razorpay.calls if c.method == "payment_links.fetch"]
    assert sorted(fetched) == sorted([stale_link["id"], gone_link["id"]])
    assert await enrollment(service, stale_chat) == [("in_progress", "paid", Decimal("239.00"))]
    await telegram.wait_for(lambda c: "Know the pink bollworm" in telegram.texts_to(stale_chat)[-1])
    await telegram.wait_for(lambda c: "has expired" in telegram.texts_to(gone_chat)[-1])

    # A webhook that arrives after all changes nothing.
    await post_razorpay(service, razorpay.link_paid(stale_link, payment))
    assert await enrolled_count(service) == 1

    # The service runs this every five minutes: pgqueuer holds the schedule.
    for _ in range(100):
        scheduled = await service.scalar(
            "SELECT expression FROM pgqueuer_schedules WHERE entrypoint = 'reconcile_payments'"
        )
        if scheduled:
            break
        await asyncio.sleep(0.05)
    assert scheduled == "*/5 * * * *"


def test_checkpoints_are_within_the_link_life() -> None:
    from db.queries.payments import RECONCILE_CHECKPOINTS_MINUTES
    from handlers.payments import LINK_VALIDITY

    assert max(RECONCILE_CHECKPOINTS_MINUTES) * 60 < LINK_VALIDITY.total_seconds()
    assert dt.timedelta(minutes=min(RECONCILE_CHECKPOINTS_MINUTES)) == dt.timedelta(minutes=15)
