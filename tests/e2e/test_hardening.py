"""Safe in public (issue 15): hostile requests and settings against the running
service, each with its exact status and the rows counted before and after."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from bot.retention import RETENTION_JOB, prune_old_rows
from bot.runtime import Runtime
from handlers.jobs import JOBS
from tests.e2e.test_broadcasts import (
    ServiceFactory,
    api,
    make_service,
    new_course,
    new_instructor,
    seed,
)
from tests.e2e.test_payments import (
    ADMIN,
    COTTON,
    COTTON_2,
    Shop,
    _with_catalogue,
    enrolled_count,
    enrollment,
    purchase_of,
    purchase_row,
    telegram_farmer,
)
from tests.e2e.test_stars import STARS, invoice_for, stars_shop, successful_payment
from tests.harness import ADMIN_TOKEN, METRICS, METRICS_TOKEN, Fakes, Service, start_service

__all__ = ["make_service", "stars_shop"]  # fixtures shared with other tests


@pytest.fixture
async def upi_shop(fresh_database_url: str, fakes: Fakes) -> AsyncIterator[Service]:
    async with start_service(
        fresh_database_url,
        fakes,
        admin_api_token=SecretStr(ADMIN_TOKEN),
        upi_vpa="krishi.learn@okaxis",
        upi_payee_name="Krishi Learn",
    ) as service:
        yield await _with_catalogue(service)


async def purchase_rows(service: Service) -> list[object]:
    return await service.rows(
        "SELECT id, payment_status, payment_id FROM course_purchases ORDER BY id"
    )


# --- The UPI pay page and QR ---------------------------------------------------


async def test_upi_pay_page_and_qr_are_gone_once_paid_and_never_cached(
    upi_shop: Service,
) -> None:
    service, telegram = upi_shop, upi_shop.fakes.telegram
    chat = await telegram_farmer(service)
    await service.telegram_taps(chat, f"buy:{COTTON}")
    await telegram.wait_for(lambda c: any(x.method == "sendPhoto" for x in telegram.sent_to(chat)))
    purchase_id = await purchase_of(service, chat)
    page_path, qr_path = f"/pay/upi/{purchase_id}", f"/media/upi/{purchase_id}.png"

    page = await service.http.get(page_path)
    qr = await service.http.get(qr_path)
    assert page.status_code == 200 and "upi://pay" in page.text
    assert qr.status_code == 200 and qr.content.startswith(b"\x89PNG")
    for response in (page, qr):
        assert response.headers["cache-control"] == "no-store"

    confirmed = await service.http.post(f"/api/v1/purchases/{purchase_id}/confirm", headers=ADMIN)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "success"
    before = await purchase_rows(service), await enrollment(service, chat)

    # The farmer (or anyone with an old screenshot or a cached copy) comes back.
    gone_page = await service.http.get(page_path)
    gone_qr = await service.http.get(qr_path)
    assert gone_page.status_code == 410
    assert "upi://" not in gone_page.text and "go back to the chat" in gone_page.text
    assert gone_qr.status_code == 410 and not gone_qr.content.startswith(b"\x89PNG")
    for response in (gone_page, gone_qr):
        assert response.headers["cache-control"] == "no-store"
    missing = await service.http.get("/pay/upi/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.headers["cache-control"] == "no-store"

    assert (await purchase_rows(service), await enrollment(service, chat)) == before


# --- Broadcasts of a course that changed hands -----------------------------------


async def test_former_owner_can_neither_read_nor_cancel_the_courses_broadcasts(
    make_service: ServiceFactory,
) -> None:
    async with make_service() as service:
        alice = await new_instructor(service, "Alice")
        bob = await new_instructor(service, "Bob")
        course_id, _lesson = await new_course(service, alice.token, "Handed-over course")
        await seed(service, course_id, 3)
        later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
        sent = await api(
            service, "POST", "/broadcasts", alice.token,
            json={"course_id": course_id, "text": "Meeting tomorrow", "send_at": later},
        )  # fmt: skip
        assert sent.status_code == 202, sent.text
        path = f"/broadcasts/{sent.json()['id']}"
        assert (await api(service, "GET", path, alice.token)).status_code == 200

        # The admin hands the course to Bob.
        moved = await api(service, "PATCH", f"/courses/{course_id}", json={"instructor_id": bob.id})
        assert moved.status_code == 200, moved.text

        def snapshot() -> Any:
            return service.rows(
                "SELECT b.status, (SELECT count(*) FROM outbound_messages),"
                " (SELECT count(*) FROM audit_log WHERE action = 'broadcast.cancel')"
                " FROM broadcasts b"
            )

        before = await snapshot()
        assert before == [("scheduled", 0, 0)]
        assert (await api(service, "GET", path, alice.token)).status_code == 403
        assert (await api(service, "POST", path + "/cancel", alice.token)).status_code == 403
        assert (await api(service, "GET", "/broadcasts", alice.token)).json() == []
        assert await snapshot() == before

        # The new owner and the admin still can.
        assert (await api(service, "GET", path, bob.token)).status_code == 200
        assert [b["id"] for b in (await api(service, "GET", "/broadcasts", bob.token)).json()] == [
            sent.json()["id"]
        ]
        cancelled = await api(service, "POST", path + "/cancel", bob.token)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert (await api(service, "GET", path)).status_code == 200


# --- /metrics and the API's docs --------------------------------------------------


async def test_metrics_need_their_token_and_docs_are_off_by_default(
    fresh_database_url: str, fakes: Fakes
) -> None:
    """A production-like service: no METRICS_TOKEN, API_DOCS_PUBLIC unset."""
    async with start_service(
        fresh_database_url, fakes, metrics_token=None, api_docs_public=False
    ) as service:
        before = await service.row_counts()
        for path in ("/metrics", "/docs", "/redoc", "/openapi.json"):
            response = await service.http.get(path)
            assert response.status_code == 404, path
            assert "krishi_" not in response.text and "swagger" not in response.text.lower()
        assert (await service.http.get("/healthz")).status_code == 200
        assert await service.row_counts() == before


async def test_metrics_with_a_token_answer_only_its_holder(service: Service) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": METRICS_TOKEN}):
        refused = await service.http.get("/metrics", headers=headers)
        assert refused.status_code == 401 and "krishi_" not in refused.text
        assert refused.headers["www-authenticate"] == "Bearer"
    scraped = await service.http.get("/metrics", headers=METRICS)
    assert scraped.status_code == 200 and "krishi_" in scraped.text
    # The harness turns the docs on (API_DOCS_PUBLIC=true), as an operator may.
    assert (await service.http.get("/openapi.json")).status_code == 200
    assert "/metrics" not in (await service.http.get("/openapi.json")).json()["paths"]


# --- Telegram Stars refunds -------------------------------------------------------


def refunded_payment(chat_id: int, purchase_id: Any, amount: int, charge_id: str) -> dict[str, Any]:
    """Telegram's service message when Stars go back (Bot API `Message.refunded_payment`)."""
    update = successful_payment(chat_id, purchase_id, amount, charge_id)
    message = update["message"]
    message["refunded_payment"] = message.pop("successful_payment")
    return update


