"""Scale-out: two web processes and two sender processes on one PostgreSQL keep the
same guarantees: every message answered once, one farmer's turns in order."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.harness import TELEGRAM_SECRET, Fakes, Service

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _processes(commands: list[list[str]], env: dict[str, str], log_dir: Path) -> Iterator[None]:
    procs = []
    try:
        for index, command in enumerate(commands):
            log = (log_dir / f"proc-{index}.log").open("wb")
            procs.append(subprocess.Popen(
                command, cwd=ROOT, env={**os.environ, **env}, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            ))  # fmt: skip
        yield
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **env}, stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip


async def _wait_until_up(port: int) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"web process on {port} did not come up")


async def test_two_web_and_two_sender_processes(
    fresh_database_url: str, fakes: Fakes, tmp_path: Path
) -> None:
    ports = [_free_port(), _free_port()]
    env = {
        "DATABASE_URL": fresh_database_url,
        "TELEGRAM_BOT_TOKEN": fakes.telegram.token,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": fakes.telegram_url + "/bot",
        "TELEGRAM_CHAT_BURST": "100",
        "RUN_SENDER": "false",
        "LOG_JSON": "true",
    }
    cli = [sys.executable, "-m", "bot.cli"]
    commands = [[*cli, "serve", "--port", str(port), "--no-migrate"] for port in ports]
    commands += [[*cli, "worker"], [*cli, "worker"]]
    with _processes(commands, env, tmp_path):
        await asyncio.gather(*(_wait_until_up(port) for port in ports))
        clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") for port in ports]
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        telegram = fakes.telegram
        try:
            farmer = 6_100_001
            first = Service.telegram_message(farmer, "/start")
            assert (
                await clients[0].post("/webhooks/telegram", json=first, headers=headers)
            ).status_code == 200
            await telegram.wait_for(lambda c: len(telegram.sent_to(farmer)) >= 1, 20)
            # 20 concurrent taps from one farmer, spread over both web processes.
            taps = [
                Service.telegram_tap(farmer, f"lang:{('en', 'hi', 'mr')[i % 3]}") for i in range(20)
            ]
            # 30 other farmers at the same time, each asking once (and each delivered twice).
            others = [Service.telegram_message(6_200_000 + i, "/help") for i in range(30)]
            duplicates = others[:10]
            posts = [
                clients[i % 2].post("/webhooks/telegram", json=update, headers=headers)
                for i, update in enumerate(taps + others + duplicates)
            ]
            responses = await asyncio.gather(*posts)
            assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
            await telegram.wait_for(
                lambda c: (
                    len(telegram.sent_to(farmer)) >= 41
                    and all(len(telegram.sent_to(6_200_000 + i)) >= 2 for i in range(30))
                ),
                60,
            )
            await asyncio.sleep(1.0)
        finally:
            for client in clients:
                await client.aclose()

    import asyncpg

    conn = await asyncpg.connect(fresh_database_url)
    try:
        turns = await conn.fetchval(
            "SELECT turn_count FROM conversations c JOIN channel_identities ci"
            " ON ci.user_id = c.user_id WHERE ci.external_id = $1",
            str(farmer),
        )
        queued = await conn.fetch(
            "SELECT o.body->>'text' AS text FROM outbound_messages o JOIN channel_identities ci"
            " ON ci.id = o.identity_id WHERE ci.external_id = $1 ORDER BY o.id",
            str(farmer),
        )
        statuses = await conn.fetch("SELECT DISTINCT status FROM outbound_messages")
    finally:
        await conn.close()
    assert turns == 21  # /start and 20 taps, none lost, none applied twice
    # Delivered in exactly the order the turns queued them, across both senders.
    assert [row["text"] for row in queued] == telegram.texts_to(farmer)
    for i in range(30):
        assert len(telegram.sent_to(6_200_000 + i)) == 2  # duplicates answered once
    assert {row["status"] for row in statuses} == {"sent"}


async def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(
    fresh_database_url: str, fakes: Fakes, tmp_path: Path
) -> None:
    """`kill -9` of a turn worker in the middle of its batches: what it had not
    committed stays pending and another worker answers it; nothing it committed is
    answered again. (The killed worker has no channel, so it only answers turns: the
    sends, which no provider lets us take back, are the surviving worker's.)"""
    port = _free_port()
    env = {
        "DATABASE_URL": fresh_database_url,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": fakes.telegram_url + "/bot",
        "TELEGRAM_CHAT_BURST": "100",
        "RUN_SENDER": "false",
        "LOG_JSON": "true",
    }
    with_channel = {**env, "TELEGRAM_BOT_TOKEN": fakes.telegram.token}
    cli = [sys.executable, "-m", "bot.cli"]
    farmers = [6_300_000 + i for i in range(60)]
    said = ("/help", "/courses", "/help", "/progress")
    with _processes([[*cli, "serve", "--port", str(port), "--no-migrate"]], with_channel, tmp_path):
        await _wait_until_up(port)
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for text in said:
                updates = [Service.telegram_message(chat, text) for chat in farmers]
                responses = await asyncio.gather(
                    *(client.post("/webhooks/telegram", json=u, headers=headers) for u in updates)
                )
                assert {r.status_code for r in responses} == {200}
        import asyncpg

        conn = await asyncpg.connect(fresh_database_url)
        try:
            doomed = _spawn([*cli, "worker"], env, tmp_path / "doomed.log")
            for _ in range(600):
                done = await conn.fetchval("SELECT count(*) FROM inbox WHERE status = 'done'")
                if done >= 20:
                    break
                await asyncio.sleep(0.01)
            doomed.kill()  # SIGKILL: no cleanup, its open batch dies with it
            doomed.wait(10)
            at_kill = await conn.fetchval("SELECT count(*) FROM inbox WHERE status = 'done'")
            assert 0 < at_kill < len(farmers) * len(said), at_kill

            with _processes([[*cli, "worker"]], with_channel, tmp_path):
                for _ in range(600):
                    owed = await conn.fetchval(
                        "SELECT (SELECT count(*) FROM inbox WHERE status = 'pending')"
                        " + (SELECT count(*) FROM outbound_messages"
                        " WHERE status IN ('queued', 'sending'))"
                    )
                    if owed == 0:
                        break
                    await asyncio.sleep(0.1)
                await asyncio.sleep(1.0)  # a doubled answer would arrive by now
            turns = await conn.fetch(
                "SELECT ci.external_id, c.turn_count FROM conversations c"
                " JOIN channel_identities ci ON ci.user_id = c.user_id"
            )
            pending = await conn.fetchval("SELECT count(*) FROM inbox WHERE status <> 'done'")
            unsent = await conn.fetchval(
                "SELECT count(*) FROM outbound_messages WHERE status <> 'sent'"
            )
        finally:
            await conn.close()
    assert pending == 0 and unsent == 0
    assert {row["turn_count"] for row in turns} == {len(said)}  # each turn applied once
    assert len(turns) == len(farmers)
    expected = fakes.telegram.texts_to(farmers[0])
    for farmer in farmers:
        assert len(fakes.telegram.sent_to(farmer)) == len(expected)  # nothing sent twice
