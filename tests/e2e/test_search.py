"""Search, driven over HTTP: /search and its buttons → Postgres full text and trigrams → fake provider."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import read_catalogue, stable_id
from bot.content.load import load_catalogue
from bot.i18n import _, ngettext, use_language
from db.engine import make_sessionmaker
from db.queries.search import refresh_search_terms, search_catalogue
from handlers import router, search
from handlers.categories import CATEGORIES
from tests.e2e.test_broadcasts import ServiceFactory, api, make_service
from tests.fakes import Recorded
from tests.harness import Service

pytestmark = pytest.mark.db
__all__ = ["make_service"]  # the fixture, shared with the broadcast tests


@pytest.fixture(autouse=True)
def search_is_routed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Route /search, its buttons and states as the router will once it lists this conversation."""
    conversation = search.CONVERSATION
    for table, entries in (
        (router.COMMANDS, conversation.commands),
        (router.BUTTONS, conversation.buttons),
        (router.STATES, conversation.states),
        (router.ALIASES, conversation.aliases),
    ):
        for key, value in entries.items():
            monkeypatch.setitem(table, key, value)
    yield


def tr(language: str, message: str) -> str:
    with use_language(language):
        return _(message)


def found_header(language: str, count: int, query: str) -> str:
    with use_language(language):
        return ngettext(
            "I found {count} match for “{query}”. Choose one to open it:",
            "I found {count} matches for “{query}”. Choose one to open it:",
            count,
        ).format(count=count, query=query)


# --- the catalogue ----------------------------------------------------------

_INSERT = {
    "course": "INSERT INTO courses (title, description, category, level, language, is_published,"
    " is_archived) VALUES (:title, :summary, :category, 'beginner', :language, :published,"
    " :archived) RETURNING id",
    "article": "INSERT INTO articles (title, excerpt, content, category, language, is_published)"
    " VALUES (:title, :summary, 'लंबा लेख / a long article', :category, :language, :published)"
    " RETURNING id",
    "video": "INSERT INTO videos (title, description, category, video_url, language, is_published)"
    " VALUES (:title, :summary, :category, 'https://example.org/v.mp4', :language, :published)"
    " RETURNING id",
}


async def add(
    service: Service,
    kind: str,
    title: str,
    language: str,
    *,
    summary: str = "",
    category: str = "irrigation",
    published: bool = True,
    archived: bool = False,
) -> str:
    """Insert one item; returns its payload, e.g. `course:<uuid>`."""
    params: dict[str, Any] = {
        "title": title,
        "summary": summary,
        "category": category,
        "language": language,
        "published": published,
        "archived": archived,
    }
    async with service.engine.begin() as conn:
        item_id = (await conn.execute(text(_INSERT[kind]), params)).scalar_one()
    return f"{kind}:{item_id}"


async def refresh(service: Service) -> int:
    async with AsyncSession(service.engine) as session:
        count = await refresh_search_terms(session)
        await session.commit()
    return count


async def seed(service: Service) -> dict[str, str]:
    items = {
        "drip_hi": await add(
            service,
            "course",
            "ड्रिप सिंचाई से पानी की बचत",
            "Hindi",
            summary="कम पानी में ज़्यादा फ़सल: ड्रिप लगाना और चलाना सीखें।",
        ),
        "wheat_mr": await add(
            service,
            "course",
            "गहू पिकाचे व्यवस्थापन",
            "Marathi",
            summary="पेरणीपासून काढणीपर्यंत गव्हाची काळजी.",
            category="crop-management",
        ),
        "ipm_en": await add(
            service,
            "course",
            "Integrated pest management for cotton",
            "English",
            summary="Scout, trap and spray only when it is needed.",
            category="pest-control",
        ),
        "drip_en": await add(
            service,
            "course",
            "Drip irrigation for small farms",
            "English",
            summary="Lay out drip lines and save water.",
        ),
        "wheat_hi": await add(
            service,
            "course",
            "गेहूं की खेती",
            "Hindi",
            summary="बुवाई से कटाई तक",
            category="crop-management",
        ),
        "pests_hi": await add(
            service,
            "article",
            "कीट नियंत्रण के आसान उपाय",
            "Hindi",
            summary="फसल को कीटों से बचाएँ।",
            category="pest-control",
        ),
        "soil_hi": await add(
            service,
            "article",
            "मिट्टी की जाँच कैसे करें",
            "Hindi",
            summary="सही मात्रा में खाद डालने के लिए।",
            category="soil-health",
        ),
        "drip_video": await add(
            service, "video", "ड्रिप सिंचाई कैसे लगाएँ", "Hindi, English", summary="वीडियो"
        ),
        "irrigation_mr": await add(
            service,
            "article",
            "ठिबक सिंचन: पाण्याची बचत",
            "Marathi",
            summary="शेतकरी मित्रांसाठी मार्गदर्शन",
        ),
        "archived": await add(
            service, "course", "Old drip irrigation course", "English", archived=True
        ),
        "draft": await add(
            service, "course", "Draft drip irrigation course", "English", published=False
        ),
        "draft_video": await add(service, "video", "ड्रिप सिंचाई का मसौदा", "Hindi", published=False),
    }
    assert await refresh(service) == len(items)
    return items


