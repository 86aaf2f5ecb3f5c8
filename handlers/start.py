"""Getting started: greeting, consent, language, help, opting out and back in.

/start ─► choose_language ─(button or 1/2/3 or "हिन्दी")─► idle (main menu)
/language ─► choose_language
/help, /stop, /menu: answered from any state

Before a farmer agrees (a new conversation), the welcome carries the privacy
notice (handlers/privacy.py), and choosing the language is the "agree and
continue" step: it records the consent. Until then the router answers every
learning command with ask_consent.
"""

from __future__ import annotations

import unicodedata

from bot.i18n import LANGUAGE_NAMES, LANGUAGES, _, normalise_language, use_language
from bot.messages import Option, Reply
from db.queries import turns as q
from handlers import broadcast, catalog, menu, privacy
from handlers.base import Conversation, Turn

# What farmers type to name a language, in any script.
_LANGUAGE_WORDS = {
    "english": "en", "angrezi": "en", "इंग्लिश": "en", "अंग्रेज़ी": "en", "अंग्रेजी": "en",
    "hindi": "hi", "हिन्दी": "hi", "हिंदी": "hi",
    "marathi": "mr", "मराठी": "mr",
}  # fmt: skip


def _language_options(selected: str | None) -> tuple[Option, ...]:
    return tuple(
        Option(("✓ " if code == selected else "") + LANGUAGE_NAMES[code], f"lang:{code}")
        for code in LANGUAGES
    )


def _ask_language(turn: Turn, greeting: str) -> list[Reply]:
    if privacy.awaiting_consent(turn):
        link = turn.data.get("after_language")
        turn.goto("choose_language", **{privacy.AWAITING_CONSENT: True})
        if link:
            turn.data["after_language"] = link
        greeting += "\n\n" + privacy.consent_notice(turn)
        return [
            Reply(
                greeting + "\n\n" + _("Which language would you like to learn in?"),
                options=_language_options(turn.farmer.language),
            )
        ]
    turn.goto("choose_language")
    return [
        Reply(
            greeting + "\n\n" + _("Which language would you like to learn in?"),
            options=_language_options(turn.farmer.language),
        )
    ]


async def start(turn: Turn) -> list[Reply]:
    """Answers /start (and a first message): greets, opts back in, asks for the language.

    A deep link (`/start course-<id>`) opens its course at once for a farmer we
    know, and right after the language choice for a new one. An instructor's
    invite (`/start invite-<token>`) binds this chat to them.
    """
    if turn.arg.startswith(broadcast.INVITE_PREFIX):
        awaiting = privacy.awaiting_consent(turn)
        replies = await broadcast.accept_invite(turn)
        if awaiting:
            # A redeemed invite moved this chat to the instructor's account; a refused
            # one leaves a farmer who has still not agreed.
            turn.goto("new")
        return replies
    if turn.arg and not turn.farmer.is_new:
        opened = await catalog.deep_link(turn)
        if opened is not None:
            return opened
    link = turn.arg
    if turn.farmer.consent_status == "opted_out":
        await q.set_consent(turn.session, turn.farmer.user_id, "opted_in")
        turn.farmer.consent_status = "opted_in"
    hint = normalise_language(turn.inbound.language_hint)
    if turn.farmer.is_new and hint and hint != turn.farmer.language:
        await q.set_language(turn.session, turn.farmer.user_id, hint)
        turn.farmer.language = hint
    with use_language(turn.farmer.language):
        greeting = _(
            "Namaste! 🙏 Welcome to Krishi Learn: short lessons and quizzes on farming, "
            "right here in your chat."
        )
        replies = _ask_language(turn, greeting)
        if link:
            turn.data["after_language"] = link
        return replies


async def ask_consent(turn: Turn) -> list[Reply]:
    """Answers a learning command before the farmer agreed: the notice again, kindly."""
    return _ask_language(turn, _("Before we start, please read this. It takes a minute."))


