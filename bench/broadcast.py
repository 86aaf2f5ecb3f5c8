"""A broadcast to 100,000 enrolled farmers: time to queue, then the send rate with
the channel's limit on (a fake Bot API that answers 429 to any excess) and off.

    .venv/bin/python -m bench.broadcast [--farmers 100000] [--rates 30,300] [--seconds 15]

Runs `krishi serve` (web, sender and jobs in one process) against a fresh database
on BENCH_DATABASE_URL's server (or the embedded PostgreSQL), and a fake Telegram
Bot API in a process of its own on loopback. The broadcast is started through
POST /api/v1/broadcasts, as an instructor would. Each limited phase runs the
service with TELEGRAM_RATE_PER_S set to the fake's limit; the last phase lifts
both and sends what is left. Prints a table; bench/README.md records the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
import httpx

from bench.common import (
    PY,
    create_database,
    drop_database,
    free_port,
    process,
    read_body,
    server_url,
)

ADMIN = "bench-admin-token"
TOKEN = "1:bench"
COURSE = "00000000-0000-0000-0000-0000000bc0de"
FIRST_CHAT = 20_000_000
UNLIMITED = 100_000.0

SEED = """
INSERT INTO courses (id, title, description, category, level, language, price, is_published,
                     lessons, thumbnail_emoji)
VALUES ('{course}', 'ड्रिप सिंचाई', 'bench', 'irrigation', 'beginner', 'Hindi', 0, true, 0, '💧');
INSERT INTO users (id, display_name, preferred_language)
SELECT md5('bu' || i)::uuid, 'Farmer ' || i, (ARRAY['hi', 'mr', 'en'])[1 + i % 3]
  FROM generate_series(0, {n} - 1) i;
INSERT INTO channel_identities (user_id, channel, external_id, last_inbound_at)
SELECT md5('bu' || i)::uuid, 'telegram', ({first} + i)::text, now()
  FROM generate_series(0, {n} - 1) i;
