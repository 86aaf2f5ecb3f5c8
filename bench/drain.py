"""How fast turn workers answer a recorded backlog, with nothing else on the box.

    .venv/bin/python -m bench.drain [--messages 20000] [--text /help] [--workers 1]
                                    [--profile bench/results/drain.svg]

The inbox is filled straight in SQL (as the webhooks would have recorded it), then
`--workers` `krishi worker` processes (sender off) answer it; the figure is turns/s.
With --profile, the first worker runs under py-spy (`pip install py-spy`), which is
how bench/README.md says where a turn's time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import uvloop

from bench.common import PY, create_database, drop_database, process, server_url
from bench.inbound import FIRST_CHAT, krishi_env, seed
from bench.spine import seed_extra

FILL = """
INSERT INTO inbox (channel, provider_message_id, address, message)
SELECT 'telegram', 'drain-' || n, (({first} + (n % {users})))::text,
       jsonb_build_object('channel', 'telegram', 'external_user_id', ({first} + (n % {users}))::text,
                          'external_message_id', 'drain-' || n, 'text', $1::text,
                          'language_hint', 'hi')
  FROM generate_series(0, {messages} - 1) n
"""


async def pending(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM inbox WHERE status = 'pending'"))
    finally:
        await conn.close()


@contextlib.contextmanager
def workers(url: str, count: int, profile: str | None) -> Iterator[None]:
    env = {**krishi_env(url, 9, True), "SENDER_ENABLED": "false"}
    with contextlib.ExitStack() as stack:
        for index in range(count):
            command = [PY, "-m", "bot.cli", "worker"]
            if profile and index == 0:
                spy = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
                # Stops itself after 15 s and writes collapsed stacks (a SIGTERM would not).
                spy_args = ["record", "-o", profile, "-r", "200", "-d", "15", "-f", "raw"]
                command = [spy, *spy_args, "--", *command]
            stack.enter_context(process(command, env, 0))
        yield


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--text", default="/help")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--profile")
    args = parser.parse_args()
    server = server_url()
    url = await create_database(server)
    try:
        await seed(url, 2 * args.users, questions=400)
        await seed_extra(url, args.users)
        first = FIRST_CHAT + (args.users if args.text != "/help" else 0)
        conn = await asyncpg.connect(url)
        sql = FILL.format(first=first, users=args.users, messages=args.messages)
        await conn.execute(sql, args.text)
        await conn.execute("ANALYZE inbox")
        await conn.close()
        total = await pending(url)
        with workers(url, args.workers, args.profile):
            started = time.monotonic()
            while (left := await pending(url)) > 0:
                await asyncio.sleep(0.25)
                if time.monotonic() - started > 600:
                    raise TimeoutError(f"{left} still pending")
            seconds = time.monotonic() - started
    finally:
        await drop_database(server, url)
    print(
        f"{total} {args.text!r} turns answered by {args.workers} worker(s) in {seconds:.1f} s:"
        f" {total / seconds:.0f} turns/s (includes the workers' start, ~1 s)"
    )


if __name__ == "__main__":
    uvloop.run(main())
