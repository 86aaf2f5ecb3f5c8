"""Everything WhatsApp-specific (through Twilio): the signature check, form
parsing, status callbacks, numbered options, and reading Twilio errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.base import SendResult, numbered_text
from bot.messages import Inbound, Reply
from bot.settings import Settings

# A WhatsApp message body may hold 1,600 characters; we keep a margin for the options list.
MESSAGE_LIMIT = 1600
# Twilio error codes that no retry can fix.
NEEDS_TEMPLATE = 63016  # outside the 24-hour window: only an approved template may go out
UNREACHABLE = {63003, 63024, 21211, 21408, 21610, 21614}


def parse_form(body: bytes) -> dict[str, str]:
    """Twilio's urlencoded form; raises ValueError if it is not one."""
    text = body.decode("utf-8")
    if not text:
        raise ValueError("empty form")
    return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))


def signature_is_valid(
    settings: Settings, path: str, query: str, params: dict[str, str], signature: str | None
) -> bool:
    """Twilio signs the public URL it called plus every form parameter."""
    token = settings.twilio_auth_token
    if token is None or not signature:
        return False
    url = settings.public_base_url.rstrip("/") + path + (f"?{query}" if query else "")
    return bool(RequestValidator(token.get_secret_value()).validate(url, params, signature))


def parse_message(form: dict[str, str]) -> Inbound:
    """An incoming WhatsApp message → Inbound. Raises ValueError on a form that is not one."""
    sid = form.get("MessageSid") or form.get("SmsMessageSid")
    sender = form.get("From", "")
    if not sid or not sender.startswith("whatsapp:"):
        raise ValueError("not a WhatsApp message")
    number = sender.removeprefix("whatsapp:")
    return Inbound(
        channel="whatsapp",
        external_user_id=number,
        external_message_id=sid,
        text=form.get("Body", ""),
        # Quick-reply buttons of a template carry our payload back.
        payload=form.get("ButtonPayload") or None,
        display_name=form.get("ProfileName") or None,
    )


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    message_sid: str
    status: str  # sent | delivered | read | failed
    error: str | None
    needs_template: bool


_STATUS = {"sent": "sent", "delivered": "delivered", "read": "read",
           "failed": "failed", "undelivered": "failed"}  # fmt: skip


def parse_status(form: dict[str, str]) -> DeliveryStatus | None:
    """A status callback → the outcome worth recording, or None for interim states."""
    sid = form.get("MessageSid")
    status = _STATUS.get(form.get("MessageStatus", ""))
    if not sid:
        raise ValueError("status callback without MessageSid")
    if status is None:
        return None
    code = form.get("ErrorCode") or None
    error = f"twilio {code}" if code else None
    if code == str(NEEDS_TEMPLATE):
        error = "needs template"
    return DeliveryStatus(sid, status, error, code == str(NEEDS_TEMPLATE))


class _TwilioHttpx(AsyncHttpClient):  # type: ignore[misc]
    """The twilio SDK's async transport on httpx, pointed at TWILIO_API_BASE_URL."""

    def __init__(self, base_url: str, timeout: float, pool: int) -> None:
        super().__init__(None, True, timeout)
        self._base = base_url.rstrip("/")
        self._client = httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_connections=pool))

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        parts = urlsplit(url)
        target = self._base + parts.path + (f"?{parts.query}" if parts.query else "")
        response = await self._client.request(
            method.upper(),
            target,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout or self.timeout,
            follow_redirects=allow_redirects,
        )
        return TwilioResponse(response.status_code, response.text, response.headers)

    async def close(self) -> None:
        await self._client.aclose()


class WhatsAppSender:
    channel = "whatsapp"

    def __init__(self, settings: Settings) -> None:
        assert settings.twilio_account_sid and settings.twilio_auth_token
        self._http = _TwilioHttpx(
            settings.twilio_api_base_url, settings.provider_timeout_s, settings.sender_concurrency
        )
        self._client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            http_client=self._http,
        )
        self._from = f"whatsapp:{settings.twilio_whatsapp_from}".replace(
            "whatsapp:whatsapp:", "whatsapp:"
        )
        self._status_callback = settings.public_base_url.rstrip("/") + "/webhooks/whatsapp/status"

    async def send(self, address: str, reply: Reply) -> SendResult:
        kwargs: dict[str, Any] = {
            "from_": self._from,
            "to": f"whatsapp:{address}",
            "status_callback": self._status_callback,
        }
        if "content_sid" in reply.extra:  # an approved template, outside the 24 h window
            kwargs["content_sid"] = reply.extra["content_sid"]
            kwargs["content_variables"] = reply.extra.get("content_variables", "{}")
        else:
            kwargs["body"] = numbered_text(reply)
        if reply.media_url:
            kwargs["media_url"] = [reply.media_url]
        try:
            message = await self._client.messages.create_async(**kwargs)
        except TwilioRestException as exc:
            return _classify(exc)
        except httpx.TimeoutException:
            return SendResult("retry", error="timeout")
        except httpx.TransportError as exc:
            return SendResult("retry", error=f"network: {type(exc).__name__}")
        return SendResult("sent", provider_message_id=message.sid)

    async def close(self) -> None:
        await self._http.close()


def _classify(exc: TwilioRestException) -> SendResult:
    if exc.code == NEEDS_TEMPLATE:
        return SendResult("failed", error="needs template", identity_inactive_reason=None)
    if exc.status == 429 or exc.status >= 500:
        return SendResult("retry", error=f"twilio {exc.status} {exc.code or ''}".strip())
    if exc.code in UNREACHABLE:
        return SendResult(
            "failed", error=f"twilio {exc.code}", identity_inactive_reason="unreachable"
        )
    return SendResult("failed", error=f"twilio {exc.status} {exc.code or ''}: {exc.msg}"[:500])
