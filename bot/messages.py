"""The two values that cross between channels and conversations.

A channel adapter turns a provider's payload into an `Inbound`; a handler
answers with `Reply` values. Neither side knows the other's details.
"""

from __future__ import annotations

import dataclasses
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

# A channel's stored name ("telegram", "whatsapp", "console"): whatever the plug-ins
# in `bot/channels/` register, so a new channel needs no change here.
Channel = str


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None


def storable_text(text: str) -> str:
    """`text` without NUL characters and lone surrogates, which PostgreSQL refuses."""
    return _UNSTORABLE.sub("", text)


@dataclass(frozen=True, slots=True)
class ChannelPayment:
    """A payment the channel reports as done (Telegram's `successful_payment`), or
    as given back (`refunded_payment`, with `refunded` set)."""

    currency: str  # "XTR" for Telegram Stars
    amount: int  # in the currency's smallest unit: whole stars for XTR
    payload: str  # the invoice payload we sent: the purchase id
    charge_id: str  # the channel's id of the payment (needed to refund it)
    refunded: bool = False


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a farmer did: sent text, tapped a button, answered a poll."""

    channel: Channel
    external_user_id: str  # Telegram chat id, WhatsApp number (E.164), console name
    external_message_id: str  # unique per delivery: update_id, MessageSid
    text: str = ""
    payload: str | None = None  # the button chosen (callback_data / ButtonPayload)
    display_name: str | None = None
    language_hint: str | None = None  # Telegram's language_code
    received_at: float = 0.0  # unix time the provider says it happened
    # Money the channel itself collected (Telegram Stars). Only a channel adapter
    # sets it, from the provider's own word (a verified webhook), never from text.
    payment: ChannelPayment | None = None
    # What the farmer sent besides words: "voice", "photo", "video", "document",
    # "location", "sticker" (set by the channel's parser; the text is any caption).
    attachment: str | None = None
    # The channel's id of the message whose button was tapped (Telegram), so its
    # keyboard can be taken away once answered.
    tapped_message_id: str | None = None

    def __post_init__(self) -> None:
        # Every channel's text passes here: a NUL or a lone surrogate (which PostgreSQL
        # cannot store, and a provider may still send) is dropped, whichever field it
        # came in, so no payload a provider can send fails a write.
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, str) and not _storable(value):
                object.__setattr__(self, item.name, storable_text(value))

    @property
    def source(self) -> str:
        return self.channel

    def to_json(self) -> dict[str, Any]:
        """As the inbox keeps it, between the webhook and the turn."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Inbound:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {name: value for name, value in body.items() if name in fields}
        payment = values.get("payment")
        if isinstance(payment, dict):
            values["payment"] = ChannelPayment(**payment)
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Option:
    """A choice offered to the farmer: a button on Telegram, a number on WhatsApp."""

    label: str
    payload: str  # ASCII, at most 64 bytes: Telegram's callback_data limit

    def __post_init__(self) -> None:
        if not self.payload.isascii() or len(self.payload) > 64:
            raise ValueError(f"option payload must be ASCII and <= 64 bytes: {self.payload!r}")


@dataclass(frozen=True, slots=True)
class Invoice:
    """A bill the channel itself can take payment for (Telegram Stars: sendInvoice).

    A channel whose capabilities have a `native_payment` sends it as a payable
    message; the payment comes back as `Inbound.payment`, its payload as sent here.
    """

    title: str  # at most 32 characters
    description: str  # at most 255 characters
    payload: str  # the purchase id, given back with the payment
    currency: str  # the channel's own currency (NativePayment.currency)
    label: str  # the price line's label
    amount: int  # in the currency's smallest unit (whole stars for XTR)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Invoice:
        return cls(
            title=str(body["title"]),
            description=str(body["description"]),
            payload=str(body["payload"]),
            currency=str(body["currency"]),
            label=str(body["label"]),
            amount=int(body["amount"]),
        )


