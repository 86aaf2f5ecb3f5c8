"""Inbound turns/s and latency, beside a bare FastAPI endpoint, plus reply latency.

    .venv/bin/python -m bench.inbound [--seconds 10] [--users 10000]

Needs `wrk` (Debian: apt-get install wrk). Uses BENCH_DATABASE_URL's server, or
the embedded PostgreSQL. Prints a table; bench/README.md records the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import time
from dataclasses import dataclass

import aiohttp
import asyncpg
import httpx
import uvloop

from bench.common import (
    PY,
    ROOT,
    create_database,
    drop_database,
    free_port,
    percentile,
    process,
    server_url,
    sleep_until,
)

SECRET = "bench-secret"
TOKEN = "1:bench"
FIRST_CHAT = 7_000_000


@dataclass
class Run:
    name: str
    workers: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


SEED = """
INSERT INTO users (id, display_name, preferred_language)
SELECT md5('u' || i)::uuid, 'Farmer ' || i, 'hi' FROM generate_series(0, {n} - 1) i;
INSERT INTO channel_identities (user_id, channel, external_id, last_inbound_at)
SELECT md5('u' || i)::uuid, 'telegram', ({first} + i)::text, now() FROM generate_series(0, {n} - 1) i;
INSERT INTO courses (id, title, description, category, level, language, price, is_published, lessons)
VALUES ('00000000-0000-0000-0000-00000000c0de', 'बेंच कोर्स', 'bench', 'irrigation', 'beginner',
        'Hindi', 0, true, 1);
INSERT INTO course_lessons (id, course_id, title, order_index, content_type)
VALUES ('00000000-0000-0000-0000-0000000001e5', '00000000-0000-0000-0000-00000000c0de', 'quiz', 1, 'quiz');
INSERT INTO quizzes (id, course_id, lesson_id, title, passing_score, is_required)
VALUES ('00000000-0000-0000-0000-00000000901a', '00000000-0000-0000-0000-00000000c0de',
        '00000000-0000-0000-0000-0000000001e5', 'बेंच प्रश्नोत्तरी', 70, true);
INSERT INTO quiz_questions (id, quiz_id, question_type, question_text, options, points, order_index)
SELECT md5('q' || j)::uuid, '00000000-0000-0000-0000-00000000901a', 'multiple_choice',
       'प्रश्न ' || j || ': ड्रिप से कितना पानी बचता है?',
       '[{"text": "30-50%", "is_correct": true}, {"text": "कुछ नहीं", "is_correct": false}]', 1, j
  FROM generate_series(1, {questions}) j;
INSERT INTO course_enrollments (user_id, course_id, status, enrollment_type)
SELECT md5('u' || i)::uuid, '00000000-0000-0000-0000-00000000c0de', 'in_progress', 'free'
  FROM generate_series(0, {n} - 1) i;
INSERT INTO quiz_attempts (id, user_id, quiz_id, attempt_number)
SELECT md5('a' || i)::uuid, md5('u' || i)::uuid, '00000000-0000-0000-0000-00000000901a', 1
  FROM generate_series(0, {n} - 1) i;
INSERT INTO quiz_attempt_progress (attempt_id, user_id, quiz_id, question_ids)
SELECT md5('a' || i)::uuid, md5('u' || i)::uuid, '00000000-0000-0000-0000-00000000901a',
       (SELECT array_agg(md5('q' || j)::uuid ORDER BY j) FROM generate_series(1, {questions}) j)
  FROM generate_series(0, {n} - 1) i;
INSERT INTO conversations (user_id, state, data)
SELECT md5('u' || i)::uuid, 'quiz_question',
       jsonb_build_object('attempt', md5('a' || i)::uuid::text,
                          '_menu', jsonb_build_array('qa:' || md5('a' || i)::uuid || ':0:0',
                                                     'qa:' || md5('a' || i)::uuid || ':0:1'))
  FROM generate_series(0, {n} - 1) i;
