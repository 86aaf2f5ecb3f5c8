"""What every handler receives, and the shape of a conversation's state table."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Capabilities, Inbound, Reply, parse_uuid
from bot.settings import Settings
from db.queries.turns import Farmer


@dataclass(slots=True)
class Turn:
    """One farmer's message being answered, inside one database transaction."""

    session: AsyncSession
    inbound: Inbound
    farmer: Farmer
    settings: Settings
    state: str
    data: dict[str, Any]
    now: dt.datetime
    # The command's argument or the rest of a button payload ("hi" in "lang:hi").
    arg: str = ""
    # The numbered menu the farmer saw last, so "2" means its second option.
    menu: list[str] = field(default_factory=list)
    # That menu's labels, in the same order (empty for menus saved before labels were).
    menu_labels: list[str] = field(default_factory=list)
    # What the farmer's channel can do: handlers ask this, never which channel it is.
    capabilities: Capabilities = field(default_factory=Capabilities)
    # Every channel's, by stored name: for naming others (a broadcast's reach).
    channels: Mapping[str, Capabilities] = field(default_factory=dict)

    def take(self, answer: Answer | list[Reply]) -> list[Reply]:
        """Move the conversation where the handler's answer says; returns what to send."""
        if isinstance(answer, list):
            return answer
        if answer.next != STAY:
            self.state = answer.next
            self.data = dict(answer.data)
        return answer.replies


# The states every conversation shares. A farmer we have not welcomed yet (or whose
# data was erased) is NEW; IDLE is the main menu, where typed text is a search.
NEW = "new"
IDLE = "idle"
# Not a state: "the conversation stays where it was" (what a plain list of replies says).
STAY = "(stay)"


@dataclass(frozen=True, slots=True)
class Answer:
    """A handler's replies and the state the conversation goes to next.

    `data` is all the next state carries along (it replaces `turn.data`); with
    `next=STAY` nothing moves and `data` is unused. Answers chain in reading order:
    `[note] + answer` puts a reply before, `answer + later` after, and the later
    of two answers that move decides where the conversation ends up.
    """

    replies: list[Reply]
    next: str = STAY
    data: Mapping[str, Any] = field(default_factory=dict)

    def carrying(self, **more: Any) -> Answer:
        """The same answer, its next state carrying `more` as well."""
        return Answer(self.replies, self.next, {**self.data, **more})

    def __add__(self, later: Answer | list[Reply]) -> Answer:
        if isinstance(later, list):
            return Answer([*self.replies, *later], self.next, self.data)
        if later.next == STAY:
            return Answer([*self.replies, *later.replies], self.next, self.data)
        return Answer([*self.replies, *later.replies], later.next, later.data)

    def __radd__(self, before: list[Reply]) -> Answer:
        return Answer([*before, *self.replies], self.next, self.data)


# A plain list of replies means the conversation stays where it was.
Handler = Callable[[Turn], Awaitable[Answer | list[Reply]]]

# "1. ", "2) ", "३. " at a line's start: content's own numbering.
_NUMBERED_LINE = re.compile(r"^(\s*)[0-9०-९]{1,2}[.)]\s+", re.MULTILINE)


def bulleted(text: str) -> str:
    """Content's numbered lists as bullets, so "1." always means an option a farmer can send."""
    return _NUMBERED_LINE.sub(r"\1• ", text)


__all__ = [
    "IDLE", "NEW", "STAY", "Answer", "Conversation", "Handler", "Step", "Turn", "on", "parse_uuid",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Step:
    """A handler, and the states it may leave the conversation in (STAY: where it was)."""

    handler: Handler
    to: tuple[str, ...]


def on(handler: Handler, *to: str) -> Step:
    """`handler` answers, then the conversation is in one of the states `to`."""
    if not to:
        raise ValueError(f"{handler.__qualname__}: say where it goes (STAY if nowhere)")
    return Step(handler, to)


@dataclass(frozen=True, slots=True)
class Conversation:
    """A feature's state machine, in the shape of python-telegram-bot's ConversationHandler.

    Entry points work from any state:
    - commands: `/name` (slash optional on WhatsApp) → step
    - buttons: payload prefix before ":" → step (the rest is `turn.arg`)
    - aliases: words farmers type instead of a command, in any of our languages
    - events: what the router hands over by kind (a payment, an attachment…) → step
    The states are the conversation's own: typed text in that state → step, or
    None when typed text there is not this conversation's (search answers it).
    Each step names every state its handler may go to; the router checks at import
    that they exist and nothing clashes, and at each turn that the handler kept to it.
    """

    name: str
    states: dict[str, Step | None] = field(default_factory=dict)
    commands: dict[str, Step] = field(default_factory=dict)
    buttons: dict[str, Step] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    events: dict[str, Step] = field(default_factory=dict)
