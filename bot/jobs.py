"""Background jobs on the same PostgreSQL, with pgqueuer.

A job is enqueued inside the transaction of the event that causes it (a quiz
with a time limit, a purchase that may need reconciling, a broadcast), so it
exists exactly when that event committed. Recurring work (daily reminders,
reconciliation) is a pgqueuer schedule. Any number of processes may run jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from pgqueuer import AsyncpgDriver, Job, PgQueuer, Queries
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime
from db.engine import libpq_url

log = logging.getLogger(__name__)

JobHandler = Callable[[Runtime, dict[str, Any]], Awaitable[None]]
ScheduleHandler = Callable[[Runtime], Awaitable[None]]


@dataclass
class JobRegistry:
    """Entrypoints and schedules, registered by the features that own them."""

    entrypoints: dict[str, JobHandler] = field(default_factory=dict)
    schedules: dict[str, tuple[str, ScheduleHandler]] = field(default_factory=dict)

    def job(self, name: str) -> Callable[[JobHandler], JobHandler]:
        def register(handler: JobHandler) -> JobHandler:
            self.entrypoints[name] = handler
            return handler

        return register

    def every(self, name: str, cron: str) -> Callable[[ScheduleHandler], ScheduleHandler]:
        def register(handler: ScheduleHandler) -> ScheduleHandler:
            self.schedules[name] = (cron, handler)
            return handler

        return register


JOBS = JobRegistry()


async def enqueue(
    session: AsyncSession,
    entrypoint: str,
    payload: dict[str, Any],
    *,
    after: dt.timedelta | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Enqueue a job in the session's own transaction: it exists only if the turn commits."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = AsyncpgDriver(raw.driver_connection)
    await Queries(driver).enqueue(
        entrypoint,
        orjson.dumps(payload),
        execute_after=after,
        dedupe_key=dedupe_key,
        on_conflict="skip",
    )


def _load_features() -> None:
    """Import the modules that register jobs, so a worker knows every entrypoint."""
    import bot.retention  # noqa: F401
    import handlers.router  # noqa: F401  (features register their jobs on import)


class JobRunner:
    """Runs pgqueuer in this process; reconnects when the database goes away."""

    def __init__(self, runtime: Runtime, registry: JobRegistry = JOBS) -> None:
        self.runtime = runtime
        self.registry = registry
        self._task: asyncio.Task[None] | None = None
        self._queuer: PgQueuer | None = None

    def _bind(self, queuer: PgQueuer) -> None:
        rt = self.runtime
        for name, handler in self.registry.entrypoints.items():

            async def run_job(job: Job, handler: JobHandler = handler, name: str = name) -> None:
                payload = orjson.loads(job.payload) if job.payload else {}
                try:
                    await handler(rt, payload)
                except Exception:
                    log.exception("job %s failed", name)
                    raise

            queuer.entrypoint(name)(run_job)
        for name, (cron, schedule_handler) in self.registry.schedules.items():

            async def run_schedule(
                _schedule: Any, handler: ScheduleHandler = schedule_handler
            ) -> None:
                await handler(rt)

            queuer.schedule(name, cron)(run_schedule)

    async def _run_forever(self) -> None:
        url = libpq_url(self.runtime.database_url)
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(url)
                self._queuer = PgQueuer.from_asyncpg_connection(connection)
                self._bind(self._queuer)
                await self._queuer.run(dequeue_timeout=dt.timedelta(seconds=5))
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("jobs: runner stopped (%s); restarting", exc)
                await asyncio.sleep(1.0)
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await connection.close()

    def start(self) -> None:
        _load_features()
        if self.registry.entrypoints or self.registry.schedules:
            self._task = asyncio.create_task(self._run_forever())

    async def stop(self) -> None:
        if self._queuer is not None:
            self._queuer.shutdown.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
