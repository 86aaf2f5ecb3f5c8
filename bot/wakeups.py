"""Wake-ups across processes: one LISTEN connection per process, kept through restarts.

Within a process, whoever writes work wakes its local workers directly; NOTIFY is
for the workers of other processes, and polling is the backstop for both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

from db.engine import libpq_url

log = logging.getLogger(__name__)

# A NOTIFY payload (the channel whose work was queued, or "") → wake those workers.
OnNotify = Callable[[str], None]


class Listener:
    """LISTENs on some channels and calls their callbacks; reconnects when it must."""

    def __init__(self, database_url: str) -> None:
        self.database_url = libpq_url(database_url)
        self._callbacks: dict[str, list[OnNotify]] = {}
        self._reconnected: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None

    def on(self, channel: str, callback: OnNotify, *, on_reconnect: Callable[[], None]) -> None:
        """`callback(payload)` for each NOTIFY on `channel`; `on_reconnect()` after each
        (re)connection, to catch up on anything queued while we were not listening."""
        self._callbacks.setdefault(channel, []).append(callback)
        self._reconnected.append(on_reconnect)

    def start(self) -> None:
        if self._callbacks and self._task is None:
            self._task = asyncio.create_task(self._listen_forever())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _listen_forever(self) -> None:
        while True:
            try:
                conn = await asyncpg.connect(self.database_url)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("cannot LISTEN yet: %s", exc)
                await asyncio.sleep(1.0)
                continue
            closed = asyncio.Event()
            conn.add_termination_listener(lambda _c, closed=closed: closed.set())
            try:
                for channel, callbacks in self._callbacks.items():

                    def dispatch(
                        _c: object,
                        _pid: int,
                        _channel: str,
                        payload: str,
                        callbacks: list[OnNotify] = callbacks,
                    ) -> None:
                        for callback in callbacks:
                            callback(payload)

                    await conn.add_listener(channel, dispatch)
                for catch_up in self._reconnected:
                    catch_up()
                await closed.wait()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # The server went away between connect and LISTEN: start over, or this
                # process would fall back to polling once a second for good.
                log.warning("LISTEN lost: %s", exc)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await conn.close()
