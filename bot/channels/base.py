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


def numbered_text(reply: Reply) -> str:
    """Text-only channels show options as a numbered list the farmer answers with a digit."""
    lines = [reply.text]
    if reply.options:
        lines.append("")
        lines += [f"{reply.first_number + i}. {o.label}" for i, o in enumerate(reply.options)]
    if reply.link:
        lines.append(f"{reply.link_label}: {reply.link}" if reply.link_label else reply.link)
    return "\n".join(lines)
