"""SQL round trips per kind of turn, counted on the wire (asyncpg's query logger).

    .venv/bin/python -m bench.round_trips

Each turn is a real `run_turn` against a migrated database with the demo
catalogue; BEGIN and COMMIT are counted as the round trips they are.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from sqlalchemy import event

from bench.common import create_database, drop_database, server_url
from bot.content import DEMO_FILE, read_catalogue, stable_id
from bot.content.load import load_catalogue
from bot.messages import Inbound
from bot.runtime import Runtime
from bot.settings import Settings
from bot.turns import TurnWorkers


async def main() -> None:
    server = server_url()
    url = await create_database(server)
    statements: list[str] = []
    try:
        rt = Runtime.open(Settings(_env_file=None, database_url=url, db_pool_size=2))

        @event.listens_for(rt.engine.sync_engine, "before_cursor_execute")
        def log_orm(_c: Any, _cur: Any, statement: str, *_args: Any) -> None:
            statements.append(" ".join(statement.split())[:90])

        # The turn's own hot statements go to asyncpg directly: log those on the driver.
        @event.listens_for(rt.engine.sync_engine, "connect")
        def log_queries(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.driver_connection.add_query_logger(
                lambda record: statements.append(" ".join(record.query.split())[:90])
            )

        async with rt.sessionmaker() as session, session.begin():
            await load_catalogue(session, read_catalogue(DEMO_FILE))

        chat = "9100000001"
        turns = TurnWorkers(rt.engine, rt.settings, wake_sender=None)

        async def turn(
            label: str, text: str = "", payload: str | None = None, event_id: str | None = None
        ) -> tuple[str, list[str]]:
            statements.clear()
            inbound = Inbound(
                channel="telegram", external_user_id=chat,
                external_message_id=event_id or uuid.uuid4().hex,
                text=text, payload=payload, language_hint="hi",
            )  # fmt: skip
            await turns.answer_now(inbound)
            # SQLAlchemy's asyncpg adapter asks for the server version and types once per
            # new connection; those are not part of a turn.
            return label, [
                s for s in statements if not s.startswith(("select pg_catalog", "SELECT t.oid"))
            ]

        course = stable_id("course", "soil-testing-hi")
        first_lesson = stable_id("lesson", "soil-testing-hi-1")
        rows = [
            await turn("first message (new farmer)", "/start"),
            await turn("/help", "/help", event_id="help-once"),
            await turn("choose language (button)", payload="lang:hi"),
            await turn("/courses", "/courses"),
            await turn("open a course card", payload=f"course:{course}"),
            await turn("enrol (+ first lesson)", payload=f"enroll:{course}"),
            await turn("lesson done (+ next lesson)", payload=f"next:{first_lesson}"),
            await turn("search (free text)", "मिट्टी की जाँच"),
            await turn("duplicate delivery", "/help", event_id="help-once"),
        ]
        await rt.close()
    finally:
        await drop_database(server, url)

    print(f"\n{'turn':32} {'round trips':>11}   statements")
    for label, sent in rows:
        print(f"{label:32} {len(sent):>11}   " + " | ".join(s.split(" AS ")[0][:40] for s in sent))


if __name__ == "__main__":
    time.sleep(0)
    asyncio.run(main())
