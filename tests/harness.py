"""Drive the real service from the outside: real HTTP into the webhooks, a real
database, and fake providers that record what reached them."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from twilio.request_validator import RequestValidator

from bot.app import create_app
from bot.settings import Settings
from db.engine import make_engine
from tests.fakes import FakeTelegram, FakeTwilio, bound_socket, serve

TELEGRAM_SECRET = "s3cret-token"
TWILIO_TOKEN = "twilio-auth-token"
WHATSAPP_FROM = "+14155238886"
_update_ids = itertools.count(int(time.time() * 1000) % 10**9)
_message_sids = itertools.count(1)


@dataclass
class Fakes:
    telegram: FakeTelegram
    twilio: FakeTwilio
    telegram_url: str
    twilio_url: str


@contextlib.asynccontextmanager
async def start_fakes() -> AsyncIterator[Fakes]:
    telegram, twilio = FakeTelegram(), FakeTwilio()
    async with serve(telegram.app) as telegram_url, serve(twilio.app) as twilio_url:
        yield Fakes(telegram, twilio, telegram_url, twilio_url)


def service_settings(
    database_url: str, fakes: Fakes, public_base_url: str, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "public_base_url": public_base_url,
        "telegram_bot_token": SecretStr(fakes.telegram.token),
        "telegram_webhook_secret": SecretStr(TELEGRAM_SECRET),
        "telegram_api_base_url": fakes.telegram_url + "/bot",
        "twilio_account_sid": fakes.twilio.account_sid,
        "twilio_auth_token": SecretStr(TWILIO_TOKEN),
        "twilio_whatsapp_from": WHATSAPP_FROM,
        "twilio_api_base_url": fakes.twilio_url,
        "twilio_content_base_url": fakes.twilio_url,
        "provider_timeout_s": 2.0,
        "telegram_chat_burst": 50,
        "log_json": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@dataclass
class Service:
    url: str
    settings: Settings
    fakes: Fakes
    http: httpx.AsyncClient
    engine: AsyncEngine
    chats: itertools.count[int] = field(default_factory=lambda: itertools.count(5_000_001))

    # --- Telegram -----------------------------------------------------------
    def new_chat_id(self) -> int:
        return next(self.chats)

    @staticmethod
    def telegram_message(
        chat_id: int, text: str, *, language_code: str | None = "en", update_id: int | None = None
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": "Ramesh"}
        if language_code:
            user["language_code"] = language_code
        return {
            "update_id": update_id if update_id is not None else next(_update_ids),
            "message": {
                "message_id": next(_update_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": "Ramesh"},
                "from": user,
                "text": text,
            },
        }

    @staticmethod
    def telegram_tap(chat_id: int, data: str, *, update_id: int | None = None) -> dict[str, Any]:
        user = {"id": chat_id, "is_bot": False, "first_name": "Ramesh", "language_code": "en"}
        return {
            "update_id": update_id if update_id is not None else next(_update_ids),
            "callback_query": {
                "id": str(next(_update_ids)),
                "from": user,
                "chat_instance": "1",
                "data": data,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"},
                    "text": "menu",
                },
            },
        }

    async def post_telegram(
        self, update: dict[str, Any] | bytes, *, secret: str | None = TELEGRAM_SECRET
    ) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        if isinstance(update, bytes):
            return await self.http.post(
                "/webhooks/telegram",
                content=update,
                headers={**headers, "content-type": "application/json"},
            )
        return await self.http.post("/webhooks/telegram", json=update, headers=headers)

    async def telegram_says(self, chat_id: int, text: str, **kw: Any) -> httpx.Response:
        response = await self.post_telegram(self.telegram_message(chat_id, text, **kw))
        assert response.status_code == 200, response.text
        return response

    async def telegram_taps(self, chat_id: int, data: str) -> httpx.Response:
        response = await self.post_telegram(self.telegram_tap(chat_id, data))
        assert response.status_code == 200, response.text
        return response

    # --- WhatsApp -------------------------------------------------------------
    def twilio_signature(self, path: str, params: dict[str, str]) -> str:
        url = self.settings.public_base_url.rstrip("/") + path
        return str(RequestValidator(TWILIO_TOKEN).compute_signature(url, params))

    @staticmethod
    def whatsapp_form(
        number: str, body: str, *, sid: str | None = None, **extra: str
    ) -> dict[str, str]:
        return {
            "MessageSid": sid or f"SM{next(_message_sids):032x}",
            "AccountSid": "AC" + "0" * 32,
            "From": f"whatsapp:{number}",
            "To": f"whatsapp:{WHATSAPP_FROM}",
            "Body": body,
            "ProfileName": "Sunita",
            "WaId": number.lstrip("+"),
            "NumMedia": "0",
            **extra,
        }

    async def post_whatsapp(
        self,
        form: dict[str, str],
        *,
        path: str = "/webhooks/whatsapp",
        signature: str | None = None,
    ) -> httpx.Response:
        sig = signature if signature is not None else self.twilio_signature(path, form)
        return await self.http.post(
            path,
            content=urlencode(form),
            headers={
                "X-Twilio-Signature": sig,
                "content-type": "application/x-www-form-urlencoded",
            },
        )

    async def whatsapp_says(self, number: str, body: str, **extra: str) -> httpx.Response:
        response = await self.post_whatsapp(self.whatsapp_form(number, body, **extra))
        assert response.status_code == 200, response.text
        return response

    # --- Database -------------------------------------------------------------
    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()

    async def execute(self, sql: str, **params: Any) -> None:
        """A committed write, for tests that move time or state along."""
        async with self.engine.begin() as conn:
            await conn.execute(text(sql), params)

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())

    async def row_counts(self) -> dict[str, int]:
        counts = {}
        for table in (
            "users",
            "channel_identities",
            "conversations",
            "inbound_events",
            "outbound_messages",
        ):
            counts[table] = int(await self.scalar(f"SELECT count(*) FROM {table}"))
        return counts


@contextlib.asynccontextmanager
async def start_service(
    database_url: str, fakes: Fakes, **overrides: Any
) -> AsyncIterator[Service]:
    sock = bound_socket()
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = service_settings(database_url, fakes, public, **overrides)
    app = create_app(settings, database_url=database_url)
    engine = make_engine(database_url, pool_size=2)
    async with serve(app, sock) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield Service(url, settings, fakes, http, engine)
    await engine.dispose()


# --- Razorpay -----------------------------------------------------------------
RAZORPAY_WEBHOOK_SECRET = "rzp-webhook-secret"
ADMIN_TOKEN = "admin-token-for-tests"


def razorpay_overrides(razorpay: Any, url: str) -> dict[str, Any]:
    """Settings that point the service at a FakeRazorpay running at `url`."""
    return {
        "razorpay_key_id": razorpay.key_id,
        "razorpay_key_secret": SecretStr(razorpay.key_secret),
        "razorpay_webhook_secret": SecretStr(RAZORPAY_WEBHOOK_SECRET),
        "razorpay_api_base_url": url,
    }


def razorpay_signature(body: bytes, secret: str = RAZORPAY_WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_razorpay(
    service: Service,
    event: dict[str, Any] | bytes,
    *,
    event_id: str | None = None,
    signature: str | None = None,
) -> httpx.Response:
    """Deliver a webhook as Razorpay does: the raw body, its HMAC, the event id."""
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    headers = {
        "content-type": "application/json",
        "X-Razorpay-Signature": signature if signature is not None else razorpay_signature(body),
        "X-Razorpay-Event-Id": event_id or f"evt_{next(_update_ids)}",
    }
    return await service.http.post("/webhooks/razorpay", content=body, headers=headers)
