"""WhatsApp through Twilio: real webhook forms → Inbound (or refusal), status
callbacks → delivery statuses, and Reply → Twilio's Messages API parameters.

The forms are Twilio's own field names and values, as it posts them. Rendering goes
through the real WhatsAppSender to a fake Twilio on a real port.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from bot.channels import whatsapp
from bot.messages import Inbound, Option, Reply
from bot.settings import Settings
from tests.fakes import FakeTwilio, serve

NUMBER = "+919800000001"
BASE = {"MessageSid": "SM1", "SmsMessageSid": "SM1", "SmsSid": "SM1", "AccountSid": "AC1",
        "From": f"whatsapp:{NUMBER}", "To": "whatsapp:+14155238886", "NumMedia": "0",
        "NumSegments": "1", "ProfileName": "Sunita", "WaId": "919800000001",
        "SmsStatus": "received", "ApiVersion": "2010-04-01", "MessageType": "text"}  # fmt: skip


def said(text: str = "", **more: Any) -> Inbound:
    return Inbound("whatsapp", NUMBER, "SM1", text=text, display_name="Sunita", **more)


# (name, the form's fields over BASE, the Inbound it is)
SHAPES: list[tuple[str, dict[str, str], Inbound]] = [
    ("text", {"Body": "namaste"}, said("namaste")),
    ("a menu number", {"Body": "2"}, said("2")),
    ("quick-reply button", {"Body": "15 cm", "ButtonText": "15 cm", "ButtonPayload": "qa:abc:1",
                            "MessageType": "button"}, said("15 cm", payload="qa:abc:1")),
    ("list item", {"Body": "3. 📘 Farm ponds", "ListId": "course:x",
                   "ListTitle": "3. 📘 Farm ponds", "MessageType": "interactive"},
     said("3. 📘 Farm ponds", payload="course:x")),
    ("voice note", {"Body": "", "NumMedia": "1", "MediaContentType0": "audio/ogg",
                    "MediaUrl0": "https://api.twilio.com/m/1", "MessageType": "audio"},
     said(attachment="voice")),
    ("photo with caption", {"Body": "is this rust?", "NumMedia": "1",
                            "MediaContentType0": "image/jpeg", "MessageType": "image"},
     said("is this rust?", attachment="photo")),
    ("sticker", {"Body": "", "NumMedia": "1", "MediaContentType0": "image/webp",
                 "MessageType": "sticker"}, said(attachment="sticker")),
    ("video", {"Body": "", "NumMedia": "1", "MediaContentType0": "video/mp4",
               "MessageType": "video"}, said(attachment="video")),
    ("document", {"Body": "", "NumMedia": "1", "MediaContentType0": "application/pdf",
                  "MessageType": "document"}, said(attachment="document")),
    ("location", {"Body": "", "Latitude": "19.99", "Longitude": "73.78",
                  "MessageType": "location"}, said(attachment="location")),
    ("no profile name", {"Body": "hi", "ProfileName": ""},
     Inbound("whatsapp", NUMBER, "SM1", text="hi")),
    ("an old form with SmsMessageSid only", {"Body": "hi", "MessageSid": ""}, said("hi")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "expected"), [pytest.param(f, e, id=name) for name, f, e in SHAPES]
)
def test_message_shapes(fields: dict[str, str], expected: Inbound) -> None:
    assert whatsapp.parse_message({**BASE, **fields}) == expected


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"From": "+919800000001"}, id="an SMS, not WhatsApp"),
        pytest.param({"MessageSid": "", "SmsMessageSid": ""}, id="no message id"),
        pytest.param({"From": ""}, id="no sender"),
    ],
)
def test_refused_message_shapes(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        whatsapp.parse_message({**BASE, "Body": "hi", **fields})


@pytest.mark.parametrize(
    "body",
    [b"", b"\xff\xfe", b"Body=a&&&=", b"just words"],
)
def test_refused_form_bodies(body: bytes) -> None:
    with pytest.raises((ValueError, UnicodeDecodeError)):
        whatsapp.parse_form(body)


STATUS = {"MessageSid": "SM9", "SmsSid": "SM9", "AccountSid": "AC1", "From": "whatsapp:+14155238886",
          "To": f"whatsapp:{NUMBER}", "ChannelPrefix": "whatsapp", "ApiVersion": "2010-04-01"}  # fmt: skip

# (the callback's fields, the status recorded, its error); None: an interim state
STATUSES: list[tuple[dict[str, str], tuple[str, str | None] | None]] = [
    ({"MessageStatus": "queued"}, None),
    ({"MessageStatus": "sending"}, None),
    ({"MessageStatus": "sent"}, ("sent", None)),
    ({"MessageStatus": "delivered"}, ("delivered", None)),
    ({"MessageStatus": "read"}, ("read", None)),
    ({"MessageStatus": "undelivered", "ErrorCode": "30003"}, ("failed", "twilio 30003")),
    ({"MessageStatus": "undelivered"}, ("failed", "undelivered")),
    ({"MessageStatus": "failed", "ErrorCode": "63016"}, ("failed", "needs template")),
]


@pytest.mark.parametrize(("fields", "expected"), STATUSES)
def test_status_callback_shapes(
    fields: dict[str, str], expected: tuple[str, str | None] | None
) -> None:
    parsed = whatsapp.parse_status({**STATUS, **fields})
    assert (None if parsed is None else (parsed.status, parsed.error)) == expected
    if parsed is not None:
        assert parsed.message_sid == "SM9"


def test_a_status_without_its_message_is_refused() -> None:
    with pytest.raises(ValueError):
        whatsapp.parse_status({"MessageStatus": "delivered"})


def test_every_delivery_error_a_status_can_record_has_a_meaning() -> None:
    """Broadcast reports name them through the channel's capabilities."""
    errors = whatsapp.capabilities(Settings()).delivery_errors
    for code in ("30003", "30005", "30006", "30007", "30008", "63003", "63024"):
        parsed = whatsapp.parse_status({**STATUS, "MessageStatus": "failed", "ErrorCode": code})
        assert parsed is not None and parsed.error in errors
    assert "needs template" in errors


