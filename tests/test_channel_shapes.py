"""Real payload shapes, read by the channel parsers, and how options are rendered."""

from __future__ import annotations

import pytest

from bot.channels import telegram, whatsapp
from bot.messages import Option, Reply, media_kind

_BASE = {"MessageSid": "SM1", "From": "whatsapp:+919800000001", "To": "whatsapp:+14155238886",
         "AccountSid": "AC1", "NumMedia": "0", "ProfileName": "Sunita"}  # fmt: skip

# What Twilio posts for each thing a farmer can do, and what it means to us.
WHATSAPP_SHAPES = [
    ({"Body": "2"}, "2", None, None),
    ({"Body": "15 cm", "ButtonText": "15 cm", "ButtonPayload": "qa:abc:1", "MessageType": "button"},
     "15 cm", "qa:abc:1", None),
    ({"Body": "3. 📘 Farm ponds", "ListId": "course:x", "ListTitle": "3. 📘 Farm ponds",
      "MessageType": "interactive"}, "3. 📘 Farm ponds", "course:x", None),
    ({"Body": "", "NumMedia": "1", "MediaContentType0": "audio/ogg", "MediaUrl0": "https://m/1"},
     "", None, "voice"),
    ({"Body": "is this rust?", "NumMedia": "1", "MediaContentType0": "image/jpeg"},
     "is this rust?", None, "photo"),
    ({"Body": "", "NumMedia": "1", "MediaContentType0": "image/webp"}, "", None, "sticker"),
    ({"Body": "", "NumMedia": "1", "MediaContentType0": "video/mp4"}, "", None, "video"),
    ({"Body": "", "NumMedia": "1", "MediaContentType0": "application/pdf"}, "", None, "document"),
    ({"Body": "", "Latitude": "19.99", "Longitude": "73.78", "MessageType": "location"},
     "", None, "location"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "text", "payload", "attachment"), WHATSAPP_SHAPES)
def test_whatsapp_message_shapes(
    fields: dict[str, str], text: str, payload: str | None, attachment: str | None
) -> None:
    inbound = whatsapp.parse_message({**_BASE, **fields})
    assert (inbound.text, inbound.payload, inbound.attachment) == (text, payload, attachment)


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({"MessageStatus": "delivered"}, "delivered", None),
        ({"MessageStatus": "read"}, "read", None),
        ({"MessageStatus": "undelivered", "ErrorCode": "30003"}, "failed", "twilio 30003"),
        ({"MessageStatus": "undelivered"}, "failed", "undelivered"),
        ({"MessageStatus": "failed", "ErrorCode": "63016"}, "failed", "needs template"),
    ],
)
def test_status_callback_shapes(fields: dict[str, str], status: str, error: str | None) -> None:
    parsed = whatsapp.parse_status({"MessageSid": "SM1", **fields})
    assert parsed is not None and (parsed.status, parsed.error) == (status, error)


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


def test_telegram_attachments_and_tapped_message() -> None:
    base = {"message_id": 7, "date": 1_700_000_000, "chat": {"id": 5, "type": "private"},
            "from": {"id": 5, "is_bot": False, "first_name": "R"}}  # fmt: skip
    voice = {"update_id": 1, "message": {**base, "voice": {"file_id": "a", "file_unique_id": "b",
                                                           "duration": 3}}}  # fmt: skip
    inbound, _answer = telegram.parse_update(voice)
    assert inbound is not None and inbound.attachment == "voice" and inbound.text == ""
    located = {"update_id": 2, "message": {**base, "location": {"latitude": 19.9,
                                                                "longitude": 73.7}}}  # fmt: skip
    inbound, _answer = telegram.parse_update(located)
    assert inbound is not None and inbound.attachment == "location"
    tap = {"update_id": 3, "callback_query": {"id": "9", "from": base["from"], "chat_instance": "1",
                                              "data": "lang:hi", "message": {**base, "text": "?"}}}  # fmt: skip
    inbound, _answer = telegram.parse_update(tap)
    assert inbound is not None and inbound.tapped_message_id == "7"


def test_media_urls() -> None:
    assert media_kind("https://cdn.example.org/a/drill.MP4?sig=1") == "video"
    assert media_kind("https://cdn.example.org/leaf.jpg") == "photo"
    assert media_kind("https://www.youtube.com/watch?v=abc") is None
    assert media_kind(None) is None
