"""Shared pieces of the benchmarks: a database, processes, a fake provider, percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def server_url() -> str:
    """BENCH_DATABASE_URL's server, else the embedded PostgreSQL under .krishi/bench-pgdata."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    from db.engine import start_embedded

    return start_embedded(str(ROOT / ".krishi" / "bench-pgdata"))


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


async def create_database(server: str) -> str:
    name = f"krishi_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(with_database(server, "postgres"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = with_database(server, name)
    await asyncio.to_thread(
        subprocess.run,
        [PY, "-m", "alembic", "-x", f"url={url}", "upgrade", "head"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return url


async def drop_database(server: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(with_database(server, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


LOGS = ROOT / "bench" / "results"


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server process until the block ends; its output goes to bench/results/."""
    LOGS.mkdir(exist_ok=True)
    name = Path(args[2]).name.replace(":", "_") + (f"-{port}" if port else f"-{args[-1]}")
    log = (LOGS / f"{name}.log").open("wb")
    proc = subprocess.Popen(
        args, env={**os.environ, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        if port:  # 0: a process that serves no port (a `krishi worker`)
            wait_for_port(port)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


async def read_body(receive: Any) -> bytes:
    """The whole request body of a bare ASGI app (the fakes: no framework, fewer cycles)."""
    body = b""
    while True:
        message = await receive()
        body += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return body


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def sleep_until(t: float) -> None:
    delay = t - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)
