"""The sender's statements: claim what is due, record how each send ended."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

NOTIFY_CHANNEL = "krishi_outbound"

# Held (`needs_template`) kinds that go out when the farmer writes again, and for how
# long they stay worth it: a badge and a payment confirmation are still true later;
# a streak reminder, a closed quiz's result and a broadcast are news of their moment,
# so they are marked skipped instead. (bot/templates.py has the whole story.)
RELEASED_ON_RETURN = ("badge", "notification", "payment", "payment_confirmed")
RELEASE_WITHIN_DAYS = 30
_RELEASABLE = (
    f"kind IN ({', '.join(repr(k) for k in RELEASED_ON_RETURN)})"
    f" AND created_at > now() - interval '{RELEASE_WITHIN_DAYS} days'"
)
# The statement's body, shared with the end of a turn (db/queries/turns.py).
RELEASE_HELD_SET = f"""
       SET status = CASE WHEN {_RELEASABLE} THEN 'queued' ELSE 'skipped' END,
           error = CASE WHEN {_RELEASABLE} THEN NULL
                        ELSE 'needs_template: out of date when the farmer wrote again' END,
           next_attempt_at = now()
"""


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    user_id: uuid.UUID
    identity_id: uuid.UUID
    address: str
    body: dict[str, Any]
    attempts: int
    is_active: bool
    inactive_reason: str | None
    kind: str = "reply"


# Claim the oldest due messages of one channel, by kind: a farmer's replies (and
# notifications) first, then broadcast rows. A message waits while an earlier one
# to the same address is still owed (in-order delivery), and while that chat is
# over its own rate (GCRA on channel_identities.send_tat). SKIP LOCKED lets any
# number of senders share the table. A reply does not wait for a
# broadcast row queued earlier to the same address (that one may be 100,000
# places back); a broadcast row waits for every reply still owed to its address.
_CLAIM_BY_KIND = """
    WITH due AS (
        SELECT o.id, o.identity_id
          FROM outbound_messages o
          JOIN channel_identities ci ON ci.id = o.identity_id
         WHERE o.status = 'queued' AND o.channel = :channel AND o.next_attempt_at <= now()
           AND {kind}
           AND (ci.send_tat IS NULL OR ci.send_tat - :chat_tolerance * interval '1 second' <= now())
           AND NOT EXISTS (
                SELECT 1 FROM outbound_messages p
                 WHERE p.identity_id = o.identity_id AND p.id <> o.id
                   AND p.status IN ('queued', 'sending') AND {waits_for})
         ORDER BY o.next_attempt_at, o.id
         LIMIT :limit
           FOR UPDATE OF o SKIP LOCKED
    ), paced AS (
        UPDATE channel_identities ci
           SET send_tat = greatest(ci.send_tat, now()) + :chat_interval * interval '1 second'
          FROM due WHERE ci.id = due.identity_id
    )
    UPDATE outbound_messages o
       SET status = 'sending', attempts = o.attempts + 1,
           lease_until = now() + :lease * interval '1 second'
      FROM due, channel_identities ci
     WHERE o.id = due.id AND ci.id = o.identity_id
    RETURNING o.id, o.user_id, o.identity_id, ci.external_id AS address, o.body, o.attempts,
              ci.is_active, ci.inactive_reason, o.kind
"""
_CLAIMS = {
    "replies": text(
        _CLAIM_BY_KIND.format(
            kind="o.kind <> 'broadcast'", waits_for="p.id < o.id AND p.kind <> 'broadcast'"
        )
    ),
    "broadcasts": text(
        _CLAIM_BY_KIND.format(
            kind="o.kind = 'broadcast'", waits_for="(p.id < o.id OR p.kind <> 'broadcast')"
        )
    ),
}


async def claim(
    conn: AsyncConnection,
    *,
    channel: str,
    limit: int,
    lease_s: float,
    chat_interval_s: float,
    chat_burst: int,
    kind: Literal["replies", "broadcasts"],
) -> list[Claimed]:
    """Claim due replies, or due broadcast rows, of one channel."""
    rows = await conn.execute(
        _CLAIMS[kind],
        {
            "channel": channel,
            "limit": limit,
            "lease": lease_s,
            "chat_interval": chat_interval_s,
            "chat_tolerance": chat_interval_s * max(chat_burst - 1, 0),
        },
    )
    claimed = [Claimed(**row._mapping) for row in rows]
    claimed.sort(key=lambda c: c.id)
    return claimed


_RESERVE = text(
    """
    INSERT INTO send_rates AS r (key, tat) VALUES (:key, clock_timestamp() + :span * interval '1 second')
    ON CONFLICT (key) DO UPDATE
       SET tat = greatest(r.tat, clock_timestamp()) + :span * interval '1 second'
    RETURNING tat - :span * interval '1 second' AS first_slot, clock_timestamp() AS now
    """
)


async def reserve_span(
    conn: AsyncConnection, *, key: str, span_s: float
) -> tuple[dt.datetime, dt.datetime]:
    """Reserve `span_s` seconds of a shared rate, for messages of unequal cost.

    Returns (start of the span, database now).
    """
    row = (await conn.execute(_RESERVE, {"key": key, "span": span_s})).one()
    return row.first_slot, row.now


async def rate_paused_for(conn: AsyncConnection, *, key: str) -> float:
    """Seconds until the shared rate's next free slot (0 when it is free now)."""
    value = (
        await conn.execute(
            text(
                "SELECT greatest(0, extract(epoch FROM tat - clock_timestamp()))::float8"
                " FROM send_rates WHERE key = :key"
            ),
            {"key": key},
        )
    ).scalar()
    return float(value or 0.0)