# --- talking to the bot -------------------------------------------------------


async def farmer_on_telegram(service: Service, language: str) -> int:
    chat = service.new_chat_id()
    telegram = service.fakes.telegram
    await service.telegram_says(chat, "/start")
    await service.telegram_taps(chat, f"lang:{language}")
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= 3)
    return chat


async def _next_message(service: Service, chat: int, before: int) -> Recorded:
    telegram = service.fakes.telegram
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) > before)
    sent = telegram.sent_to(chat)
    assert len(sent) == before + 1, [m.params.get("text") for m in sent[before:]]
    return sent[-1]


async def says(service: Service, chat: int, words: str) -> Recorded:
    before = len(service.fakes.telegram.sent_to(chat))
    await service.telegram_says(chat, words)
    return await _next_message(service, chat, before)


async def taps(service: Service, chat: int, payload: str) -> Recorded:
    before = len(service.fakes.telegram.sent_to(chat))
    await service.telegram_taps(chat, payload)
    return await _next_message(service, chat, before)


def buttons(message: Recorded) -> list[tuple[str, str]]:
    markup = message.params.get("reply_markup")
    if not markup:
        return []
    rows = json.loads(markup)["inline_keyboard"]
    return [(row[0]["text"], row[0]["callback_data"]) for row in rows]


def payloads(message: Recorded) -> list[str]:
    return [payload for _label, payload in buttons(message)]


# --- tests ----------------------------------------------------------------------


async def test_devanagari_query_finds_devanagari_content(service: Service) -> None:
    items = await seed(service)
    chat = await farmer_on_telegram(service, "hi")

    reply = await says(service, chat, "/search सिंचाई")

    found = payloads(reply)
    # Both Hindi items say सिंचाई; the Marathi सिंचन article, only close, waits behind
    # "Other languages" (the farmer's own language has matches).
    assert found == [items["drip_hi"], items["drip_video"], "search:all"] or found == [
        items["drip_video"],
        items["drip_hi"],
        "search:all",
    ]
    assert items["ipm_en"] not in found and items["wheat_hi"] not in found
    assert reply.params["text"] == found_header("hi", 2, "सिंचाई")
    every = payloads(await taps(service, chat, "search:all"))
    assert items["irrigation_mr"] in every and every[-1] != "search:all"
    labels = dict((payload, label) for label, payload in buttons(reply))
    assert labels[items["drip_hi"]] == "📘 ड्रिप सिंचाई से पानी की बचत"
    assert labels[items["drip_video"]] == "🎬 ड्रिप सिंचाई कैसे लगाएँ"


@pytest.mark.parametrize(
    ("words", "expected_first"),
    [
        ("sinchai", {"drip_hi", "drip_video"}),
        ("sinchaai", {"drip_hi", "drip_video"}),
        ("drip sinchai", {"drip_hi", "drip_video"}),
        ("gehu", {"wheat_hi"}),
        ("keet niyantran", {"pests_hi"}),
        ("mitti ki jaanch", {"soil_hi"}),
    ],
)
async def test_hindi_typed_in_latin_letters_finds_devanagari(
    service: Service, words: str, expected_first: set[str]
) -> None:
    items = await seed(service)
    chat = await farmer_on_telegram(service, "hi")

    found = payloads(await says(service, chat, f"/search {words}"))

    assert set(found[: len(expected_first)]) == {items[name] for name in expected_first}


