"""Telegram: real Update shapes → Inbound (or nothing), and Reply → Bot API calls.

The table keeps the Bot API's own payload shapes, as Telegram posts them to the
webhook. Rendering goes through the real TelegramSender to a fake Bot API on a real
port, which records each call's parameters as Telegram would receive them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from bot.channels import telegram
from bot.messages import ChannelPayment, Inbound, Invoice, Option, Reply
from bot.settings import Settings
from tests.fakes import FakeTelegram, serve

CHAT = 5_123_456
WHEN = 1_764_800_000
FARMER = {"id": CHAT, "is_bot": False, "first_name": "Ramesh", "last_name": "Patil",
          "language_code": "mr"}  # fmt: skip
PRIVATE = {"id": CHAT, "first_name": "Ramesh", "type": "private"}


def message(update_id: int, **fields: Any) -> dict[str, Any]:
    """An Update with a private message from the farmer, plus `fields`."""
    body = {"message_id": 77, "date": WHEN, "chat": PRIVATE, "from": FARMER, **fields}
    return {"update_id": update_id, "message": body}


def _file(**more: Any) -> dict[str, Any]:
    return {"file_id": "AgAD", "file_unique_id": "AQAD", **more}


def _paid(kind: str) -> dict[str, Any]:
    return {kind: {"currency": "XTR", "total_amount": 144, "invoice_payload": "pur-1",
                   "telegram_payment_charge_id": "tgch_1", "provider_payment_charge_id": ""}}  # fmt: skip


def _said(update_id: int, text: str = "", **more: Any) -> Inbound:
    """The Inbound a private message from the farmer becomes."""
    values: dict[str, Any] = {
        "channel": "telegram",
        "external_user_id": str(CHAT),
        "external_message_id": str(update_id),
        "text": text,
        "display_name": "Ramesh Patil",
        "language_hint": "mr",
        "received_at": float(WHEN),
        **more,
    }
    return Inbound(**values)


# (name, Update, the Inbound it is, the webhook's answer in the response body)
SHAPES: list[tuple[str, dict[str, Any], Inbound | None, dict[str, Any] | None]] = [
    ("text", message(1, text="/start"), _said(1, "/start"), None),
    ("text in Devanagari", message(2, text="कापूस"), _said(2, "कापूस"), None),
    (
        "button tap",
        {"update_id": 3, "callback_query": {
            "id": "4382", "from": FARMER, "chat_instance": "-88", "data": "lang:hi",
            "message": {"message_id": 70, "date": WHEN, "chat": PRIVATE, "text": "Language?",
                        "from": {"id": 1, "is_bot": True, "first_name": "Krishi"}}}},
        Inbound("telegram", str(CHAT), "3", payload="lang:hi", display_name="Ramesh Patil",
                language_hint="mr", tapped_message_id="70"),
        {"method": "answerCallbackQuery", "callback_query_id": "4382"},
    ),
    (
        "tap on a message too old to be sent along",
        {"update_id": 4, "callback_query": {"id": "4383", "from": FARMER, "chat_instance": "-88",
                                            "data": "cmd:help"}},
        Inbound("telegram", str(CHAT), "4", payload="cmd:help", display_name="Ramesh Patil",
                language_hint="mr"),
        {"method": "answerCallbackQuery", "callback_query_id": "4383"},
    ),
    ("edited message", {"update_id": 5, "edited_message": {
        "message_id": 77, "date": WHEN, "edit_date": WHEN + 5, "chat": PRIVATE, "from": FARMER,
        "text": "fixed"}}, None, None),
    ("channel post", {"update_id": 6, "channel_post": {
        "message_id": 9, "date": WHEN, "text": "news",
        "chat": {"id": -100123, "title": "Krishi news", "type": "channel"}}}, None, None),
    ("group message", {"update_id": 7, "message": {
        "message_id": 9, "date": WHEN, "from": FARMER, "text": "/start",
        "chat": {"id": -4001, "title": "Village group", "type": "group"}}}, None, None),
    (
        "pre-checkout query",
        {"update_id": 8, "pre_checkout_query": {
            "id": "pcq-1", "from": FARMER, "currency": "XTR", "total_amount": 144,
            "invoice_payload": "pur-1"}},
        None,
        {"method": "answerPreCheckoutQuery", "pre_checkout_query_id": "pcq-1", "ok": True},
    ),
    ("successful payment", message(9, **_paid("successful_payment")),
     _said(9, payment=ChannelPayment("XTR", 144, "pur-1", "tgch_1")), None),
    ("refunded payment", message(10, **_paid("refunded_payment")),
     _said(10, payment=ChannelPayment("XTR", 144, "pur-1", "tgch_1", refunded=True)), None),
    ("voice", message(11, voice=_file(duration=4, mime_type="audio/ogg")),
     _said(11, attachment="voice"), None),
    ("photo with caption", message(12, photo=[_file(width=90, height=90)], caption="rust?"),
     _said(12, "rust?", attachment="photo"), None),
    ("location", message(13, location={"latitude": 19.99, "longitude": 73.78}),
     _said(13, attachment="location"), None),
    ("sticker", message(14, sticker=_file(width=512, height=512, is_animated=False,
                                          is_video=False, type="regular")),
     _said(14, attachment="sticker"), None),
    ("document", message(15, document=_file(file_name="soil.pdf")),
     _said(15, attachment="document"), None),
    ("video note", message(16, video_note=_file(length=240, duration=3)),
     _said(16, attachment="video"), None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("update", "expected", "answer"),
    [pytest.param(u, e, a, id=name) for name, u, e, a in SHAPES],
)
def test_update_shapes(
    update: dict[str, Any], expected: Inbound | None, answer: dict[str, Any] | None
) -> None:
    assert telegram.parse_update(update) == (expected, answer)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param([], id="not an object"),
        pytest.param({"message": {"text": "hi"}}, id="no update_id"),
        pytest.param({"update_id": "12"}, id="update_id not a number"),
        pytest.param({"update_id": 1, "message": {"text": "no chat"}}, id="message without chat"),
        pytest.param(
            {"update_id": 1, "callback_query": {"id": "1", "data": "x"}}, id="tap without sender"
        ),
    ],
)
def test_refused_shapes(body: Any) -> None:
    with pytest.raises(ValueError):
        telegram.parse_update(body)


# --- Reply → Bot API call ---------------------------------------------------------


@pytest.fixture
async def bot_api() -> AsyncIterator[tuple[FakeTelegram, telegram.TelegramSender]]:
    fake = FakeTelegram()
    async with serve(fake.app) as url:
        settings = Settings(
            telegram_bot_token=SecretStr(fake.token),
            telegram_webhook_secret=SecretStr("secret"),
            telegram_api_base_url=url + "/bot",
        )
        sender = telegram.sender(settings, None)
        try:
            yield fake, sender
        finally:
            await sender.close()


def _keyboard(params: dict[str, Any]) -> list[list[dict[str, Any]]]:
    rows: list[list[dict[str, Any]]] = json.loads(params["reply_markup"])["inline_keyboard"]
    return rows


async def test_options_become_one_button_a_row(
    bot_api: tuple[FakeTelegram, telegram.TelegramSender],
) -> None:
    fake, sender = bot_api
    reply = Reply(
        "Which language?", options=(Option("हिंदी", "lang:hi"), Option("English", "lang:en"))
    )
    result = await sender.send(str(CHAT), reply)
    assert result.outcome == "sent" and result.provider_message_id is not None
    [call] = fake.calls
    assert call.method == "sendMessage" and call.params["text"] == "Which language?"
    assert _keyboard(call.params) == [
        [{"text": "हिंदी", "callback_data": "lang:hi"}],
        [{"text": "English", "callback_data": "lang:en"}],
    ]


async def test_a_label_too_long_for_a_button_goes_whole_into_the_text(
    bot_api: tuple[FakeTelegram, telegram.TelegramSender],
) -> None:
    fake, sender = bot_api
    long = "Do not burn the residue; mulch it back into the soil instead"
    reply = Reply("What should you do?", options=(Option(long, "qa:1"), Option("Burn it", "qa:2")))
    await sender.send(str(CHAT), reply.numbered(3))
    [call] = fake.calls
    assert f"3. {long}" in call.params["text"] and "4. Burn it" in call.params["text"]
    assert _keyboard(call.params) == [
        [{"text": "3", "callback_data": "qa:1"}],
        [{"text": "4", "callback_data": "qa:2"}],
    ]


async def test_link_and_photo(bot_api: tuple[FakeTelegram, telegram.TelegramSender]) -> None:
    fake, sender = bot_api
    await sender.send(str(CHAT), Reply("Pay here", link="https://pay.example/1", link_label="Pay"))
    await sender.send(str(CHAT), Reply("Pink bollworm", media_url="https://cdn.example/pb.jpg"))
    link, photo = fake.calls
    assert _keyboard(link.params) == [[{"text": "Pay", "url": "https://pay.example/1"}]]
    assert photo.method == "sendPhoto" and photo.params["caption"] == "Pink bollworm"
    assert photo.params["photo"] == "https://cdn.example/pb.jpg"


async def test_an_invoice_is_sent_for_stars(
    bot_api: tuple[FakeTelegram, telegram.TelegramSender],
) -> None:
    fake, sender = bot_api
    invoice = Invoice("Cotton care", "Price: ₹239", "pur-1", "XTR", "Cotton care", 144)
    # Through JSON, as the outbox keeps it between the turn and the sender.
    await sender.send(
        str(CHAT), Reply.from_json(Reply("💳 Cotton care", invoice=invoice).to_json())
    )
    [call] = fake.calls
    assert call.method == "sendInvoice"
    assert (call.params["title"], call.params["payload"], call.params["currency"]) == (
        "Cotton care", "pur-1", "XTR",
    )  # fmt: skip
    assert json.loads(call.params["prices"]) == [{"label": "Cotton care", "amount": 144}]


async def test_a_tapped_message_loses_its_buttons_first(
    bot_api: tuple[FakeTelegram, telegram.TelegramSender],
) -> None:
    fake, sender = bot_api
    await sender.send(str(CHAT), Reply("Done", extra={"clear_buttons_of": "70"}))
    assert [c.method for c in fake.calls] == ["editMessageReplyMarkup", "sendMessage"]
    assert fake.calls[0].params["message_id"] == "70"


@pytest.mark.parametrize(
    ("fault", "outcome", "inactive", "scope"),
    [
        pytest.param(FakeTelegram.retry_after(3), "retry", None, "chat", id="429 retry_after"),
        pytest.param(FakeTelegram.server_error(502), "retry", None, "channel", id="502"),
        pytest.param(FakeTelegram.blocked(), "failed", "blocked", "channel", id="blocked"),
        pytest.param(
            FakeTelegram.server_error(400), "failed", None, "channel",
            id="400 bad request",
        ),
    ],
)  # fmt: skip
async def test_errors_are_retry_or_final(
    bot_api: tuple[FakeTelegram, telegram.TelegramSender],
    fault: Any,
    outcome: str,
    inactive: str | None,
    scope: str,
) -> None:
    fake, sender = bot_api
    fake.fail_next(fault)
    result = await sender.send(str(CHAT), Reply("Hello"))
    assert (result.outcome, result.identity_inactive_reason, result.scope) == (
        outcome, inactive, scope,
    )  # fmt: skip
    if fault.status == 429:
        assert result.retry_after == 3
