"""Faults: slow providers and a database that drops every connection mid-send.
Every message still ends sent (or failed with a reason), and none is lost."""

from __future__ import annotations

import asyncio

from tests.fakes import FakeTelegram, Fault
from tests.harness import Service


async def settled(
    service: Service, expected: int, timeout: float = 30.0
) -> list[tuple[str, str | None]]:
    """Wait until `expected` outbound rows exist and none is still owed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = await service.rows("SELECT status, error FROM outbound_messages ORDER BY id")
        if len(rows) >= expected and all(
            status not in ("queued", "sending") for status, _e in rows
        ):
            return rows
        if loop.time() > deadline:
            raise AssertionError(rows)
        await asyncio.sleep(0.1)


async def test_provider_timeout_is_retried_until_sent(service: Service) -> None:
    telegram = service.fakes.telegram
    # Slower than the sender's 2 s timeout: the first try times out, the second succeeds.
    telegram.fail_next(Fault(200, {"ok": True, "result": True}, delay=2.5))
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/help")
    rows = await settled(service, 2)
    assert [status for status, _e in rows] == ["sent", "sent"]
    assert await service.scalar("SELECT max(attempts) FROM outbound_messages") == 2
    # The farmer got the help text; a timed-out call may or may not have reached the
    # provider (that is what a timeout means), but the successful ones came once each.
    texts = telegram.texts_to(chat)
    assert len(texts) == 2 and len(set(texts)) == 2


async def test_5xx_and_429_then_success_for_many_farmers(service: Service) -> None:
    telegram = service.fakes.telegram
    telegram.fail_next(
        FakeTelegram.server_error(502), FakeTelegram.retry_after(1), FakeTelegram.server_error(500)
    )
    chats = [service.new_chat_id() for _ in range(5)]
    await asyncio.gather(*(service.telegram_says(chat, "/help") for chat in chats))
    rows = await settled(service, 10)
    assert all(status == "sent" for status, _e in rows)
    for chat in chats:
        texts = telegram.texts_to(chat)
        assert len(texts) == 2 and len(set(texts)) == 2, texts


async def test_database_connections_killed_mid_send(service: Service) -> None:
    telegram = service.fakes.telegram
    # Slow the provider down so that sends are in flight when the connections die.
    telegram.fail_next(
        *[
            Fault(
                200,
                {
                    "ok": True,
                    "result": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
                },
                delay=0.3,
            )
        ]
        * 6
    )
    chats = [service.new_chat_id() for _ in range(10)]
    for chat in chats:
        await service.telegram_says(chat, "/help")
    await asyncio.sleep(0.2)
    await service.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    # New turns still work once the pool notices, and everything owed goes out.
    for _attempt in range(20):
        response = await service.post_telegram(service.telegram_message(chats[0], "/menu"))
        if response.status_code == 200:
            break
        await asyncio.sleep(0.2)
    rows = await settled(service, 21, timeout=60)
    assert all(status == "sent" for status, _e in rows), rows
    # The slowed calls are recorded as "!sendMessage"; they were answered 200 all the same.
    for chat in chats[1:]:
        calls = [c for c in telegram.calls if str(c.params.get("chat_id")) == str(chat)]
        assert len(calls) >= 2, calls
