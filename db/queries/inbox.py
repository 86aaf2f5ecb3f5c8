"""The inbox's statements: the webhook records, the turn workers claim farmers.

The webhook's one statement inserts every message that arrived together
(duplicates do nothing). A turn worker's batch then takes, in one transaction:
the farmers with pending messages, oldest first, whose conversation no other
worker holds (`SKIP LOCKED`: nobody waits on a farmer's lock); then, in a fresh
snapshot taken after those locks, each farmer's pending messages in arrival order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from db.queries.turns import ConversationRow, Farmer, as_uuid

NOTIFY_CHANNEL = "krishi_inbox"
# How many of the oldest pending messages a claim looks at, per farmer it wants: enough
# to find farmers past one who sent many (a flood is capped at 20 pending).
SCAN_PER_FARMER = 32


@dataclass(frozen=True, slots=True)
class Arrival:
    """One message as the webhook recorded it."""

    channel: str
    provider_message_id: str
    address: str
    message: dict[str, Any]


_RECORD = """
    WITH added AS (
        INSERT INTO inbox (channel, provider_message_id, address, message)
        SELECT c, p, a, m::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
            AS t(c, p, a, m)
        ON CONFLICT (channel, provider_message_id) DO NOTHING
        RETURNING 1
    ), notified AS (
        SELECT pg_notify($6, '') FROM (SELECT 1) one
         WHERE $5::boolean AND EXISTS (SELECT 1 FROM added)
    )
    SELECT (SELECT count(*) FROM added) AS added, (SELECT count(*) FROM notified) AS notified