"""


async def seed(url: str, users: int, questions: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        sql = SEED.replace("{n}", str(users)).replace("{first}", str(FIRST_CHAT))
        await conn.execute(sql.replace("{questions}", str(questions)))
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def wrk(
    port: int, seconds: int, users: int, text: str, base: int, first: int = 0
) -> tuple[float, float, float, int]:
    out = subprocess.run(
        ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-s", str(ROOT / "bench" / "inbound.lua"),
         f"http://127.0.0.1:{port}", "--", str(base), str(users), text, str(first)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def latency(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    print(f"   wrk {text!r}: {rps:.0f}/s")
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        print("   socket errors:", socket_errors.group(1))
    return rps, latency("50"), latency("99"), int(errors.group(1)) if errors else 0


def krishi_env(url: str, telegram_port: int, sender: bool) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{telegram_port}/bot",
        "TELEGRAM_RATE_PER_S": "100000",
        "TELEGRAM_CHAT_BURST": "1000",
        "RUN_SENDER": "true" if sender else "false",
        "LOG_JSON": "true",
        "DB_POOL_SIZE": "20",
    }


def message(update_id: int, chat: int, text: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 1700000000, "text": text,
                    "chat": {"id": chat, "type": "private"},
                    "from": {"id": chat, "is_bot": False, "first_name": "F", "language_code": "hi"}},
    }  # fmt: skip


async def open_loop(
    port: int, rate: float, seconds: float, first_chat: int, base: int, distinct: bool
) -> tuple[list[float], dict[int, float]]:
    """Offer `rate` requests/s regardless of answers (an open loop), measuring each."""
    latencies: list[float] = []
    failures: list[str] = []
    sent_at: dict[int, float] = {}
    # aiohttp, not httpx: httpcore's pool polls every pooled connection per request,
    # and at 300/s with a hundred connections open the client would eat the cores.
    async with aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{port}",
        connector=aiohttp.TCPConnector(limit=200),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    ) as client:

        async def one(i: int) -> None:
            chat = first_chat + (i if distinct else i % 10_000)
            body = json.dumps(message(base + i, chat, "/help"))
            started = time.perf_counter()
            sent_at[chat] = time.time()
            try:
                async with client.post("/webhooks/telegram", data=body) as response:
                    await response.read()
                    response.raise_for_status()
            except aiohttp.ClientError as exc:
                failures.append(type(exc).__name__)
                return
            latencies.append((time.perf_counter() - started) * 1000)

        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            await sleep_until(start + i / rate)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    if failures:
        print(f"   open loop at {rate}/s: {len(failures)} failed ({sorted(set(failures))})")
    return latencies, sent_at


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--latency-only", action="store_true", help="skip the wrk runs")
    args = parser.parse_args()

    server = server_url()
    url = await create_database(server)
    runs: list[Run] = []
    try:
        # The first half of the farmers send /help; the second half are mid-quiz.
        await seed(url, 2 * args.users, questions=400)
        telegram_port = free_port()
        fake = [PY, "-m", "uvicorn", "bench.fake_telegram:app", "--port", str(telegram_port),
                "--log-level", "warning", "--no-access-log"]  # fmt: skip
        with process(fake, {}, telegram_port):
            base = int(time.time()) * 1000
            for workers in () if args.latency_only else (1, 2):
                port = free_port()
                bare_cmd = [PY, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port),
                        "--workers", str(workers), "--log-level", "warning", "--no-access-log"]  # fmt: skip
                with process(bare_cmd, {}, port):
                    wrk(port, 2, args.users, "/help", base)  # warm up
                    runs.append(
                        Run(
                            "bare FastAPI JSON",
                            workers,
                            *wrk(port, args.seconds, args.users, "/help", base),
                        )
                    )
                for sender in (False, True):
                    port = free_port()
                    serve = [
                        PY,
                        "-m",
                        "bot.cli",
                        "serve",
                        "--port",
                        str(port),
                        "--workers",
                        str(workers),
                    ]
                    with process(serve, krishi_env(url, telegram_port, sender), port):
                        base += 100_000_000
                        wrk(port, 2, args.users, "/help", base)  # warm up
                        label = "sender on" if sender else "sender off"
                        base += 100_000_000
                        runs.append(
                            Run(
                                f"/help turn ({label})",
                                workers,
                                *wrk(port, args.seconds, args.users, "/help", base),
                            )
                        )
                        base += 100_000_000
                        runs.append(
                            Run(
                                f"quiz answer turn ({label})",
                                workers,
                                *wrk(port, args.seconds, args.users, "1", base, first=args.users),
                            )
                        )

            # Replies the wrk runs queued would be sent before new ones: drop that backlog.
            conn = await asyncpg.connect(url)
            await conn.execute(
                "UPDATE outbound_messages SET status = 'skipped', error = 'bench backlog'"
                " WHERE status IN ('queued', 'sending')"
            )
            await conn.close()
            # Latency at 300/s offered, and reply latency (POST → fake provider) at 50/s.
            port = free_port()
            serve = [PY, "-m", "bot.cli", "serve", "--port", str(port), "--workers", "2"]
            with process(serve, krishi_env(url, telegram_port, True), port):
                base += 100_000_000
                await open_loop(port, 100, 2, FIRST_CHAT, base, distinct=False)
                # Reply latency first, while the sender has no backlog: new farmers at 50/s.
                base += 100_000_000
                fresh = FIRST_CHAT + 1_000_000
                _, sent = await open_loop(port, 50, args.seconds, fresh, base, distinct=True)
                await asyncio.sleep(3)
                async with httpx.AsyncClient() as client:
                    arrivals = (
                        await client.get(f"http://127.0.0.1:{telegram_port}/arrivals")
                    ).json()
                reply = [
                    (arrivals[str(c)] - t) * 1000 for c, t in sent.items() if str(c) in arrivals
                ]
                base += 100_000_000
                lat, _ = await open_loop(port, 300, args.seconds, FIRST_CHAT, base, distinct=False)
    finally:
        await drop_database(server, url)

    bare = {r.workers: r.rps for r in runs if r.name.startswith("bare")} or {0: 1.0}
    print(
        f"\n{'scenario':34} {'web':>3} {'turns/s':>9} {'vs bare':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}"
    )
    for r in runs:
        ratio = r.rps / bare[r.workers]
        print(
            f"{r.name:34} {r.workers:>3} {r.rps:>9.0f} {ratio:>8.2f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} {r.errors:>8}"
        )
    print(
        f"\nopen loop, 300/s offered, /help, 2 web: p50 {percentile(lat, 50):.1f} ms, "
        f"p99 {percentile(lat, 99):.1f} ms ({len(lat)} requests)"
    )
    print(
        f"reply latency (POST → fake Telegram), 50/s, 2 web: p50 {percentile(reply, 50):.1f} ms, "
        f"p99 {percentile(reply, 99):.1f} ms ({len(reply)} of {len(sent)} replies)"
    )


if __name__ == "__main__":
    uvloop.run(main())  # the load generator wastes less of the shared cores
