"""The messaging spine, driven over HTTP: webhooks → turn → Postgres → sender → fake provider."""

from __future__ import annotations

import asyncio
import json

from bot.i18n import _, use_language
from tests.fakes import FakeTelegram, FakeTwilio
from tests.harness import METRICS, Service


def tr(language: str, message: str) -> str:
    with use_language(language):
        return _(message)


async def test_telegram_start_greets_and_offers_languages(service: Service) -> None:
    # A first farmer warms the service up (bot client, pools); the second is timed.
    warm = service.new_chat_id()
    await service.telegram_says(warm, "/start")
    await service.fakes.telegram.wait_for(lambda c: service.fakes.telegram.sent_to(warm), 10)

    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start")
    calls = await service.fakes.telegram.wait_for(
        lambda c: service.fakes.telegram.sent_to(chat), 1.0
    )
    first = service.fakes.telegram.sent_to(chat)[0]
    assert "Namaste" in first.params["text"]
    keyboard = json.loads(first.params["reply_markup"])["inline_keyboard"]
    assert [row[0]["callback_data"] for row in keyboard] == ["lang:en", "lang:hi", "lang:mr"]
    assert calls


async def test_telegram_language_code_preselects_hindi(service: Service) -> None:
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start", language_code="hi-IN")
    await service.fakes.telegram.wait_for(lambda c: service.fakes.telegram.sent_to(chat))
    text = service.fakes.telegram.texts_to(chat)[0]
    assert text.startswith(
        tr(
            "hi",
            "Namaste! 🙏 Welcome to Krishi Learn: short lessons and quizzes on farming, right here in your chat.",
        )
    )
    keyboard = json.loads(service.fakes.telegram.sent_to(chat)[0].params["reply_markup"])
    assert keyboard["inline_keyboard"][1][0]["text"] == "✓ हिन्दी"


async def test_choosing_marathi_makes_every_later_reply_marathi(service: Service) -> None:
    chat = service.new_chat_id()
    telegram = service.fakes.telegram
    await service.telegram_says(chat, "/start")
    response = await service.telegram_taps(chat, "lang:mr")
    # The webhook's answer stops the button's spinner.
    assert response.json()["method"] == "answerCallbackQuery"
    await service.telegram_says(chat, "/help")
    await service.telegram_says(chat, "🤷")
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 7)
    texts = telegram.texts_to(chat)
    assert texts[1] == tr("mr", "Done! I will talk with you in English.")
    assert texts[1] != "Done! I will talk with you in English."
    assert texts[2] == tr("mr", "What would you like to do?")
    assert texts[3].startswith(
        tr("mr", "I help you learn better farming, one short lesson at a time.")
    )
    assert texts[5] == tr(
        "mr", "Sorry, I did not understand that. Send /help to see what I can do."
    )
    language = await service.scalar(
        "SELECT u.preferred_language FROM users u JOIN channel_identities ci ON ci.user_id = u.id"
        " WHERE ci.external_id = :e",
        e=str(chat),
    )
    assert language == "mr"


async def test_whatsapp_numbered_menu_and_number_reply(service: Service) -> None:
    number = "+919812345670"
    twilio = service.fakes.twilio
    await service.whatsapp_says(number, "start")  # the slash is optional on WhatsApp
    await twilio.wait_for(lambda c: twilio.sent_to(number))
    first = twilio.sent_to(number)[0].params
    assert first["From"] == "whatsapp:+14155238886"
    # Buttons to tap (a Content API quick reply), and the numbers still in the text.
    assert "1. ✓ English\n2. हिन्दी\n3. मराठी" in twilio.texts_to(number)[0]
    assert first["StatusCallback"].endswith("/webhooks/whatsapp/status")

    await service.whatsapp_says(number, "३")  # Devanagari digit three: मराठी
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 3)
    assert twilio.texts_to(number)[1] == tr("mr", "Done! I will talk with you in English.")


async def test_duplicate_deliveries_yield_exactly_one_reply(service: Service) -> None:
    chat = service.new_chat_id()
    update = service.telegram_message(chat, "/help")
    for _attempt in range(3):
        assert (await service.post_telegram(update)).status_code == 200

    number = "+919812345671"
    form = service.whatsapp_form(number, "help", sid="SM" + "d" * 32)
    for _attempt in range(3):
        assert (await service.post_whatsapp(form)).status_code == 200

    telegram, twilio = service.fakes.telegram, service.fakes.twilio
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 2)
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 2)
    await asyncio.sleep(0.5)
    assert len(telegram.sent_to(chat)) == 2  # help text + menu, once
    assert len(twilio.sent_to(number)) == 2
    assert await service.scalar("SELECT count(*) FROM inbox") == 2