# --- options as WhatsApp's own buttons and lists ------------------------------------


def _reply(n: int, label: str = "Option", text: str = "Choose") -> Reply:
    return Reply(text, options=tuple(Option(f"{label} {i}", f"p:{i}") for i in range(n)))


def test_up_to_three_options_are_quick_replies_with_short_titles() -> None:
    reply = Reply("Start?", options=(Option("✅ Start the quiz now, please", "qstart:1"),))
    made = whatsapp.interactive_for(reply)
    assert made is not None and made.content_type == "twilio/quick-reply"
    [action] = made.definition["actions"]
    assert len(action["title"]) <= 20 and action["title"].endswith("…")
    assert action["id"] == "qstart:1" and made.definition["body"] == "{{1}}"


def test_up_to_ten_options_are_a_list_and_more_are_numbered_text() -> None:
    made = whatsapp.interactive_for(_reply(7, "A rather long course title here").numbered(4))
    assert made is not None and made.content_type == "twilio/list-picker"
    items = made.definition["items"]
    assert [i["item"][:3] for i in items] == ["4. ", "5. ", "6. ", "7. ", "8. ", "9. ", "10."]
    assert all(len(i["item"]) <= 24 and len(i["description"]) <= 72 for i in items)
    assert made.definition["button"] == "☰ 4–10"
    assert whatsapp.interactive_for(_reply(11)) is None
    assert whatsapp.interactive_for(_reply(2, text="x" * 1100)) is None
    # The same options make the same content; other options another.
    assert whatsapp.interactive_for(_reply(7)) == whatsapp.interactive_for(_reply(7, text="y"))
    assert whatsapp.interactive_for(_reply(7)) != whatsapp.interactive_for(_reply(6))


# --- Reply → Messages API -----------------------------------------------------------


@pytest.fixture
async def twilio_api() -> AsyncIterator[tuple[FakeTwilio, whatsapp.WhatsAppSender]]:
    fake = FakeTwilio()
    async with serve(fake.app) as url:
        settings = Settings(
            public_base_url="https://krishi.example",
            twilio_account_sid=fake.account_sid,
            twilio_auth_token=SecretStr("token"),
            twilio_whatsapp_from="+14155238886",
            twilio_api_base_url=url,
            twilio_content_base_url=url,
        )
        # Without a database for its content cache, options go as numbered text.
        sender = whatsapp.sender(settings, None)
        try:
            yield fake, sender
        finally:
            await sender.close()


async def test_options_go_as_numbered_text_with_a_status_callback(
    twilio_api: tuple[FakeTwilio, whatsapp.WhatsAppSender],
) -> None:
    fake, sender = twilio_api
    reply = Reply(
        "Which language?", options=(Option("हिंदी", "lang:hi"), Option("English", "lang:en"))
    )
    result = await sender.send(NUMBER, reply)
    [call] = fake.calls
    assert result.outcome == "sent" and result.provider_message_id == call.params["_sid"]
    assert call.params["From"] == "whatsapp:+14155238886"
    assert call.params["To"] == f"whatsapp:{NUMBER}"
    assert call.params["Body"] == "Which language?\n\n1. हिंदी\n2. English"
    assert call.params["StatusCallback"] == "https://krishi.example/webhooks/whatsapp/status"


async def test_media_with_a_long_caption_goes_on_in_a_second_message(
    twilio_api: tuple[FakeTwilio, whatsapp.WhatsAppSender],
) -> None:
    fake, sender = twilio_api
    text = "\n\n".join(["Pink bollworm: " + "look inside the boll. " * 20] * 4)
    await sender.send(NUMBER, Reply(text, media_url="https://cdn.example/pb.jpg"))
    first, second = fake.calls
    assert first.params["MediaUrl"] == "https://cdn.example/pb.jpg"
    assert len(first.params["Body"]) <= whatsapp.MEDIA_CAPTION_LIMIT
    assert "MediaUrl" not in second.params and second.params["Body"]


async def test_a_template_goes_by_its_content_sid(
    twilio_api: tuple[FakeTwilio, whatsapp.WhatsAppSender],
) -> None:
    fake, sender = twilio_api
    variables = json.dumps({"1": "Your badge: 🏅 First harvest"})
    extra = {"content_sid": "HX123", "content_variables": variables}
    await sender.send(NUMBER, Reply("🏅 First harvest", extra=extra))
    [call] = fake.calls
    assert (call.params["ContentSid"], call.params["ContentVariables"]) == ("HX123", variables)
    assert "Body" not in call.params


@pytest.mark.parametrize(
    ("status", "code", "outcome", "error", "inactive"),
    [
        (400, 63016, "failed", "needs template", None),
        (429, 20429, "retry", "twilio 429 20429", None),
        (500, 20500, "retry", "twilio 500 20500", None),
        (400, 21610, "failed", None, "unreachable"),
        (400, 21602, "failed", None, None),
    ],
)
async def test_errors_are_retry_or_final(
    twilio_api: tuple[FakeTwilio, whatsapp.WhatsAppSender],
    status: int,
    code: int,
    outcome: str,
    error: str | None,
    inactive: str | None,
) -> None:
    fake, sender = twilio_api
    fake.fail_next(FakeTwilio.error(status, code))
    result = await sender.send(NUMBER, Reply("Hello"))
    assert (result.outcome, result.identity_inactive_reason) == (outcome, inactive)
    if error is not None:
        assert result.error == error
