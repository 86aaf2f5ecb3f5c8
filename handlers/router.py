"""Which handler answers a message: commands, buttons, menu numbers, then state.

The order, first match wins:
0. a payment the channel collected (Telegram Stars) → its settlement
1. a button payload → the conversation that owns its prefix
1a. a voice note, photo, location… (an attachment) → a kind word on what we understand
2. a command (`/help`; the slash is optional on WhatsApp and the console) or an alias
3. a menu number ("2", "२") or an option's label → that option's payload, as in 1
4. free text → the handler of the conversation's current state
5. anything else → a kind hint
"""

from __future__ import annotations

import re
import unicodedata

from bot.i18n import _
from bot.messages import Reply
from handlers import (
    broadcast,
    catalog,
    lessons,
    library,
    media,
    payments,
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
        slash_needed = turn.inbound.channel == "telegram"
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


async def stale_button(turn: Turn) -> list[Reply]:
    """Answers a button or number that no longer means anything: says where we are."""
    return [Reply(_("That choice is no longer available.")), main_menu(turn)]


def route(turn: Turn) -> Handler:
    """Pick the handler for this turn. Sets `turn.arg` for the chosen handler."""
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
        return stale_button
    state_handler = STATES.get(turn.state)
    if state_handler is not None:
        return state_handler
    return FALLBACK