async def test_misspelt_english_still_finds_the_course(service: Service) -> None:
    items = await seed(service)
    chat = await farmer_on_telegram(service, "en")

    found = payloads(await says(service, chat, "/search irigation"))
    assert found[0] == items["drip_en"]

    # Found both by full text and by spelling: listed once.
    found = payloads(await says(service, chat, "/search cotton"))
    assert found == [items["ipm_en"]]

    # A full-text hit ranks above an item that only looks alike, however alike.
    typo = await add(service, "article", "Irigation in summer", "English")
    await refresh(service)
    found = payloads(await says(service, chat, "/search irrigation"))
    assert found == [items["drip_en"], typo]


async def test_marathi_query_and_the_farmers_language_first(service: Service) -> None:
    items = await seed(service)
    chat = await farmer_on_telegram(service, "mr")

    found = payloads(await says(service, chat, "/search गहू"))
    assert found == [items["wheat_mr"]]

    # Only the Marathi article says ठिबक सिंचन; typed in Latin letters it is found by spelling.
    found = payloads(await says(service, chat, "/search thibak sinchan"))
    assert found[0] == items["irrigation_mr"]

    hindi = await farmer_on_telegram(service, "hi")
    found = payloads(await says(service, hindi, "/search drip"))
    assert set(found[:2]) == {items["drip_hi"], items["drip_video"]}
    assert found[2] == "search:all"  # English and Marathi matches, behind one option
    every = payloads(await taps(service, hindi, "search:all"))
    assert set(every[:2]) == {items["drip_hi"], items["drip_video"]}
    assert every[2] == items["drip_en"]
    english = await farmer_on_telegram(service, "en")
    found = payloads(await says(service, english, "/search drip"))
    # The video is in "Hindi, English": it counts as English too.
    assert set(found[:2]) == {items["drip_en"], items["drip_video"]}


async def test_unpublished_and_archived_items_are_never_found(service: Service) -> None:
    items = await seed(service)
    chat = await farmer_on_telegram(service, "en")
    hidden = {items["archived"], items["draft"], items["draft_video"]}
    for words in ("drip irrigation", "irigation", "ड्रिप", "drip sinchai", "masauda"):
        found = payloads(await says(service, chat, f"/search {words}"))
        assert not hidden & set(found), words


async def test_results_are_paged_five_at_a_time(service: Service) -> None:
    expected = set()
    for number in range(12):
        expected.add(
            await add(
                service,
                ("course", "article", "video")[number % 3],
                f"टमाटर की खेती, भाग {number + 1}",
                "Hindi",
                category="crop-management",
            )
        )
    await refresh(service)
    chat = await farmer_on_telegram(service, "hi")

    first = await says(service, chat, "/search tamatar")
    assert first.params["text"] == found_header("hi", 12, "tamatar")
    assert len(payloads(first)) == 6 and payloads(first)[-1] == "search:more"
    assert buttons(first)[-1][0] == tr("hi", "➡️ More results")

    second = await taps(service, chat, "search:more")
    assert second.params["text"] == tr(
        "hi", "More matches for “{query}” ({first}–{last} of {total}):"
    ).format(query="tamatar", first=6, last=10, total=12)
    assert payloads(second)[-1] == "search:more"

    third = await taps(service, chat, "search:more")
    assert "search:more" not in payloads(third)
    pages = [payloads(first)[:5], payloads(second)[:5], payloads(third)]
    assert [len(page) for page in pages] == [5, 5, 2]
    seen = [payload for page in pages for payload in page]
    assert len(seen) == len(set(seen)) == 12 and set(seen) == expected

    done = await taps(service, chat, "search:more")
    assert done.params["text"] == tr("hi", "That is all I found for “{query}”.").format(
        query="tamatar"
    )

    # A new search starts again from the first page.
    again = await says(service, chat, "/search टमाटर")
    assert again.params["text"] == found_header("hi", 12, "टमाटर")
    assert len(payloads(again)) == 6 and set(payloads(again)[:5]) <= expected


