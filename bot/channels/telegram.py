"""Everything Telegram-specific: the webhook secret, Update parsing, rendering
replies as messages with inline keyboards (or Stars invoices), reading Bot API
errors, its rate limits, `krishi telegram set-webhook|setup`, and what it can do
(`CHANNEL` at the end of this file).

Telegram Stars: a reply with an `Invoice` is sent with sendInvoice (currency XTR). Telegram then asks, in a `pre_checkout_query`,
whether to take the money: the webhook's response answers yes (the settlement
checks the payment). The money taken arrives as a message's
`successful_payment`, read into `Inbound.payment`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson
import typer
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    MenuButtonCommands,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.request import BaseRequest, RequestData

from bot import metrics
from bot.channels.base import (
    Body,
    ButtonLayout,
    ChannelPlugin,
    CliContext,
    RateSettings,
    Record,
    SendResult,
    fit_buttons,
    split_text,
)
from bot.messages import Capabilities, ChannelPayment, Inbound, NativePayment, Reply, media_kind
from bot.runtime import RuntimeDep
from bot.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

# Bot API limits, in characters.
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
# A button shows about this many characters on a phone before Telegram cuts it with "…".
BUTTON_LABEL_LIMIT = 40


class TelegramSecret:
    """Depends: the `X-Telegram-Bot-Api-Secret-Token` header must match; else 403."""

    def __init__(self, settings: Settings) -> None:
        secret = settings.telegram_webhook_secret
        # Off (a credential missing or empty): every call is refused, nothing written.
        self._secret = (
            secret.get_secret_value().encode() if secret and settings.telegram_enabled else None
        )

    async def __call__(self, request: Request) -> None:
        # Read from the request, not declared as a Header() parameter: FastAPI would
        # build and validate a pydantic model for it on every update.
        given = request.headers.get("x-telegram-bot-api-secret-token", "").encode()
        if self._secret is None or not hmac.compare_digest(given, self._secret):
            raise HTTPException(status_code=403, detail="bad secret token")


WebhookAnswer = dict[str, Any]


def parse_update(data: Any) -> tuple[Inbound | None, WebhookAnswer | None]:
    """An Update's JSON → (the farmer's action or None to ignore, the webhook's answer).

    The answer, when there is one, is a Bot API call for the webhook's response
    body: Telegram runs it (answering a button tap or a pre-checkout query).

    Raises ValueError when the JSON is not an Update at all.
    """
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise ValueError("not a Telegram Update")
    try:
        # de_json is lenient: it builds objects with missing fields set to None,
        # which then fail where we read them. Either way, the update is malformed.
        return _read_update(Update.de_json(data, None))
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError) as exc:
        raise ValueError(f"malformed Update: {exc}") from exc


def _read_update(update: Update) -> tuple[Inbound | None, WebhookAnswer | None]:
    event_id = str(update.update_id)

    if update.pre_checkout_query is not None:
        # Always yes: the settlement checks the amount against the purchase.
        return None, {
            "method": "answerPreCheckoutQuery",
            "pre_checkout_query_id": update.pre_checkout_query.id,
            "ok": True,
        }

    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        chat_id = message.chat.id if message is not None else query.from_user.id
        return (
            Inbound(
                channel="telegram",
                external_user_id=str(chat_id),
                external_message_id=event_id,
                payload=query.data or "",
                display_name=query.from_user.full_name,
                language_hint=query.from_user.language_code,
                tapped_message_id=str(message.message_id) if message is not None else None,
            ),
            answer_callback(query.id),
        )

    message = update.message
    if message is None or message.chat.type != "private":
        return None, None  # edits, channel posts, groups: not a conversation with a farmer
    user = message.from_user
    paid = message.successful_payment or message.refunded_payment
    payment = (
        ChannelPayment(
            currency=paid.currency,
            amount=paid.total_amount,
            payload=paid.invoice_payload,
            charge_id=paid.telegram_payment_charge_id,
            # Stars given back (by refundStarPayment, or by Telegram after a dispute).
            refunded=message.refunded_payment is not None,
        )
        if paid is not None
        else None
    )
    return (
        Inbound(
            channel="telegram",
            external_user_id=str(message.chat.id),
            external_message_id=event_id,
            text=message.text or message.caption or "",
            display_name=user.full_name if user else None,
            language_hint=user.language_code if user else None,
            received_at=message.date.timestamp(),
            payment=payment,
            attachment=attachment_of(message),
        ),
        None,
    )


def attachment_of(message: Message) -> str | None:
    """What the farmer sent besides words: voice, photo, video, document, location, sticker."""
    if message.voice is not None or message.audio is not None:
        return "voice"
    if message.photo:
        return "photo"
    if message.video is not None or message.video_note is not None or message.animation:
        return "video"
    if message.location is not None or message.venue is not None:
        return "location"
    if message.sticker is not None:
        return "sticker"
    if message.document is not None or message.contact is not None:
        return "document"
    return None


def answer_callback(callback_query_id: str) -> WebhookAnswer:
    """The webhook's response body: Telegram runs it, which stops the button's spinner."""
    return {"method": "answerCallbackQuery", "callback_query_id": callback_query_id}


def _keyboard(reply: Reply, layout: ButtonLayout) -> InlineKeyboardMarkup | None:
    # One button a row, numbers included: a row of small keys is easy to mistap with a
    # thumb, and every option keeps its own line as in the body above.
    rows = [
        [InlineKeyboardButton(label, callback_data=payload)] for label, payload in layout.buttons
    ]
    if reply.link:
        rows.append([InlineKeyboardButton(reply.link_label or reply.link, url=reply.link)])
    return InlineKeyboardMarkup(rows) if rows else None


async def set_up_bot(bot: Bot, commands: dict[str, list[tuple[str, str]]]) -> None:
    """The bot's "/" menu in each farmer's language, and the menu button that opens it.

    `commands` maps a language code to (command, description) pairs; Telegram shows a
    user the list of their app's language (language_code scope), English otherwise.
    """
    for language, pairs in commands.items():
        listed = [BotCommand(name, description[:256]) for name, description in pairs]
        await bot.set_my_commands(listed, language_code=language)
        if language == "en":  # for every other app language
            await bot.set_my_commands(listed)
    await bot.set_chat_menu_button(menu_button=MenuButtonCommands())


class AiohttpRequest(BaseRequest):
    """python-telegram-bot's networking on aiohttp instead of its default httpx.

    Why: httpcore's pool checks every pooled connection (a poll(2) each) for every
    request, so with the sender's 32 connections a third of a send's CPU went on
    bookkeeping; aiohttp's connector hands out an idle connection in O(1). Measured
    by bench/sender_cpu.py: 4.5 → 2.2 ms of CPU per message.
    """

    def __init__(self, *, pool_size: int, timeout_s: float) -> None:
        self._pool_size = pool_size
        self._timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._timeout_s

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                timeout=aiohttp.ClientTimeout(total=self._timeout_s, sock_connect=self._timeout_s),
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One Bot API call, form-encoded as python-telegram-bot's own backend sends it."""
        await self.initialize()
        assert self._session is not None
        # Photos go by URL, so a call never carries a file upload: form fields suffice.
        data = request_data.json_parameters if request_data is not None else None
        try:
            async with self._session.request(method, url, data=data) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


