"""Run a command with SCRATCH_DATABASE_URL set to a new, empty database, then drop it.

    python -m tests.scratch_db -- COMMAND...

Uses TEST_DATABASE_URL's server if set, else the embedded PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import asyncpg

from tests.conftest import _server_url, _with_database


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(_with_database(server, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main(argv: list[str]) -> int:
    command = argv[1:] if argv and argv[0] == "--" else argv
    server = _server_url()
    name = f"krishi_scratch_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        env = dict(os.environ, SCRATCH_DATABASE_URL=_with_database(server, name))
        return subprocess.call(command, env=env)
    finally:
        asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
