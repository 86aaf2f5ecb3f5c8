"""The audit log of what instructors and admins did through the API and console."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# --- instructors, tokens, invites ----------------------------------------------------


async def audit(
    session: AsyncSession, *, actor: str, action: str, subject: str, detail: Mapping[str, Any]
) -> None:
    """Who did what through the API, kept in audit_log."""
    await session.execute(
        text(
            "INSERT INTO audit_log (actor, action, subject, detail)"
            " VALUES (:actor, :action, :subject, CAST(:detail AS jsonb))"
        ),
        {
            "actor": actor[:100],
            "action": action[:64],
            "subject": subject[:100],
            "detail": orjson.dumps(dict(detail), default=str).decode(),
        },
    )


# --- content rows ---------------------------------------------------------------------