async def extend_leases(conn: AsyncConnection, ids: list[int], *, seconds: float) -> None:
    await conn.execute(
        text(
            "UPDATE outbound_messages SET lease_until = now() + :s * interval '1 second'"
            " WHERE id = ANY(CAST(:ids AS bigint[])) AND status = 'sending'"
        ),
        {"ids": ids, "s": seconds},
    )


async def requeue(conn: AsyncConnection, ids: list[int]) -> None:
    """Claimed rows this sender will not send after all (it is stopping): back in line."""
    await conn.execute(
        text(
            "UPDATE outbound_messages SET status = 'queued', lease_until = NULL,"
            " attempts = greatest(attempts - 1, 0)"
            " WHERE id = ANY(CAST(:ids AS bigint[])) AND status = 'sending'"
        ),
        {"ids": ids},
    )


async def push_back_rate(conn: AsyncConnection, *, key: str, seconds: float) -> None:
    """The provider said "slow down": no sender of this channel sends before then."""
    await conn.execute(
        text(
            "UPDATE send_rates SET tat = greatest(tat, clock_timestamp() + :s * interval '1 second')"
            " WHERE key = :key"
        ),
        {"key": key, "s": seconds},
    )


_MARK_SENT_MANY = text(
    """
    UPDATE outbound_messages o
       SET status = CASE WHEN o.status IN ('delivered', 'read') THEN o.status ELSE 'sent' END,
           sent_at = now(), provider_message_id = s.pid, lease_until = NULL, error = NULL
      FROM unnest(CAST(:ids AS bigint[]), CAST(:pids AS text[])) AS s(id, pid)
     WHERE o.id = s.id
    """
)


async def mark_sent_many(conn: AsyncConnection, sent: list[tuple[int, str | None]]) -> None:
    """Record many sends in one statement: (message id, provider's message id) pairs."""
    await conn.execute(
        _MARK_SENT_MANY, {"ids": [m for m, _p in sent], "pids": [p for _m, p in sent]}
    )


async def mark_retry(conn: AsyncConnection, message_id: int, error: str, delay_s: float) -> None:
    await conn.execute(
        text(
            """
            UPDATE outbound_messages
               SET status = 'queued', error = :error, lease_until = NULL,
                   next_attempt_at = now() + :delay * interval '1 second'
             WHERE id = :id
            """
        ),
        {"id": message_id, "error": error[:500], "delay": delay_s},
    )


async def mark_failed(
    conn: AsyncConnection, message_id: int, error: str, status: str = "failed"
) -> None:
    await conn.execute(
        text(
            "UPDATE outbound_messages SET status = :status, error = :error, lease_until = NULL"
            " WHERE id = :id"
        ),
        {"id": message_id, "error": error[:500], "status": status},
    )


async def deactivate_identity(conn: AsyncConnection, identity_id: uuid.UUID, reason: str) -> None:
    await conn.execute(
        text(
            "UPDATE channel_identities SET is_active = false, inactive_reason = :r WHERE id = :id"
        ),
        {"id": identity_id, "r": reason},
    )


