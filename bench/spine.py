"""The inbox spine against its targets, beside a bare FastAPI endpoint in the same run.

    .venv/bin/python -m bench.spine [--seconds 10] [--users 10000]

Measures, with one web process whose turn workers answer what its webhooks record:
- completed turns/s (inbox rows done; the sender off): `/help` and quiz answers, under
  wrk's closed-loop load on the webhook, and as the rate a recorded backlog drains at;
- webhook answer latency and reply latency (POST → fake provider) at 300/s offered,
  with the sender on;
- isolation: reply latency of farmers writing at 50/s, quiet and while one farmer sends
  500 messages at concurrency 100, and while 12 farmers tap Buy on a 9 s gateway.

Needs `wrk` (Debian: apt-get install wrk). Uses BENCH_DATABASE_URL's server, or the
embedded PostgreSQL. bench/README.md records the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import asyncpg
import httpx
import uvloop

from bench.common import (
    PY,
    create_database,
    drop_database,
    free_port,
    percentile,
    process,
    server_url,
    sleep_until,
)
from bench.inbound import FIRST_CHAT, SECRET, krishi_env, message, seed, wrk

PAID_COURSE = "00000000-0000-0000-0000-0000000bc0de"
GATEWAY_DELAY_S = 9.0


async def counts(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE status <> 'pending') AS done,"
            " count(*) FILTER (WHERE status = 'pending') AS pending FROM inbox"
        )
        return int(row["done"]), int(row["pending"])
    finally:
        await conn.close()


async def drained(url: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not (await counts(url))[1]:
            return
        await asyncio.sleep(0.2)


async def turns_under_load(
    url: str, port: int, seconds: int, users: int, text: str, base: int, first: int = 0
) -> tuple[float, float]:
    """(webhook answers/s, turns completed/s) while wrk drives the webhook."""
    done_before, _ = await counts(url)
    started = time.monotonic()
    rps, _p50, _p99, _errors = await asyncio.to_thread(wrk, port, seconds, users, text, base, first)
    done_after, _ = await counts(url)
    return rps, (done_after - done_before) / (time.monotonic() - started)


async def drain_rate(url: str) -> float:
    """Turns/s at which the backlog left by wrk is answered, with no HTTP load."""
    done0, pending = await counts(url)
    if pending < 1000:
        return float("nan")
    started = time.monotonic()
    await drained(url)
    done1, _ = await counts(url)
    return (done1 - done0) / (time.monotonic() - started)


Poster = Callable[[aiohttp.ClientSession, int], Awaitable[None]]


async def offer(port: int, rate: float, seconds: float, post: Poster) -> list[float]:
    """Open loop: `rate` requests/s whatever the answers; each request's latency in ms."""
    latencies: list[float] = []
    async with aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{port}",
        connector=aiohttp.TCPConnector(limit=400),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    ) as client:

        async def one(i: int) -> None:
            began = time.perf_counter()
            try:
                await post(client, i)
            except aiohttp.ClientError:
                return
            latencies.append((time.perf_counter() - began) * 1000)

        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            await sleep_until(start + i / rate)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return latencies


async def send_update(client: aiohttp.ClientSession, update: dict[str, Any]) -> None:
    async with client.post("/webhooks/telegram", data=json.dumps(update)) as response:
        await response.read()
        response.raise_for_status()


async def reply_latencies(
    port: int, telegram_port: int, rate: float, seconds: float, first_chat: int, base: int
) -> tuple[list[float], list[float]]:
    """(webhook answer ms, reply ms) for new farmers sending /help at `rate`."""
    sent_at: dict[int, float] = {}

    async def post(client: aiohttp.ClientSession, i: int) -> None:
        chat = first_chat + i
        sent_at[chat] = time.time()
        await send_update(client, message(base + i, chat, "/help"))

    answers = await offer(port, rate, seconds, post)
    await asyncio.sleep(3.0)
    async with httpx.AsyncClient() as client:
        arrivals = (await client.get(f"http://127.0.0.1:{telegram_port}/arrivals")).json()
    replies = [(arrivals[str(c)] - t) * 1000 for c, t in sent_at.items() if str(c) in arrivals]
    missing = len(sent_at) - len(replies)
    if missing:
        print(f"   {missing} of {len(sent_at)} farmers got no reply within 3 s of the run")
    return answers, replies


