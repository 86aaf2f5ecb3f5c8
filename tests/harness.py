"""Drive the real service from the outside: real HTTP into the webhooks, a real
database, and fake providers that record what reached them."""

from __future__ import annotations

import asyncio
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
METRICS_TOKEN = "metrics-token-for-tests"
METRICS = {"Authorization": f"Bearer {METRICS_TOKEN}"}
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
        # The API tests read the schema; the hardening tests turn these off again.
        "api_docs_public": True,
        "metrics_token": SecretStr(METRICS_TOKEN),
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
        """A farmer's message, answered: returns once its turn has run (not when the
        webhook answered, which is as soon as the message is recorded)."""
        update = self.telegram_message(chat_id, text, **kw)
        response = await self.post_telegram(update)
        assert response.status_code == 200, response.text
        await self.turn_done("telegram", str(update["update_id"]))
        return response

    async def telegram_taps(self, chat_id: int, data: str) -> httpx.Response:
        update = self.telegram_tap(chat_id, data)
        response = await self.post_telegram(update)
        assert response.status_code == 200, response.text
        await self.turn_done("telegram", str(update["update_id"]))
        return response

    async def turn_done(self, channel: str, provider_message_id: str, timeout: float = 15) -> str:
        """Wait until the turn workers have answered one recorded message; its status."""
        deadline = time.monotonic() + timeout
        while True:
            status = await self.scalar(
                "SELECT status FROM inbox WHERE channel = :c AND provider_message_id = :p",
                c=channel,
                p=provider_message_id,
            )
            if status not in (None, "pending"):
                return str(status)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{channel} message {provider_message_id} is still {status}")
            await asyncio.sleep(0.005)

    async def settle(self, timeout: float = 30) -> None:
        """Wait until no message is pending in the inbox and nothing is owed to a provider."""
        deadline = time.monotonic() + timeout
        while True:
            owed = await self.scalar(
                "SELECT (SELECT count(*) FROM inbox WHERE status = 'pending')"
                " + (SELECT count(*) FROM outbound_messages WHERE status IN ('queued', 'sending'))"
            )
            if not owed:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{owed} messages still owed")
            await asyncio.sleep(0.02)

    async def onboard(self, chat_id: int, language: str = "en", **kw: Any) -> None:
        """A Telegram farmer who read the privacy notice and agreed by choosing a language."""
        await self.telegram_says(chat_id, "/start", **kw)
        await self.telegram_taps(chat_id, f"lang:{language}")

    async def agreed_chat(self, language: str = "en") -> int:
        """A new Telegram chat whose farmer has agreed (learning waits for that). The three
        welcome replies are dropped from the fake's record: a test counts only its own."""
        chat = self.new_chat_id()
        telegram = self.fakes.telegram
        await self.onboard(chat, language)
        await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 3)
        telegram.calls[:] = [c for c in telegram.calls if str(c.params.get("chat_id")) != str(chat)]
        return chat

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
        """A farmer's WhatsApp message, answered (see telegram_says)."""
        form = self.whatsapp_form(number, body, **extra)
        response = await self.post_whatsapp(form)
        assert response.status_code == 200, response.text
        await self.turn_done("whatsapp", form["MessageSid"])
        return response

    async def whatsapp_onboard(self, number: str, language: str = "en") -> None:
        """A WhatsApp farmer who read the notice and agreed by sending their language's number."""
        await self.whatsapp_says(number, "hi")
        await self.whatsapp_says(number, str(("en", "hi", "mr").index(language) + 1))

    async def agreed_number(self, number: str, language: str = "en") -> None:
        """whatsapp_onboard, with the three welcome replies dropped from the fake's record."""
        twilio = self.fakes.twilio
        await self.whatsapp_onboard(number, language)
        await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 3)
        twilio.calls[:] = [c for c in twilio.calls if c not in twilio.sent_to(number)]

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
            "inbox",
            "outbound_messages",
        ):
            counts[table] = int(await self.scalar(f"SELECT count(*) FROM {table}"))
        return counts


@contextlib.asynccontextmanager
async def start_service(
    database_url: str, fakes: Fakes, *, run_workers: bool = True, **overrides: Any
) -> AsyncIterator[Service]:
    """The service on a real port. `run_workers=False`: the webhooks only record, and
    the test runs the turn workers' batches itself (to know what shares a batch)."""
    sock = bound_socket()
    public = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = service_settings(database_url, fakes, public, **overrides)
    app = create_app(settings, database_url=database_url, run_sender=run_workers)
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