async def ask_language(turn: Turn) -> list[Reply]:
    """Answers /language: offers English, Hindi and Marathi again."""
    return _ask_language(turn, _("You can change the language at any time."))


async def choose_language(turn: Turn) -> list[Reply]:
    """Answers a language button (`lang:hi`): saves it and shows the main menu."""
    language = turn.arg if turn.arg in LANGUAGES else None
    if language is None:
        return await language_not_understood(turn)
    if turn.state == "new":
        # A language button from before the notice was shown (an old message).
        turn.arg = ""
        return await start(turn)
    if privacy.awaiting_consent(turn):
        await privacy.record_consent(turn)
    await q.set_language(turn.session, turn.farmer.user_id, language)
    turn.farmer.language = language
    link = turn.data.get("after_language") if turn.state == "choose_language" else None
    with use_language(language):
        turn.goto("idle")
        confirmation = Reply(_("Done! I will talk with you in English."))
        if link:
            turn.arg = str(link)
            opened = await catalog.deep_link(turn)
            if opened is not None:
                return [confirmation, *opened]
        return [confirmation, menu.main_menu(turn)]


async def choose_language_by_name(turn: Turn) -> list[Reply]:
    """Answers typed text while choosing a language: "hindi", "मराठी"…"""
    word = unicodedata.normalize("NFC", turn.inbound.text).strip().lower()
    turn.arg = _LANGUAGE_WORDS.get(word, "")
    return await choose_language(turn)


async def language_not_understood(turn: Turn) -> list[Reply]:
    """Answers anything else while choosing a language: asks again, kindly."""
    return [
        Reply(
            _("Please choose a language: tap a button or send 1, 2 or 3."),
            options=_language_options(turn.farmer.language),
        )
    ]


async def show_help(turn: Turn) -> list[Reply]:
    """Answers /help: what the bot can do, in the farmer's language."""
    return [Reply(menu.help_text(turn)), menu.main_menu(turn)]


async def show_menu(turn: Turn) -> list[Reply]:
    """Answers /menu: the main menu."""
    turn.goto("idle")
    return [menu.main_menu(turn)]


async def stop(turn: Turn) -> list[Reply]:
    """Answers /stop: opts the farmer out of broadcasts and reminders."""
    await q.set_consent(turn.session, turn.farmer.user_id, "opted_out")
    turn.farmer.consent_status = "opted_out"
    if not privacy.awaiting_consent(turn):
        turn.goto("idle")
    return [
        Reply(
            _(
                "You will not get course announcements or reminders any more. "
                "You can still ask me anything. Send /start to join again."
            )
        )
    ]


async def not_understood(turn: Turn) -> list[Reply]:
    """Answers text nothing else claims: a short, kind hint."""
    return [
        Reply(
            _("Sorry, I did not understand that. Send /help to see what I can do."),
        ),
        menu.main_menu(turn),
    ]


CONVERSATION = Conversation(
    commands={
        "start": start,
        "language": ask_language,
        "help": show_help,
        "menu": show_menu,
        "stop": stop,
    },
    buttons={"lang": choose_language, "help": show_help, "menu": show_menu},
    states={"choose_language": choose_language_by_name},
    aliases={
        "hi": "start", "hello": "start", "namaste": "start", "नमस्ते": "start", "नमस्कार": "start",
        "madad": "help", "मदद": "help", "मदत": "help",
        "bhasha": "language", "भाषा": "language",
        "band": "stop", "बंद": "stop", "unsubscribe": "stop",
        "band karo": "stop", "bandh karo": "stop", "ruko": "stop", "ruk jao": "stop",
        "बंद करो": "stop", "बंद करें": "stop", "रुको": "stop", "मत भेजो": "stop",
        "थांबवा": "stop", "थांबा": "stop", "बंद करा": "stop", "thambva": "stop",
    },
)  # fmt: skip