class TelegramSender:
    channel = "telegram"

    def __init__(self, settings: Settings) -> None:
        assert settings.telegram_bot_token is not None
        self._request = AiohttpRequest(
            pool_size=settings.sender_concurrency, timeout_s=settings.provider_timeout_s
        )
        self._bot = Bot(
            settings.telegram_bot_token.get_secret_value(),
            base_url=settings.telegram_api_base_url,
            request=self._request,
        )

    def calls_for(self, reply: Reply) -> int:
        calls = 1 + ("clear_buttons_of" in reply.extra)
        if reply.media_url and reply.invoice is None:
            text = fit_buttons(reply, BUTTON_LABEL_LIMIT).text
            calls += len(split_text(text, CAPTION_LIMIT)) > 1
        return calls

    async def send(self, address: str, reply: Reply) -> SendResult:
        """One reply is one Bot API call (two when a spent keyboard is cleared first, or
        a caption runs past Telegram's limit); the outbox already split long text."""
        layout = fit_buttons(reply, BUTTON_LABEL_LIMIT)
        text = layout.text
        if reply.link and reply.link_label is None:
            text = f"{text}\n{reply.link}"
        invoice = reply.invoice
        if "clear_buttons_of" in reply.extra:
            await self._clear_buttons(address, str(reply.extra["clear_buttons_of"]))
        try:
            if invoice is not None:
                sent = await self._bot.send_invoice(
                    address,
                    title=invoice.title,
                    description=invoice.description,
                    payload=invoice.payload,
                    currency=invoice.currency,
                    prices=[LabeledPrice(invoice.label, invoice.amount)],
                    provider_token="",  # Telegram Stars need none
                )
            elif reply.media_url:
                sent = await self._send_media(address, reply, text, layout)
            else:
                sent = await self._bot.send_message(
                    address,
                    text,
                    reply_markup=_keyboard(reply, layout),
                    disable_web_page_preview=not reply.link,
                )
        except RetryAfter as exc:
            retry = exc.retry_after
            seconds = retry.total_seconds() if hasattr(retry, "total_seconds") else float(retry)
            # Telegram says no more than whose limit was hit; its per-chat limit is the
            # one farmers' replies meet. The worker widens it when many chats hear it.
            return SendResult("retry", error="429 retry_after", retry_after=seconds, scope="chat")
        except Forbidden as exc:
            # "bot was blocked by the user" or "user is deactivated": no point retrying.
            return SendResult(
                "failed", error=f"403 {exc.message}", identity_inactive_reason="blocked"
            )
        except (BadRequest, InvalidToken) as exc:
            return SendResult("failed", error=f"rejected: {exc.message}")
        except TimedOut:
            return SendResult("retry", error="timeout")
        except NetworkError as exc:
            return SendResult("retry", error=f"network: {exc.message}")
        return SendResult("sent", provider_message_id=str(sent.message_id))

    async def _clear_buttons(self, address: str, message_id: str) -> None:
        """The farmer tapped a button of this message: its keyboard goes, so an old button
        cannot be tapped by mistake. Best effort: the answer goes out whatever happens."""
        try:
            await self._bot.edit_message_reply_markup(address, int(message_id), reply_markup=None)
        except (BadRequest, Forbidden, RetryAfter, NetworkError, ValueError) as exc:
            # Already without buttons, too old to edit, or Telegram busy: the answer matters more.
            log.info("telegram: buttons of %s not cleared: %s", message_id, exc)

    async def _send_media(
        self, address: str, reply: Reply, text: str, layout: ButtonLayout
    ) -> Message:
        """A photo or video with the text as its caption; a caption over Telegram's limit
        goes on in a message after it, which then carries the buttons."""
        parts = split_text(text, CAPTION_LIMIT)
        caption, rest = parts[0], "\n\n".join(parts[1:])
        url = reply.media_url or ""
        markup = None if rest else _keyboard(reply, layout)
        sent: Message
        if media_kind(url) == "video":
            sent = await self._bot.send_video(address, url, caption=caption, reply_markup=markup)
        else:
            sent = await self._bot.send_photo(address, url, caption=caption, reply_markup=markup)
        if rest:
            sent = await self._bot.send_message(
                address, rest, reply_markup=_keyboard(reply, layout), disable_web_page_preview=True
            )
        return sent

    async def close(self) -> None:
        # The Bot was never initialize()d (that costs a getMe), so its shutdown() would
        # skip our request: close that ourselves.
        await self._request.shutdown()
        await self._bot.shutdown()


