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
from handlers.base import IDLE, NEW, STAY, Answer, Conversation, Turn, on

# The language question is on screen: typed "hindi", "मराठी"… answers it. Before the
# privacy notice is agreed to, the state carries {"awaiting_consent": True} and
# the deep link the farmer came with ({"after_language": "course-<id>"}).
CHOOSE_LANGUAGE = "choose_language"

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


def _ask_language(turn: Turn, greeting: str) -> Answer:
    if privacy.awaiting_consent(turn):
        link = turn.data.get("after_language")
        greeting += "\n\n" + privacy.consent_notice(turn)
        question = Reply(
            greeting + "\n\n" + _("Which language would you like to learn in?"),
            options=_language_options(turn.farmer.language),
        )
        # The deep link a new farmer came with waits until the language is chosen.
        waiting = {"after_language": link} if link else {}
        return Answer([question], CHOOSE_LANGUAGE, {privacy.AWAITING_CONSENT: True, **waiting})
    question = Reply(
        greeting + "\n\n" + _("Which language would you like to learn in?"),
        options=_language_options(turn.farmer.language),
    )
    return Answer([question], CHOOSE_LANGUAGE)


async def start(turn: Turn) -> Answer | list[Reply]:
    """Answers /start (and a first message): greets, opts back in, asks for the language.

    A deep link (`/start course-<id>`) opens its course at once for a farmer we
    know, and right after the language choice for a new one. An instructor's
    invite (`/start invite-<token>`) binds this chat to them.
    """
    if turn.arg.startswith(broadcast.INVITE_PREFIX):
        awaiting = privacy.awaiting_consent(turn)
        said = await broadcast.accept_invite(turn)
        if awaiting:
            # A redeemed invite moved this chat to the instructor's account; a refused
            # one leaves a farmer who has still not agreed.
            return Answer(said.replies, NEW)
        return said
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
        asked = _ask_language(turn, greeting)
        return asked.carrying(after_language=link) if link else asked


async def ask_consent(turn: Turn) -> Answer:
    """Answers a learning command before the farmer agreed: the notice again, kindly."""
    return _ask_language(turn, _("Before we start, please read this. It takes a minute."))


async def ask_language(turn: Turn) -> Answer:
    """Answers /language: offers English, Hindi and Marathi again."""
    return _ask_language(turn, _("You can change the language at any time."))


async def choose_language(turn: Turn) -> Answer | list[Reply]:
    """Answers a language button (`lang:hi`): saves it and shows the main menu."""
    language = turn.arg if turn.arg in LANGUAGES else None
    if language is None:
        return await language_not_understood(turn)
    if turn.state == NEW:
        # A language button from before the notice was shown (an old message).
        turn.arg = ""
        return await start(turn)
    if privacy.awaiting_consent(turn):
        await privacy.record_consent(turn)
    await q.set_language(turn.session, turn.farmer.user_id, language)
    turn.farmer.language = language
    link = turn.data.get("after_language") if turn.state == CHOOSE_LANGUAGE else None
    with use_language(language):
        confirmation = Reply(_("Done! I will talk with you in English."))
        if link:
            turn.arg = str(link)
            opened = await catalog.deep_link(turn)
            if opened is not None:
                return Answer([confirmation], IDLE) + opened
        return Answer([confirmation, menu.main_menu(turn)], IDLE)


async def choose_language_by_name(turn: Turn) -> Answer | list[Reply]:
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


async def show_menu(turn: Turn) -> Answer:
    """Answers /menu: the main menu."""
    return Answer([menu.main_menu(turn)], IDLE)


async def stop(turn: Turn) -> Answer:
    """Answers /stop: opts the farmer out of broadcasts and reminders."""
    await q.set_consent(turn.session, turn.farmer.user_id, "opted_out")
    turn.farmer.consent_status = "opted_out"
    goodbye = Reply(
        _(
            "You will not get course announcements or reminders any more. "
            "You can still ask me anything. Send /start to join again."
        )
    )
    # Before the notice was agreed to, the farmer stays where the notice left them.
    return Answer([goodbye], STAY if privacy.awaiting_consent(turn) else IDLE)


async def not_understood(turn: Turn) -> list[Reply]:
    """Answers text nothing else claims: a short, kind hint."""
    return [
        Reply(
            _("Sorry, I did not understand that. Send /help to see what I can do."),
        ),
        menu.main_menu(turn),
    ]


# NEW is where every farmer begins (and starts over after erasing): whatever they
# type there is welcomed by `start`; until the notice is agreed to, the router
# answers learning commands with `ask_consent`.
CONVERSATION = Conversation(
    name="start",
    states={
        NEW: on(start, CHOOSE_LANGUAGE, IDLE, NEW, STAY),
        CHOOSE_LANGUAGE: on(choose_language_by_name, IDLE, CHOOSE_LANGUAGE, STAY),
    },
    commands={
        "start": on(start, CHOOSE_LANGUAGE, IDLE, NEW, STAY),
        "language": on(ask_language, CHOOSE_LANGUAGE),
        "help": on(show_help, STAY),
        "menu": on(show_menu, IDLE),
        "stop": on(stop, IDLE, STAY),
    },
    buttons={
        "lang": on(choose_language, IDLE, CHOOSE_LANGUAGE, STAY),
        "help": on(show_help, STAY),
        "menu": on(show_menu, IDLE),
    },
    events={"anything before the privacy notice is agreed to": on(ask_consent, CHOOSE_LANGUAGE)},
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
