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

    def goto(self, state: str, **data: Any) -> None:
        """Move the conversation to `state`, carrying only `data` along."""
        self.state = state
        self.data = data


Handler = Callable[[Turn], Awaitable[list[Reply]]]

# "1. ", "2) ", "३. " at a line's start: content's own numbering.
_NUMBERED_LINE = re.compile(r"^(\s*)[0-9०-९]{1,2}[.)]\s+", re.MULTILINE)


def bulleted(text: str) -> str:
    """Content's numbered lists as bullets, so "1." always means an option a farmer can send."""
    return _NUMBERED_LINE.sub(r"\1• ", text)


__all__ = ["Conversation", "Handler", "Turn", "parse_uuid"]


@dataclass(frozen=True, slots=True)
class Conversation:
    """A feature's state table: how each kind of input enters it.

    - commands: `/name` (slash optional on WhatsApp) → handler
    - buttons: payload prefix before ":" → handler (the rest is `turn.arg`)
    - states: free text while the conversation is in that state → handler
    """

    commands: dict[str, Handler] = field(default_factory=dict)
    buttons: dict[str, Handler] = field(default_factory=dict)
    states: dict[str, Handler] = field(default_factory=dict)
    # Words farmers type instead of a command, in any of our languages.
    aliases: dict[str, str] = field(default_factory=dict)
