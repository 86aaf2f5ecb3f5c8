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

At import the conversations' tables are merged and checked (`merge`): no command,
button prefix, alias or state is claimed twice, every alias names a command, and
every step goes only to declared states. At each turn the handler chosen must
keep to the states its step declared.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
from handlers.base import IDLE, STAY, Answer, Conversation, Handler, Step, Turn, on
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
    media.CONVERSATION,
]

# Free text that no state claims is a search; search itself answers what is not
# a query (emoji, other scripts) with the kind hint.
FALLBACK: Handler = search.search_free_text

_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_COMMAND = re.compile(r"^/?([a-zA-Z_]+)(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)
# `cmd:<command>` is the router's own button: any command, as a tap.
_COMMAND_BUTTON = "cmd"


def clean_text(text: str) -> str:
    """NFC, Devanagari digits as ASCII, single spaces: farmers type in many ways."""
    text = unicodedata.normalize("NFC", text).translate(_DIGITS)
    return " ".join(text.split())


class TableError(ValueError):
    """The conversations' tables disagree: an input claimed twice, or a step that
    goes to a state no table declares. Raised at import, so the service never starts."""


class UndeclaredTransition(RuntimeError):
    """A handler moved the conversation somewhere its step did not declare."""


@dataclass(frozen=True, slots=True)
class Tables:
    """Every conversation's table, merged: what the router looks inputs up in."""

    commands: dict[str, Step]
    buttons: dict[str, Step]
    # The states where typed text has its own handler (the others fall to search).
    texts: dict[str, Step]
    aliases: dict[str, str]
    # Every declared state → the conversation that declares it.
    states: dict[str, str]
    # Every handler → all the states its steps may go to.
    targets: dict[Handler, frozenset[str]]


def _steps(conversation: Conversation) -> Iterable[tuple[str, Step]]:
    """Each step of a table, with how a farmer reaches it (for messages and diagrams)."""
    for name, step in conversation.commands.items():
        yield f"/{name}", step
    for prefix, step in conversation.buttons.items():
        yield f"button {prefix}", step
    for state, text_step in conversation.states.items():
        if text_step is not None:
            yield f"text in {state}", text_step
    for event, step in conversation.events.items():
        yield event, step


def merge(conversations: Sequence[Conversation]) -> Tables:
    """The tables as one, or TableError naming every clash and undeclared state."""
    problems: list[str] = []
    owners: dict[tuple[str, str], str] = {}

    def claim(kind: str, key: str, conversation: Conversation) -> None:
        owner = owners.setdefault((kind, key), conversation.name)
        if owner != conversation.name:
            problems.append(f"{kind} {key!r} is claimed by {owner} and {conversation.name}")

    tables = Tables({}, {}, {}, {}, {IDLE: "(every conversation)"}, {})
    for conversation in conversations:
        claim("conversation", conversation.name, conversation)
        for name, step in conversation.commands.items():
            claim("command", name, conversation)
            if not _COMMAND.fullmatch(name) or name != name.lower():
                problems.append(f"{conversation.name}: command {name!r} cannot be typed")
            tables.commands[name] = step
        for prefix, step in conversation.buttons.items():
            claim("button", prefix, conversation)
            if ":" in prefix or prefix == _COMMAND_BUTTON:
                problems.append(f"{conversation.name}: button prefix {prefix!r} is not usable")
            tables.buttons[prefix] = step
        for alias, command in conversation.aliases.items():
            claim("alias", alias, conversation)
            if clean_text(alias).lower() != alias:
                problems.append(f"{conversation.name}: alias {alias!r} can never match")
            tables.aliases[alias] = command
        for state, text_step in conversation.states.items():
            if state == STAY:
                problems.append(f"{conversation.name}: {STAY!r} is not a state")
            claim("state", state, conversation)
            tables.states.setdefault(state, conversation.name)
            if text_step is not None:
                tables.texts[state] = text_step
    for alias, command in tables.aliases.items():
        if command not in tables.commands:
            problems.append(f"alias {alias!r} names no command ({command!r})")
    for conversation in conversations:
        for trigger, step in _steps(conversation):
            for target in step.to:
                if target != STAY and target not in tables.states:
                    problems.append(
                        f"{conversation.name}: {trigger} ({step.handler.__qualname__}) "
                        f"goes to {target!r}, which no table declares"
                    )
            known = tables.targets.get(step.handler, frozenset())
            tables.targets[step.handler] = known | frozenset(step.to)
    if problems:
        raise TableError("the conversation tables disagree:\n  " + "\n  ".join(problems))
    return tables


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


# The router's own answers, checked as any conversation's.
ROUTING = Conversation(
    name="router",
    events={
        "a button from an older message": on(stale_button, STAY),
        "a number not on the menu": on(wrong_number, STAY),
    },
)

TABLES = merge([*CONVERSATIONS, ROUTING])
COMMANDS = TABLES.commands
BUTTONS = TABLES.buttons
STATES = TABLES.texts
ALIASES = TABLES.aliases


def _command(turn: Turn, text: str) -> Handler | None:
    match = _COMMAND.match(text)
    if match is not None:
        name = match.group(1).lower()
        slash_needed = turn.capabilities.commands_need_slash
        if name in COMMANDS and (text.startswith("/") or not slash_needed):
            turn.arg = (match.group(2) or "").strip()
            return COMMANDS[name].handler
    alias = ALIASES.get(text.lower())
    if alias is not None:
        turn.arg = ""
        return COMMANDS[alias].handler
    return None


def _button(turn: Turn, payload: str) -> Handler | None:
    prefix, _sep, rest = payload.partition(":")
    if prefix == _COMMAND_BUTTON and rest in COMMANDS:
        turn.arg = ""
        return COMMANDS[rest].handler
    step = BUTTONS.get(prefix)
    if step is None:
        return None
    turn.arg = rest
    return step.handler


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
    """Pick the handler for this turn. Sets `turn.arg` for the chosen handler, which
    refuses to leave the conversation in a state its step did not declare."""
    handler = _route(turn)
    if handler not in BEFORE_CONSENT and privacy.awaiting_consent(turn):
        # A first message is welcomed; later ones are reminded of the notice.
        turn.arg = ""
        handler = start.start if turn.farmer.is_new else start.ask_consent
    return _keeping_to_its_table(handler)


def _keeping_to_its_table(handler: Handler) -> Handler:
    allowed = TABLES.targets[handler]

    async def answer(turn: Turn) -> Answer | list[Reply]:
        was = turn.state
        said = await handler(turn)
        goes = said.next if isinstance(said, Answer) else STAY
        # Moving to where it already was is staying (a settlement that left it there).
        if goes not in allowed and not (goes == was and STAY in allowed):
            raise UndeclaredTransition(
                f"{handler.__qualname__} went from {was!r} to {goes!r}; "
                f"its table allows {sorted(allowed)}"
            )
        return said

    return answer


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
    state_step = STATES.get(turn.state)
    if state_step is not None:
        return state_step.handler
    return FALLBACK
