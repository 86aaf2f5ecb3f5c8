"""What runs beside the web app (`krishi serve`) or alone (`krishi worker`): the turn
workers, the sender and the job runner, with the one LISTEN connection they share."""

from __future__ import annotations

# The engine's jobs and the retention schedule register when their modules load.
import bot.broadcasts
import bot.payments.links
import bot.retention  # noqa: F401
from bot.jobs import JobRunner
from bot.runtime import Runtime
from bot.sender import Sender, build_sender
from bot.turns import TurnWorkers
from bot.wakeups import Listener


class Workers:
    """Turn workers, sender and jobs of one process. Any number of processes may run
    them against one database: rows are shared with SKIP LOCKED, wake-ups are
    in-process here and NOTIFY across processes, with polling as the backstop."""

    def __init__(self, rt: Runtime) -> None:
        settings = rt.settings
        self.listener = Listener(rt.database_url)
        self.sender: Sender = build_sender(rt.engine, settings)
        if not settings.sender_enabled:
            self.sender.workers = []  # turns answered, replies left queued (benchmarks)
        self.sender.listen(self.listener)
        self.turns = TurnWorkers(
            rt.engine,
            settings,
            # This process's own sender is woken directly for its turns' replies;
            # a NOTIFY would wake every sender of every process to race for them.
            wake_sender=self.sender.wake if self.sender.workers else None,
            count=settings.turn_workers,
        )
        self.turns.listen(self.listener)
        self.jobs = JobRunner(rt)
        rt.wake_turns = self.turns.poke

    def start(self) -> None:
        self.listener.start()
        self.sender.start()
        self.turns.start()
        self.jobs.start()

    async def stop(self) -> None:
        await self.jobs.stop()
        await self.turns.stop()
        await self.sender.stop()
        await self.listener.stop()