# --- the plug-in: what the app, the sender and the CLI take from this file ----------

STARS_CURRENCY = "XTR"
# The updates the webhook reads; others are not sent at all.
ALLOWED_UPDATES = ["message", "callback_query", "poll_answer", "pre_checkout_query"]


def routes(settings: Settings, record: Record) -> APIRouter:
    router = APIRouter()

    @router.post("/webhooks/telegram", dependencies=[Depends(TelegramSecret(settings))])
    async def telegram_webhook(raw: Body, rt: RuntimeDep) -> Response:
        try:
            inbound, answer = parse_update(orjson.loads(raw))
        except ValueError as exc:  # orjson.JSONDecodeError is a ValueError too
            metrics.INBOUND.labels("telegram", "malformed").inc()
            raise HTTPException(status_code=400, detail="malformed update") from exc
        if inbound is None:
            metrics.INBOUND.labels("telegram", "ignored").inc()
        else:
            await record(rt, inbound)
        # A Bot API call in the response body (a button tap, a pre-checkout query).
        return JSONResponse(answer) if answer is not None else Response(status_code=200)

    return router


def capabilities(settings: Settings) -> Capabilities:
    return Capabilities(
        title="Telegram",
        buttons=True,
        lists=False,
        option_label_limit=BUTTON_LABEL_LIMIT,
        # Telegram shows "/" commands as commands; a bare "help" is a word in a chat.
        commands_need_slash=True,
        # Telegram sells digital goods for Stars only; the operator chooses to (or not).
        native_payment=NativePayment(
            currency=STARS_CURRENCY,
            per_rupee=settings.telegram_stars_per_rupee,
            preferred=settings.telegram_payments == "stars",
        ),
        # Telegram reports neither delivery nor reading: its messages stay "sent".
        receipts=False,
        options_outside_a_turn=True,
    )