async def test_nothing_found_offers_the_topics(service: Service) -> None:
    await seed(service)
    chat = await farmer_on_telegram(service, "hi")

    reply = await says(service, chat, "/search zzqqxx")

    assert reply.params["text"] == tr(
        "hi", "I could not find anything for “{query}”. Try another word, or choose a topic:"
    ).format(query="zzqqxx")
    assert payloads(reply) == [f"cat:{slug}" for slug in CATEGORIES]
    # The old search is over: "More" no longer pages anything.
    stale = await taps(service, chat, "search:more")
    assert stale.params["text"] == tr(
        "hi", "That search is over. Send /search and a few words to search again."
    )


async def test_search_alone_asks_and_the_next_text_is_the_query(service: Service) -> None:
    items = await seed(service)
    chat = await farmer_on_telegram(service, "hi")

    question = await says(service, chat, "/search")
    assert question.params["text"] == tr("hi", "What would you like to learn about?")
    assert payloads(question) == [f"cat:{slug}" for slug in CATEGORIES]

    reply = await says(service, chat, "mitti ki jaanch")
    assert payloads(reply)[0] == items["soil_hi"]

    # A word farmers type instead of the command asks too.
    question = await says(service, chat, "खोज")
    assert question.params["text"] == tr("hi", "What would you like to learn about?")


async def test_long_titles_are_cut_for_the_button(service: Service) -> None:
    long_title = "ड्रिप सिंचाई " + "और मल्चिंग से पानी और खाद दोनों की बचत " * 6
    payload = await add(service, "course", long_title.strip(), "Hindi")
    await refresh(service)
    chat = await farmer_on_telegram(service, "hi")

    reply = await says(service, chat, "/search मल्चिंग")

    # Too long for a button: the label goes in the body, numbered; the button has the number.
    number, found = buttons(reply)[0]
    assert found == payload and number == "1"
    label = next(
        line.removeprefix("1. ")
        for line in reply.params["text"].splitlines()
        if line.startswith("1. ")
    )
    assert len(label) <= 64 and label.endswith("…") and label.startswith("📘 ड्रिप सिंचाई")
    assert not label[:-1].endswith("\u094d")


async def test_refresh_follows_the_catalogue(service: Service) -> None:
    items = await seed(service)
    course_id = uuid.UUID(items["wheat_hi"].split(":")[1])
    async with service.engine.begin() as conn:
        await conn.execute(
            text("UPDATE courses SET title = 'बाजरे की खेती' WHERE id = :id"), {"id": course_id}
        )
        await conn.execute(
            text("DELETE FROM articles WHERE id = :id"),
            {"id": uuid.UUID(items["soil_hi"].split(":")[1])},
        )
    assert await refresh(service) == 11
    rows = dict(await service.rows("SELECT content_id::text, romanized FROM search_terms"))
    assert rows[str(course_id)].startswith("bajre ki keti")
    assert items["soil_hi"].split(":")[1] not in rows
    assert len(rows) == 11

    chat = await farmer_on_telegram(service, "hi")
    assert items["wheat_hi"] in payloads(await says(service, chat, "/search bajra"))
    reply = await says(service, chat, "/search mitti ki jaanch")
    assert payloads(reply) == [f"cat:{slug}" for slug in CATEGORIES]


