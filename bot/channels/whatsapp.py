"""Everything WhatsApp-specific (through Twilio): the signature check, form
parsing, status callbacks, rendering options, reading Twilio errors, its rate,
and what it can do (`CHANNEL` at the end of this file).

Options, inside the 24-hour window, go as WhatsApp's own interactive messages
through Twilio's Content API: up to 3 as quick-reply buttons (`twilio/quick-reply`),
up to 10 as a list (`twilio/list-picker`). More than 10, a body over WhatsApp's
1,024 characters, or a Content API that fails: numbered text, as before. The body
always keeps the numbered options in full (a button title holds 20 characters, a
list item 24), so a farmer may still answer with a digit.

A content is made once per distinct set of options and cached by its hash in
`whatsapp_contents`; the message text travels as its variable 1, so every
question with the same answers shares one content. A tap comes back as
`ButtonPayload` (quick reply) or `ListId` (list), holding the option's payload,
exactly as a Telegram tap's callback_data does.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList

from bot import metrics
from bot.channels.base import (
    Body,
    ChannelPlugin,
    RateSettings,
    Record,
    SendResult,
    numbered_text,
    split_text,
)
from bot.i18n import N_
from bot.messages import Capabilities, Inbound, Reply
from bot.runtime import RuntimeDep
from bot.settings import Settings
from db.queries import outbox

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# A WhatsApp message body may hold 1,600 characters; we keep a margin for the options list.
MESSAGE_LIMIT = 1600
# Twilio error codes that no retry can fix.
NEEDS_TEMPLATE = 63016  # outside the 24-hour window: only an approved template may go out
UNREACHABLE = {63003, 63024, 21211, 21408, 21610, 21614}
# A caption under a photo or video holds 1,024 characters on WhatsApp.
MEDIA_CAPTION_LIMIT = 1024
# WhatsApp's limits for interactive messages, in characters.
INTERACTIVE_BODY_LIMIT = 1024
QUICK_REPLY_MAX = 3
QUICK_REPLY_TITLE_LIMIT = 20
LIST_MAX = 10
LIST_ITEM_LIMIT = 24
LIST_DESCRIPTION_LIMIT = 72
LIST_BUTTON_LIMIT = 20
# What a farmer sent besides words, by the MIME type's first half.
_MEDIA_KINDS = {"audio": "voice", "image": "photo", "video": "video", "application": "document",
                "text": "document"}  # fmt: skip


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
        # A quick-reply button or a list item carries our option's payload back.
        payload=form.get("ButtonPayload") or form.get("ListId") or None,
        display_name=form.get("ProfileName") or None,
        attachment=attachment_of(form),
    )


def attachment_of(form: dict[str, str]) -> str | None:
    """What the farmer sent besides words: voice, photo, video, document, location."""
    if form.get("Latitude") and form.get("Longitude"):
        return "location"
    count = form.get("NumMedia", "0")
    if count.isdigit() and int(count) > 0:
        mime = form.get("MediaContentType0", "")
        if mime == "image/webp":  # WhatsApp stickers arrive as webp images
            return "sticker"
        return _MEDIA_KINDS.get(mime.partition("/")[0], "document")
    return None


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
    # The code alone, so reports group by it; "undelivered" without one still says so.
    error = f"twilio {code}" if code else (form["MessageStatus"] if status == "failed" else None)
    if code == str(NEEDS_TEMPLATE):
        error = "needs template"
    return DeliveryStatus(sid, status, error, code == str(NEEDS_TEMPLATE))


class _TwilioHttpx(AsyncHttpClient):  # type: ignore[misc]
    """The twilio SDK's async transport on httpx, pointed at TWILIO_API_BASE_URL (and the
    Content API's host at TWILIO_CONTENT_BASE_URL)."""

    def __init__(
        self, base_url: str, timeout: float, pool: int, content_base_url: str | None = None
    ) -> None:
        super().__init__(None, True, timeout)
        self._base = base_url.rstrip("/")
        self._content_base = (content_base_url or base_url).rstrip("/")
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
        base = self._content_base if parts.hostname == "content.twilio.com" else self._base
        target = base + parts.path + (f"?{parts.query}" if parts.query else "")
        # The Content API takes JSON (the SDK says so in its headers); the rest a form.
        as_json = headers is not None and headers.get("Content-Type") == "application/json"
        response = await self._client.request(
            method.upper(),
            target,
            params=params,
            data=None if as_json else data,
            json=data if as_json else None,
            headers=headers,
            auth=auth,
            timeout=timeout or self.timeout,
            follow_redirects=allow_redirects,
        )
        return TwilioResponse(response.status_code, response.text, response.headers)

    async def close(self) -> None:
        await self._client.aclose()


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class Interactive:
    """A Content API resource for a reply's options: its type, definition and hash."""

    content_type: str  # "twilio/quick-reply" | "twilio/list-picker"
    definition: dict[str, Any]
    content_hash: str