INSERT INTO course_enrollments (user_id, course_id, status, enrollment_type)
SELECT md5('bu' || i)::uuid, '{course}', 'enrolled', 'free' FROM generate_series(0, {n} - 1) i;
ANALYZE;
"""


# --- the fake Bot API, in its own process ------------------------------------------------


class StrictFake:
    """Answers sendMessage at once, or 429 when more than `limit` came in the last second."""

    def __init__(self) -> None:
        self.limit: float | None = None
        self.window: deque[float] = deque()
        self.accepted: list[float] = []
        self.violations = 0
        self.chats: Counter[str] = Counter()
        self.ids = 0

    def stats(self) -> dict[str, Any]:
        times = self.accepted
        return {
            "accepted": len(times),
            "violations": self.violations,
            "first": times[0] if times else None,
            "last": times[-1] if times else None,
            "chats": len(self.chats),
            "duplicates": sum(n - 1 for n in self.chats.values() if n > 1),
            "busiest_second": busiest_second(times),
        }

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        path: str = scope["path"]
        status: int = 200
        answer: dict[str, Any] = {"ok": True}
        if path == "/stats":
            answer = self.stats()
        elif path == "/config":
            config = json.loads(body or b"{}")
            self.limit = config.get("limit")
            self.window.clear()
            if config.get("reset"):
                self.accepted.clear()
                self.violations = 0
        elif path.endswith("/getMe"):
            answer = {"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "B"}}
        else:
            status, answer = self.message(body)
        await send(
            {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json")]}
        )  # fmt: skip
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

    def message(self, body: bytes) -> tuple[int, dict[str, Any]]:
        now = time.monotonic()
        if self.limit is not None:
            while self.window and now - self.window[0] >= 1.0:
                self.window.popleft()
            if len(self.window) >= self.limit:
                self.violations += 1
                return 429, {"ok": False, "error_code": 429, "description": "Too Many Requests",
                             "parameters": {"retry_after": 1}}  # fmt: skip
            self.window.append(now)
        self.accepted.append(now)
        text = body.decode(errors="replace")
        params = json.loads(text) if text.startswith("{") else dict(parse_qsl(text))
        chat = str(params.get("chat_id", ""))
        self.chats[chat] += 1
        self.ids += 1
        return 200, {"ok": True, "result": {"message_id": self.ids, "date": int(time.time()),
                                            "chat": {"id": 1, "type": "private"}, "text": ""}}  # fmt: skip


def busiest_second(times: list[float]) -> int:
    """Most accepted calls in any one-second window."""
    best = 0
    for index, at in enumerate(times):
        best = max(best, index - bisect.bisect_right(times, at - 1.0, 0, index) + 1)
    return best


def run_fake(port: int) -> None:
    import uvicorn

    uvicorn.run(StrictFake(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    configured: str
    sent: int
    seconds: float
    rate: float
    busiest_second: int
    violations: int


def service_env(
    url: str, fake_port: int, port: int, rate: float, concurrency: int | None
) -> dict[str, str]:
    tuning = {"SENDER_CONCURRENCY": str(concurrency)} if concurrency else {}
    return {
        **tuning,
        "DATABASE_URL": url,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": "bench-secret",
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{fake_port}/bot",
        "TELEGRAM_RATE_PER_S": str(rate),
        "TWILIO_ACCOUNT_SID": "",
        "ADMIN_API_TOKEN": ADMIN,
        "BROADCAST_QUIET_HOURS": "off",
        "LOG_JSON": "true",
        "DB_POOL_SIZE": "20",
    }


async def seed(url: str, farmers: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            SEED.replace("{n}", str(farmers))
            .replace("{first}", str(FIRST_CHAT))
            .replace("{course}", COURSE)
        )
    finally:
        await conn.close()


async def fake_stats(fake: httpx.AsyncClient) -> dict[str, Any]:
    stats: dict[str, Any] = (await fake.get("/stats")).json()
    return stats


async def requeue_claimed(url: str) -> None:
    """The stopped service's claimed-but-unsent rows go back now, not when their lease
    runs out (what the reaper of the next sender would do two minutes later)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "UPDATE outbound_messages SET status = 'queued', lease_until = NULL"
            " WHERE status = 'sending'"
        )
    finally:
        await conn.close()


async def owed(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM outbound_messages WHERE status IN ('queued', 'sending')"
            )
        )
    finally:
        await conn.close()


