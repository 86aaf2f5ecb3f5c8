"""The engine's pool: a connection the server closed is replaced at checkout, so the
turn that gets it does not fail (turns use the raw asyncpg connection, whose errors
SQLAlchemy does not take for disconnects)."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy import text

from db.engine import driver_connection, libpq_url, make_engine


async def test_connection_closed_by_the_server_is_replaced_at_checkout(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        # The connection is back in the pool, idle; the server ends it, as a restart would.
        admin = await asyncpg.connect(libpq_url(database_url))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            for _try in range(100):
                gone = not await admin.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid
                )
                if gone:
                    break
                await asyncio.sleep(0.02)
        finally:
            await admin.close()
        await asyncio.sleep(0.1)  # for asyncpg to read the EOF

        # The path of a turn: the raw connection, with no SQLAlchemy statement first.
        async with engine.connect() as conn, conn.begin():
            raw = await driver_connection(conn)
            assert await raw.fetchval("SELECT pg_backend_pid()") != pid
    finally:
        await engine.dispose()
