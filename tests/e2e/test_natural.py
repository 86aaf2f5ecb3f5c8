"""A farmer's own language, whole answers, menus that keep their place, and numbers a
farmer reads: over HTTP, with content this file loads itself (tests/data/natural.yaml)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.content import read_catalogue, stable_id
from bot.content.load import load_catalogue
from bot.i18n import translations
from db.engine import make_sessionmaker
from tests.e2e.test_payments import Shop, razorpay, shop  # noqa: F401  (fixtures)
from tests.e2e.test_quiz import buttons, settle
from tests.harness import Service

NATURAL = Path(__file__).resolve().parent.parent / "data" / "natural.yaml"
PEST_MR = stable_id("course", "nat-pest-mr")
PEST_HI = stable_id("course", "nat-pest-hi")
PEST_EN = stable_id("course", "nat-pest-en")
PAID_MR = stable_id("course", "nat-paid-mr")
PAID_HI = stable_id("course", "nat-paid-hi")
PREVIEW_MR = stable_id("lesson", "nat-paid-mr-1")
SAFETY = stable_id("quiz", "nat-safety-en")
RESIDUE = stable_id("quiz", "nat-pest-mr-quiz")
HOSPITAL = (
    "Move them to fresh air, wash the skin with soap and clean water, "
    "then take them to a hospital at once"
)
DO_NOT_BURN = (
    "अवशेष गाडून किंवा कुजवून कंपोस्ट करा, पण शेतात कधीही अवशेष जाळू नका, कारण जमिनीतील उपयुक्त जीव मरतात"
)


def tr(language: str, message: str) -> str:
    return translations(language).gettext(message)


async def load_natural(service: Service) -> Service:
    async with make_sessionmaker(service.engine)() as session, session.begin():
        await load_catalogue(session, read_catalogue(NATURAL))
    return service


@pytest.fixture
async def natural(service: Service) -> AsyncIterator[Service]:
    yield await load_natural(service)


async def telegram_farmer(service: Service, language: str) -> int:
    chat = service.new_chat_id()
    await service.telegram_says(chat, "/start")
    await service.telegram_taps(chat, f"lang:{language}")
    await settle(service, chat)
    return chat


async def tap(service: Service, chat: int, payload: str) -> tuple[str, list[str]]:
    """Tap a button; the last message's text and its buttons' payloads, once all arrived."""
    before = len(service.fakes.telegram.sent_to(chat))
    await service.telegram_taps(chat, payload)
    await service.fakes.telegram.wait_for(
        lambda c: len(service.fakes.telegram.sent_to(chat)) > before
    )
    await settle(service, chat)
    last = service.fakes.telegram.sent_to(chat)[-1]
    return str(last.params.get("text") or last.params.get("caption") or ""), buttons(last)


async def say(service: Service, chat: int, text: str) -> tuple[str, list[str]]:
    before = len(service.fakes.telegram.sent_to(chat))
    await service.telegram_says(chat, text)
    await service.fakes.telegram.wait_for(
        lambda c: len(service.fakes.telegram.sent_to(chat)) > before
    )
    await settle(service, chat)
    last = service.fakes.telegram.sent_to(chat)[-1]
    return str(last.params.get("text") or last.params.get("caption") or ""), buttons(last)


async def whatsapp(service: Service, number: str, text: str) -> str:
    """Say something on WhatsApp; the last body sent back, once everything went out."""
    await service.whatsapp_says(number, text)
    for _ in range(200):
        pending = await service.scalar(
            "SELECT count(*) FROM outbound_messages WHERE status IN ('queued', 'sending')"
        )
        if pending == 0:
            break
        await asyncio.sleep(0.05)
    return service.fakes.twilio.texts_to(number)[-1]


def keyboard_labels(service: Service, chat: int) -> list[str]:
    import json

    markup = service.fakes.telegram.sent_to(chat)[-1].params.get("reply_markup")
    if not markup:
        return []
    return [b["text"] for row in json.loads(markup)["inline_keyboard"] for b in row]


# --- 1. Never cut a farmer's answer ------------------------------------------------


async def test_a_long_answer_arrives_whole_on_telegram_and_whatsapp(natural: Service) -> None:
    service = natural
    assert len(HOSPITAL) >= 100
    chat = await telegram_farmer(service, "en")
    await tap(service, chat, f"quiz:{SAFETY}")
    text, payloads = await tap(service, chat, f"qstart:{SAFETY}")
    # The options are whole in the body, numbered; the buttons carry the numbers.
    assert f"1. {HOSPITAL}\n2. Give them milk and let them rest\n3. Wait until evening" in text
    assert keyboard_labels(service, chat) == ["1", "2", "3"]
    assert [p.split(":")[-1] for p in payloads] == ["0", "1", "2"]
    # Short options still go on the buttons themselves.
    text, _payloads = await tap(service, chat, payloads[0])
    assert keyboard_labels(service, chat) == ["True", "False"]
    _text, payloads = await say(service, chat, "1")  # True: right
    text, _payloads = await say(service, chat, "1")  # True: wrong
    # Points and questions named apart, a whole percent.
    assert "Your score: 3 of 4 points · 2 of 3 questions right · 75%" in "\n".join(
        service.fakes.telegram.texts_to(chat)
    )

    # The Marathi "do not burn" answer keeps its "do not" on Telegram.
    chat_mr = await telegram_farmer(service, "mr")
    await tap(service, chat_mr, f"quiz:{RESIDUE}")
    text, _payloads = await tap(service, chat_mr, f"qstart:{RESIDUE}")
    assert f"1. {DO_NOT_BURN}" in text
    assert all(len(label) <= 40 for label in keyboard_labels(service, chat_mr))

    # And on WhatsApp the body carries it whole too.
    number = "+919822222222"
    await whatsapp(service, number, "start")
    await whatsapp(service, number, "1")  # English
    form = service.whatsapp_form(number, "", ButtonPayload=f"qstart:{SAFETY}")
    assert (await service.post_whatsapp(form)).status_code == 200
    await service.fakes.twilio.wait_for(
        lambda c: any(HOSPITAL in t for t in service.fakes.twilio.texts_to(number))
    )
    body = next(t for t in service.fakes.twilio.texts_to(number) if HOSPITAL in t)
    assert f"1. {HOSPITAL}\n" in body


# --- 2. Menus keep the farmer's place ---------------------------------------------


async def test_a_wrong_number_keeps_the_farmers_place(natural: Service) -> None:
    service = natural
    number = "+919833333333"
    await whatsapp(service, number, "start")
    await whatsapp(service, number, "3")  # मराठी
    topics = await whatsapp(service, number, "courses")
    assert "5. " + tr("mr", "🚜 Equipment") in topics
    again = await whatsapp(service, number, "9")
    hint = tr("mr", "There is no option {number} here. Please send a number from 1 to {last}.")
    assert hint.format(number="9", last="6") in again
    # The same topics, numbered as before: "3" still means pest control.
    assert "3. " + tr("mr", "🐛 Pest control") in again
    assert tr("mr", "What would you like to do?") not in again
    courses = await whatsapp(service, number, "3")
    assert "कीड नियंत्रण: सोपे उपाय" in courses

    # A Telegram tap on a button of an older message shows the current choices again.
    chat = await telegram_farmer(service, "en")
    await say(service, chat, "/courses")
    text, payloads = await tap(service, chat, "nosuchbutton:1")
    assert tr("en", "That button is from an earlier message. Here are your choices now:") in text
    assert "cat:pest-control" in payloads

    # A lesson's own numbered steps read as bullets, never as option numbers.
    text, _payloads = await tap(service, chat, f"lesson:{stable_id('lesson', 'nat-pest-mr-1')}")
    assert "• पानांच्या खालच्या बाजूला पाहा." in text and "1. पानांच्या" not in text


# --- 3. The farmer's language first ------------------------------------------------


async def test_a_marathi_farmers_lists_hold_only_marathi_when_there_is_some(
    natural: Service,
) -> None:
    service = natural
    chat = await telegram_farmer(service, "mr")
    other = tr("mr", "🌐 Other languages")

    _text, payloads = await tap(service, chat, "cat:pest-control")
    courses = [p for p in payloads if p.startswith("course:")]
    assert courses == [f"course:{PEST_MR}"]
    assert other in keyboard_labels(service, chat)
    _text, payloads = await tap(service, chat, "cat:pest-control:all:0:o")
    assert {p for p in payloads if p.startswith("course:")} == {
        f"course:{PEST_HI}",
        f"course:{PEST_EN}",
    }

    text, payloads = await say(service, chat, "/articles")
    articles = [p for p in payloads if p.startswith("article:")]
    assert articles == [f"article:{stable_id('article', 'nat-art-mr')}"]
    assert other in keyboard_labels(service, chat)

    _text, payloads = await say(service, chat, "/videos")
    assert [p for p in payloads if p.startswith("video:")] == [
        f"video:{stable_id('video', 'nat-vid-mr')}"
    ]

    _text, payloads = await say(service, chat, "/roadmaps")
    assert [p for p in payloads if p.startswith("roadmap:")] == [
        f"roadmap:{stable_id('roadmap', 'nat-road-mr')}"
    ]
    _text, payloads = await tap(service, chat, "roadmaps:o")
    assert [p for p in payloads if p.startswith("roadmap:")] == [
        f"roadmap:{stable_id('roadmap', 'nat-road-en')}"
    ]

    _text, payloads = await say(service, chat, "/buy")
    assert [p for p in payloads if p.startswith("course:")] == [f"course:{PAID_MR}"]
    assert "buylist:o" in payloads

    # Nothing in Hindi on this shelf: a Hindi farmer gets the others, said plainly.
    chat_hi = await telegram_farmer(service, "hi")
    text, payloads = await say(service, chat_hi, "/videos")
    assert tr("hi", "Nothing in your language here yet. These are in other languages:") in text
    assert len([p for p in payloads if p.startswith("video:")]) == 2


# --- 4 and 5. Flows and numbers ----------------------------------------------------


async def test_prices_previews_and_buy_follow_the_course_on_screen(shop: Shop) -> None:  # noqa: F811
    service = await load_natural(shop.service)
    chat = await telegram_farmer(service, "mr")
    # Indian grouping in Marathi, no paise, the discount rounded to the rupee.
    text, payloads = await tap(service, chat, f"course:{PAID_MR}")
    assert "₹98,765" in text and "₹1,23,456" in text and ".80" not in text
    assert tr("mr", "Language: {languages}").format(languages=tr("mr", "Marathi")) in text
    # The preview's next step is buying.
    text, payloads = await tap(service, chat, f"lesson:{PREVIEW_MR}")
    assert f"buy:{PAID_MR}" in payloads and not any(p.startswith("next:") for p in payloads)
    # /buy means the course on screen, even with another course's link pending.
    await tap(service, chat, f"buy:{PAID_HI}")
    await tap(service, chat, f"course:{PAID_MR}")
    await service.telegram_says(chat, "/buy")
    telegram = service.fakes.telegram
    await telegram.wait_for(
        lambda c: (
            len([t for t in telegram.texts_to(chat) if "₹98,765" in t]) >= 3
            and any("rzp.io" in b for b in buttons(telegram.sent_to(chat)[-1]))
        )
    )
    purchase = await service.scalar(
        "SELECT id FROM course_purchases WHERE course_id = :c", c=PAID_MR
    )
    assert purchase is not None
    # The amount charged is the amount shown.
    assert shop.razorpay.link_for(purchase)["amount"] == 98765_00
    assert "₹98,765" in telegram.texts_to(chat)[-1]


async def test_learning_time_counts_each_lessons_own_minutes(natural: Service) -> None:
    service = natural
    chat = await telegram_farmer(service, "en")
    await tap(service, chat, f"enroll:{PEST_MR}")
    # The farmer read the first lesson for 2 minutes 40 seconds before "Done".
    await service.execute(
        "UPDATE lesson_progress SET created_at = now() - interval '160 seconds'"
        " WHERE lesson_id = :l",
        l=stable_id("lesson", "nat-pest-mr-1"),
    )
    await tap(service, chat, f"next:{stable_id('lesson', 'nat-pest-mr-1')}")
    text, _payloads = await say(service, chat, "/progress")
    # Minutes rounded from the lesson's own seconds: the hours counter, kept to 0.01 h
    # a lesson and then cut to whole minutes, read 2 here (and 0 for short lessons).
    assert "⏱️ Learning time: 3 minutes" in text
    seconds = await service.scalar("SELECT sum(time_spent_seconds) FROM lesson_progress")
    assert 160 <= seconds < 220
