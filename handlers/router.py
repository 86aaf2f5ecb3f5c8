"""Which handler answers a message: commands, buttons, menu numbers, then state.

The order, first match wins:
0. a payment the channel collected (Telegram Stars) → its settlement
1. a button payload → the conversation that owns its prefix
1a. a voice note, photo, location… (an attachment) → a kind word on what we understand
2. a command (`/help`; the slash is optional on WhatsApp and the console) or an alias
3. a menu number ("2", "२") or an option's label → that option's payload, as in 1
4. free text → the handler of the conversation's current state
5. a number not on the menu → the same menu again, with a kind hint
6. anything else → a kind hint

Before the farmer agreed to the privacy notice, only getting started, help,
opting out and the data rights are answered; anything else shows the notice
again (start.ask_consent).
"""

from __future__ import annotations

import re
import unicodedata

from bot.i18n import _, format_number
from bot.messages import Option, Reply
from handlers import (
    broadcast,
    catalog,
    console,
    lessons,
    library,
    media,
    payments,
    privacy,
    progress,
    quiz,
    rewards,
    roadmaps,
    search,
    start,
)
from handlers.base import Conversation, Handler, Turn
from handlers.menu import main_menu

CONVERSATIONS: list[Conversation] = [
    start.CONVERSATION,
    catalog.CONVERSATION,
    lessons.CONVERSATION,
    progress.CONVERSATION,
    quiz.CONVERSATION,
    library.CONVERSATION,
    roadmaps.CONVERSATION,
    payments.CONVERSATION,
    rewards.CONVERSATION,
    search.CONVERSATION,
    broadcast.CONVERSATION,
    console.CONVERSATION,
    privacy.CONVERSATION,
]

COMMANDS: dict[str, Handler] = {}
BUTTONS: dict[str, Handler] = {}
STATES: dict[str, Handler] = {}
ALIASES: dict[str, str] = {}
for _conversation in CONVERSATIONS:
    COMMANDS.update(_conversation.commands)
    BUTTONS.update(_conversation.buttons)
    STATES.update(_conversation.states)
    ALIASES.update(_conversation.aliases)

# Free text that no state claims is a search; search itself answers what is not
# a query (emoji, other scripts) with the kind hint.
FALLBACK: Handler = search.search_free_text

_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_COMMAND = re.compile(r"^/?([a-zA-Z_]+)(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)


def clean_text(text: str) -> str:
    """NFC, Devanagari digits as ASCII, single spaces: farmers type in many ways."""
    text = unicodedata.normalize("NFC", text).translate(_DIGITS)
    return " ".join(text.split())


def _command(turn: Turn, text: str) -> Handler | None:
    match = _COMMAND.match(text)
    if match is not None:
        name = match.group(1).lower()
        slash_needed = turn.capabilities.commands_need_slash
        if name in COMMANDS and (text.startswith("/") or not slash_needed):
            turn.arg = (match.group(2) or "").strip()
            return COMMANDS[name]
    alias = ALIASES.get(text.lower())
    if alias is not None:
        turn.arg = ""
        return COMMANDS[alias]
    return None


def _button(turn: Turn, payload: str) -> Handler | None:
    prefix, _sep, rest = payload.partition(":")
    if prefix == "cmd" and rest in COMMANDS:
        turn.arg = ""
        return COMMANDS[rest]
    handler = BUTTONS.get(prefix)
    if handler is not None:
        turn.arg = rest
    return handler


def _menu_choice(turn: Turn, text: str) -> str | None:
    if text.isdigit():
        index = int(text) - 1
        return turn.menu[index] if 0 <= index < len(turn.menu) else None
    return None


def _current_options(turn: Turn) -> tuple[Option, ...]:
    """The menu the farmer saw last, as it was shown (empty if its labels were not kept)."""
    if not turn.menu or len(turn.menu_labels) != len(turn.menu):
        return ()
    return tuple(
        Option(label, payload) for label, payload in zip(turn.menu_labels, turn.menu, strict=True)
    )


async def stale_button(turn: Turn) -> list[Reply]:
    """Answers a button from an older message: shows the current choices again, in place."""
    options = _current_options(turn)
    if not options:
        return [Reply(_("That choice is no longer available.")), main_menu(turn)]
    return [Reply(_("That button is from an earlier message. Here are your choices now:"),
                  options=options)]  # fmt: skip


async def wrong_number(turn: Turn) -> list[Reply]:
    """Answers a number that is not on the menu: the same choices again, with a kind hint."""
    options = _current_options(turn)
    if not options:
        return [Reply(_("That choice is no longer available.")), main_menu(turn)]
    number = clean_text(turn.inbound.text)
    if len(options) == 1:
        hint = _("There is no option {number} here. Please send 1, or tap the button.").format(
            number=number
        )
    else:
        hint = _("There is no option {number} here. Please send a number from 1 to {last}.").format(
            number=number, last=format_number(len(options))
        )
    return [Reply(hint, options=options)]


# What a farmer may do before agreeing: nothing that processes their learning.
BEFORE_CONSENT: frozenset[Handler] = frozenset(
    {
        start.start,
        start.ask_language,
        start.choose_language,
        start.choose_language_by_name,
        start.show_help,
        start.stop,
        privacy.show_privacy,
        privacy.show_my_data,
        privacy.ask_to_erase,
        privacy.erase_choice,
        privacy.erase_answer_typed,
        payments.stars_paid,
    }
)


def route(turn: Turn) -> Handler:
    """Pick the handler for this turn. Sets `turn.arg` for the chosen handler."""
    handler = _route(turn)
    if handler not in BEFORE_CONSENT and privacy.awaiting_consent(turn):
        # A first message is welcomed; later ones are reminded of the notice.
        turn.arg = ""
        return start.start if turn.farmer.is_new else start.ask_consent
    return handler


def _route(turn: Turn) -> Handler:
    if turn.inbound.payment is not None:
        return payments.stars_paid
    if turn.inbound.payload is not None:
        return _button(turn, turn.inbound.payload) or stale_button
    if turn.inbound.attachment is not None and not (turn.farmer.is_new or turn.state == "new"):
        return media.answer_attachment
    text = clean_text(turn.inbound.text)
    if not text:
        return FALLBACK
    handler = _command(turn, text)
    if handler is not None:
        return handler
    if turn.farmer.is_new or turn.state == "new":
        return start.start
    payload = _menu_choice(turn, text)
    if payload is not None:
        return _button(turn, payload) or stale_button
    if text.isdigit() and turn.state not in STATES:
        return wrong_number
    state_handler = STATES.get(turn.state)
    if state_handler is not None:
        return state_handler
    return FALLBACK
