"""The statements of one inbound turn, kept to a few round trips on the hot path."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import driver_connection
from db.queries import outbox


@dataclass(slots=True)
class Farmer:
    """The user behind a turn, as the handlers see them."""

    user_id: uuid.UUID
    identity_id: uuid.UUID
    language: str
    role: str
    consent_status: str
    display_name: str | None
    is_new: bool = False


@dataclass(slots=True)
class ConversationRow:
    state: str
    data: dict[str, Any]


def as_uuid(value: Any) -> uuid.UUID:
    # asyncpg hands back its own UUID type; the rest of the code expects uuid.UUID.
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


_FIND_FARMER = """
    SELECT ci.id AS identity_id, u.id AS user_id, u.preferred_language, u.role,
           u.consent_status, u.display_name
      FROM channel_identities ci JOIN users u ON u.id = ci.user_id
     WHERE ci.channel = $1 AND ci.external_id = $2
"""

_CREATE_FARMER = """
    WITH u AS (
        INSERT INTO users (display_name, preferred_language) VALUES ($3, $4)
        RETURNING id, preferred_language, role, consent_status, display_name
    ), ci AS (
        INSERT INTO channel_identities (user_id, channel, external_id, display_name, last_inbound_at)
        SELECT id, $1, $2, $3, now() FROM u
        RETURNING id
    ), c AS (
        INSERT INTO conversations (user_id) SELECT id FROM u
    )
    SELECT ci.id AS identity_id, u.id AS user_id, u.preferred_language, u.role,
           u.consent_status, u.display_name
      FROM u, ci
"""


async def find_or_create_farmer(
    raw: Any, *, channel: str, external_id: str, display_name: str | None, language: str
) -> tuple[Farmer, ConversationRow] | None:
    """A first message from an address: create the user, the identity, the conversation.

    The caller's batch holds the address's advisory lock, so no other worker creates
    this farmer at the same time. Another may have created them just before, and may
    hold their conversation now: then None, and the message waits for the next batch
    (a worker never waits on a farmer's lock).
    """
    row = await raw.fetchrow(_FIND_FARMER, channel, external_id)
    is_new = row is None
    if row is None:
        row = await raw.fetchrow(_CREATE_FARMER, channel, external_id, display_name, language)
    farmer = Farmer(
        user_id=as_uuid(row["user_id"]),
        identity_id=as_uuid(row["identity_id"]),
        language=row["preferred_language"],
        role=row["role"],
        consent_status=row["consent_status"],
        display_name=row["display_name"],
        is_new=is_new,
    )
    if is_new:
        return farmer, ConversationRow("new", {})
    conversation = await _try_lock_conversation(raw, farmer.user_id)
    return None if conversation is None else (farmer, conversation)


async def _try_lock_conversation(raw: Any, user_id: uuid.UUID) -> ConversationRow | None:
    # A user made elsewhere (an instructor via the API) has no conversation yet.
    await raw.execute(
        "INSERT INTO conversations (user_id) VALUES ($1) ON CONFLICT DO NOTHING", user_id
    )
    row = await raw.fetchrow(
        "SELECT state, data::text AS data FROM conversations WHERE user_id = $1"
        " FOR UPDATE SKIP LOCKED",
        user_id,
    )
    return None if row is None else ConversationRow(row["state"], orjson.loads(row["data"]))


async def lock_conversation_raw(raw: Any, user_id: uuid.UUID) -> ConversationRow:
    row = await raw.fetchrow(
        "SELECT state, data::text AS data FROM conversations WHERE user_id = $1 FOR UPDATE",
        user_id,
    )
    if row is None:
        # A user made elsewhere (an instructor via the API) has no conversation yet.
        await raw.execute(
            "INSERT INTO conversations (user_id) VALUES ($1) ON CONFLICT DO NOTHING", user_id
        )
        return await lock_conversation_raw(raw, user_id)
    return ConversationRow(row["state"], orjson.loads(row["data"]))


async def lock_conversation(session: AsyncSession, user_id: uuid.UUID) -> ConversationRow:
    """Lock the farmer's conversation row from outside a turn (a payment webhook): the
    same statement a turn uses, on the session's own transaction."""
    raw = await driver_connection(await session.connection())
    return await lock_conversation_raw(raw, user_id)


# The last statement of a turn: where the conversation stands, the address seen
# alive, and the replies queued (in order) with a wake-up call for the senders.
_END_TURN = f"""
    WITH conv AS (
        UPDATE conversations
           SET state = $1, data = $2::jsonb, turn_count = turn_count + 1, updated_at = now()
         WHERE user_id = $3
    ), seen AS (
        UPDATE channel_identities
           SET last_inbound_at = now(), is_active = true, inactive_reason = NULL,
               display_name = COALESCE($6, display_name)
         WHERE id = $4
    ), answered AS (
        UPDATE inbox SET status = $9, error = $10, handled_at = now() WHERE id = $11
    ), released AS (
        -- The window is open again: messages held for want of a template go now.
        UPDATE outbound_messages {outbox.RELEASE_HELD_SET}
         WHERE identity_id = $4 AND status = 'needs_template'
    ), queued AS (
        INSERT INTO outbound_messages (user_id, identity_id, channel, kind, body)
        SELECT $3, $4, $7::text, 'reply', body
          FROM jsonb_array_elements($5::jsonb) WITH ORDINALITY AS r(body, n)
         ORDER BY n
        RETURNING id
    )
    SELECT pg_notify('krishi_outbound', $7::text) FROM (SELECT 1) one
     WHERE $8::boolean AND EXISTS (SELECT 1 FROM queued)
"""


async def end_turn(
    raw: Any,
    *,
    farmer: Farmer,
    channel: str,
    display_name: str | None,
    state: str,
    data: dict[str, Any],
    bodies: list[dict[str, Any]],
    inbox_id: int | None = None,
    failure: str | None = None,
    notify: bool = True,
) -> None:
    """Save the state, touch the address, mark the inbox message answered (or failed,
    with `failure`), queue the replies: one statement.

    `notify` wakes every listening sender at commit; a process whose own sender
    will be woken in-process passes False.
    """
    await raw.execute(
        _END_TURN,
        state,
        orjson.dumps(data).decode(),
        farmer.user_id,
        farmer.identity_id,
        orjson.dumps(bodies).decode(),
        display_name,
        channel,
        notify,
        "failed" if failure else "done",
        failure[:500] if failure else None,
        inbox_id,
    )


async def set_language(session: AsyncSession, user_id: uuid.UUID, language: str) -> None:
    await session.execute(
        text("UPDATE users SET preferred_language = :lang WHERE id = :u"),
        {"lang": language, "u": user_id},
    )


async def set_consent(session: AsyncSession, user_id: uuid.UUID, status: str) -> None:
    await session.execute(
        text(
            "UPDATE users SET consent_status = :s, consent_changed_at = now() "
            "WHERE id = :u AND consent_status <> :s"
        ),
        {"s": status, "u": user_id},
    )
