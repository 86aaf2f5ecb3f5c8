"""The `krishi` command."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
import uvicorn
import uvloop
from fastapi import FastAPI

from bot import logs
from bot.channels import CHANNELS
from bot.channels.base import AnswerNow, CliContext
from bot.settings import Settings, get_settings

if TYPE_CHECKING:
    from bot.runtime import Runtime

app = typer.Typer(
    help="Krishi Learn: farming lessons over WhatsApp and Telegram.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
content_app = typer.Typer(help="Course content.", no_args_is_help=True)
i18n_app = typer.Typer(help="Translations.", no_args_is_help=True)
app.add_typer(i18n_app, name="i18n")
app.add_typer(db_app, name="db")
app.add_typer(content_app, name="content")

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("krishi")


def _database_url(settings: Settings) -> tuple[str, bool]:
    from db.engine import resolve_database_url

    return resolve_database_url(settings.database_url, settings.embedded_pgdata)


def migrate(url: str) -> None:
    """Bring the schema to the newest migration. Migrations are the only way it is made."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["skip_logging"] = True
    command.upgrade(config, "head")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the database (DATABASE_URL, or the embedded one)."""
    logs.configure(json_lines=False)
    url, embedded = _database_url(get_settings())
    migrate(url)
    typer.echo(f"database at head ({'embedded' if embedded else 'DATABASE_URL'})")


def _app_factory() -> FastAPI:
    from bot.app import create_app

    settings = get_settings()
    return create_app(
        settings,
        database_url=os.environ.get("KRISHI_RESOLVED_DATABASE_URL"),
        embedded=os.environ.get("KRISHI_RESOLVED_EMBEDDED") == "1",
        run_sender=settings.run_sender,
    )


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    web_workers: int = typer.Option(1, "--workers", help="Web processes (each runs a sender)."),
    migrate_first: bool = typer.Option(
        None, "--migrate/--no-migrate", help="Migrate first (default: only on the embedded DB)."
    ),
) -> None:
    """Run the web app and the sender in one process (or N)."""
    settings = get_settings()
    logs.configure(json_lines=settings.log_json)
    url, embedded = _database_url(settings)
    if migrate_first or (migrate_first is None and embedded):
        migrate(url)
    # Worker processes must not each decide on their own database.
    os.environ["KRISHI_RESOLVED_DATABASE_URL"] = url
    os.environ["KRISHI_RESOLVED_EMBEDDED"] = "1" if embedded else "0"
    typer.echo(
        f"Krishi Learn on http://{host}:{port} (database: "
        f"{'embedded at ' + settings.embedded_pgdata if embedded else 'DATABASE_URL'})"
    )
    uvicorn.run(
        "bot.cli:_app_factory",
        factory=True,
        host=host,
        port=port,
        workers=web_workers,
        log_level="warning",
        log_config=logs.uvicorn_log_config(settings.log_json),
        access_log=False,
        proxy_headers=True,
    )


@app.command()
def worker() -> None:
    """Run the turn workers, the sender and the jobs, without a web app."""
    from bot.channels import announce_channels
    from bot.runtime import Runtime
    from bot.workers import Workers

    settings = get_settings()
    logs.configure(json_lines=settings.log_json)

    async def run() -> None:
        rt = Runtime.open(settings)
        announce_channels(settings)
        workers = Workers(rt)
        if not workers.sender.workers:
            typer.echo("no channel is configured: answering turns and running jobs only")
        workers.start()
        try:
            await asyncio.Event().wait()
        finally:
            await workers.stop()
            await rt.close()

    # The same event loop as `serve` (uvicorn picks uvloop): the sender is CPU-bound
    # at high rates, and uvloop's sockets cost less per provider call.
    uvloop.run(run())


def _load_content(path: Path) -> None:
    from pydantic import ValidationError

    from bot.content import read_catalogue
    from bot.content.load import load_catalogue
    from bot.runtime import Runtime

    settings = get_settings()
    logs.configure(json_lines=False, level=logging.WARNING)
    try:
        catalogue = read_catalogue(path)
    except (OSError, ValueError, ValidationError) as exc:
        typer.echo(f"{path}: {exc}", err=True)
        raise typer.Exit(1) from exc
    url, _embedded = _database_url(settings)

    async def run() -> None:
        rt = Runtime.open(settings, url)
        try:
            async with rt.sessionmaker() as session, session.begin():
                changed = await load_catalogue(session, catalogue)
        finally:
            await rt.close()
        summary = ", ".join(f"{kind} {count}" for kind, count in changed.items() if count)
        typer.echo(f"{path.name}: {summary or 'already up to date, nothing changed'}")

    asyncio.run(run())


@content_app.command("load")
def content_load(file: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Load a content file (YAML, see bot/content/FORMAT.md). Loading twice changes nothing."""
    _load_content(file)


@app.command()
def demo() -> None:
    """Load the demo catalogue: courses, lessons, quizzes, articles, videos, roadmaps, badges."""
    from bot.content import DEMO_FILE

    _load_content(DEMO_FILE)


@i18n_app.command("update")
def i18n_update() -> None:
    """Extract messages.pot from the code and merge it into en, hi and mr."""
    from bot.catalogs import update

    update()
    typer.echo("catalogs updated")


@i18n_app.command("check")
def i18n_check() -> None:
    """Fail if any message is missing, untranslated or fuzzy in en, hi or mr."""
    from bot.catalogs import problems

    found = problems()
    for problem in found:
        typer.echo(problem, err=True)
    if found:
        raise typer.Exit(1)
    typer.echo("translations complete: en, hi, mr")


def _open_runtime() -> Runtime:
    """The runtime on DATABASE_URL or the embedded database (migrated first when embedded)."""
    from bot.runtime import Runtime

    settings = get_settings()
    url, embedded = _database_url(settings)
    if embedded:
        migrate(url)
    return Runtime.open(settings, url, embedded=embedded)


def _answer_now(rt: Runtime) -> AnswerNow:
    from bot.turns import TurnWorkers

    return TurnWorkers(rt.engine, rt.settings, wake_sender=None).answer_now


def _command_menus() -> dict[str, list[tuple[str, str]]]:
    """The farmers' "/" commands and their descriptions, in each language."""
    from bot.i18n import LANGUAGES, use_language
    from handlers.menu import command_menu
    from handlers.router import COMMANDS

    menus: dict[str, list[tuple[str, str]]] = {}
    for language in LANGUAGES:
        with use_language(language):
            menus[language] = command_menu(set(COMMANDS))
    return menus


# Each channel's own commands: `krishi telegram ...`, the console's `krishi chat`.
_CONTEXT = CliContext(
    settings=get_settings,
    runtime=_open_runtime,
    answer_now=_answer_now,
    command_menus=_command_menus,
    configure_logs=lambda: logs.configure(json_lines=False, level=logging.WARNING),
)
for _channel in CHANNELS:
    if _channel.cli is not None:
        _channel.cli(app, _CONTEXT)


if __name__ == "__main__":
    app()
