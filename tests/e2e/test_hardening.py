"""Safe in public (issue 15): hostile requests and settings against the running
service, each with its exact status and the rows counted before and after."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from tests.e2e.test_payments import (
    ADMIN,
    COTTON,
    _with_catalogue,
    enrollment,
    purchase_of,
    telegram_farmer,
)
from tests.harness import ADMIN_TOKEN, Fakes, Service, start_service


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