async def test_bad_secret_or_signature_gets_403_and_writes_nothing(service: Service) -> None:
    before = await service.row_counts()
    chat = service.new_chat_id()
    update = service.telegram_message(chat, "/start")
    assert (await service.post_telegram(update, secret="wrong")).status_code == 403
    assert (await service.post_telegram(update, secret=None)).status_code == 403

    form = service.whatsapp_form("+919812345672", "start")
    assert (await service.post_whatsapp(form, signature="bm90LWEtc2lnbmF0dXJl")).status_code == 403
    assert (await service.post_whatsapp(form, signature="")).status_code == 403
    tampered = dict(form, Body="stop")
    good_sig = service.twilio_signature("/webhooks/whatsapp", form)
    assert (await service.post_whatsapp(tampered, signature=good_sig)).status_code == 403
    assert await service.row_counts() == before


async def test_malformed_oversized_and_unknown_payloads(service: Service) -> None:
    before = await service.row_counts()
    assert (await service.post_telegram(b"{not json")).status_code == 400
    assert (await service.post_telegram(b'{"update_id": "x"}')).status_code == 400
    assert (await service.post_telegram(b"[1, 2]")).status_code == 400
    big = b'{"update_id": 1, "message": {"text": "' + b"a" * (300 * 1024) + b'"}}'
    assert (await service.post_telegram(big)).status_code == 413
    # A kind of update we do not handle is accepted and ignored.
    assert (
        await service.post_telegram(
            {
                "update_id": 77,
                "edited_message": {
                    "message_id": 1,
                    "date": 1,
                    "chat": {"id": 1, "type": "private"},
                    "text": "x",
                },
            }
        )
    ).status_code == 200
    assert (await service.post_telegram({"update_id": 78, "my_chat_member": {}})).status_code in (
        200,
        400,
    )

    bad_form = b"%%%=&&"
    response = await service.http.post(
        "/webhooks/whatsapp",
        content=bad_form,
        headers={"content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"},
    )
    assert response.status_code == 400
    not_whatsapp = {"MessageSid": "SM1", "From": "+15550001111", "Body": "hi"}
    assert (await service.post_whatsapp(not_whatsapp)).status_code == 400
    assert await service.row_counts() == before


async def test_any_script_and_media_get_a_kind_hint(service: Service) -> None:
    chat = service.new_chat_id()
    telegram = service.fakes.telegram
    await service.telegram_says(chat, "/start")
    await service.telegram_taps(chat, "lang:hi")
    for text in ("🌾🌾", "ਸਤ ਸ੍ਰੀ ਅਕਾਲ", "\u200b"):
        await service.telegram_says(chat, text)
    photo = service.telegram_message(chat, "")
    del photo["message"]["text"]
    photo["message"]["photo"] = [{"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1}]
    assert (await service.post_telegram(photo)).status_code == 200
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 3 + 3 * 2 + 1)
    hint = tr("hi", "Sorry, I did not understand that. Send /help to see what I can do.")
    assert telegram.texts_to(chat).count(hint) == 3
    # The photo gets its own kind answer: what arrived, and that typed words work.
    photo_answer = tr("hi", "📷 Thank you for the photo! I cannot look at photos yet.")
    assert telegram.texts_to(chat)[-1].startswith(photo_answer)
    # A question in Hindi is a search; finding nothing, it offers the topics instead.
    await service.telegram_says(chat, "गेहूं में पानी कब दें?")
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 11)
    assert "cat:irrigation" in telegram.sent_to(chat)[-1].params["reply_markup"]


async def test_stop_opts_out_and_start_opts_back_in(service: Service) -> None:
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start")
    await service.telegram_says(chat, "/stop")
    status, changed = (
        await service.rows(
            "SELECT consent_status, consent_changed_at FROM users u JOIN channel_identities ci"
            " ON ci.user_id = u.id WHERE ci.external_id = :e",
            e=str(chat),
        )
    )[0]
    assert status == "opted_out" and changed is not None
    await service.telegram_says(chat, "/start")
    status = await service.scalar(
        "SELECT consent_status FROM users u JOIN channel_identities ci ON ci.user_id = u.id"
        " WHERE ci.external_id = :e",
        e=str(chat),
    )
    assert status == "opted_in"