async def test_stars_refund_closes_the_course_like_a_gateway_refund(stars_shop: Shop) -> None:
    service, telegram = stars_shop.service, stars_shop.service.fakes.telegram
    chat = await telegram_farmer(service)
    await invoice_for(service, chat)
    purchase_id = await purchase_of(service, chat)
    paid = successful_payment(chat, purchase_id, STARS, "tgch_refund_me")
    assert (await service.post_telegram(paid)).status_code == 200
    await telegram.wait_for(lambda c: "Know the pink bollworm" in telegram.texts_to(chat)[-1])
    assert await enrollment(service, chat) == [("in_progress", "paid", Decimal("239.00"))]
    assert await enrolled_count(service) == 1

    # Telegram gives the Stars back, and retries its webhook once.
    refund = refunded_payment(chat, purchase_id, STARS, "tgch_refund_me")
    for _ in range(2):
        assert (await service.post_telegram(refund)).status_code == 200
    await telegram.wait_for(lambda c: "has been refunded" in " ".join(telegram.texts_to(chat)))
    status = await purchase_row(service, purchase_id)
    assert status[:3] == ("refunded", "tgch_refund_me", "stars") and status[7] is not None
    assert await enrollment(service, chat) == [("dropped", "paid", Decimal("239.00"))]
    assert await enrolled_count(service) == 0
    told = [t for t in telegram.texts_to(chat) if "has been refunded" in t]
    assert len(told) == 1 and "course is closed to you now" in told[0]

    # The paid lesson is closed again; nothing is recorded for it.
    progress = await service.scalar("SELECT count(*) FROM lesson_progress")
    await service.telegram_taps(chat, f"lesson:{COTTON_2}")
    await telegram.wait_for(lambda c: "Buy the course to open it" in telegram.texts_to(chat)[-1])
    assert await service.scalar("SELECT count(*) FROM lesson_progress") == progress