"""


async def record(raw: Any, arrivals: list[Arrival], *, notify: bool) -> int:
    """Insert what arrived (a provider's retry does nothing); returns how many were new.

    Run outside a transaction, the statement is its own commit: when it returns,
    the rows are durable, which is when a webhook may answer 2xx. `notify` wakes the
    turn workers of other processes at that commit.
    """
    row = await raw.fetchrow(
        _RECORD,
        [a.channel for a in arrivals],
        [a.provider_message_id for a in arrivals],
        [a.address for a in arrivals],
        [orjson.dumps(a.message).decode() for a in arrivals],
        notify,
        NOTIFY_CHANNEL,
    )
    return int(row["added"])


@dataclass(slots=True)
class Claim:
    """A farmer with pending messages, their conversation locked for this batch.

    `farmer` is None for an address we do not know yet (a newcomer): the batch holds
    an advisory lock on that address instead, and creates the farmer.
    """

    channel: str
    address: str
    farmer: Farmer | None
    conversation: ConversationRow | None


# Candidates are the oldest farmers with pending messages; a worker takes those whose
# conversation nobody holds. FOR NO KEY UPDATE OF c, u re-reads the user row once the
# lock is ours, so a language chosen in another worker's batch is seen.
_CLAIM = """
    WITH oldest AS (
        -- A bounded look at the oldest pending messages (the partial index, in order):
        -- a backlog of any size costs a claim the same.
        SELECT channel, address, id FROM inbox WHERE status = 'pending' ORDER BY id LIMIT $3
    ), heads AS (
        SELECT channel, address, min(id) AS first_id
          FROM oldest
         GROUP BY channel, address
         ORDER BY first_id
         LIMIT $2
    ), known AS (
        SELECT h.channel, h.address, h.first_id, ci.id AS identity_id, u.id AS user_id,
               u.preferred_language, u.role, u.consent_status, u.display_name,
               c.state, c.data::text AS data
          FROM heads h
          JOIN channel_identities ci ON ci.channel = h.channel AND ci.external_id = h.address
          JOIN users u ON u.id = ci.user_id
          JOIN conversations c ON c.user_id = ci.user_id
         ORDER BY h.first_id
         LIMIT $1
           FOR NO KEY UPDATE OF c, u SKIP LOCKED
    ), newcomers AS (
        SELECT h.channel, h.address, h.first_id
          FROM heads h
         WHERE NOT EXISTS (
                SELECT 1 FROM channel_identities ci JOIN conversations c ON c.user_id = ci.user_id
                 WHERE ci.channel = h.channel AND ci.external_id = h.address)
         ORDER BY h.first_id
         LIMIT $1
    )
    SELECT channel, address, first_id, identity_id, user_id, preferred_language, role,
           consent_status, display_name, state, data
      FROM known
    UNION ALL
    SELECT channel, address, first_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM newcomers
     WHERE pg_try_advisory_xact_lock(hashtextextended('identity:' || channel || ':' || address, 0))
     ORDER BY first_id
"""


async def claim_farmers(raw: Any, *, farmers: int) -> list[Claim]:
    """Up to `farmers` farmers with pending messages, oldest first, locked for this batch."""
    rows = await raw.fetch(_CLAIM, farmers, farmers * 4, farmers * SCAN_PER_FARMER)
    claims: list[Claim] = []
    for row in rows[:farmers]:
        if row["user_id"] is None:
            claims.append(Claim(row["channel"], row["address"], None, None))
            continue
        farmer = Farmer(
            user_id=as_uuid(row["user_id"]),
            identity_id=as_uuid(row["identity_id"]),
            language=row["preferred_language"],
            role=row["role"],
            consent_status=row["consent_status"],
            display_name=row["display_name"],
        )
        conversation = ConversationRow(row["state"], orjson.loads(row["data"]))
        claims.append(Claim(row["channel"], row["address"], farmer, conversation))
    return claims


@dataclass(frozen=True, slots=True)
class Pending:
    """One message still to answer, and how many its farmer has pending in all."""

    id: int
    channel: str
    address: str
    message: dict[str, Any]
    pending: int


# A fresh snapshot, taken after the farmers' locks were ours: a message another
# worker answered just before we took its farmer is seen as done, not answered twice.
_PENDING = """
    SELECT f.channel, f.address, p.id, p.message::text AS message, p.pending
      FROM unnest($1::text[], $2::text[]) AS f(channel, address)
     CROSS JOIN LATERAL (
            SELECT i.id, i.message, count(*) OVER () AS pending
              FROM inbox i
             WHERE i.channel = f.channel AND i.address = f.address AND i.status = 'pending'
             ORDER BY i.id
             LIMIT $3) p
     ORDER BY p.id
"""


async def pending_messages(
    raw: Any, addresses: list[tuple[str, str]], *, per_farmer: int
) -> list[Pending]:
    """The claimed farmers' pending messages, oldest first, at most `per_farmer` each."""
    rows = await raw.fetch(
        _PENDING, [c for c, _a in addresses], [a for _c, a in addresses], per_farmer
    )
    return [
        Pending(r["id"], r["channel"], r["address"], orjson.loads(r["message"]), r["pending"])
        for r in rows
    ]


async def drop_flood(raw: Any, *, channel: str, address: str, keep: int, reason: str) -> int:
    """Past `keep` pending messages, a farmer's newer ones are set aside unanswered."""
    result: str = await raw.execute(
        """
        UPDATE inbox SET status = 'dropped', error = $4, handled_at = now()
         WHERE channel = $1 AND address = $2 AND status = 'pending'
           AND id > (SELECT id FROM inbox
                      WHERE channel = $1 AND address = $2 AND status = 'pending'
                      ORDER BY id OFFSET $3 - 1 LIMIT 1)
        """,
        channel,
        address,
        keep,
        reason,
    )
    return int(result.split()[-1])


async def mark_failed(raw: Any, inbox_id: int, error: str) -> None:
    await raw.execute(
        "UPDATE inbox SET status = 'failed', error = $2, handled_at = now() WHERE id = $1",
        inbox_id,
        error[:500],
    )


async def farmer_now(raw: Any, user_id: uuid.UUID, farmer: Farmer) -> Farmer:
    """The farmer as their previous turn in this batch left them (a language chosen)."""
    row = await raw.fetchrow(
        "SELECT preferred_language, role, consent_status, display_name FROM users WHERE id = $1",
        user_id,
    )
    if row is None:
        return farmer
    return Farmer(
        user_id=farmer.user_id,
        identity_id=farmer.identity_id,
        language=row["preferred_language"],
        role=row["role"],
        consent_status=row["consent_status"],
        display_name=row["display_name"],
    )


async def status_of(raw: Any, channel: str, provider_message_id: str) -> str | None:
    return await raw.fetchval(  # type: ignore[no-any-return]
        "SELECT status FROM inbox WHERE channel = $1 AND provider_message_id = $2",
        channel,
        provider_message_id,
    )
