"""Test database: real PostgreSQL, migrated once with Alembic, a rollback per test.

`TEST_DATABASE_URL` names a server to use (a fresh database is created on it);
without it the embedded PostgreSQL under `.krishi/test-pgdata` is used.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from db.engine import libpq_url, make_engine, start_embedded
from tests.harness import Fakes, Service, start_fakes, start_service

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return libpq_url(url)
    return start_embedded(os.path.join(ROOT, ".krishi", "test-pgdata"))


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def alembic_config(url: str) -> Config:
    cfg = Config(os.path.join(ROOT, "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["skip_logging"] = True
    return cfg


async def _admin(server: str, sql: str) -> None:
    conn = await asyncpg.connect(_with_database(server, "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_server() -> str:
    return _server_url()


@pytest.fixture(scope="session")
def template_database(database_server: str) -> Iterator[str]:
    """A database migrated to head with Alembic once; tests get copies of it."""
    import asyncio

    name = f"krishi_tmpl_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(database_server, f'CREATE DATABASE "{name}"'))
    command.upgrade(alembic_config(_with_database(database_server, name)), "head")
    yield name
    asyncio.run(_admin(database_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def clone_database(server: str, template: str) -> str:
    name = f"krishi_test_{uuid.uuid4().hex[:10]}"
    await _admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


@pytest.fixture(scope="session")
def database_url(database_server: str, template_database: str) -> Iterator[str]:
    """The shared database of the rollback-isolated tests."""
    import asyncio

    name = asyncio.run(clone_database(database_server, template_database))
    yield _with_database(database_server, name)
    asyncio.run(_admin(database_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def fresh_database_url(database_server: str, template_database: str) -> AsyncIterator[str]:
    """A database of this test's own, for tests whose turns really commit."""
    name = await clone_database(database_server, template_database)
    yield _with_database(database_server, name)
    await _admin(database_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(database_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture
async def db_conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        yield conn
        await trans.rollback()


@pytest.fixture
async def db(db_conn: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session whose commits become savepoints of the rolled-back test transaction."""
    session = AsyncSession(bind=db_conn, join_transaction_mode="create_savepoint")
    yield session
    await session.close()


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    async with start_fakes() as running:
        yield running


@pytest.fixture
async def service(fresh_database_url: str, fakes: Fakes) -> AsyncIterator[Service]:
    """The whole service on a real port, its own database, fake providers behind it."""
    async with start_service(fresh_database_url, fakes) as running:
        yield running


_DATABASE_FIXTURES = {
    "database_url",
    "db",
    "db_conn",
    "engine",
    "fresh_database_url",
    "service",
    "template_database",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that touches PostgreSQL is marked `db`, so CI can rerun them on another server."""
    for item in items:
        if _DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A run that collected nothing must not pass for a green one.
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