@dataclass(frozen=True, slots=True)
class Reply:
    """What we say back. Rendered per channel by the sender."""

    text: str
    options: tuple[Option, ...] = ()
    link: str | None = None
    link_label: str | None = None
    media_url: str | None = None
    # The option numbers shown on WhatsApp, assigned when the turn queues the reply.
    first_number: int = 1
    # A bill to pay inside the chat (only for a channel with a native payment).
    invoice: Invoice | None = None
    # What the engine tells the channel's sender (a template's ContentSid, the tapped
    # message whose buttons go): never set by handlers.
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"text": self.text}
        if self.options:
            body["options"] = [[o.label, o.payload] for o in self.options]
            body["first_number"] = self.first_number
        for name in ("link", "link_label", "media_url"):
            value = getattr(self, name)
            if value:
                body[name] = value
        if self.invoice is not None:
            body["invoice"] = dataclasses.asdict(self.invoice)
        if self.extra:
            body["extra"] = self.extra
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Reply:
        extra = dict(body.get("extra", {}))
        # Rows queued before invoices were typed carry it in `extra`.
        invoice = body.get("invoice") or extra.pop("invoice", None)
        return cls(
            text=body.get("text", ""),
            options=tuple(Option(label, payload) for label, payload in body.get("options", ())),
            link=body.get("link"),
            link_label=body.get("link_label"),
            media_url=body.get("media_url"),
            first_number=body.get("first_number", 1),
            invoice=Invoice.from_json(invoice) if isinstance(invoice, dict) else None,
            extra=extra,
        )

    def numbered(self, first: int) -> Reply:
        return dataclasses.replace(self, first_number=first)


@dataclass(frozen=True, slots=True)
class NativePayment:
    """The channel collects money itself, in its own currency (Telegram Stars)."""

    currency: str  # "XTR"
    # The operator's rate: units of that currency asked per rupee of a price.
    per_rupee: float
    # The operator chose it for selling on this channel (TELEGRAM_PAYMENTS=stars):
    # /buy sends an Invoice instead of a payment link.
    preferred: bool = False

    def price(self, amount: Decimal) -> int:
        """A rupee price in whole units of this currency, rounded up, at least 1."""
        return max(1, math.ceil(amount * Decimal(str(self.per_rupee))))


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can show and do, so handlers ask "can it?", never "which is it?".

    Each channel in `bot/channels/` declares its own; the turn carries the one of
    the farmer's channel (`Turn.capabilities`). The defaults describe plain text.
    """

    # As people call it ("WhatsApp"), the same in every language.
    title: str = ""

    # Options as tap-to-answer buttons (else the farmer types the option's number).
    buttons: bool = False
    # Longer menus as a pick-list.
    lists: bool = False
    # The longest option label a button shows whole (0: no buttons).
    option_label_limit: int = 0
    # A command must start with "/" (Telegram); elsewhere "help" is a command too.
    commands_need_slash: bool = False
    # The channel can take a payment itself (Telegram Stars), or None.
    native_payment: NativePayment | None = None
    # The provider reports delivery and reading of our messages.
    receipts: bool = False
    # A message outside a turn (a broadcast) may carry options: a tap names its own
    # choice. Where options are answered by number, the number means the menu of the
    # farmer's last turn, so such a message must not bring numbers of its own.
    options_outside_a_turn: bool = False
    # Outside the provider's reply window only approved templates go out (WhatsApp's 24 h).
    templates_outside_window: bool = False
    # The provider's delivery errors, as reports record them ("twilio 63003"), and
    # what each means to a person (marked with N_, translated where shown).
    delivery_errors: Mapping[str, str] = field(default_factory=dict)


_PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif")
_VIDEO_SUFFIXES = (".mp4", ".3gp", ".mov", ".m4v")


def media_kind(url: str | None) -> Literal["photo", "video"] | None:
    """A URL of an image or video file (sent as media, shown in the chat), or None for
    anything else (a YouTube page, an article: sent as a link)."""
    if not url:
        return None
    path = url.split("?", 1)[0].split("#", 1)[0].lower()
    if path.endswith(_PHOTO_SUFFIXES):
        return "photo"
    if path.endswith(_VIDEO_SUFFIXES):
        return "video"
    return None


def parse_uuid(value: object) -> uuid.UUID | None:
    """An id from a button payload, saved state or a provider's notes; None for
    anything else (a stale or forged tap, a missing field)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
