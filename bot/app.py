"""The FastAPI application: webhooks, health, metrics. Routes stay thin."""

from __future__ import annotations

import gc
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import api, privacy_page
from bot.channels import CHANNELS, announce_channels
from bot.console import router as console_router
from bot.inbox import InboxRecorder, InboxUnavailable
from bot.messages import Inbound
from bot.payments import webhooks as payment_webhooks
from bot.runtime import Runtime, RuntimeDep
from bot.settings import Settings
from bot.workers import Workers
from db.engine import warm_pool

log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: every route's body is capped before anything parses it.

    Webhooks get `max_body_bytes` (providers send small payloads), everything else
    `max_api_body_bytes`. A declared length past the cap is refused at once; a body
    that grows past it while streaming is cut off there.
    """

    def __init__(self, app: ASGIApp, *, webhooks: int, default: int) -> None:
        self.app = app
        self.webhooks = webhooks
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.webhooks if scope["path"].startswith("/webhooks/") else self.default
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await _too_large(send)
                return
        received = 0
        started = False

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_within_limit, send_noting_start)
        except BodyTooLarge:
            if not started:
                await _too_large(send)


async def _too_large(send: Send) -> None:
    body = b'{"detail":"body too large"}'
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"27")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app(
    settings: Settings,
    *,
    database_url: str | None = None,
    embedded: bool = False,
    run_sender: bool = True,
) -> FastAPI:
    """The web app. With `run_sender` (the default of `krishi serve`), this process also
    runs the turn workers, the sender and the jobs; without, `krishi worker`s do."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = Runtime.open(settings, database_url, embedded=embedded)
        app.state.runtime = rt
        try:
            await warm_pool(rt.engine, settings.db_pool_size)
        except (OSError, SQLAlchemyError) as exc:  # /readyz says so until it is up
            log.warning("database not reachable at start: %s", exc)
        announce_channels(settings)
        workers = Workers(rt) if run_sender else None
        rt.inbox = InboxRecorder(rt.engine, wake_local=rt.wake_turns)
        # What start-up made (modules, catalogs, the app) lives as long as the
        # process: out of the collector's sight, a full collection stays short.
        gc.freeze()
        if workers is not None:
            workers.start()
        try:
            yield
        finally:
            if workers is not None:
                await workers.stop()
            await rt.close()

    # The API's schema and its pages are a map for attackers too: served only when the
    # operator says so (API_DOCS_PUBLIC).
    docs = settings.api_docs_public
    app = FastAPI(
        title="Krishi Learn",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.add_middleware(
        BodyLimit, webhooks=settings.max_body_bytes, default=settings.max_api_body_bytes
    )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(rt: RuntimeDep) -> JSONResponse:
        try:
            async with rt.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            return JSONResponse({"status": "unavailable", "error": type(exc).__name__}, 503)
        return JSONResponse(
            {"status": "ready", "database": "embedded" if rt.embedded else "external"}
        )

    @app.get("/metrics", include_in_schema=False)
    async def prometheus(request: Request) -> Response:
        """Prometheus, for the holder of METRICS_TOKEN only; without one it is off (404)."""
        token = settings.metrics_token
        if token is None or not token.get_secret_value():
            raise HTTPException(status_code=404)
        given = request.headers.get("authorization", "")
        expected = "Bearer " + token.get_secret_value()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise HTTPException(401, "bad metrics token", headers={"WWW-Authenticate": "Bearer"})
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def record(rt: Runtime, inbound: Inbound) -> None:
        """The webhook's one job: the message durable in the inbox, then the answer."""
        assert rt.inbox is not None
        try:
            await rt.inbox.record(inbound)
        except InboxUnavailable as exc:
            # Not recorded: the provider must deliver it again.
            raise HTTPException(status_code=503, detail="try again") from exc

    # Each channel's webhooks (bot/channels/): they record into the inbox, and only that.
    for channel in CHANNELS:
        if channel.routes is not None:
            app.include_router(channel.routes(settings, record))

    # Routes match in order: the webhooks (the hot path) first, then the API's many.
    app.include_router(payment_webhooks.router)
    app.include_router(api.router)
    app.include_router(console_router)
    app.include_router(privacy_page.router)
    return app
