"""PostgreSQL restarted mid-broadcast: the sender recovers and finishes, with nothing
lost or doubled, and the web app and the jobs runner work again afterwards.

The service runs as it is deployed to scale out, a web app without a sender and a
worker (sender and jobs), each with its own pool, on a private PostgreSQL server that
this test stops and starts again while sends are in flight at the provider and most
of the broadcast is still owed in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import Request
from fastapi.responses import Response
from pydantic import SecretStr

from bot.app import create_app
from bot.cli import migrate
from bot.i18n import _, use_language
from bot.runtime import Runtime
from bot.workers import Workers
from db.engine import make_engine
from tests.e2e.test_broadcasts import ADMIN, api, new_course, received, seed
from tests.fakes import FakeTelegram, FakeTwilio, bound_socket, serve
from tests.harness import Fakes, Service, service_settings, start_fakes
from tests.pg_server import PrivatePostgres

# Like every test that needs PostgreSQL; it never uses the shared server, though.
pytestmark = pytest.mark.db

AUDIENCE = 300
RATE_PER_S = 100.0
# Each Telegram call is answered this late, so about RATE_PER_S * PROVIDER_DELAY_S
# sends are at the provider when the database goes away, and their results have to
# be recorded after it is back.
PROVIDER_DELAY_S = 0.3
# How long the server stays down. 1.5 s: claims, LISTEN and result writes all fail
# and have to retry. 6 s, as a restart with a long checkpoint or a managed failover
# takes: longer than a few quick retries, so the sender must keep trying to record the
# sends the provider already has (if it gives up, their leases expire and they go twice).
OUTAGES_S = [pytest.param(1.5, id="outage-1.5s"), pytest.param(6.0, id="outage-6s")]
# After the server is back, the rest of the broadcast takes AUDIENCE * 2/3 / RATE_PER_S
# (2 s); anything still owed this long after is stuck, not slow.
SETTLE_S = 12.0


class SlowTelegram(FakeTelegram):
    """The fake Bot API, answering each call PROVIDER_DELAY_S after it arrived."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.in_flight = 0
        super().__init__()

    async def _handle(self, token: str, method: str, request: Request) -> Response:
        self.in_flight += 1
        try:
            # Recorded on arrival: the provider has the message even if we never answer.
            response = await super()._handle(token, method, request)
            if method != "getMe":
                await asyncio.sleep(self.delay)
            return response
        finally:
            self.in_flight -= 1


@contextlib.asynccontextmanager
async def slow_fakes() -> AsyncIterator[Fakes]:
    telegram, twilio = SlowTelegram(PROVIDER_DELAY_S), FakeTwilio()
    async with serve(telegram.app) as telegram_url, serve(twilio.app) as twilio_url:
        yield Fakes(telegram, twilio, telegram_url, twilio_url)


@contextlib.asynccontextmanager
async def deployed(server: PrivatePostgres, fakes: Fakes) -> AsyncIterator[Service]:
    """The service on `server` as it is deployed to scale out: a web app without a
    sender, and a worker (sender and jobs) with a pool of its own, as `krishi worker`
    runs them. Nothing but the web app's own errors can tell its pool that the server
    restarted. Returns a Service to drive them from outside."""
    sock = bound_socket()
    settings = service_settings(
        server.url,
        fakes,
        f"http://127.0.0.1:{sock.getsockname()[1]}",
        admin_api_token=SecretStr(ADMIN),
        telegram_rate_per_s=RATE_PER_S,
    )
    web = create_app(settings, database_url=server.url, run_sender=False)
    worker = Runtime.open(settings, server.url)
    workers = Workers(worker)
    # The test's own connections (seeding, checks), apart from the service's pools.
    engine = make_engine(server.url, pool_size=2)
    workers.start()
    try:
        async with serve(web, sock) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield Service(url, settings, fakes, http, engine)
    finally:
        await workers.stop()
        await worker.close()
        await engine.dispose()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A server of this test's own: it is restarted, which no shared server may be."""
    with PrivatePostgres() as server:
        migrate(server.url)
        yield server


