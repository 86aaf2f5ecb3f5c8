"""Background jobs on the same PostgreSQL, with pgqueuer.

A job is enqueued inside the transaction of the event that causes it (a quiz
with a time limit, a purchase that may need reconciling, a broadcast), so it
exists exactly when that event committed. Recurring work (daily reminders,
reconciliation) is a pgqueuer schedule. Any number of processes may run jobs.

The runner is a job's boundary: a feature's job (handlers.jobs.JOBS) gets one unit of
work opened and committed here, and is called again in a fresh one while it says it
has more to do. The engine's own jobs (ENGINE_JOBS) get the Runtime instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import orjson
from pgqueuer import Job, PgQueuer

import handlers.router  # noqa: F401  (features register their jobs on import)
from bot.runtime import Runtime
from db.engine import libpq_url
from handlers.jobs import JOBS, JobHandler, JobRegistry, ScheduleHandler, Work

log = logging.getLogger(__name__)
T = TypeVar("T")

# The engine's jobs (bot.broadcasts, bot.payments.links; bot.workers imports them):
# they call a provider between transactions (commit, call, record) or run several
# transactions side by side, so they get the Runtime and open their own. Every other
# job is a feature's, in handlers.jobs.JOBS.
ENGINE_JOBS: JobRegistry[Runtime] = JobRegistry()


async def in_unit(runtime: Runtime, work: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T:
    """One call of a feature's job function in one unit of work, committed here."""
    async with runtime.sessionmaker() as session, session.begin():
        return await work(Work(session, runtime.settings), *args, **kw)


async def run_in_units(
    runtime: Runtime, work: Callable[..., Awaitable[bool | None]], *args: Any
) -> None:
    """Run a feature's job in one unit of work, committed here; again while it says
    there is more (a backlog done a batch per transaction)."""
    while True:
        async with runtime.sessionmaker() as session, session.begin():
            more = await work(Work(session, runtime.settings), *args)
        if not more:
            return


def _in_units(handler: JobHandler[Work]) -> JobHandler[Runtime]:
    async def run(runtime: Runtime, payload: dict[str, Any]) -> None:
        await run_in_units(runtime, handler, payload)

    return run


def _scheduled_in_units(handler: ScheduleHandler[Work]) -> ScheduleHandler[Runtime]:
    async def run(runtime: Runtime) -> None:
        await run_in_units(runtime, handler)

    return run


class JobRunner:
    """Runs pgqueuer in this process; reconnects when the database goes away."""

    def __init__(
        self,
        runtime: Runtime,
        registry: JobRegistry[Work] = JOBS,
        engine: JobRegistry[Runtime] = ENGINE_JOBS,
    ) -> None:
        self.runtime = runtime
        self.registry = registry
        self.engine = engine
        self._task: asyncio.Task[None] | None = None
        self._queuer: PgQueuer | None = None

    def _bind(self, queuer: PgQueuer) -> None:
        rt = self.runtime
        entrypoints: dict[str, JobHandler[Runtime]] = dict(self.engine.entrypoints)
        for name, handler in self.registry.entrypoints.items():
            entrypoints[name] = _in_units(handler)
        schedules: dict[str, tuple[str, ScheduleHandler[Runtime]]] = dict(self.engine.schedules)
        for name, (cron, scheduled) in self.registry.schedules.items():
            schedules[name] = (cron, _scheduled_in_units(scheduled))
        for name, entry in entrypoints.items():

            async def run_job(
                job: Job, handler: JobHandler[Runtime] = entry, name: str = name
            ) -> None:
                payload = orjson.loads(job.payload) if job.payload else {}
                try:
                    await handler(rt, payload)
                except Exception:
                    log.exception("job %s failed", name)
                    raise

            queuer.entrypoint(name)(run_job)
        for name, (cron, schedule_handler) in schedules.items():

            async def run_schedule(
                _schedule: Any, handler: ScheduleHandler[Runtime] = schedule_handler
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
        if self.registry.entrypoints or self.registry.schedules or self.engine.entrypoints:
            self._task = asyncio.create_task(self._run_forever())

    async def stop(self) -> None:
        if self._queuer is not None:
            self._queuer.shutdown.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