def interactive_for(reply: Reply) -> Interactive | None:
    """The interactive form of a reply's options, or None when numbered text must do."""
    count = len(reply.options)
    if count == 0 or count > LIST_MAX or len(numbered_text(reply)) > INTERACTIVE_BODY_LIMIT:
        return None
    if count <= QUICK_REPLY_MAX:
        content_type = "twilio/quick-reply"
        definition: dict[str, Any] = {
            "body": "{{1}}",
            "actions": [
                {
                    "type": "QUICK_REPLY",
                    "title": _short(option.label, QUICK_REPLY_TITLE_LIMIT),
                    "id": option.payload,
                }
                for option in reply.options
            ],
        }
    else:
        first, last = reply.first_number, reply.first_number + count - 1
        content_type = "twilio/list-picker"
        definition = {
            "body": "{{1}}",
            # Digits and a menu sign read the same in every language: no translation,
            # and it names the numbers the body lists.
            "button": _short(f"☰ {first}–{last}", LIST_BUTTON_LIMIT),
            "items": [
                {
                    "item": _short(f"{first + i}. {option.label}", LIST_ITEM_LIMIT),
                    "id": option.payload,
                    "description": _short(option.label, LIST_DESCRIPTION_LIMIT),
                }
                for i, option in enumerate(reply.options)
            ],
        }
    digest = hashlib.sha256(
        json.dumps([content_type, definition], sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    return Interactive(content_type, definition, digest)


class WhatsAppSender:
    channel = "whatsapp"

    def __init__(self, settings: Settings, engine: AsyncEngine | None = None) -> None:
        assert settings.twilio_account_sid and settings.twilio_auth_token
        self._http = _TwilioHttpx(
            settings.twilio_api_base_url,
            settings.provider_timeout_s,
            settings.sender_concurrency,
            content_base_url=settings.twilio_content_base_url,
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
        # Without a database to cache contents in, options go as numbered text.
        self._engine = engine if settings.whatsapp_interactive else None
        self._contents: dict[str, str] = {}

    def calls_for(self, reply: Reply) -> int:
        # A media caption past WhatsApp's limit goes on in a second message.
        long_caption = len(numbered_text(reply)) > MEDIA_CAPTION_LIMIT
        return 2 if reply.media_url and "content_sid" not in reply.extra and long_caption else 1

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
            content_sid = await self._interactive_sid(reply)
            if content_sid is not None:
                kwargs["content_sid"] = content_sid
                kwargs["content_variables"] = json.dumps(
                    {"1": numbered_text(reply)}, ensure_ascii=False
                )
            else:
                kwargs["body"] = numbered_text(reply)
            if reply.media_url:
                kwargs["media_url"] = [reply.media_url]
        rest = ""
        if "media_url" in kwargs and len(kwargs["body"]) > MEDIA_CAPTION_LIMIT:
            # The caption takes what fits; the rest follows as a message of its own.
            parts = split_text(kwargs["body"], MEDIA_CAPTION_LIMIT)
            kwargs["body"], rest = parts[0], "\n\n".join(parts[1:])
        try:
            message = await self._client.messages.create_async(**kwargs)
            if rest:
                follow = {k: v for k, v in kwargs.items() if k not in ("media_url", "body")}
                message = await self._client.messages.create_async(**follow, body=rest)
        except TwilioRestException as exc:
            return _classify(exc)
        except httpx.TimeoutException:
            return SendResult("retry", error="timeout")
        except httpx.TransportError as exc:
            return SendResult("retry", error=f"network: {type(exc).__name__}")
        return SendResult("sent", provider_message_id=message.sid)

    async def _interactive_sid(self, reply: Reply) -> str | None:
        """The ContentSid of the reply's buttons or list, made on first use; None for text."""
        if self._engine is None or reply.media_url:
            return None
        interactive = interactive_for(reply)
        if interactive is None:
            return None
        cached = self._contents.get(interactive.content_hash)
        if cached is not None:
            return cached
        from db.queries import whatsapp_contents as q  # the channel stays importable alone

        try:
            async with self._engine.connect() as conn:
                sid = await q.find_content(conn, interactive.content_hash)
            if sid is None:
                sid = await self._create_content(interactive)
                async with self._engine.begin() as conn:
                    sid = await q.remember_content(
                        conn, interactive.content_hash, sid, interactive.content_type
                    )
        except Exception as exc:  # a cache or Content API failure must not cost the answer
            # The farmer still gets the question, as numbered text.
            log.warning("whatsapp: no interactive content (%s); sending numbered text", exc)
            return None
        if len(self._contents) > 10_000:
            self._contents.clear()
        self._contents[interactive.content_hash] = sid
        return sid

    async def _create_content(self, interactive: Interactive) -> str:
        request = ContentList.ContentCreateRequest(
            {
                "friendly_name": f"krishi_{interactive.content_hash[:16]}",
                "language": "en",
                "variables": {"1": "Krishi Learn"},
                "types": {interactive.content_type: interactive.definition},
            }
        )
        content = await self._client.content.v1.contents.create_async(request)
        return str(content.sid)

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


# --- the plug-in: what the app, the sender and reports take from this file ----------


class TwilioForm:
    """Depends: the form of a call Twilio signed; 403 when WhatsApp is off or the
    signature is wrong, 400 when the body is not a form."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def __call__(self, request: Request, raw: Body) -> dict[str, str]:
        settings = self._settings
        if not settings.whatsapp_enabled:
            # Off (a credential missing or empty): nothing can be verified, nothing is taken.
            raise HTTPException(status_code=403, detail="whatsapp is off")
        try:
            form = parse_form(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise HTTPException(status_code=400, detail="malformed form") from exc
        signature = request.headers.get("x-twilio-signature")
        if not signature_is_valid(settings, request.url.path, request.url.query, form, signature):
            raise HTTPException(status_code=403, detail="bad signature")
        return form


def routes(settings: Settings, record: Record) -> APIRouter:
    router = APIRouter()
    signed_form = TwilioForm(settings)

    @router.post("/webhooks/whatsapp")
    async def whatsapp_webhook(
        rt: RuntimeDep,
        # A default, not Annotated: the annotation is a string here (postponed
        # evaluation) and could not name this function's local `signed_form`.
        form: dict[str, str] = Depends(signed_form),
    ) -> Response:
        try:
            inbound = parse_message(form)
        except ValueError as exc:
            metrics.INBOUND.labels("whatsapp", "malformed").inc()
            raise HTTPException(status_code=400, detail="not a WhatsApp message") from exc
        await record(rt, inbound)
        # An empty TwiML answer: our replies go out through the sender.
        return Response("<Response/>", media_type="application/xml")

    @router.post("/webhooks/whatsapp/status")
    async def whatsapp_status(
        rt: RuntimeDep,
        # A default, not Annotated: the annotation is a string here (postponed
        # evaluation) and could not name this function's local `signed_form`.
        form: dict[str, str] = Depends(signed_form),
    ) -> Response:
        try:
            status = parse_status(form)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail="malformed status") from exc
        if status is not None:
            # A receipt is not a farmer's turn: it goes straight onto the outbound row.
            async with rt.engine.begin() as conn:
                await record_status(conn, status)
        return Response(status_code=204)

    return router


async def record_status(conn: AsyncConnection, status: DeliveryStatus) -> None:
    await outbox.record_delivery_status(
        conn, provider_message_id=status.message_sid, status=status.status, error=status.error
    )
    metrics.OUTBOUND.labels("whatsapp", status.status).inc()


# Why a message did not reach a farmer here, as reports record it: the 24-hour window,
# and Twilio's error codes as status callbacks report them.
DELIVERY_ERRORS = {
    "needs template": N_("WhatsApp window closed (no template set up)"),
    "needs_template: out of date when the farmer wrote again": N_(
        "WhatsApp window closed, then out of date"
    ),
    "twilio 30003": N_("phone switched off or unreachable"),
    "twilio 30005": N_("unknown number"),
    "twilio 30006": N_("landline or unreachable network"),
    "twilio 30007": N_("filtered as spam"),
    "twilio 30008": N_("unknown delivery error"),
    "twilio 63003": N_("not on WhatsApp"),
    "twilio 63024": N_("not a valid WhatsApp number"),
}


def capabilities(settings: Settings) -> Capabilities:
    interactive = settings.whatsapp_interactive
    return Capabilities(
        title="WhatsApp",
        # Quick replies (up to 3) and lists (up to 10) through the Content API.
        buttons=interactive,
        lists=interactive,
        option_label_limit=QUICK_REPLY_TITLE_LIMIT if interactive else 0,
        # Farmers type "help" as readily as "/help"; menus answer to their numbers.
        commands_need_slash=False,
        native_payment=None,
        # Twilio's status callbacks report delivered, read, failed.
        receipts=True,
        delivery_errors=DELIVERY_ERRORS,
        templates_outside_window=True,
    )


def rate(settings: Settings) -> RateSettings:
    # Twilio's limit is per sender number: processes sending from one number share it.
    # Broadcasts leave part of it (BROADCAST_WHATSAPP_REPLY_SHARE) to the farmers'
    # replies, so a farmer who writes during a long broadcast is answered in time.
    return RateSettings(
        key=f"whatsapp:{settings.twilio_whatsapp_from}",
        per_s=settings.whatsapp_rate_per_s,
        reserve_for_replies=True,
    )


def sender(settings: Settings, engine: AsyncEngine | None) -> WhatsAppSender:
    return WhatsAppSender(settings, engine)


CHANNEL = ChannelPlugin(
    name="whatsapp",
    enabled=lambda settings: settings.whatsapp_enabled,
    needs="TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM",
    capabilities=capabilities,
    routes=routes,
    sender=sender,
    rate=rate,
)
