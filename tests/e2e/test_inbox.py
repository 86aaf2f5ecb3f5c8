"""The inbox spine from the outside: webhooks record and answer, turn workers answer
the farmers in batches. Where a test must know what shares a batch, the service runs
without its own workers and the test runs the real worker's batches itself."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.content import read_catalogue, stable_id
from bot.content.load import load_catalogue
from bot.i18n import _, use_language
from bot.turns import FLOOD_LIMIT, PER_FARMER, TurnWorkers
from db.engine import make_sessionmaker
from tests.fakes import FakeRazorpay, Fault, serve
from tests.harness import Fakes, Service, razorpay_overrides, start_service

MINI = Path(__file__).resolve().parents[1] / "data" / "mini.yaml"

APOLOGY = "Sorry, something went wrong on our side. Please try again."


@pytest.fixture
async def recorder(fresh_database_url: str, fakes: Fakes) -> AsyncIterator[Service]:
    """The web app alone: its webhooks record; nothing answers until the test says."""
    async with start_service(fresh_database_url, fakes, run_workers=False) as running:
        yield running


def workers_of(service: Service) -> TurnWorkers:
    return TurnWorkers(service.engine, service.settings, wake_sender=None)


async def statuses(service: Service, chat: int) -> list[str]:
    rows = await service.rows(
        "SELECT status FROM inbox WHERE address = :a ORDER BY id", a=str(chat)
    )
    return [status for (status,) in rows]


async def queued_texts(service: Service, chat: int) -> list[str]:
    rows = await service.rows(
        "SELECT o.body->>'text' FROM outbound_messages o JOIN channel_identities ci"
        " ON ci.id = o.identity_id WHERE ci.external_id = :e ORDER BY o.id",
        e=str(chat),
    )
    return [text for (text,) in rows]


async def test_a_broken_turn_keeps_its_batch_neighbours(recorder: Service) -> None:
    service = recorder
    farmers = [service.new_chat_id() for _ in range(5)]
    broken = farmers[2]
    for chat in farmers:
        assert (await service.post_telegram(service.telegram_message(chat, "/start"))).is_success
        assert (await service.post_telegram(service.telegram_tap(chat, "lang:en"))).is_success
    # Recorded, not yet answered: the webhook never waited for a turn.
    assert {s for chat in farmers for s in await statuses(service, chat)} == {"pending"}
    workers = workers_of(service)
    assert await workers.run_batch() == 10

    # One farmer's saved state is damaged (as a bad deploy or a hand edit might leave
    # it): their next turn breaks inside the handler's routing.
    await service.execute(
        "UPDATE conversations c SET data = '{\"_menu\": 5}' FROM channel_identities ci"
        " WHERE ci.user_id = c.user_id AND ci.external_id = :e",
        e=str(broken),
    )
    for chat in farmers:
        assert (await service.post_telegram(service.telegram_message(chat, "1"))).is_success
    assert await workers.run_batch() == 5  # all five in one batch

    for chat in farmers:
        texts = await queued_texts(service, chat)
        if chat == broken:
            assert await statuses(service, chat) == ["done", "done", "failed"]
            assert texts[-1] == APOLOGY
        else:
            assert await statuses(service, chat) == ["done", "done", "done"]
            assert APOLOGY not in texts
    error = await service.scalar(
        "SELECT error FROM inbox WHERE address = :a AND status = 'failed'", a=str(broken)
    )
    assert "TypeError" in error


async def test_a_flood_is_set_aside_and_costs_the_others_nothing(recorder: Service) -> None:
    service = recorder
    flooder, neighbour = service.new_chat_id(), service.new_chat_id()
    sent = 60
    posts = [service.post_telegram(service.telegram_message(flooder, "/help")) for _ in range(sent)]
    responses = await asyncio.gather(*posts)
    assert all(r.status_code == 200 for r in responses)
    assert (await service.post_telegram(service.telegram_message(neighbour, "/help"))).is_success

    workers = workers_of(service)
    # The first batch answers the neighbour too, though 60 messages came before theirs.
    assert await workers.run_batch() == PER_FARMER + 1
    assert await statuses(service, neighbour) == ["done"]
    flood = await statuses(service, flooder)
    assert flood.count("dropped") == sent - FLOOD_LIMIT
    assert flood.count("done") == PER_FARMER
    notice = tr("en", "I am still answering your earlier messages.")
    assert sum(notice in text for text in await queued_texts(service, flooder)) == 1

    while await workers.run_batch():
        pass
    flood = await statuses(service, flooder)
    assert flood.count("done") == FLOOD_LIMIT and "pending" not in flood
    # Asked once to wait, not once per batch.
    assert sum(notice in text for text in await queued_texts(service, flooder)) == 1


def tr(language: str, prefix: str) -> str:
    with use_language(language):
        return _(prefix + " Please wait for my reply before sending more.").split(" Please")[0]


async def test_nul_and_lone_surrogates_are_dropped_from_every_field(service: Service) -> None:
    chat = service.new_chat_id()
    update = service.telegram_message(chat, "/help\u0000")
    update["message"]["from"]["first_name"] = "Ra\u0000mesh"
    update["message"]["chat"]["first_name"] = "Ra\u0000mesh"
    body = json.dumps(update).encode()  # "\u0000" escapes, as Telegram would send them
    response = await service.post_telegram(body)
    assert response.status_code == 200, response.text
    telegram = service.fakes.telegram
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 2)
    assert await service.turn_done("telegram", str(update["update_id"])) == "done"
    name = await service.scalar(
        "SELECT display_name FROM channel_identities WHERE external_id = :e", e=str(chat)
    )
    assert name == "Ramesh"

    number = "+919812340000"
    form = service.whatsapp_form(number, "help\x00", ProfileName="Su\x00nita")
    assert (await service.post_whatsapp(form)).status_code == 200
    await service.fakes.twilio.wait_for(lambda c: len(service.fakes.twilio.sent_to(number)) >= 2)
    assert await service.turn_done("whatsapp", form["MessageSid"]) == "done"


@pytest.fixture
async def slow_gateway(
    fresh_database_url: str, fakes: Fakes
) -> AsyncIterator[tuple[Service, FakeRazorpay]]:
    gateway = FakeRazorpay()
    async with (
        serve(gateway.app) as url,
        start_service(
            fresh_database_url,
            fakes,
            **razorpay_overrides(gateway, url),
            provider_timeout_s=10.0,
            admin_api_token=SecretStr("admin"),
        ) as running,
    ):
        yield running, gateway


async def test_a_slow_gateway_delays_only_its_own_farmer(
    slow_gateway: tuple[Service, FakeRazorpay],
) -> None:
    service, gateway = slow_gateway
    telegram = service.fakes.telegram
    course = await paid_course(service)
    buyer, neighbour = service.new_chat_id(), service.new_chat_id()
    for chat in (buyer, neighbour):
        await service.telegram_says(chat, "/start")
        await service.telegram_taps(chat, "lang:en")
    # The gateway takes 3 s, then fails.
    gateway.fail_next(Fault(500, {"error": {"code": "SERVER_ERROR"}}, delay=3.0))
    await service.telegram_taps(buyer, f"buy:{course}")
    # The buyer's turn has committed already: the link is made after it, by a job.
    before = len(telegram.sent_to(neighbour))
    await service.telegram_says(neighbour, "/help")
    await telegram.wait_for(lambda c: len(telegram.sent_to(neighbour)) > before)
    down = "Sorry, payments are not working right now."
    assert not any(down in text for text in telegram.texts_to(buyer))
    # The neighbour was answered while the gateway still held the buyer's link.
    await telegram.wait_for(lambda c: any(down in t for t in telegram.texts_to(buyer)), 15)
    [call] = [c for c in gateway.calls if c.method == "!payment_links.create"]
    neighbour_answered = [
        c.at for c in telegram.calls if str(c.params.get("chat_id")) == str(neighbour)
    ][-1]
    assert neighbour_answered < call.at + 3.0


async def paid_course(service: Service) -> str:
    """The mini catalogue's paid cotton course, loaded as `krishi content load` would."""
    async with make_sessionmaker(service.engine)() as session, session.begin():
        await load_catalogue(session, read_catalogue(MINI))
    return str(stable_id("course", "cotton-en"))


async def test_a_long_retry_after_sends_each_message_once(
    fresh_database_url: str, fakes: Fakes
) -> None:
    # Leases far shorter than the pause: before, the paused rows' leases ran out while
    # they waited for their slot, and a second claim sent them again.
    async with start_service(fresh_database_url, fakes, sender_lease_s=2.0) as service:
        telegram = service.fakes.telegram
        chats = [service.new_chat_id() for _ in range(4)]
        slow_down = {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 4",
            "parameters": {"retry_after": 4},
        }
        telegram.fail_next(*(Fault(429, slow_down) for _ in range(3)))
        for chat in chats:
            assert (await service.post_telegram(service.telegram_message(chat, "/help"))).is_success
        await telegram.wait_for(lambda c: all(len(telegram.sent_to(x)) >= 2 for x in chats), 30)
        await service.settle()
        await asyncio.sleep(2.5)  # a lease past its end would have been sent again by now
        for chat in chats:
            assert len(telegram.sent_to(chat)) == 2, telegram.texts_to(chat)
        assert not await service.scalar(
            "SELECT count(*) FROM outbound_messages WHERE status <> 'sent'"
        )