async def test_free_text_searches_once_it_is_the_fallback(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(router, "FALLBACK", search.search_free_text)
    items = await seed(service)
    chat = await farmer_on_telegram(service, "hi")

    reply = await says(service, chat, "keet niyantran")
    assert payloads(reply)[0] == items["pests_hi"]

    # Nothing searchable in it: the usual kind hint, not an empty search.
    before = len(service.fakes.telegram.sent_to(chat))
    await service.telegram_says(chat, "🌾🌾")
    telegram = service.fakes.telegram
    await telegram.wait_for(lambda c: len(telegram.sent_to(chat)) >= before + 2)
    assert telegram.texts_to(chat)[before] == tr(
        "hi", "Sorry, I did not understand that. Send /help to see what I can do."
    )


async def test_whatsapp_numbered_results_and_more(service: Service) -> None:
    for tip in range(7):
        await add(service, "article", f"ड्रिप सिंचाई टिप {tip + 1}", "Hindi")
    await refresh(service)
    phone = "+919812345690"
    twilio = service.fakes.twilio
    await service.whatsapp_says(phone, "start")
    await service.whatsapp_says(phone, "2")  # हिन्दी
    await twilio.wait_for(lambda c: len(twilio.sent_to(phone)) >= 3)

    await service.whatsapp_says(phone, "search sinchai")  # no slash on WhatsApp
    await twilio.wait_for(lambda c: len(twilio.sent_to(phone)) >= 4)
    body = twilio.texts_to(phone)[3]
    lines = body.splitlines()
    assert lines[0] == found_header("hi", 7, "sinchai")
    assert [line.split(" ", 1)[0] for line in lines[2:]] == ["1.", "2.", "3.", "4.", "5.", "6."]
    assert all(line.split(" ", 2)[1] == "📄" for line in lines[2:7])
    assert lines[7] == "6. " + tr("hi", "➡️ More results")

    await service.whatsapp_says(phone, "6")
    await twilio.wait_for(lambda c: len(twilio.sent_to(phone)) >= 5)
    body = twilio.texts_to(phone)[4]
    assert body.splitlines()[0] == tr(
        "hi", "More matches for “{query}” ({first}–{last} of {total}):"
    ).format(query="sinchai", first=6, last=7, total=7)
    assert "\n1. 📄 ड्रिप सिंचाई टिप" in body and "\n2. 📄 ड्रिप सिंचाई टिप" in body
    assert "\n3. " not in body


# --- the index follows every write ------------------------------------------------


async def spelled(service: Service, payload: str, timeout: float = 10.0) -> str:
    """The item's romanised spelling once the indexing job has written it."""
    content_id = uuid.UUID(payload.split(":")[1])
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await service.rows(
            "SELECT romanized FROM search_terms WHERE content_id = :id AND NOT stale",
            id=content_id,
        )
        if rows:
            return str(rows[0].romanized)
        assert asyncio.get_running_loop().time() < deadline, f"{payload} never spelled"
        await asyncio.sleep(0.05)


async def test_api_created_course_is_found_by_romanised_and_misspelt_words(
    make_service: ServiceFactory,
) -> None:
    async with make_service() as service:
        made = {}
        for name, course in {
            "kenchua": {"title": "केंचुआ खाद घर पर बनाएँ", "language": "Hindi",
                        "description": "गोबर और पत्तों से चार हफ़्ते में खाद।"},
            "vermicompost": {"title": "Vermicompost for small farms", "language": "English",
                             "description": "Earthworms turn waste into manure."},
        }.items():  # fmt: skip
            response = await api(
                service, "POST", "/courses",
                json={**course, "category": "soil-health", "level": "beginner"},
            )  # fmt: skip
            assert response.status_code == 201, response.text
            course_id = response.json()["id"]
            published = await api(service, "POST", f"/courses/{course_id}/publish")
            assert published.status_code == 200, published.text
            made[name] = f"course:{course_id}"
        # Nobody refreshed anything: the triggers and the job spelled them.
        assert (await spelled(service, made["kenchua"])).startswith("kenchua kad")
        assert "vermikonpost" in await spelled(service, made["vermicompost"])

        hindi = await farmer_on_telegram(service, "hi")
        assert payloads(await says(service, hindi, "/search kenchua khad"))[0] == made["kenchua"]
        english = await farmer_on_telegram(service, "en")
        assert payloads(await says(service, english, "/search vermicompst")) == [
            made["vermicompost"]
        ]

        # A new title through the API is spelled again; the old one is forgotten.
        course_id = made["kenchua"].split(":")[1]
        renamed = await api(
            service, "PATCH", f"/courses/{course_id}", json={"title": "बाजरे की खेती"}
        )
        assert renamed.status_code == 200, renamed.text
        deadline = asyncio.get_running_loop().time() + 10
        while not (await spelled(service, made["kenchua"])).startswith("bajre"):
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.05)
        assert made["kenchua"] in payloads(await says(service, hindi, "/search bajra"))


