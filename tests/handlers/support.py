"""A turn without a database, and handlers that are only names, for table tests."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Inbound, Reply
from bot.settings import Settings
from db.queries.turns import Farmer
from handlers.base import Turn


async def A(turn: Turn) -> list[Reply]:
    """Answers A."""
    return []


async def B(turn: Turn) -> list[Reply]:
    """Answers B."""
    return []


def turn_in(state: str, data: dict[str, Any]) -> Turn:
    """A turn in `state`; its session and settings are never touched by these tests."""
    return Turn(
        session=cast(AsyncSession, None),
        inbound=Inbound(channel="console", external_user_id="test", external_message_id="1"),
        farmer=Farmer(
            user_id=uuid.uuid4(),
            identity_id=uuid.uuid4(),
            language="en",
            role="farmer",
            consent_status="opted_in",
            display_name=None,
        ),
        settings=cast(Settings, None),
        state=state,
        data=dict(data),
        now=dt.datetime.now(dt.UTC),
    )
