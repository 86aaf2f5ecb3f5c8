"""What a running process holds: settings, the database, and the sender."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.inbox import InboxRecorder
from bot.settings import Settings
from db.engine import make_engine, make_sessionmaker, resolve_database_url

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    database_url: str
    embedded: bool
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # Set when this process runs turn workers: wakes them in-process for a new message.
    wake_turns: Callable[[], None] | None = field(default=None)
    # Set by the app: records webhook messages in the inbox (bot.inbox.InboxRecorder).
    inbox: InboxRecorder | None = field(default=None)

    @classmethod
    def open(
        cls, settings: Settings, database_url: str | None = None, *, embedded: bool = False
    ) -> Runtime:
        """Connect to `database_url` (already resolved: `embedded` says what it is),
        else to DATABASE_URL, else to the embedded PostgreSQL."""
        if database_url:
            url = database_url
        else:
            url, embedded = resolve_database_url(settings.database_url, settings.embedded_pgdata)
        engine = make_engine(url, pool_size=settings.db_pool_size)
        return cls(settings, url, embedded, engine, make_sessionmaker(engine))

    async def close(self) -> None:
        await self.engine.dispose()


def runtime_of(request: Request) -> Runtime:
    """The process's Runtime, as the app's lifespan opened it."""
    rt: Runtime = request.app.state.runtime
    return rt


async def current_runtime(request: Request) -> Runtime:
    # An async dependency: FastAPI would run a plain `def` one in a thread, per request.
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(current_runtime)]


class RefusedAfterWork(HTTPException):
    """A refusal that keeps what the request wrote: the attempt was audited, say."""


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one unit of work: a session in one transaction, committed when the
    route returns and before its response is sent (scope "function"), rolled back when
    it raises (except a RefusedAfterWork). Code below the route flushes, never commits."""
    async with runtime_of(request).sessionmaker() as session:
        await session.begin()
        try:
            yield session
        except RefusedAfterWork:
            await session.commit()
            raise
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


UnitOfWork = Annotated[AsyncSession, Depends(unit_of_work, scope="function")]