async def flood(port: int, chat: int, base: int, messages: int, concurrency: int) -> None:
    """One farmer sending `messages` at `concurrency` at once."""
    semaphore = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{port}",
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    ) as client:

        async def one(i: int) -> None:
            async with semaphore:
                await send_update(client, message(base + i, chat, "/help"))

        await asyncio.gather(*(one(i) for i in range(messages)))


def tap(update_id: int, chat: int, data: str) -> dict[str, Any]:
    user = {"id": chat, "is_bot": False, "first_name": "F", "language_code": "hi"}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": str(update_id), "from": user, "chat_instance": "1", "data": data,
            "message": {"message_id": 1, "date": 1700000000,
                        "chat": {"id": chat, "type": "private"}, "text": "menu"},
        },
    }  # fmt: skip


async def slow_gateway_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A Razorpay that takes GATEWAY_DELAY_S over every payment link, then fails."""
    if scope["type"] != "http":
        return
    await asyncio.sleep(GATEWAY_DELAY_S)
    await send({"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b'{"error": {"code": "SERVER_ERROR"}}'})


async def seed_extra(url: str, users: int) -> None:
    """Farmers past the privacy notice, and a paid course for the gateway run."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            f"""
            INSERT INTO conversations (user_id, state, data)
            SELECT md5('u' || i)::uuid, 'menu', '{{}}'::jsonb FROM generate_series(0, {users} - 1) i
            ON CONFLICT DO NOTHING;
            INSERT INTO courses (id, title, description, category, level, language, price,
                                 is_published, lessons)
            VALUES ('{PAID_COURSE}', 'बेंच भुगतान कोर्स', 'bench', 'irrigation', 'beginner',
                    'Hindi', 499, true, 1);
            ANALYZE;
            """
        )
    finally:
        await conn.close()


@contextlib.contextmanager
def workers(command: list[str], env: dict[str, str], count: int) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for _ in range(count):
            stack.enter_context(process(command, env, 0))
        yield


def row(name: str, value: float, unit: str, target: str) -> str:
    return f"{name:58} {value:>10.1f} {unit:8} {target}"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument(
        "--worker-processes", type=int, default=1, help="`krishi worker`s beside the web process"
    )
    args = parser.parse_args()
    seconds, users = args.seconds, args.users
    server = server_url()
    url = await create_database(server)
    lines: list[str] = []
    try:
        await seed(url, 2 * users, questions=400)
        await seed_extra(url, users)
        telegram_port = free_port()
        fake = [PY, "-m", "uvicorn", "bench.fake_telegram:app", "--port", str(telegram_port),
                "--log-level", "warning", "--no-access-log"]  # fmt: skip
        gateway_port = free_port()
        gateway = [PY, "-m", "uvicorn", "bench.spine:slow_gateway_app", "--port",
                   str(gateway_port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
        with process(fake, {}, telegram_port), process(gateway, {}, gateway_port):
            base = int(time.time()) * 1000
            # --- the bare endpoint, the same way -----------------------------------------
            port = free_port()
            bare_cmd = [PY, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port),
                        "--log-level", "warning", "--no-access-log"]  # fmt: skip
            with process(bare_cmd, {}, port):
                wrk(port, 2, users, "/help", base)
                bare, *_ = wrk(port, seconds, users, "/help", base)
            lines.append(row("bare FastAPI JSON endpoint (wrk)", bare, "req/s", ""))

            # --- completed turns/s, sender off -------------------------------------------
            # One web process that only records, and one `krishi worker` answering turns.
            port = free_port()
            web_env = krishi_env(url, telegram_port, False)
            worker_env = {**krishi_env(url, telegram_port, True), "SENDER_ENABLED": "false"}
            serve = [PY, "-m", "bot.cli", "serve", "--port", str(port)]
            worker = [PY, "-m", "bot.cli", "worker"]
            with process(serve, web_env, port), workers(worker, worker_env, args.worker_processes):
                base += 100_000_000
                await turns_under_load(url, port, 2, users, "/help", base)  # warm up
                await drained(url)
                for label, text, first, target in (
                    ("/help", "/help", 0, 0.40),
                    ("quiz answer", "1", users, 0.25),
                ):
                    base += 100_000_000
                    rps, turns = await turns_under_load(
                        url, port, seconds, users, text, base, first
                    )
                    drain = await drain_rate(url)
                    lines.append(row(f"{label}: webhook answers under wrk", rps, "req/s", ""))
                    lines.append(
                        row(
                            f"{label}: turns completed under wrk ({turns / bare:.2f} of bare)",
                            turns,
                            "turns/s",
                            f"≥ {target:.2f} of bare",
                        )
                    )
                    lines.append(
                        row(
                            f"{label}: backlog drained, no HTTP load ({drain / bare:.2f})",
                            drain,
                            "turns/s",
                            "",
                        )
                    )

            # Replies those runs queued would go before new ones: drop that backlog.
            conn = await asyncpg.connect(url)
            await conn.execute(
                "UPDATE outbound_messages SET status = 'skipped', error = 'bench backlog'"
                " WHERE status IN ('queued', 'sending')"
            )
            await conn.close()

            # --- latency at 300/s and isolation: the worker sends too ----------------------
            port = free_port()
            env = {
                **krishi_env(url, telegram_port, True),
                "RAZORPAY_KEY_ID": "rzp_bench",
                "RAZORPAY_KEY_SECRET": "bench",
                "RAZORPAY_API_BASE_URL": f"http://127.0.0.1:{gateway_port}",
                "PROVIDER_TIMEOUT_S": "30",
            }
            web_env = {**env, "RUN_SENDER": "false"}
            serve = [PY, "-m", "bot.cli", "serve", "--port", str(port)]
            with process(serve, web_env, port), workers(worker, env, args.worker_processes):
                fresh = FIRST_CHAT + 3_000_000
                base += 100_000_000
                await reply_latencies(port, telegram_port, 50, 2, fresh, base)  # warm up
                fresh += 100_000
                base += 100_000_000
                answers, replies = await reply_latencies(
                    port, telegram_port, 300, seconds, fresh, base
                )
                lines.append(
                    row("300/s offered: webhook answer p50", percentile(answers, 50), "ms", "")
                )
                lines.append(
                    row(
                        "300/s offered: webhook answer p99",
                        percentile(answers, 99),
                        "ms",
                        "≤ 50 ms",
                    )
                )
                lines.append(
                    row(
                        "300/s offered: reply latency p50",
                        percentile(replies, 50),
                        "ms",
                        "≤ 100 ms",
                    )
                )
                lines.append(row("300/s offered: reply latency p99", percentile(replies, 99), "ms", "≤ 500 ms"))  # fmt: skip

                fresh += 100_000
                base += 100_000_000
                _, quiet = await reply_latencies(port, telegram_port, 50, seconds, fresh, base)
                quiet_p99 = percentile(quiet, 99)
                lines.append(row("50/s of other farmers, quiet: reply p99", quiet_p99, "ms", ""))

                fresh += 100_000
                base += 100_000_000
                flooder = FIRST_CHAT + 5  # a known farmer
                flooding = asyncio.create_task(flood(port, flooder, base + 50_000_000, 500, 100))
                _, during = await reply_latencies(port, telegram_port, 50, seconds, fresh, base)
                await flooding
                lines.append(
                    row(
                        f"  … while one farmer sends 500 at concurrency 100 (×{percentile(during, 99) / quiet_p99:.2f})",
                        percentile(during, 99),
                        "ms",
                        "≤ 2× quiet",
                    )
                )

                fresh += 100_000
                base += 100_000_000
                buyers = [FIRST_CHAT + 100 + i for i in range(12)]
                async with aiohttp.ClientSession(
                    base_url=f"http://127.0.0.1:{port}",
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET,
                             "Content-Type": "application/json"},
                ) as client:  # fmt: skip
                    await asyncio.gather(
                        *(
                            send_update(
                                client, tap(base + 90_000_000 + i, chat, f"buy:{PAID_COURSE}")
                            )
                            for i, chat in enumerate(buyers)
                        )
                    )
                _, gateway_slow = await reply_latencies(
                    port, telegram_port, 50, seconds, fresh, base
                )
                lines.append(
                    row(
                        f"  … while 12 farmers wait on a {GATEWAY_DELAY_S:.0f} s gateway "
                        f"(+{percentile(gateway_slow, 99) - quiet_p99:.0f} ms)",
                        percentile(gateway_slow, 99),
                        "ms",
                        "≤ quiet + 100 ms",
                    )
                )
    finally:
        await drop_database(server, url)
    print(f"\n{'measure':58} {'value':>10} {'unit':8} target")
    for line in lines:
        print(line)
    print(f"\nrun {uuid.uuid4().hex[:6]} at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


if __name__ == "__main__":
    uvloop.run(main())