def rate(settings: Settings) -> RateSettings:
    return RateSettings(
        key="telegram",
        per_s=settings.telegram_rate_per_s,
        chat_per_s=settings.telegram_chat_rate_per_s,
        chat_burst=settings.telegram_chat_burst,
    )


def sender(settings: Settings, engine: AsyncEngine | None) -> TelegramSender:
    return TelegramSender(settings)


def cli(app: typer.Typer, context: CliContext) -> None:
    """`krishi telegram set-webhook` and `krishi telegram setup`."""
    telegram_app = typer.Typer(help="Telegram set-up.", no_args_is_help=True)
    app.add_typer(telegram_app, name="telegram")

    @telegram_app.command("set-webhook")
    def set_webhook() -> None:
        """Point Telegram at PUBLIC_BASE_URL/webhooks/telegram, with the secret token."""
        settings = context.settings()
        token, secret = settings.telegram_bot_token, settings.telegram_webhook_secret
        if not settings.telegram_enabled or token is None or secret is None:
            typer.echo(
                "Telegram is off: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET", err=True
            )
            raise typer.Exit(1)
        url = settings.public_base_url.rstrip("/") + "/webhooks/telegram"

        async def run() -> None:
            bot = Bot(token.get_secret_value(), base_url=settings.telegram_api_base_url)
            async with bot:
                await bot.set_webhook(
                    url, secret_token=secret.get_secret_value(), allowed_updates=ALLOWED_UPDATES
                )

        asyncio.run(run())
        typer.echo(f"webhook set to {url}")

    @telegram_app.command("setup")
    def setup() -> None:
        """The bot's command menu in English, Hindi and Marathi, and its menu button."""
        settings = context.settings()
        if settings.telegram_bot_token is None:
            typer.echo("Telegram is off: set TELEGRAM_BOT_TOKEN", err=True)
            raise typer.Exit(1)
        token = settings.telegram_bot_token.get_secret_value()
        commands = context.command_menus()

        async def run() -> None:
            async with Bot(token, base_url=settings.telegram_api_base_url) as bot:
                await set_up_bot(bot, commands)

        asyncio.run(run())
        typer.echo(f"commands set in {', '.join(commands)}; menu button set")


CHANNEL = ChannelPlugin(
    name="telegram",
    enabled=lambda settings: settings.telegram_enabled,
    needs="TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET",
    capabilities=capabilities,
    routes=routes,
    sender=sender,
    rate=rate,
    cli=cli,
)
