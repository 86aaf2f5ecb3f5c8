"""Telegram's own ways, over HTTP: the command menu per language, tapped buttons
taken away, and lessons whose content is a video file sent as media."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.content import read_catalogue, stable_id
from bot.content.load import load_catalogue
from bot.i18n import _, use_language
from bot.settings import get_settings
from db.engine import make_sessionmaker
from tests.fakes import FakeTelegram
from tests.harness import Fakes, Service

QUIZZES = Path(__file__).resolve().parent.parent / "data" / "quiz.yaml"
SOIL = stable_id("course", "soil-en")


async def test_setup_sets_commands_per_language_and_the_menu_button(
    fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    telegram: FakeTelegram = fakes.telegram
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", telegram.token)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", fakes.telegram_url + "/bot")
    get_settings.cache_clear()
    try:
        # The command runs its own event loop, so it runs beside this test's.
        result = await asyncio.to_thread(
            CliRunner().invoke, app, ["telegram", "setup"], catch_exceptions=False
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output

    calls = telegram.called("setMyCommands")
    by_language = {c.params.get("language_code"): json.loads(c.params["commands"]) for c in calls}
    assert set(by_language) == {"en", "hi", "mr", None}  # None: every other app language
    for language in ("en", "hi", "mr"):
        with use_language(language):
            courses = _("Browse courses by topic")
        listed = {c["command"]: c["description"] for c in by_language[language]}
        assert listed["courses"] == courses
        assert {"lesson", "quiz", "progress", "help", "stop"} <= set(listed)
    assert by_language[None] == by_language["en"]
    assert by_language["hi"] != by_language["en"]
    [button] = telegram.called("setChatMenuButton")
    assert json.loads(button.params["menu_button"]) == {"type": "commands"}


async def test_a_tapped_keyboard_loses_its_buttons(service: Service) -> None:
    telegram = service.fakes.telegram
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start")
    await telegram.wait_for(lambda c: telegram.sent_to(chat))
    update = service.telegram_tap(chat, "lang:hi")
    update["callback_query"]["message"]["message_id"] = 4242
    assert (await service.post_telegram(update)).status_code == 200
    await telegram.wait_for(lambda c: telegram.called("editMessageReplyMarkup"))
    [edit] = telegram.called("editMessageReplyMarkup")
    assert edit.params["chat_id"] == str(chat) and edit.params["message_id"] == "4242"
    assert "reply_markup" not in edit.params  # no keyboard: the buttons are gone
    # Cleared before the answer to the tap went out.
    await telegram.wait_for(lambda c: any(m.at >= edit.at for m in telegram.sent_to(chat)))
    answer = next(c for c in telegram.sent_to(chat) if c.at >= edit.at)
    with use_language("hi"):
        assert answer.params["text"] == _("Done! I will talk with you in English.")


LESSON_VIDEO = """
version: 1
courses:
  - key: film-en
    title: "Seed drill"
    description: "Using a seed drill"
    category: equipment
    level: beginner
    language: English
    price: 0
    lessons:
      - key: film-en-1
        title: "Setting the drill"
        content_type: video
        content_url: "https://cdn.example.org/krishi/seed-drill.mp4"
        description: "{long}"
"""


async def test_a_video_lesson_goes_as_media_with_its_caption_split(
    service: Service, tmp_path: Path
) -> None:
    long = " ".join(["Set the row spacing to 22 cm before you start."] * 30)  # ~1,400 chars
    catalogue = tmp_path / "film.yaml"
    catalogue.write_text(LESSON_VIDEO.replace("{long}", long), encoding="utf-8")
    async with make_sessionmaker(service.engine)() as session, session.begin():
        await load_catalogue(session, read_catalogue(catalogue))
    telegram, twilio = service.fakes.telegram, service.fakes.twilio
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start")
    await service.telegram_taps(chat, "lang:en")
    await service.telegram_taps(chat, f"enroll:{stable_id('course', 'film-en')}")
    await telegram.wait_for(lambda c: telegram.called("sendVideo"))
    [video] = telegram.called("sendVideo")
    assert video.params["video"] == "https://cdn.example.org/krishi/seed-drill.mp4"
    assert len(video.params["caption"]) <= 1024 and "Setting the drill" in video.params["caption"]
    assert "reply_markup" not in video.params
    # The rest of the text follows, with the lesson's Done button.
    await telegram.wait_for(lambda c: telegram.sent_to(chat)[-1].method == "sendMessage"
                            and telegram.sent_to(chat)[-1].at > video.at)  # fmt: skip
    rest = telegram.sent_to(chat)[-1]
    assert "next:" in rest.params["reply_markup"]
    assert video.params["caption"] + rest.params["text"] != long  # split, not cut
    assert (video.params["caption"] + " " + rest.params["text"]).count("22 cm") == 30

    # On WhatsApp: MediaUrl, the text as its body (numbered options, no buttons).
    number = "+919822200031"
    await service.whatsapp_says(number, "start")
    await twilio.wait_for(lambda c: twilio.sent_to(number))
    await service.whatsapp_says(number, "1")
    await service.whatsapp_says(
        number, "", ButtonPayload=f"enroll:{stable_id('course', 'film-en')}"
    )
    await twilio.wait_for(lambda c: any("MediaUrl" in m.params for m in twilio.sent_to(number)))
    media = next(m for m in twilio.sent_to(number) if "MediaUrl" in m.params)
    assert media.params["MediaUrl"] == "https://cdn.example.org/krishi/seed-drill.mp4"
    assert "Setting the drill" in media.params["Body"] and len(media.params["Body"]) <= 1024
    await twilio.wait_for(lambda c: twilio.sent_to(number)[-1].at > media.at)
    follow = twilio.sent_to(number)[-1]
    assert "MediaUrl" not in follow.params and "1. ✅ Done, next lesson" in follow.params["Body"]
