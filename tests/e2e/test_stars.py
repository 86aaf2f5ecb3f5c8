"""Telegram Stars over HTTP: with TELEGRAM_PAYMENTS=stars a Telegram farmer gets a
Stars invoice, Telegram's pre-checkout query is answered in the webhook response,
and `successful_payment` is settled by the same path as a gateway's payment."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from tests.e2e.test_payments import (
    COTTON,
    COTTON_1,
    Shop,
    _with_catalogue,
    buttons,
    enrolled_count,
    enrollment,
    purchase_of,
    purchase_row,
    telegram_farmer,
)
from tests.fakes import FakeRazorpay, serve
from tests.harness import ADMIN_TOKEN, Fakes, Service, razorpay_overrides, start_service

STARS = 144  # ₹239 at 0.6 stars a rupee, rounded up
_ids = itertools.count(int(time.time() * 1000) % 10**9 + 7 * 10**8)


@pytest.fixture
async def stars_shop(fresh_database_url: str, fakes: Fakes) -> AsyncIterator[Shop]:
    """The service selling for Stars on Telegram, and through a fake Razorpay elsewhere."""
    fake = FakeRazorpay()
    async with (
        serve(fake.app) as url,
        start_service(
            fresh_database_url,
            fakes,
            admin_api_token=SecretStr(ADMIN_TOKEN),
            telegram_payments="stars",
            telegram_stars_per_rupee=0.6,
            **razorpay_overrides(fake, url),
        ) as service,
    ):
        yield Shop(await _with_catalogue(service), fake)


def user(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "Ramesh", "language_code": "en"}


def pre_checkout(chat_id: int, purchase_id: Any, amount: int) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "pre_checkout_query": {
            "id": f"pcq-{next(_ids)}",
            "from": user(chat_id),
            "currency": "XTR",
            "total_amount": amount,
            "invoice_payload": str(purchase_id),
        },
    }


def successful_payment(
    chat_id: int, purchase_id: Any, amount: int, charge_id: str, currency: str = "XTR"
) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Ramesh"},
            "from": user(chat_id),
            "successful_payment": {
                "currency": currency,
                "total_amount": amount,
                "invoice_payload": str(purchase_id),
                "telegram_payment_charge_id": charge_id,
                "provider_payment_charge_id": "",
            },
        },
    }


async def invoice_for(service: Service, chat: int) -> dict[str, Any]:
    """Open the course card, tap Buy; returns the sendInvoice call's parameters."""
    telegram = service.fakes.telegram
    await service.telegram_taps(chat, f"course:{COTTON}")
    await service.telegram_taps(chat, f"buy:{COTTON}")
    await telegram.wait_for(lambda c: telegram.sent_to(chat)[-1].method == "sendInvoice")
    return telegram.sent_to(chat)[-1].params


