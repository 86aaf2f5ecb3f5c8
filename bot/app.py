"""The FastAPI application: webhooks, health, metrics. Routes stay thin."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import orjson
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import api, metrics, privacy_page
from bot.channels import telegram, whatsapp
from bot.jobs import JobRunner
from bot.payments import webhooks as payment_webhooks
from bot.runtime import Runtime, RuntimeDep, announce_channels
from bot.sender import Sender, build_sender
from bot.settings import Settings
from bot.turns import run_turn
from db.engine import warm_pool
from db.queries import outbox

log = logging.getLogger(__name__)


async def raw_body(request: Request) -> bytes:
    """Depends: the raw body, refused with 413 past the limit (before it is all read)."""
    limit = request.app.state.runtime.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail="body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail="body too large")
        chunks.append(chunk)
    return b"".join(chunks)


Body = Annotated[bytes, Depends(raw_body)]


def create_app(
    settings: Settings,
    *,
    database_url: str | None = None,
    embedded: bool = False,
    run_sender: bool = True,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = Runtime.open(settings, database_url, embedded=embedded)
        app.state.runtime = rt
        try:
            await warm_pool(rt.engine, settings.db_pool_size)
        except (OSError, SQLAlchemyError) as exc:  # /readyz says so until it is up
            log.warning("database not reachable at start: %s", exc)
        announce_channels(settings)
        # What start-up made (modules, catalogs, the app) lives as long as the
        # process: out of the collector's sight, a full collection stays short.
        gc.freeze()
        sender: Sender | None = None
        jobs: JobRunner | None = None
        if run_sender:
            sender = build_sender(rt.engine, rt.database_url, settings)
            sender.start()
            rt.wake_sender = sender.wake
            jobs = JobRunner(rt)
            jobs.start()
        try:
            yield
        finally:
            if jobs is not None:
                await jobs.stop()
            if sender is not None:
                await sender.stop()
            await rt.close()

    app = FastAPI(title="Krishi Learn", version="0.1.0", lifespan=lifespan)

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

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.post("/webhooks/telegram", dependencies=[Depends(telegram.TelegramSecret(settings))])
    async def telegram_webhook(raw: Body, rt: RuntimeDep) -> Response:
        try:
            inbound, answer = telegram.parse_update(orjson.loads(raw))
        except ValueError as exc:  # orjson.JSONDecodeError is a ValueError too
            metrics.INBOUND.labels("telegram", "malformed").inc()
            raise HTTPException(status_code=400, detail="malformed update") from exc
        if inbound is None:
            metrics.INBOUND.labels("telegram", "ignored").inc()
        else:
            await run_turn(rt.engine, inbound, settings, rt.wake_sender)
        # A Bot API call in the response body (a button tap, a pre-checkout query).
        return JSONResponse(answer) if answer is not None else Response(status_code=200)

    def twilio_form(request: Request, raw: bytes) -> dict[str, str]:
        try:
            form = whatsapp.parse_form(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise HTTPException(status_code=400, detail="malformed form") from exc
        signature = request.headers.get("x-twilio-signature")
        if not whatsapp.signature_is_valid(
            settings, request.url.path, request.url.query, form, signature
        ):
            raise HTTPException(status_code=403, detail="bad signature")
        return form

    @app.post("/webhooks/whatsapp")
    async def whatsapp_webhook(request: Request, raw: Body, rt: RuntimeDep) -> Response:
        form = twilio_form(request, raw)
        try:
            inbound = whatsapp.parse_message(form)
        except ValueError as exc:
            metrics.INBOUND.labels("whatsapp", "malformed").inc()
            raise HTTPException(status_code=400, detail="not a WhatsApp message") from exc
        await run_turn(rt.engine, inbound, settings, rt.wake_sender)
        # An empty TwiML answer: our replies go out through the sender.
        return Response("<Response/>", media_type="application/xml")

    @app.post("/webhooks/whatsapp/status")
    async def whatsapp_status(request: Request, raw: Body, rt: RuntimeDep) -> Response:
        form = twilio_form(request, raw)
        try:
            status = whatsapp.parse_status(form)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail="malformed status") from exc
        if status is not None:
            async with rt.engine.begin() as conn:
                await record_status(conn, status)
        return Response(status_code=204)

    # Routes match in order: the webhooks (the hot path) first, then the API's many.
    app.include_router(payment_webhooks.router)
    app.include_router(api.router)
    app.include_router(privacy_page.router)
    return app


async def record_status(conn: AsyncConnection, status: whatsapp.DeliveryStatus) -> None:
    await outbox.record_delivery_status(
        conn, provider_message_id=status.message_sid, status=status.status, error=status.error
    )
    metrics.OUTBOUND.labels("whatsapp", status.status).inc()