async def test_plain_sql_writes_are_indexed_and_found_meanwhile(service: Service) -> None:
    # Inserted with plain SQL, and nothing calls refresh_search_terms.
    tomato = await add(service, "course", "टमाटर की खेती", "Hindi", category="crop-management")
    english = await add(service, "article", "Tomato staking", "English", summary="Tie the plants.")
    rows = await service.rows("SELECT count(*) FROM search_terms")
    assert rows[0][0] == 2  # the trigger wrote a row for each at once
    assert (await spelled(service, tomato)).startswith("tamatar ki keti")
    assert "tomato staking" in await spelled(service, english)
    chat = await farmer_on_telegram(service, "hi")
    assert payloads(await says(service, chat, "/search tamatar"))[0] == tomato

    # Rows waiting for the job: full text still finds them, in any case.
    async with service.engine.begin() as conn:
        await conn.execute(text("UPDATE search_terms SET stale = true"))
    assert payloads(await says(service, chat, "/search टमाटर")) == [tomato]
    assert payloads(await says(service, chat, "/search staking")) == [english]

    async with service.engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM courses WHERE id = :id"), {"id": uuid.UUID(tomato.split(":")[1])}
        )
    rows = await service.rows("SELECT content_id::text FROM search_terms")
    assert [row[0] for row in rows] == [english.split(":")[1]]


# --- words as farmers use them ------------------------------------------------------


async def farm_catalogue(service: Service) -> dict[str, str]:
    """Cotton, fertiliser and pest items in three languages, and items that only look close."""
    specs: dict[str, tuple[str, str, str, str]] = {
        # name: (kind, language, title, summary)
        "cotton_mr": ("course", "Marathi", "कापसाची पाने लाल होणे: कारणे आणि उपाय",
                      "मॅग्नेशियमची कमतरता आणि रस शोषणाऱ्या किडी."),
        "cotton_hi": ("course", "Hindi", "कपास की पत्तियाँ लाल होना: कारण और उपाय",
                      "मैग्नीशियम की कमी और रस चूसने वाले कीट।"),
        "cotton_en": ("course", "English", "Why cotton leaves turn red",
                      "Magnesium deficiency and sucking pests."),
        "cotton_sowing_mr": ("course", "Marathi", "कापूस लागवड तंत्र", "बियाणे आणि अंतर."),
        "tomato_mr": ("article", "Marathi", "टोमॅटोची पाने पिवळी होणे", "नत्राची कमतरता."),
        "tomato_hi": ("article", "Hindi", "टमाटर की पत्तियाँ पीली होना", "नाइट्रोजन की कमी।"),
        "tomato_en": ("article", "English", "Tomato leaves turning yellow", "Too little nitrogen."),
        "chilli_hi": ("video", "Hindi", "लाल मिर्च की खेती", "बुवाई से तुड़ाई तक।"),
        "compost_mr": ("course", "Marathi", "सेंद्रिय खत घरी कसे बनवावे", "शेणापासून खत."),
        "compost_hi": ("course", "Hindi", "जैविक खाद बनाने की विधि", "गोबर से खाद।"),
        "wheat_mr": ("course", "Marathi", "गहू पिकाचे व्यवस्थापन", "पेरणी ते काढणी."),
        "wheat_fert_mr": ("article", "Marathi", "गहू पिकासाठी खत व्यवस्थापन", "कोणते खत कधी द्यावे."),
        "pests_mr": ("course", "Marathi", "कीड नियंत्रण: सोपे उपाय", "फवारणी कधी करावी."),
        "cotton_pests_mr": ("course", "Marathi", "कापसावरील कीड नियंत्रण", "गुलाबी बोंडअळी."),
        "pests_hi": ("article", "Hindi", "कीटों से फसल की सुरक्षा", "नीम का तेल छिड़कें।"),
    }  # fmt: skip
    # Most of a catalogue mentions fertiliser in passing: "khad" alone says little.
    for number, (language, title, summary) in enumerate(
        [("Marathi", "सोयाबीन पेरणी", "पेरणीवेळी खत द्या."),
         ("Marathi", "हरभरा लागवड", "खत आणि पाणी वेळेवर."),
         ("Marathi", "ऊस पाणी व्यवस्थापन", "ठिबकने पाणी आणि खत."),
         ("Marathi", "कांदा साठवण", "साठवणीपूर्वी खत कमी करा."),
         ("Hindi", "धान की रोपाई", "रोपाई से पहले खाद डालें।"),
         ("Hindi", "सरसों की बुवाई", "बुवाई के समय खाद।"),
         ("Hindi", "गन्ने की सिंचाई", "पानी के साथ खाद।"),
         ("Hindi", "प्याज़ का भंडारण", "भंडारण से पहले खाद कम करें।")]
    ):  # fmt: skip
        specs[f"mentions_{number}"] = ("article", language, title, summary)
    items = {}
    for name, (kind, language, title, summary) in specs.items():
        items[name] = await add(service, kind, title, language, summary=summary)
    await refresh(service)
    return items


