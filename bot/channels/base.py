"""What every channel's sender promises the outbound worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from bot.messages import Reply


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