async def test_twenty_concurrent_messages_from_one_farmer(service: Service) -> None:
    chat = service.new_chat_id()
    telegram = service.fakes.telegram
    await service.telegram_says(chat, "/start")
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 1)
    choices = ["lang:en", "lang:hi", "lang:mr", "lang:hi"] * 5
    responses = await asyncio.gather(*(service.telegram_taps(chat, c) for c in choices))
    assert all(r.status_code == 200 for r in responses)
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 1 + 2 * len(choices), 20)
    turns = await service.scalar(
        "SELECT turn_count FROM conversations c JOIN channel_identities ci ON ci.user_id = c.user_id"
        " WHERE ci.external_id = :e",
        e=str(chat),
    )
    assert turns == 21
    # Delivered in exactly the order the turns queued them, none lost or doubled.
    queued = await service.rows(
        "SELECT o.body->>'text', o.provider_message_id FROM outbound_messages o"
        " JOIN channel_identities ci ON ci.id = o.identity_id WHERE ci.external_id = :e ORDER BY o.id",
        e=str(chat),
    )
    assert [text for text, _pid in queued] == telegram.texts_to(chat)
    menus = {tr(lang, "What would you like to do?") for lang in ("en", "hi", "mr")}
    confirmations = [t for t in telegram.texts_to(chat)[1:] if t not in menus]
    expected = {
        tr(lang.split(":")[1], "Done! I will talk with you in English.") for lang in choices
    }
    assert set(confirmations) <= expected and len(confirmations) == 20


async def test_429_then_500_then_success_delivers_exactly_once(service: Service) -> None:
    telegram = service.fakes.telegram
    telegram.fail_next(FakeTelegram.retry_after(1), FakeTelegram.server_error(500))
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/help")
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 2, 15)
    await asyncio.sleep(0.3)
    texts = telegram.texts_to(chat)
    assert len(texts) == 2 and len(set(texts)) == 2
    statuses = await service.rows("SELECT status, attempts FROM outbound_messages ORDER BY id")
    assert statuses[0] == ("sent", 3)
    assert statuses[1][0] == "sent"


async def test_blocked_bot_marks_identity_inactive(service: Service) -> None:
    telegram = service.fakes.telegram
    telegram.fail_next(FakeTelegram.blocked())
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/help")
    await telegram.wait_for(lambda c: any(x.method == "!sendMessage" for x in c))

    async def settled() -> list[tuple[str, str | None]]:
        for _i in range(50):
            rows = await service.rows("SELECT status, error FROM outbound_messages ORDER BY id")
            if all(status in ("sent", "failed") for status, _e in rows):
                return rows
            await asyncio.sleep(0.1)
        raise AssertionError(rows)

    rows = await settled()
    assert rows[0][0] == "failed" and "blocked" in (rows[0][1] or "")
    assert rows[1] == ("failed", "address inactive: blocked")
    active, reason = (
        await service.rows(
            "SELECT is_active, inactive_reason FROM channel_identities WHERE external_id = :e",
            e=str(chat),
        )
    )[0]
    assert (active, reason) == (False, "blocked")
    # Writing to the bot again means they unblocked it.
    await service.telegram_says(chat, "/help")
    assert (
        await service.scalar(
            "SELECT is_active FROM channel_identities WHERE external_id = :e", e=str(chat)
        )
        is True
    )


async def test_whatsapp_outside_24h_window_is_needs_template(service: Service) -> None:
    twilio = service.fakes.twilio
    twilio.fail_next(FakeTwilio.error(400, 63016, "outside the allowed window"))
    number = "+919812345673"
    await service.whatsapp_says(number, "help")
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 1)
    await asyncio.sleep(0.3)
    errors = await service.rows("SELECT status, error FROM outbound_messages ORDER BY id")
    assert errors[0] == ("failed", "needs template")


async def test_whatsapp_status_callbacks_move_forward_only(service: Service) -> None:
    twilio = service.fakes.twilio
    number = "+919812345674"
    await service.whatsapp_says(number, "help")
    await twilio.wait_for(lambda c: len(twilio.sent_to(number)) >= 2)
    await asyncio.sleep(0.3)
    sid = await service.scalar(
        "SELECT provider_message_id FROM outbound_messages ORDER BY id LIMIT 1"
    )
    path = "/webhooks/whatsapp/status"
    for status in ("delivered", "sent", "read"):
        form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
        assert (await service.post_whatsapp(form, path=path)).status_code == 204
    row = (
        await service.rows(
            "SELECT status, delivered_at FROM outbound_messages WHERE provider_message_id = :s",
            s=sid,
        )
    )[0]
    assert row[0] == "read" and row[1] is not None
    forged = {"MessageSid": sid, "MessageStatus": "failed"}
    assert (await service.post_whatsapp(forged, path=path, signature="x")).status_code == 403


async def test_health_readiness_and_metrics(service: Service) -> None:
    assert (await service.http.get("/healthz")).json() == {"status": "ok"}
    ready = (await service.http.get("/readyz")).json()
    assert ready["status"] == "ready"
    await service.telegram_says(service.new_chat_id(), "/help")
    metrics = (await service.http.get("/metrics", headers=METRICS)).text
    assert 'krishi_inbound_total{channel="telegram",outcome="handled"}' in metrics
    assert "krishi_turn_seconds_bucket" in metrics