@pytest.mark.parametrize(
    ("language", "question", "expected"),
    [
        ("mr", "माझ्या कापसाला पाने लाल होत आहेत काय करू", "cotton_mr"),
        ("hi", "मेरी कपास की पत्तियाँ लाल हो रही हैं, क्या करूँ?", "cotton_hi"),
        ("hi", "kapas ke patte lal kyon ho rahe hain kya karen", "cotton_hi"),
        ("en", "Why are my cotton leaves turning red? What should I do?", "cotton_en"),
    ],
)
async def test_a_question_finds_content_by_its_content_words(
    service: Service, language: str, question: str, expected: str
) -> None:
    items = await farm_catalogue(service)
    chat = await farmer_on_telegram(service, language)

    found = payloads(await says(service, chat, f"/search {question}"))

    assert found[0] == items[expected]
    # Typed without /search, as a farmer would, once free text is a search.
    free = payloads(await says(service, chat, question))
    assert free[0] == items[expected]


async def test_common_words_weigh_little_and_titles_come_first(service: Service) -> None:
    items = await farm_catalogue(service)
    mentions = {payload for name, payload in items.items() if name.startswith("mentions_")}
    marathi = await farmer_on_telegram(service, "mr")

    # खत is in twelve of the 23 items; the three about fertiliser say it in the title.
    reply = await says(service, marathi, "/search खत")
    found = payloads(reply)
    assert set(found[:2]) == {items["compost_mr"], items["wheat_fert_mr"]}
    assert not mentions & set(found)
    assert reply.params["text"] == found_header("mr", len(found), "खत")
    assert len(found) <= 3

    hindi = await farmer_on_telegram(service, "hi")
    found = payloads(await says(service, hindi, "/search khad"))
    assert found[0] == items["compost_hi"]
    assert not mentions & set(found)

    # Wheat is rare, fertiliser common: the wheat course outranks the fertiliser one.
    found = payloads(await says(service, marathi, "/search गहू खत"))
    assert found[:2] == [items["wheat_fert_mr"], items["wheat_mr"]]
    assert not mentions & set(found)


async def test_a_synonym_finds_content(service: Service) -> None:
    items = await farm_catalogue(service)
    hindi = await farmer_on_telegram(service, "hi")

    # Nobody wrote उर्वरक: खाद is its synonym (bot/content/search_words.yaml).
    assert payloads(await says(service, hindi, "/search उर्वरक"))[0] == items["compost_hi"]
    marathi = await farmer_on_telegram(service, "mr")
    found = payloads(await says(service, marathi, "/search keeda"))
    assert set(found[:2]) == {items["pests_mr"], items["cotton_pests_mr"]}
    english = await farmer_on_telegram(service, "en")
    found = payloads(await says(service, english, "/search fertiliser"))
    assert items["compost_hi"] in found and items["compost_mr"] in found


async def test_a_hindi_search_shows_hindi_items_first(service: Service) -> None:
    items = await farm_catalogue(service)
    hindi = await farmer_on_telegram(service, "hi")

    found = payloads(await says(service, hindi, "/search कीट नियंत्रण"))

    # Only the Marathi items say नियंत्रण; the Hindi one says कीटों, and comes alone,
    # with the Marathi ones behind "Other languages".
    assert found[0] == items["pests_hi"] and found[-1] == "search:all"
    assert not {items["pests_mr"], items["cotton_pests_mr"]} & set(found)
    every = payloads(await taps(service, hindi, "search:all"))
    assert every[0] == items["pests_hi"]
    assert {items["pests_mr"], items["cotton_pests_mr"]} <= set(every[1:])