async def release_expired_leases(conn: AsyncConnection) -> int:
    """Rows claimed by a sender that died go back to the queue."""
    result = await conn.execute(
        text(
            "UPDATE outbound_messages SET status = 'queued', lease_until = NULL"
            " WHERE status = 'sending' AND lease_until < now()"
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


# Delivery reports may arrive out of order: a status only ever moves forward.
# A message we started that WhatsApp refused for the closed window (63016, "needs
# template") is held like one queued outside it, to go when the farmer writes again.
_RECORD_STATUS = text(
    """
    UPDATE outbound_messages
       SET status = CASE WHEN :error = 'needs template' AND kind NOT IN ('reply', 'broadcast')
                         THEN 'needs_template' ELSE :status END,
           error = COALESCE(:error, error),
           delivered_at = CASE WHEN :status IN ('delivered', 'read')
                               THEN COALESCE(delivered_at, now()) ELSE delivered_at END
     WHERE provider_message_id = :sid
       AND (CASE status WHEN 'sending' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2
                        WHEN 'read' THEN 3 ELSE 4 END)
         < (CASE :status WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3
                         ELSE 4 END)
    RETURNING id
    """
)


async def record_delivery_status(
    conn: AsyncConnection, *, provider_message_id: str, status: str, error: str | None
) -> bool:
    rows = await conn.execute(
        _RECORD_STATUS, {"sid": provider_message_id, "status": status, "error": error}
    )
    return rows.first() is not None


async def fetch_console_replies(conn: AsyncConnection, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """The console channel has no provider: its own process prints and settles the rows."""
    rows = await conn.execute(
        text(
            """
            UPDATE outbound_messages SET status = 'sent', sent_at = now()
             WHERE user_id = :u AND channel = 'console' AND status = 'queued'
            RETURNING id, body
            """
        ),
        {"u": user_id},
    )
    return [row.body for row in sorted(rows, key=lambda r: r.id)]


# A message that is not an answer to a turn (badge, payment, reminder, quiz closed)
# goes to the farmer's address they wrote from last, in the same transaction as
# the event, so it is retried with everything else and never lost.
_TARGET = text(
    """
    SELECT ci.id, ci.channel, coalesce(u.preferred_language, 'en') AS language,
           ci.channel = 'whatsapp'
               AND (ci.last_inbound_at IS NULL
                    OR ci.last_inbound_at < now() - interval '24 hours') AS outside_window
      FROM channel_identities ci JOIN users u ON u.id = ci.user_id
     WHERE ci.user_id = :user_id AND ci.is_active AND ci.channel <> 'console'
     ORDER BY ci.last_inbound_at DESC NULLS LAST, ci.created_at DESC
     LIMIT 1
    """
)

_QUEUE_ROWS = text(
    """
    WITH queued AS (
        INSERT INTO outbound_messages (user_id, identity_id, channel, kind, body, status, error)
        SELECT :user_id, :identity_id, :channel, :kind, r.row -> 'body', r.row ->> 'status',
               r.row ->> 'error'
          FROM jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS r(row, n)
         ORDER BY n
        RETURNING status
    )
    SELECT pg_notify('krishi_outbound', :channel)
     WHERE EXISTS (SELECT 1 FROM queued WHERE status = 'queued')
    """
)


def template_text(body: dict[str, Any]) -> str:
    """A message's text as a template variable: WhatsApp refuses new lines, tabs and
    runs of spaces in one, and holds at most 1,024 characters."""
    flat = " · ".join(
        line.strip() for line in str(body.get("text", "")).splitlines() if line.strip()
    )
    return flat if len(flat) <= 1000 else flat[:999] + "…"


async def queue_for_user(
    conn: AsyncConnection | AsyncSession,
    user_id: uuid.UUID,
    bodies: list[dict[str, Any]],
    *,
    kind: str,
    templates: Mapping[str, str] | None = None,
) -> int:
    """Queue messages to a farmer outside a turn. Returns how many were queued or held
    (0: no address).

    On WhatsApp outside the 24-hour window only an approved template may go:
    `templates` (language → ContentSid, for this kind) names it, and the message
    travels as its variable 1. With none for the farmer's language the message is
    held as `needs_template`, with the reason, rather than sent to fail; it may go
    when the farmer writes again (see RELEASED_ON_RETURN).
    """
    target = (await conn.execute(_TARGET, {"user_id": user_id})).one_or_none()
    if target is None:
        return 0
    rows: list[dict[str, Any]] = []
    for body in bodies:
        if not target.outside_window:
            rows.append({"body": body, "status": "queued", "error": None})
            continue
        sid = (templates or {}).get(target.language)
        if sid is None:
            reason = (
                f"needs_template: outside the 24-hour window and no approved template"
                f" for {kind} in {target.language}"
            )
            rows.append({"body": body, "status": "needs_template", "error": reason})
            continue
        variables = orjson.dumps({"1": template_text(body)}).decode()
        extra = {**body.get("extra", {}), "content_sid": sid, "content_variables": variables}
        rows.append({"body": {**body, "extra": extra}, "status": "queued", "error": None})
    await conn.execute(
        _QUEUE_ROWS,
        {
            "user_id": user_id,
            "identity_id": target.id,
            "channel": target.channel,
            "kind": kind,
            "rows": orjson.dumps(rows).decode(),
        },
    )
    return len(bodies)


async def release_held(conn: AsyncConnection | AsyncSession, identity_id: uuid.UUID) -> int:
    """The farmer wrote again, so the window is open: held messages still worth sending
    are queued, the rest marked skipped with why. Returns how many were queued.
    (A turn does the same in its last statement.)"""
    rows = await conn.execute(
        text(
            "UPDATE outbound_messages"
            + RELEASE_HELD_SET
            + " WHERE identity_id = :identity AND status = 'needs_template' RETURNING status"
        ),
        {"identity": identity_id},
    )
    return sum(1 for row in rows if row.status == "queued")
