"""The registry of channel plug-ins, what each can do, and the typed replies
handlers give them."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from pydantic import SecretStr

from bot.app import create_app
from bot.channels import BY_NAME, CHANNELS, announce_channels, capabilities_by_channel
from bot.channels.base import Record
from bot.messages import Capabilities, Invoice, NativePayment, Option, Reply, media_kind
from bot.settings import Settings

HANDLERS = Path(__file__).resolve().parents[3] / "handlers"
TELEGRAM_ON = {"telegram_bot_token": SecretStr("1:t"), "telegram_webhook_secret": SecretStr("s")}
WHATSAPP_ON = {"twilio_account_sid": "AC1", "twilio_auth_token": SecretStr("t"),
               "twilio_whatsapp_from": "+14155238886"}  # fmt: skip


def test_each_channel_is_registered_once_with_all_it_needs() -> None:
    assert [c.name for c in CHANNELS] == ["telegram", "whatsapp", "console"]
    assert set(BY_NAME) == {c.name for c in CHANNELS}
    for channel in CHANNELS:
        # A channel that takes webhooks must also send, at a rate.
        if channel.routes is not None:
            assert channel.sender is not None and channel.rate is not None, channel.name


async def _nothing(*_args: object) -> None:
    return None


def test_the_app_mounts_each_channels_webhooks_at_their_paths() -> None:
    record: Record = _nothing
    paths = {
        route.path
        for channel in CHANNELS
        if channel.routes is not None
        for route in channel.routes(Settings(), record).routes
        if isinstance(route, APIRoute)
    }
    assert paths == {"/webhooks/telegram", "/webhooks/whatsapp", "/webhooks/whatsapp/status"}
    app = create_app(Settings())
    for name, path in [
        ("telegram_webhook", "/webhooks/telegram"),
        ("whatsapp_webhook", "/webhooks/whatsapp"),
        ("whatsapp_status", "/webhooks/whatsapp/status"),
    ]:
        assert app.url_path_for(name) == path


def test_capabilities() -> None:
    telegram, whatsapp, console = (
        capabilities_by_channel(Settings())[name] for name in ("telegram", "whatsapp", "console")
    )
    assert telegram.commands_need_slash and telegram.buttons and not telegram.receipts
    assert telegram.option_label_limit == 40
    assert telegram.native_payment == NativePayment("XTR", 0.6, preferred=False)
    assert not whatsapp.commands_need_slash and whatsapp.receipts and whatsapp.lists
    assert whatsapp.native_payment is None and whatsapp.option_label_limit == 20
    assert console == Capabilities(title="Console")
    # The operator's choices reach them.
    chosen = capabilities_by_channel(
        Settings(
            telegram_payments="stars", telegram_stars_per_rupee=0.5, whatsapp_interactive=False
        )
    )
    assert chosen["telegram"].native_payment == NativePayment("XTR", 0.5, preferred=True)
    assert not chosen["whatsapp"].buttons and not chosen["whatsapp"].lists


@pytest.mark.parametrize(("amount", "stars"), [("239.20", 144), ("1", 1), ("0.10", 1), ("100", 60)])
def test_a_native_price_is_rounded_up_and_never_zero(amount: str, stars: int) -> None:
    assert NativePayment("XTR", 0.6).price(Decimal(amount)) == stars


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, ["telegram: off (set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET)",
              "whatsapp: off (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM)"]),
        ({**TELEGRAM_ON, **WHATSAPP_ON}, ["telegram: on", "whatsapp: on"]),
        # An empty credential is a missing one.
        ({**TELEGRAM_ON, "telegram_webhook_secret": SecretStr("")},
         ["telegram: off (set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET)",
          "whatsapp: off (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM)"]),
    ],
)  # fmt: skip
def test_a_channel_without_credentials_is_off_and_says_so(
    overrides: dict[str, object], expected: list[str]
) -> None:
    lines = announce_channels(Settings(**overrides))  # type: ignore[arg-type]
    assert lines[:2] == expected


def test_an_invoice_travels_typed_through_the_outbox() -> None:
    invoice = Invoice("Cotton care", "Price: ₹239", "pur-1", "XTR", "Cotton care", 144)
    reply = Reply("💳 Cotton care", invoice=invoice)
    body = reply.to_json()
    assert body["invoice"]["amount"] == 144 and "extra" not in body
    assert Reply.from_json(body) == reply
    # A row queued before invoices were typed kept it in `extra`: still an invoice.
    legacy = {"text": "💳", "extra": {"invoice": body["invoice"], "clear_buttons_of": "7"}}
    read = Reply.from_json(legacy)
    assert read.invoice == invoice and read.extra == {"clear_buttons_of": "7"}


def test_options_travel_with_their_numbers() -> None:
    reply = Reply("Choose", options=(Option("A", "p:a"), Option("B", "p:b"))).numbered(3)
    assert Reply.from_json(reply.to_json()) == reply


def test_media_urls() -> None:
    assert media_kind("https://cdn.example.org/a/drill.MP4?sig=1") == "video"
    assert media_kind("https://cdn.example.org/leaf.jpg") == "photo"
    assert media_kind("https://www.youtube.com/watch?v=abc") is None
    assert media_kind(None) is None


def test_handlers_never_name_a_channel() -> None:
    """Handlers ask `turn.capabilities`; a channel's name or its settings in a handler
    would tie a conversation to one provider again."""
    # The providers' channels: "console" is also the instructors' /console command.
    names = {channel.name for channel in CHANNELS if channel.routes is not None}
    prefixes = (*[f"{name}_" for name in names], "twilio_")
    found: list[str] = []
    for path in sorted(HANDLERS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{path.name}:{node.lineno}: {node.value!r}")
            if isinstance(node, ast.Attribute) and node.attr.startswith(prefixes):
                found.append(f"{path.name}:{node.lineno}: .{node.attr}")
    assert found == []