async def broadcast_rows(service: Service, broadcast_id: str) -> list[tuple[str, str | None]]:
    rows = await service.rows(
        "SELECT status, error FROM outbound_messages WHERE broadcast_id = :id ORDER BY id",
        id=uuid.UUID(broadcast_id),
    )
    return [(status, error) for status, error in rows]


async def settled(
    service: Service, broadcast_id: str, expected: int, timeout: float
) -> list[tuple[str, str | None]]:
    """The broadcast's rows once all `expected` exist and none is still owed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = await broadcast_rows(service, broadcast_id)
        if len(rows) >= expected and all(
            status not in ("queued", "sending") for status, _e in rows
        ):
            return rows
        if loop.time() > deadline:
            raise AssertionError(f"still owed after {timeout} s: {sorted(set(rows))}")
        await asyncio.sleep(0.1)


async def listening_senders(service: Service) -> int:
    """Sessions LISTENing for the workers' NOTIFYs (one per process) (a session's last query stays shown)."""
    return int(
        await service.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN%krishi_%'"
        )
    )


@pytest.mark.parametrize("outage_s", OUTAGES_S)
async def test_postgres_restarted_mid_broadcast(
    private_postgres: PrivatePostgres, monkeypatch: pytest.MonkeyPatch, outage_s: float
) -> None:
    monkeypatch.setenv("BROADCAST_QUIET_HOURS", "off")

    def server_log() -> str:
        # The service's own warnings are in pytest's captured log of a failure.
        return "--- postgres ---\n" + private_postgres.log_tail()

    async with slow_fakes() as fakes, deployed(private_postgres, fakes) as service:
        telegram = fakes.telegram
        assert isinstance(telegram, SlowTelegram)
        course_id, _lesson = await new_course(service, ADMIN, "Kharif sowing")
        later_course_id, _lesson = await new_course(service, ADMIN, "Drip irrigation")
        chats = await seed(service, course_id, AUDIENCE)
        later_chats = await seed(service, later_course_id, 20)

        # What /help answers on a healthy service, to compare with the answer after.
        before = service.new_chat_id()
        await service.telegram_says(before, "/help")
        await telegram.wait_for(lambda c: len(telegram.sent_to(before)) >= 2, 10)
        help_texts = telegram.texts_to(before)
        assert await listening_senders(service) == 1  # the worker's LISTEN, seen as such

        marker = "Sow after the first 75 mm of rain. " + uuid.uuid4().hex[:8]
        response = await api(
            service, "POST", "/broadcasts", json={"course_id": course_id, "text": marker}
        )
        assert response.status_code == 202, response.text
        broadcast_id = response.json()["id"]

        # --- the restart, a third of the way through -----------------------------------
        await telegram.wait_for(
            lambda c: len(received(telegram, marker, "chat_id")) >= AUDIENCE // 3, 20
        )
        owed = await service.scalar(
            "SELECT count(*) FROM outbound_messages WHERE broadcast_id = :id AND status = 'queued'",
            id=uuid.UUID(broadcast_id),
        )
        in_flight = telegram.in_flight
        await asyncio.to_thread(private_postgres.stop, "fast")
        stopped_with = len(received(telegram, marker, "chat_id"))
        await asyncio.sleep(outage_s)
        await asyncio.to_thread(private_postgres.start)
        # Our own pooled connections died with the server as well.
        await service.engine.dispose()
        # The restart really was mid-send: messages at the provider, most still queued.
        assert in_flight > 0, "no send was in flight when the database stopped"
        assert owed >= AUDIENCE // 3, f"only {owed} messages were still owed at the restart"
        assert stopped_with < AUDIENCE

        # --- the sender recovers and finishes -------------------------------------------
        rows = await settled(service, broadcast_id, AUDIENCE, timeout=SETTLE_S)
        await asyncio.sleep(1.0)  # a doubled send would arrive by now

        assert [status for status, _e in rows] == ["sent"] * AUDIENCE, rows
        distinct_ids = await service.scalar(
            "SELECT count(DISTINCT provider_message_id) FROM outbound_messages"
            " WHERE broadcast_id = :id",
            id=uuid.UUID(broadcast_id),
        )
        assert distinct_ids == AUDIENCE  # each row records a send of its own
        got = received(telegram, marker, "chat_id")
        assert set(got) == set(chats), set(chats) ^ set(got)  # nobody lost
        doubled = {chat: n for chat, n in got.items() if n != 1}
        assert not doubled, doubled  # nobody twice
        # The worker LISTENs again (else every wake-up waits for its one-second poll).
        for _try in range(50):
            if await listening_senders(service) == 1:
                break
            await asyncio.sleep(0.1)
        assert await listening_senders(service) == 1, server_log()

        # --- the web app answers a farmer at once, with the real answer -----------
        after = service.new_chat_id()
        response = await service.post_telegram(service.telegram_message(after, "/help"))
        assert response.status_code == 200, server_log()
        await telegram.wait_for(lambda c: len(telegram.sent_to(after)) >= 2, 10)
        await asyncio.sleep(0.5)
        with use_language("en"):
            sorry = _("Sorry, something went wrong on our side. Please try again.")
        assert sorry not in telegram.texts_to(after)
        assert telegram.texts_to(after) == help_texts

        # --- and the jobs runner fans out a new broadcast ------------------------------
        later = "Check the drip lines for clogging. " + uuid.uuid4().hex[:8]
        response = await api(
            service, "POST", "/broadcasts", json={"course_id": later_course_id, "text": later}
        )
        assert response.status_code == 202, response.text
        await settled(service, response.json()["id"], len(later_chats), timeout=SETTLE_S)
        got = received(telegram, later, "chat_id")
        assert set(got) == set(later_chats) and set(got.values()) == {1}, got


async def test_webhooks_answer_503_while_the_database_is_down_then_everything_resumes(
    private_postgres: PrivatePostgres,
) -> None:
    """Messages recorded before the outage are answered after it (a batch cut off by it
    is rolled back and taken again); messages refused with 503 are delivered again by
    the provider and answered once; nothing is apologised for."""
    async with start_fakes() as fakes, deployed(private_postgres, fakes) as service:
        telegram = fakes.telegram
        warm = service.new_chat_id()
        await service.telegram_says(warm, "/help")
        await telegram.wait_for(lambda c: len(telegram.sent_to(warm)) >= 2, 10)
        help_count = len(telegram.sent_to(warm))

        farmers = [service.new_chat_id() for _ in range(30)]
        updates = [service.telegram_message(chat, "/help") for chat in farmers]
        first = await asyncio.gather(*(service.post_telegram(u) for u in updates[:20]))
        assert [r.status_code for r in first] == [200] * 20
        # Down while the turn workers are busy with those twenty.
        await asyncio.to_thread(private_postgres.stop, "immediate")
        during = await asyncio.gather(*(service.post_telegram(u) for u in updates[20:]))
        assert {r.status_code for r in during} == {503}, [r.text for r in during]
        await asyncio.sleep(1.0)
        await asyncio.to_thread(private_postgres.start)
        await service.engine.dispose()

        # The provider retries what was refused; retried until the web app's pool is back.
        for update in updates[20:]:
            for _try in range(100):
                if (await service.post_telegram(update)).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the webhook never recovered:\n" + private_postgres.log_tail())
        await telegram.wait_for(
            lambda c: all(len(telegram.sent_to(chat)) >= help_count for chat in farmers), 30
        )
        await asyncio.sleep(1.0)  # a doubled answer would arrive by now
        with use_language("en"):
            sorry = _("Sorry, something went wrong on our side. Please try again.")
        for chat in farmers:
            assert len(telegram.sent_to(chat)) == help_count, telegram.texts_to(chat)
            assert sorry not in telegram.texts_to(chat)
        assert await service.scalar("SELECT count(*) FROM inbox WHERE status <> 'done'") == 0
        assert await service.scalar("SELECT count(*) FROM inbox") == 31
