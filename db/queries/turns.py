"""The statements of one inbound turn, kept to a few round trips on the hot path."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


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


# Record the delivery and touch the identity in one statement. When the delivery
# was seen before, `ev` is empty, nothing else happens, and `fresh` is false.
_RECORD_AND_FIND = text(
    """
    WITH ev AS (
        INSERT INTO inbound_events (source, external_id) VALUES (:source, :event_id)
        ON CONFLICT DO NOTHING
        RETURNING id
    ), ident AS (
        UPDATE channel_identities ci
           SET last_inbound_at = now(), is_active = true, inactive_reason = NULL,
               display_name = COALESCE(:display_name, ci.display_name)
          FROM users u
         WHERE ci.channel = :channel AND ci.external_id = :external_id
           AND u.id = ci.user_id AND EXISTS (SELECT 1 FROM ev)
        RETURNING ci.id AS identity_id, u.id AS user_id, u.preferred_language,
                  u.role, u.consent_status, u.display_name
    )
    SELECT EXISTS (SELECT 1 FROM ev) AS fresh, ident.* FROM (SELECT 1) one
    LEFT JOIN ident ON true
    """
)


async def record_inbound_and_find_farmer(
    session: AsyncSession,
    *,
    source: str,
    event_id: str,
    channel: str,
    external_id: str,
    display_name: str | None,
) -> tuple[bool, Farmer | None]:
    """(fresh, farmer): fresh is False for a duplicate delivery; farmer is None if unknown."""
    row = (
        await session.execute(
            _RECORD_AND_FIND,
            {
                "source": source,
                "event_id": event_id,
                "channel": channel,
                "external_id": external_id,
                "display_name": display_name,
            },
        )
    ).one()
    if not row.fresh or row.user_id is None:
        return bool(row.fresh), None
    return True, Farmer(
        user_id=row.user_id,
        identity_id=row.identity_id,
        language=row.preferred_language,
        role=row.role,
        consent_status=row.consent_status,
        display_name=row.display_name,
    )


_CREATE_FARMER = text(
    """
    WITH u AS (
        INSERT INTO users (display_name, preferred_language) VALUES (:display_name, :language)
        RETURNING id, preferred_language, role, consent_status, display_name
    ), ci AS (
        INSERT INTO channel_identities (user_id, channel, external_id, display_name, last_inbound_at)
        SELECT id, :channel, :external_id, :display_name, now() FROM u
        RETURNING id
    ), c AS (
        INSERT INTO conversations (user_id) SELECT id FROM u
    )
    SELECT ci.id AS identity_id, u.* FROM u, ci
    """
)


async def create_farmer(
    session: AsyncSession,
    *,
    channel: str,
    external_id: str,
    display_name: str | None,
    language: str,
) -> Farmer:
    """A first message from a new address: create the user, the identity, the conversation.

    Two first messages from one address may race; the advisory lock makes the
    second wait and then find the first one's rows.
    """
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"identity:{channel}:{external_id}"},
    )
    existing = (
        await session.execute(
            text(
                """
                SELECT ci.id AS identity_id, u.id, u.preferred_language, u.role,
                       u.consent_status, u.display_name
                  FROM channel_identities ci JOIN users u ON u.id = ci.user_id
                 WHERE ci.channel = :channel AND ci.external_id = :external_id
                """
            ),
            {"channel": channel, "external_id": external_id},
        )
    ).one_or_none()
    is_new = existing is None
    row = (
        existing
        or (
            await session.execute(
                _CREATE_FARMER,
                {
                    "channel": channel,
                    "external_id": external_id,
                    "display_name": display_name,
                    "language": language,
                },
            )
        ).one()
    )
    return Farmer(
        user_id=row.id,
        identity_id=row.identity_id,
        language=row.preferred_language,
        role=row.role,
        consent_status=row.consent_status,
        display_name=row.display_name,
        is_new=is_new,
    )


async def lock_conversation(session: AsyncSession, user_id: uuid.UUID) -> ConversationRow:
    """Lock the farmer's conversation row: their turns run one at a time, everywhere."""
    row = (
        await session.execute(
            text("SELECT state, data FROM conversations WHERE user_id = :u FOR UPDATE"),
            {"u": user_id},
        )
    ).one_or_none()
    if row is None:
        # A user made elsewhere (an instructor via the API) has no conversation yet.
        await session.execute(
            text("INSERT INTO conversations (user_id) VALUES (:u) ON CONFLICT DO NOTHING"),
            {"u": user_id},
        )
        return await lock_conversation(session, user_id)
    return ConversationRow(state=row.state, data=row.data)


_FINISH_TURN = text(
    """
    WITH conv AS (
        UPDATE conversations
           SET state = :state, data = CAST(:data AS jsonb), turn_count = turn_count + 1,
               updated_at = now()
         WHERE user_id = :user_id
    ), queued AS (
        INSERT INTO outbound_messages (user_id, identity_id, channel, kind, body)
        SELECT :user_id, :identity_id, :channel, 'reply', body
          FROM jsonb_array_elements(CAST(:bodies AS jsonb)) WITH ORDINALITY AS r(body, n)
         ORDER BY n
        RETURNING id
    )
    SELECT pg_notify('krishi_outbound', :channel) FROM (SELECT 1) one
     WHERE EXISTS (SELECT 1 FROM queued)
    """
)


async def finish_turn(
    session: AsyncSession,
    *,
    farmer: Farmer,
    channel: str,
    state: str,
    data: dict[str, Any],
    bodies: list[dict[str, Any]],
) -> None:
    """Save where the conversation stands and queue the replies, in one statement."""
    await session.execute(
        _FINISH_TURN,
        {
            "state": state,
            "data": orjson.dumps(data).decode(),
            "user_id": farmer.user_id,
            "identity_id": farmer.identity_id,
            "channel": channel,
            "bodies": orjson.dumps(bodies).decode(),
        },
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