async def start_broadcast(url: str, port: int, farmers: int) -> tuple[float, float, float]:
    """POST the broadcast; returns (202 answer time, time until all rows are queued,
    the fan-out job's own time), in seconds."""
    conn = await asyncpg.connect(url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            started = time.perf_counter()
            response = await http.post(
                "/api/v1/broadcasts",
                headers={"Authorization": f"Bearer {ADMIN}"},
                json={"course_id": COURSE,
                      "text": "कल बारिश होगी: आज रात सिंचाई न करें। Rain tomorrow: skip tonight's irrigation."},
            )  # fmt: skip
            answered = time.perf_counter() - started
            response.raise_for_status()
        broadcast = response.json()["id"]
        while True:
            row = await conn.fetchrow(
                "SELECT status, extract(epoch FROM fanned_out_at - created_at) AS job"
                " FROM broadcasts WHERE id = $1",
                broadcast,
            )
            if row["status"] == "queued":
                queued = time.perf_counter() - started
                break
            await asyncio.sleep(0.05)
        rows = await conn.fetchval(
            "SELECT count(*) FROM outbound_messages WHERE broadcast_id = $1", broadcast
        )
        assert rows == farmers, f"{rows} rows for {farmers} farmers"
        return answered, queued, float(row["job"])
    finally:
        await conn.close()


async def measure(
    fake: httpx.AsyncClient, name: str, configured: str, seconds: float, url: str, until_done: bool
) -> Phase:
    """Send rate over `seconds` (or until nothing is owed), from the fake's own clock."""
    before = await fake_stats(fake)
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        await asyncio.sleep(0.5)
        if until_done and await owed(url) == 0:
            break
    after = await fake_stats(fake)
    sent = after["accepted"] - before["accepted"]
    first = before["last"] if before["last"] is not None else after["first"]
    span = (after["last"] or 0.0) - (first or 0.0)
    return Phase(
        name, configured, sent, span, sent / span if span > 0 else 0.0,
        after["busiest_second"], after["violations"] - before["violations"],
    )  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    server = server_url()
    url = await create_database(server)
    fake_port = free_port()
    phases: list[Phase] = []
    try:
        print(f"seeding {args.farmers:,} farmers enrolled in one course …")
        await seed(url, args.farmers)
        rates = [float(r) for r in args.rates.split(",") if r]
        with process([PY, "-m", "bench.broadcast", "--fake", str(fake_port)], {}, fake_port):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{fake_port}") as fake:
                for index, rate in enumerate(rates):
                    await fake.post("/config", json={"limit": rate, "reset": True})
                    port = free_port()
                    env = service_env(url, fake_port, port, rate, args.sender_concurrency)
                    with process([PY, "-m", "bot.cli", "serve", "--port", str(port)], env, port):
                        if index == 0:
                            answered, queued, job = await start_broadcast(url, port, args.farmers)
                            print(f"202 in {answered * 1000:.0f} ms; {args.farmers:,} queued in "
                                  f"{queued:.2f} s (fan-out job {job:.2f} s)")  # fmt: skip
                        await asyncio.sleep(2.0)  # past the first batch
                        phase = await measure(
                            fake, f"limit on, {rate:g}/s", f"{rate:g}/s", args.seconds, url, False
                        )
                        phases.append(phase)
                        print(f"{phase.name}: {phase.rate:.1f}/s, 429s {phase.violations}")
                    await requeue_claimed(url)
                await fake.post("/config", json={"limit": None})
                port = free_port()
                env = service_env(url, fake_port, port, UNLIMITED, args.sender_concurrency)
                serve = [PY, "-m", "bot.cli", "serve", "--port", str(port)]
                with process([*serve, "--workers", str(args.workers)], env, port):
                    left = await owed(url)
                    print(
                        f"limit off ({args.workers} sender process(es)): sending the {left:,} left …"
                    )
                    name = f"limit off, {args.workers} process" + ("es" if args.workers > 1 else "")
                    phases.append(await measure(fake, name, "none", args.max_seconds, url, True))
                final = await fake_stats(fake)
                remaining = await owed(url)
        print()
        print(f"Broadcast to {args.farmers:,} farmers (Telegram; fake Bot API on loopback)")
        print(f"  POST /api/v1/broadcasts answered in {answered * 1000:.0f} ms")
        print(f"  all {args.farmers:,} outbound rows queued in {queued:.2f} s "
              f"(fan-out job {job:.2f} s, {args.farmers / job:,.0f} rows/s)")  # fmt: skip
        print()
        print("| phase | configured | sent | seconds | msg/s | busiest 1 s | 429s |")
        print("|---|---|---|---|---|---|---|")
        for p in phases:
            print(f"| {p.name} | {p.configured} | {p.sent:,} | {p.seconds:.1f} | {p.rate:,.1f} "
                  f"| {p.busiest_second:,} | {p.violations} |")  # fmt: skip
        print()
        print(f"farmers reached: {final['chats']:,} of {args.farmers:,}; "
              f"duplicates: {final['duplicates']}; still owed: {remaining:,}")  # fmt: skip
    finally:
        await drop_database(server, url)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--farmers", type=int, default=100_000)
    parser.add_argument("--rates", default="30,300", help="limited phases, msg/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of a limited phase")
    parser.add_argument("--max-seconds", type=float, default=180.0, help="cap of the last phase")
    parser.add_argument(
        "--sender-concurrency", type=int, help="SENDER_CONCURRENCY of the service (default 32)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="service processes in the unlimited phase"
    )
    parser.add_argument("--fake", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake:
        run_fake(args.fake)
        return
    asyncio.run(main(args))


if __name__ == "__main__":
    cli()