async def test_telegram_farmer_pays_in_stars_and_is_unlocked_once(stars_shop: Shop) -> None:
    service, telegram = stars_shop.service, stars_shop.service.fakes.telegram
    chat = await telegram_farmer(service)
    invoice = await invoice_for(service, chat)
    purchase_id = await purchase_of(service, chat)

    # The invoice: Stars, the price at the operator's rate, the purchase as payload.
    assert invoice["currency"] == "XTR"
    assert invoice["payload"] == str(purchase_id)
    assert "Integrated pest management for cotton"[:32] == invoice["title"]
    assert "₹239" in invoice["description"] and "144" in invoice["description"]
    assert [p["amount"] for p in json.loads(invoice["prices"])] == [STARS]
    assert not stars_shop.razorpay.created()  # no gateway link for a Stars purchase
    assert (
        await service.scalar(
            "SELECT provider FROM payment_links WHERE purchase_id = :p", p=purchase_id
        )
        == "stars"
    )

    # Asking again sends the same purchase's invoice again.
    await service.telegram_says(chat, "/buy")
    await telegram.wait_for(
        lambda c: len([x for x in telegram.sent_to(chat) if x.method == "sendInvoice"]) == 2
    )
    assert await service.scalar("SELECT count(*) FROM course_purchases") == 1

    # Telegram asks before taking the money: the webhook's response says yes.
    query = pre_checkout(chat, purchase_id, STARS)
    response = await service.post_telegram(query)
    assert response.status_code == 200
    assert response.json() == {
        "method": "answerPreCheckoutQuery",
        "pre_checkout_query_id": query["pre_checkout_query"]["id"],
        "ok": True,
    }

    # The payment, delivered twice (a webhook retry): unlocked once.
    paid = successful_payment(chat, purchase_id, STARS, "tgch_001")
    for _ in range(2):
        assert (await service.post_telegram(paid)).status_code == 200
    await telegram.wait_for(lambda c: "Know the pink bollworm" in telegram.texts_to(chat)[-1])
    assert await enrollment(service, chat) == [("in_progress", "paid", Decimal("239.00"))]
    assert await enrolled_count(service) == 1
    status = await purchase_row(service, purchase_id)
    assert status[:3] == ("success", "tgch_001", "stars") and status[-1] is None
    unlocked = [t for t in telegram.texts_to(chat) if "is now open to you" in t]
    assert len(unlocked) == 1 and "₹239" in unlocked[0]
    # The first lesson's menu is the conversation's menu: its Next works.
    last = telegram.sent_to(chat)[-1]
    assert f"next:{COTTON_1}" in buttons(last)
    await service.telegram_taps(chat, f"next:{COTTON_1}")
    await telegram.wait_for(lambda c: "Put up 5 traps" in telegram.texts_to(chat)[-1])


async def test_wrong_stars_amount_is_held_for_review(stars_shop: Shop) -> None:
    service, telegram = stars_shop.service, stars_shop.service.fakes.telegram
    chat = await telegram_farmer(service)
    await invoice_for(service, chat)
    purchase_id = await purchase_of(service, chat)

    paid = successful_payment(chat, purchase_id, STARS - 1, "tgch_short")
    assert (await service.post_telegram(paid)).status_code == 200
    await telegram.wait_for(lambda c: "does not match the price" in telegram.texts_to(chat)[-1])
    assert await enrollment(service, chat) == []
    status = await purchase_row(service, purchase_id)
    assert status[0] == "pending" and status[1] == "tgch_short"
    assert "143 XTR" in status[-1]
    assert await service.scalar("SELECT coalesce(enrolled_count, 0) FROM courses WHERE id = :c",
                                c=COTTON) == 0  # fmt: skip


async def test_payment_for_no_purchase_of_ours_unlocks_nothing(stars_shop: Shop) -> None:
    service, telegram = stars_shop.service, stars_shop.service.fakes.telegram
    chat = await telegram_farmer(service)
    paid = successful_payment(chat, "not-a-purchase", STARS, "tgch_stray")
    assert (await service.post_telegram(paid)).status_code == 200
    await telegram.wait_for(lambda c: "Our team will check it" in telegram.texts_to(chat)[-1])
    assert await enrollment(service, chat) == []


async def test_whatsapp_farmer_still_gets_a_razorpay_link(stars_shop: Shop) -> None:
    service, twilio = stars_shop.service, stars_shop.service.fakes.twilio
    number = "+919800000778"
    await service.whatsapp_says(number, f"start course-{COTTON}")
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 1)
    await service.whatsapp_says(number, "1")  # English
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 3)
    await service.whatsapp_says(number, f"buy {COTTON}")
    await twilio.wait_for(lambda c: "rzp.io" in twilio.texts_to(number)[-1])
    link = stars_shop.razorpay.link_for(await purchase_of(service, number))
    assert link["currency"] == "INR" and link["amount"] == 23900
    assert not [c for c in service.fakes.telegram.calls if c.method == "sendInvoice"]
