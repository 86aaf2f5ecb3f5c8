"""The sender alone: CPU per message and msg/s, with the channel's limit lifted.

    .venv/bin/python -m bench.sender_cpu [--messages 20000]

To see where the time goes: `py-spy record --format raw -o out.txt -- <that command>`.

Queues `--messages` broadcast rows to as many Telegram farmers in a fresh database
(BENCH_DATABASE_URL's server, else the embedded PostgreSQL), starts the fake Bot API
of bench.broadcast in its own process, and runs the real sender (`build_sender`) in
this process until nothing is owed. The CPU time is this process's own, so the
figure does not move with what the fake or PostgreSQL cost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import asyncpg
import httpx

from bench.broadcast import TOKEN
from bench.common import PY, create_database, drop_database, free_port, process, server_url

SEED = """
INSERT INTO users (id, display_name, preferred_language)
SELECT md5('su' || i)::uuid, 'Farmer ' || i, 'hi' FROM generate_series(0, {n} - 1) i;
INSERT INTO channel_identities (user_id, channel, external_id, last_inbound_at)
SELECT md5('su' || i)::uuid, 'telegram', (30000000 + i)::text, now()
  FROM generate_series(0, {n} - 1) i;
INSERT INTO outbound_messages (user_id, identity_id, channel, kind, body)
SELECT ci.user_id, ci.id, 'telegram', 'broadcast',
       jsonb_build_object('text', '📢 ड्रिप सिंचाई: कल सुबह 7 बजे नया पाठ आएगा।',
                          'options', jsonb_build_array(
                              jsonb_build_object('label', 'पाठ खोलें', 'payload', 'lesson:1')))
  FROM channel_identities ci;
ANALYZE;
"""


async def owed(conn: asyncpg.Connection) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM outbound_messages WHERE status IN ('queued', 'sending')"
        )
    )


async def main(args: argparse.Namespace) -> None:
    from bot.sender import build_sender
    from bot.settings import Settings
    from db.engine import make_engine

    os.environ["BROADCAST_QUIET_HOURS"] = "off"  # a broadcast row is sent at any hour
    server = server_url()
    url = await create_database(server)
    fake_port = free_port()
    try:
        seed = await asyncpg.connect(url)
        await seed.execute(SEED.replace("{n}", str(args.messages)))
        with process([PY, "-m", "bench.broadcast", "--fake", str(fake_port)], {}, fake_port):
            settings = Settings(
                database_url=url,
                telegram_bot_token=TOKEN,
                telegram_webhook_secret="bench-secret",
                telegram_api_base_url=f"http://127.0.0.1:{fake_port}/bot",
                telegram_rate_per_s=100_000.0,
                twilio_account_sid=None,
            )
            engine = make_engine(url)
            sender = build_sender(engine, settings)
            cpu, wall = time.process_time(), time.perf_counter()
            sender.start()
            while True:
                await asyncio.sleep(0.2)
                if not await owed(seed):
                    break
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            await sender.stop()
            await engine.dispose()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{fake_port}") as fake:
                stats = (await fake.get("/stats")).json()
        await seed.close()
        n = args.messages
        print("| messages | wall s | msg/s | CPU ms/msg | duplicates |")
        print("|---|---|---|---|---|")
        print(
            f"| {n:,} | {wall:.1f} | {n / wall:,.0f} | {cpu / n * 1000:.2f} "
            f"| {stats['duplicates']} |"
        )
        assert stats["accepted"] == n, stats
    finally:
        await drop_database(server, url)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=20_000)
    import uvloop

    # The sender runs on uvloop in `krishi serve` (uvicorn's loop) and `krishi worker`.
    uvloop.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
