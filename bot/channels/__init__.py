"""Channels as plug-ins: provider payloads in, provider calls out. No course knowledge here.

Each channel is one module exporting one `ChannelPlugin` (see `base.py`) named
`CHANNEL`: its webhook routes (signature check as a FastAPI dependency, parse into
`Inbound`, record through the app's `record`), its sender (render a `Reply`,
classify errors as retry or final), its rate, its `krishi` commands, and its
`Capabilities` (buttons, lists, the longest option label, whether commands need
a slash, a native payment, receipts). The web app (`bot/app.py`), the sender
(`bot/sender.py`), the CLI (`bot/cli.py`), the start-up announcement and the
turn workers (`bot/turns.py`, which give each turn its channel's capabilities)
all loop over `CHANNELS`. Handlers never see this package.

Adding a channel (SMS through a gateway, a web chat) is one file plus its tests:

1. `bot/channels/sms.py` with `CHANNEL = ChannelPlugin(name="sms", enabled=...,
   needs="SMS_API_KEY", capabilities=..., routes=..., sender=..., rate=...)`;
   its settings in a `pydantic_settings.BaseSettings` of its own in that file;
2. its `CHANNEL` added to the tuple below (the one line outside its file);
3. `tests/bot/channels/test_sms.py`: the gateway's real payloads → `Inbound`,
   and `Reply` → the gateway's call parameters.

One thing outside the file remains: the database checks `channel IN (...)` on
chat identities and outbound messages (`db/models/service.py` CHANNELS), so a new name
needs a migration widening that check. It is kept on purpose: a typo in a
channel's name fails at the first write instead of storing farmers nobody serves.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.channels import console, telegram, whatsapp
from bot.channels.base import ChannelPlugin
from bot.messages import Capabilities
from bot.settings import Settings

log = logging.getLogger(__name__)

CHANNELS: tuple[ChannelPlugin, ...] = (telegram.CHANNEL, whatsapp.CHANNEL, console.CHANNEL)
BY_NAME: Mapping[str, ChannelPlugin] = {channel.name: channel for channel in CHANNELS}


def capabilities_by_channel(settings: Settings) -> dict[str, Capabilities]:
    """What each channel can do, by its stored name (turns read their farmer's)."""
    return {channel.name: channel.capabilities(settings) for channel in CHANNELS}


def enabled(settings: Settings) -> list[ChannelPlugin]:
    return [channel for channel in CHANNELS if channel.enabled(settings)]


def announce_channels(settings: Settings) -> list[str]:
    """Say at start which channels are on, and why the others are off."""
    lines = [
        f"{channel.name}: on" if channel.enabled(settings) else
        f"{channel.name}: off (set {channel.needs})"
        for channel in CHANNELS
        if channel.needs  # the console is always there: nothing to say
    ]  # fmt: skip
    lines.append(
        "razorpay: on"
        if settings.razorpay_enabled
        else "razorpay: off (set RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET)"
    )
    for line in lines:
        log.info("channel %s", line)
    return lines