async def test_stars_refund_of_a_charge_we_never_saw_changes_nothing(stars_shop: Shop) -> None:
    service, telegram = stars_shop.service, stars_shop.service.fakes.telegram
    chat = await telegram_farmer(service)
    await invoice_for(service, chat)
    purchase_id = await purchase_of(service, chat)
    before = await purchase_row(service, purchase_id)
    refund = refunded_payment(chat, "not-a-purchase", STARS, "tgch_stranger")
    assert (await service.post_telegram(refund)).status_code == 200
    await telegram.wait_for(lambda c: "returned your Stars" in telegram.texts_to(chat)[-1])
    assert await purchase_row(service, purchase_id) == before
    assert await enrollment(service, chat) == []


# --- Retention ----------------------------------------------------------------------


async def test_retention_prunes_old_dedup_keys_and_finished_messages_only(
    service: Service,
) -> None:
    telegram = service.fakes.telegram
    old_chat, new_chat = service.new_chat_id(), service.new_chat_id()
    old_update = service.telegram_message(old_chat, "/help")
    new_update = service.telegram_message(new_chat, "/help")
    for chat, update in ((old_chat, old_update), (new_chat, new_update)):
        assert (await service.post_telegram(update)).status_code == 200
        await telegram.wait_for(lambda c, chat=chat: len(telegram.sent_to(chat)) >= 1)
    await settle_outbox(service)

    # The first farmer's exchange happened long ago; one message of theirs is still owed.
    await service.execute(
        "UPDATE inbox SET received_at = now() - interval '4 days' WHERE provider_message_id = :u",
        u=str(old_update["update_id"]),
    )
    await service.execute(
        "UPDATE outbound_messages o SET created_at = now() - interval '91 days'"
        " FROM channel_identities ci WHERE ci.id = o.identity_id AND ci.external_id = :e",
        e=str(old_chat),
    )
    owed = await service.scalar(
        "SELECT min(o.id) FROM outbound_messages o JOIN channel_identities ci"
        " ON ci.id = o.identity_id WHERE ci.external_id = :e",
        e=str(old_chat),
    )
    await service.execute(
        "UPDATE outbound_messages SET status = 'queued',"
        " next_attempt_at = now() + interval '1 year' WHERE id = :i",
        i=owed,
    )
    assert owed is not None
    before = await service.row_counts()
    old_finished = int(
        await service.scalar(
            "SELECT count(*) FROM outbound_messages WHERE created_at < now() - interval '90 days'"
            " AND status NOT IN ('queued', 'sending')"
        )
    )
    assert old_finished >= 1

    runtime = Runtime.open(service.settings, service.settings.database_url)
    try:
        pruned = await prune_old_rows(runtime)
        again = await prune_old_rows(runtime)
    finally:
        await runtime.close()

    assert pruned == {"inbound_events": 0, "inbox": 1, "outbound_messages": old_finished}
    assert again == {"inbound_events": 0, "inbox": 0, "outbound_messages": 0}
    after = await service.row_counts()
    assert after["inbox"] == before["inbox"] - 1
    assert after["outbound_messages"] == before["outbound_messages"] - old_finished
    assert after["users"] == before["users"]  # farmers and their learning stay
    assert await service.scalar("SELECT status FROM outbound_messages WHERE id = :i", i=owed) == (
        "queued"
    )

    # A retry of the recent delivery is still recognised: no second reply, no new row.
    sent = len(telegram.sent_to(new_chat))
    assert (await service.post_telegram(new_update)).status_code == 200
    await settle_outbox(service)
    assert len(telegram.sent_to(new_chat)) == sent
    assert (await service.row_counts())["inbox"] == after["inbox"]
    assert RETENTION_JOB in JOBS.schedules


async def settle_outbox(service: Service) -> None:
    """Wait until nothing due is queued or sending (owed rows far in the future aside)."""
    for _ in range(100):
        if not await service.scalar(
            "SELECT count(*) FROM outbound_messages WHERE status IN ('queued', 'sending')"
            " AND next_attempt_at < now() + interval '1 day'"
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("replies still queued")