async def test_a_question_finds_the_lesson_and_opens_it(service: Service) -> None:
    course = await add(service, "course", "कापूस: पेरणी ते वेचणी", "Marathi",
                       summary="कापसाचे संपूर्ण पीक व्यवस्थापन.", category="crop-management")  # fmt: skip
    hidden = await add(service, "course", "कापूस: जुना कोर्स", "Marathi", published=False)
    lessons = {}
    async with service.engine.begin() as conn:
        for course_payload, order, title, body in (
            (course, 1, "कापसाची पेरणी", "सरी-वरंबा पद्धतीने पेरणी करा."),
            (course, 2, "कापसाची पाने लाल का होतात?",
             "मॅग्नेशियमची कमतरता: मॅग्नेशियम सल्फेटची फवारणी करा."),
            (course, 3, "वेचणी आणि साठवण", "कोरडा कापूस वेचा."),
            (hidden, 1, "कापसाची पाने लाल होणे (जुने)", "जुना धडा."),
        ):  # fmt: skip
            lessons[(course_payload, order)] = (
                await conn.execute(
                    text(
                        "INSERT INTO course_lessons (course_id, title, description, order_index,"
                        " content_type) VALUES (:course, :title, :body, :order, 'text')"
                        " RETURNING id"
                    ),
                    {
                        "course": uuid.UUID(course_payload.split(":")[1]),
                        "title": title,
                        "body": body,
                        "order": order,
                    },
                )
            ).scalar_one()
    red_leaves = f"lesson:{lessons[(course, 2)]}"
    await spelled(service, red_leaves)  # written by plain SQL: the job spells it
    chat = await farmer_on_telegram(service, "mr")

    reply = await says(service, chat, "/search माझ्या कापसाला पाने लाल होत आहेत काय करू")

    found = payloads(reply)
    assert found[0] == red_leaves
    assert f"lesson:{lessons[(hidden, 1)]}" not in found  # its course is not published
    assert buttons(reply)[0][0] == "📖 कापसाची पाने लाल का होतात?"
    # The result opens the lesson itself (a free course: enrolled on the way).
    lesson = await taps(service, chat, red_leaves)
    assert "मॅग्नेशियम सल्फेटची फवारणी करा" in lesson.params["text"]


async def test_the_yaml_loader_is_searchable_at_once(service: Service, tmp_path: Path) -> None:
    content = tmp_path / "catalogue.yaml"
    course = """
courses:
  - key: onion-hi
    title: "{title}"
    description: "भंडारण से पहले प्याज़ को छाँव में सुखाएँ।"
    category: crop-management
    level: beginner
    language: Hindi
    lessons:
      - key: onion-hi-1
        title: "प्याज़ की छँटाई"
        content_type: text
        body: "सड़े प्याज़ अलग करें।"
"""
    content.write_text(course.format(title="प्याज़ का भंडारण"), encoding="utf-8")
    async with make_sessionmaker(service.engine)() as session, session.begin():
        await load_catalogue(session, read_catalogue(content))
    payload = f"course:{stable_id('course', 'onion-hi')}"
    chat = await farmer_on_telegram(service, "hi")
    # No job has to run first: the loader spells what it wrote before it commits.
    assert payloads(await says(service, chat, "/search pyaj ka bhandaran"))[0] == payload

    content.write_text(course.format(title="लहसुन का भंडारण"), encoding="utf-8")
    async with make_sessionmaker(service.engine)() as session, session.begin():
        await load_catalogue(session, read_catalogue(content))
    assert payloads(await says(service, chat, "/search lahsun"))[0] == payload
    lesson = f"lesson:{stable_id('lesson', 'onion-hi-1')}"
    assert payloads(await says(service, chat, "/search chhantai"))[0] == lesson


@pytest.mark.parametrize(
    "words",
    ["'", ":*", "a:* & b | !c", "(<->)", "\\", "ँ", "१२३ किलो", "क्‍ष", "🌾 खाद 🌾", "o'neil",
     "x" * 300, "कापसाला " * 40, "what how why", "कीट\u200dनाशक", "ड़ ढ़ क़"],
)  # fmt: skip
async def test_any_words_search_without_an_error(db: AsyncSession, words: str) -> None:
    await db.execute(
        text(
            "INSERT INTO courses (title, description, category, level, language, is_published)"
            " VALUES ('कीटनाशक और खाद', 'क्‍ष १२३ किलो', 'pest-control', 'beginner', 'Hindi', true)"
        )
    )
    page = await search_catalogue(db, words, content_language="Hindi", limit=5)
    assert page.total >= len(page.results)
