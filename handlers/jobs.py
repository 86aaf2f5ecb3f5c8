"""The jobs the conversations and domain services own, and what each one receives.

A job runs in one unit of work that the job runner (bot/jobs.py) opens: the
handler gets the session and the settings, flushes, and never commits. A job
that works through a backlog a batch at a time returns `True` while there is
more: the runner commits that batch and calls it again in a fresh transaction,
so a long run never holds one huge transaction open.

Jobs that must call a provider between transactions (commit, call, record) or
that run several transactions side by side belong to the engine (bot/), which
registers them in its own registry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings


@dataclass(frozen=True, slots=True)
class Work:
    """One unit of work of a job: the runner opened the transaction and commits it."""

    session: AsyncSession
    settings: Settings


C = TypeVar("C")
# `True`: more to do, call again in a new unit of work.
JobHandler = Callable[[C, dict[str, Any]], Awaitable[bool | None]]
ScheduleHandler = Callable[[C], Awaitable[bool | None]]


@dataclass
class JobRegistry(Generic[C]):
    """Entrypoints and schedules, registered by the features that own them."""

    entrypoints: dict[str, JobHandler[C]] = field(default_factory=dict)
    schedules: dict[str, tuple[str, ScheduleHandler[C]]] = field(default_factory=dict)

    def job(self, name: str) -> Callable[[JobHandler[C]], JobHandler[C]]:
        def register(handler: JobHandler[C]) -> JobHandler[C]:
            self.entrypoints[name] = handler
            return handler

        return register

    def every(self, name: str, cron: str) -> Callable[[ScheduleHandler[C]], ScheduleHandler[C]]:
        def register(handler: ScheduleHandler[C]) -> ScheduleHandler[C]:
            self.schedules[name] = (cron, handler)
            return handler

        return register


JOBS: JobRegistry[Work] = JobRegistry()
