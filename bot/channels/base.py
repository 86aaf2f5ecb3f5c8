"""The shape of a channel plug-in, and what every channel's sender promises the
outbound worker.

A channel is one `ChannelPlugin` value in its own module (`bot/channels/<name>.py`):
the web app mounts its `routes`, the sender runs its `sender` at its `rate`, the
`krishi` command adds its `cli` commands, and each turn carries its `capabilities`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal, Protocol

from fastapi import Depends, Request

from bot.messages import Capabilities, Inbound, Reply
from bot.settings import Settings

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.runtime import Runtime


@dataclass(frozen=True, slots=True)
class SendResult:
    """How one provider call ended, in terms the worker acts on."""

    outcome: Literal["sent", "retry", "failed"]
    provider_message_id: str | None = None
    error: str | None = None
    # The provider asked us to wait this long (Telegram retry_after, HTTP Retry-After).
    retry_after: float | None = None
    # The address can no longer be reached this way ("blocked", "needs_template").
    identity_inactive_reason: str | None = None
    # Whom a "slow down" (retry_after) is about: this chat alone, or the whole channel.
    scope: Literal["chat", "channel"] = "channel"


class ChannelSender(Protocol):
    channel: str

    async def send(self, address: str, reply: Reply) -> SendResult: ...

    def calls_for(self, reply: Reply) -> int:
        """How many provider calls `send` makes for `reply`: each counts against the
        provider's rate (a caption split in two, a spent keyboard cleared first)."""
        ...

    async def close(self) -> None: ...


def split_text(text: str, limit: int) -> list[str]:
    """Split long text at paragraph, line, then word boundaries, each part under `limit`."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), -1)
        if cut < limit // 3:
            cut = window.rfind("\n")
        if cut < limit // 3:
            cut = window.rfind(" ")
        if cut < limit // 3:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


def _options_listed(reply: Reply) -> list[str]:
    return [f"{reply.first_number + i}. {o.label}" for i, o in enumerate(reply.options)]


def numbered_text(reply: Reply) -> str:
    """Text-only channels show options as a numbered list the farmer answers with a digit."""
    lines = [reply.text]
    if reply.options:
        lines.append("")
        lines += _options_listed(reply)
    if reply.link:
        lines.append(f"{reply.link_label}: {reply.link}" if reply.link_label else reply.link)
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class ButtonLayout:
    """A reply laid out for a channel with buttons: the body, and (label, payload) per button."""

    text: str
    buttons: list[tuple[str, str]]
    # True when the options are in the body and the buttons carry only their numbers.
    numbered: bool = False


def fit_buttons(reply: Reply, label_limit: int) -> ButtonLayout:
    """Lay out a reply's options as buttons that never cut a farmer's answer.

    Handlers always give the full option. When every label fits on a button, the
    buttons carry them as they are. When one does not, a cut label could say the
    opposite of the answer ("…burn the residue" for "…do not burn the residue"),
    so every option goes whole into the body, numbered as WhatsApp numbers them,
    and each button carries only its number: the farmer reads, then taps or types it.
    """
    if all(len(option.label) <= label_limit for option in reply.options):
        return ButtonLayout(reply.text, [(o.label, o.payload) for o in reply.options])
    text = "\n".join([reply.text, "", *_options_listed(reply)])
    return ButtonLayout(
        text,
        [(str(reply.first_number + i), o.payload) for i, o in enumerate(reply.options)],
        numbered=True,
    )


async def raw_body(request: Request) -> bytes:
    """Depends: the raw body (the app's BodyLimit has capped it)."""
    return await request.body()


Body = Annotated[bytes, Depends(raw_body)]

# The app's one way into the inbox: durable, or HTTP 503 so the provider retries.
Record = Callable[["Runtime", Inbound], Awaitable[None]]
# Answer one Inbound now, before returning (the terminal's turns).
AnswerNow = Callable[[Inbound], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RateSettings:
    """How fast the sender may call this channel's provider, shared by every process."""

    # Processes sending through the same provider account share this key's slots.
    key: str
    per_s: float
    # A per-chat limit (Telegram's about 1 a second, with short bursts), or None.
    chat_per_s: float | None = None
    chat_burst: int = 1
    # Broadcasts leave part of the rate to farmers' replies (BroadcastSettings'
    # reply share); otherwise they may take all of it, after the replies.
    reserve_for_replies: bool = False


@dataclass(frozen=True, slots=True)
class CliContext:
    """What `bot/cli.py` lends a channel's commands: the process's plumbing."""

    settings: Callable[[], Settings]
    # Open the runtime on the configured database (migrated first when embedded),
    # outside any event loop.
    runtime: Callable[[], Runtime]
    # A way to answer the terminal's messages at once (bot.turns.TurnWorkers).
    answer_now: Callable[[Runtime], AnswerNow]
    # The farmers' "/" commands with their descriptions, per language.
    command_menus: Callable[[], dict[str, list[tuple[str, str]]]]
    configure_logs: Callable[[], None]


@dataclass(frozen=True, slots=True)
class ChannelPlugin:
    """Everything one channel brings. Adding a channel is adding one of these."""

    name: str  # as stored in identities.channel and Inbound.channel
    # Credentials present; off, the channel takes nothing and sends nothing.
    enabled: Callable[[Settings], bool]
    # What to set to turn it on, said at start when it is off ("" for always on).
    needs: str
    capabilities: Callable[[Settings], Capabilities]
    # Webhook routes (signature check as a dependency, parse into Inbound, record).
    routes: Callable[[Settings, Record], APIRouter] | None = None
    # The provider client that renders a Reply and classifies errors.
    sender: Callable[[Settings, AsyncEngine], ChannelSender] | None = None
    rate: Callable[[Settings], RateSettings] | None = None
    # Commands this channel adds to `krishi` (Telegram's set-webhook, the console's chat).
    cli: Callable[[typer.Typer, CliContext], None] | None = None
