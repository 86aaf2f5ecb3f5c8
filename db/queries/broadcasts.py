"""Broadcasts: who is in a course's audience, the bulk fan-out into the outbox,
the counts read back from it, and instructor invites redeemed from chat."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# --- the audience -------------------------------------------------------------

# Each enrolled farmer (not dropped) with the address they wrote from last, and
# why they will not get the message, if they will not. WhatsApp allows free-form
# messages only within 24 hours of the farmer's last message; outside it an
# approved template may go (when one is configured), else the farmer is skipped.
_CLASSIFIED = """
    SELECT a.user_id, coalesce(u.preferred_language, 'en') AS lang,
           ci.id AS identity_id, ci.channel,
           CASE WHEN u.consent_status = 'opted_out' THEN 'opted out'
                WHEN NOT ci.is_active
                     THEN 'address inactive: ' || coalesce(ci.inactive_reason, 'unknown')
                WHEN ci.channel = 'whatsapp'
                     AND NOT coalesce(u.preferred_language, 'en')
                             = ANY(CAST(:template_languages AS text[]))
                     AND (ci.last_inbound_at IS NULL
                          OR ci.last_inbound_at < now() - interval '24 hours')
                     THEN 'needs template'
           END AS skip_reason,
           ci.channel = 'whatsapp'
               AND (ci.last_inbound_at IS NULL
                    OR ci.last_inbound_at < now() - interval '24 hours') AS outside_window
      FROM audience a
      JOIN users u ON u.id = a.user_id
      JOIN LATERAL (
            SELECT id, channel, is_active, inactive_reason, last_inbound_at
              FROM channel_identities
             WHERE user_id = a.user_id AND channel <> 'console'
             ORDER BY is_active DESC, last_inbound_at DESC NULLS LAST, created_at DESC
             LIMIT 1) ci ON true
"""

_ENROLLED = """
    SELECT e.user_id FROM course_enrollments e
     WHERE e.course_id = :course AND e.status IS DISTINCT FROM 'dropped'
"""


@dataclass(frozen=True, slots=True)
class AudienceGroup:
    channel: str | None  # None: no chat address at all
    language: str
    skip_reason: str | None
    farmers: int


async def audience(
    session: AsyncSession, course_id: uuid.UUID, *, template_languages: Sequence[str]
) -> list[AudienceGroup]:
    """Who a broadcast to this course would reach now, by channel, language and skip reason."""
    rows = await session.execute(
        text(
            f"""
            WITH audience AS ({_ENROLLED}), classified AS ({_CLASSIFIED})
            SELECT c.channel, c.lang AS language, c.skip_reason, count(*) AS farmers
              FROM classified c GROUP BY 1, 2, 3
            UNION ALL
            SELECT NULL, coalesce(u.preferred_language, 'en'), 'no chat address', count(*)
              FROM audience a JOIN users u ON u.id = a.user_id
             WHERE NOT EXISTS (SELECT 1 FROM channel_identities ci
                                WHERE ci.user_id = a.user_id AND ci.channel <> 'console')
             GROUP BY 2
            """
        ),
        {"course": course_id, "template_languages": list(template_languages)},
    )
    return [AudienceGroup(**row._mapping) for row in rows]


# --- creating and fanning out -------------------------------------------------


async def recent_broadcasts(
    session: AsyncSession, created_by: str
) -> tuple[int, dt.datetime | None]:
    """How many broadcasts `created_by` made in the last hour, and when the oldest was.

    Takes a transaction-level lock per creator first, so two requests at once
    cannot both slip under the limit.
    """
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"broadcast-limit:{created_by}"},
    )
    row = (
        await session.execute(
            text(
                "SELECT count(*) AS n, min(created_at) AS oldest FROM broadcasts"
                " WHERE created_by = :who AND created_at > now() - interval '1 hour'"
            ),
            {"who": created_by},
        )
    ).one()
    return int(row.n), row.oldest


async def insert_broadcast(
    session: AsyncSession,
    *,
    course_id: uuid.UUID,
    instructor_id: uuid.UUID | None,
    created_by: str,
    source: str,
    message: str | None,
    lesson_id: uuid.UUID | None,
    send_at: dt.datetime | None,
) -> tuple[uuid.UUID, dt.datetime, dt.datetime]:
    """Returns (id, send_at, database now)."""
    row = (
        await session.execute(
            text(
                """
                INSERT INTO broadcasts (course_id, instructor_id, created_by, source, text,
                                        lesson_id, send_at)
                VALUES (:course, :instructor, :who, :source, :text, :lesson,
                        greatest(coalesce(CAST(:send_at AS timestamptz), now()), now()))
                RETURNING id, send_at, now() AS now
                """
            ),
            {
                "course": course_id,
                "instructor": instructor_id,
                "who": created_by,
                "source": source,
                "text": message,
                "lesson": lesson_id,
                "send_at": send_at,
            },
        )
    ).one()
    return row.id, row.send_at, row.now


@dataclass(frozen=True, slots=True)
class BroadcastRow:
    id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    course_emoji: str | None
    instructor_id: uuid.UUID | None
    created_by: str
    source: str
    text: str | None
    lesson_id: uuid.UUID | None
    lesson_title: str | None
    send_at: dt.datetime
    status: str
    audience_count: int | None
    no_address_count: int | None
    error: str | None
    created_at: dt.datetime
    fanned_out_at: dt.datetime | None


_BROADCAST = """
    SELECT b.id, b.course_id, c.title AS course_title, c.thumbnail_emoji AS course_emoji,
           b.instructor_id, b.created_by, b.source, b.text, b.lesson_id, l.title AS lesson_title,
           b.send_at, b.status, b.audience_count, b.no_address_count, b.error, b.created_at,
           b.fanned_out_at
      FROM broadcasts b
      JOIN courses c ON c.id = b.course_id
      LEFT JOIN course_lessons l ON l.id = b.lesson_id
"""


async def get_broadcast(session: AsyncSession, broadcast_id: uuid.UUID) -> BroadcastRow | None:
    row = (
        await session.execute(text(_BROADCAST + " WHERE b.id = :id"), {"id": broadcast_id})
    ).one_or_none()
    return BroadcastRow(**row._mapping) if row else None


async def latest_broadcasts(
    session: AsyncSession,
    *,
    instructor_id: uuid.UUID | None,
    course_id: uuid.UUID | None = None,
    limit: int = 5,
) -> list[BroadcastRow]:
    """The newest broadcasts of the courses an instructor owns now (all courses when
    None), newest first; who wrote them does not matter."""
    rows = await session.execute(
        text(
            _BROADCAST
            + """
             WHERE (CAST(:instructor AS uuid) IS NULL OR c.instructor_id = :instructor)
               AND (CAST(:course AS uuid) IS NULL OR b.course_id = :course)
             ORDER BY b.created_at DESC LIMIT :limit
            """
        ),
        {"instructor": instructor_id, "course": course_id, "limit": limit},
    )
    return [BroadcastRow(**row._mapping) for row in rows]


async def start_fan_out(session: AsyncSession, broadcast_id: uuid.UUID) -> BroadcastRow | None:
    """Mark the broadcast as being fanned out; None if it is cancelled or already done.

    A retried job finds it still 'fanning_out' and goes again: the inserts are
    idempotent per (broadcast, farmer).
    """
    row = (
        await session.execute(
            text(
                "UPDATE broadcasts SET status = 'fanning_out'"
                " WHERE id = :id AND status IN ('scheduled', 'fanning_out') RETURNING id"
            ),
            {"id": broadcast_id},
        )
    ).one_or_none()
    return await get_broadcast(session, broadcast_id) if row else None


async def audience_bounds(
    session: AsyncSession, course_id: uuid.UUID, chunk: int
) -> list[uuid.UUID]:
    """Every `chunk`-th enrolled farmer's id, in id order: the fan-out's chunk boundaries.

    The chunks (−∞, b₁], (b₁, b₂] … (bₙ, +∞) cover everyone, whoever enrols meanwhile.
    """
    rows = await session.execute(
        text(
            f"""
            SELECT user_id FROM (
                SELECT e.user_id, row_number() OVER (ORDER BY e.user_id) AS n
                  FROM ({_ENROLLED}) e) numbered
             WHERE n % :chunk = 0 ORDER BY user_id
            """
        ),
        {"course": course_id, "chunk": chunk},
    )
    return [row.user_id for row in rows]


@dataclass(frozen=True, slots=True)
class Chunk:
    audience: int
    no_address: int
    queued: int
    skipped: int


# The bodies arrive as one JSON object keyed "channel:language" and are joined in as
# six small rows, so a farmer's row copies its body instead of parsing them all.
_FAN_OUT_CHUNK = text(
    f"""
    WITH audience AS (
        {_ENROLLED}
           AND (CAST(:after AS uuid) IS NULL OR e.user_id > :after)
           AND (CAST(:upto AS uuid) IS NULL OR e.user_id <= :upto)
    ), classified AS ({_CLASSIFIED}
    ), bodies AS (
        SELECT b.key, b.value AS body, t.value AS template
          FROM jsonb_each(CAST(:bodies AS jsonb)) b
          JOIN jsonb_each(CAST(:template_bodies AS jsonb)) t ON t.key = b.key
    ), inserted AS (
        INSERT INTO outbound_messages (user_id, identity_id, channel, kind, body, status, error,
                                       broadcast_id)
        SELECT c.user_id, c.identity_id, c.channel, 'broadcast',
               CASE WHEN c.outside_window THEN b.template ELSE b.body END,
               CASE WHEN c.skip_reason IS NULL THEN 'queued' ELSE 'skipped' END,
               c.skip_reason, :broadcast
          FROM classified c JOIN bodies b ON b.key = c.channel || ':' || c.lang
         -- A broadcast cancelled half-way stops queueing at the next chunk.
         WHERE EXISTS (SELECT 1 FROM broadcasts WHERE id = :broadcast AND status = 'fanning_out')
        ON CONFLICT (broadcast_id, user_id) DO NOTHING
        RETURNING channel, status
    ), notified AS (
        SELECT pg_notify('krishi_outbound', channel)
          FROM (SELECT DISTINCT channel FROM inserted WHERE status = 'queued') c
    )
    SELECT (SELECT count(*) FROM audience) AS audience,
           (SELECT count(*) FROM audience) - (SELECT count(*) FROM classified) AS no_address,
           (SELECT count(*) FROM inserted WHERE status = 'queued') AS queued,
           (SELECT count(*) FROM inserted WHERE status = 'skipped') AS skipped,
           (SELECT count(*) FROM notified) AS notified
    """
)


async def fan_out_chunk(
    session: AsyncSession,
    *,
    broadcast_id: uuid.UUID,
    course_id: uuid.UUID,
    after: uuid.UUID | None,
    upto: uuid.UUID | None,
    bodies: dict[str, dict[str, Any]],
    template_bodies: dict[str, dict[str, Any]],
    template_languages: Sequence[str],
) -> Chunk:
    """Queue (or record as skipped) the enrolled farmers with after < id ≤ upto, in one
    statement. Rows already there (a retry) are left alone."""
    row = (
        await session.execute(
            _FAN_OUT_CHUNK,
            {
                "broadcast": broadcast_id,
                "course": course_id,
                "after": after,
                "upto": upto,
                "bodies": orjson.dumps(bodies).decode(),
                "template_bodies": orjson.dumps(template_bodies).decode(),
                "template_languages": list(template_languages),
            },
        )
    ).one()
    return Chunk(int(row.audience), int(row.no_address), int(row.queued), int(row.skipped))


async def finish_fan_out(
    session: AsyncSession, broadcast_id: uuid.UUID, *, audience: int, no_address: int
) -> None:
    await session.execute(
        text(
            "UPDATE broadcasts SET status = 'queued', audience_count = :audience,"
            " no_address_count = :no_address, fanned_out_at = now()"
            " WHERE id = :id AND status = 'fanning_out'"
        ),
        {"id": broadcast_id, "audience": audience, "no_address": no_address},
    )


async def cancel_broadcast(session: AsyncSession, broadcast_id: uuid.UUID, reason: str) -> int:
    """Stop a broadcast: nothing more is queued, and rows not sent yet are skipped.

    Returns how many queued messages were withdrawn.
    """
    await session.execute(
        text(
            "UPDATE broadcasts SET status = 'cancelled', error = :reason"
            " WHERE id = :id AND status <> 'cancelled'"
        ),
        {"id": broadcast_id, "reason": reason[:200]},
    )
    result = await session.execute(
        text(
            "UPDATE outbound_messages SET status = 'skipped', error = :reason"
            " WHERE broadcast_id = :id AND status = 'queued'"
        ),
        {"id": broadcast_id, "reason": reason[:500]},
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def stalled_broadcasts(session: AsyncSession, *, older_than_s: float) -> list[uuid.UUID]:
    """Broadcasts due for a while but not fanned out (their job died): to be retried."""
    rows = await session.execute(
        text(
            "SELECT id FROM broadcasts WHERE status IN ('scheduled', 'fanning_out')"
            " AND send_at < now() - :s * interval '1 second' ORDER BY send_at LIMIT 100"
        ),
        {"s": older_than_s},
    )
    return [row.id for row in rows]


# --- counts -----------------------------------------------------------------------

# How each outbound status is reported: `sending` is still owed. Each message is in
# exactly one bucket: "delivered" is delivered and not (yet) read.
_REPORTED = {
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
    "skipped": "skipped",
    "needs_template": "skipped",
}
NO_ADDRESS = "no chat address"
# Channels whose provider reports delivery and reading (Twilio's status callbacks).
# Telegram reports neither: its messages stay "sent", and reports say so.
WITH_RECEIPTS = ("whatsapp",)
RECEIPTS = {
    "whatsapp": "delivered and read as reported by WhatsApp",
    "telegram": "none: Telegram does not report delivery or reading; its messages stay sent",
}


@dataclass
class Counts:
    queued: int = 0
    sent: int = 0
    delivered: int = 0
    read: int = 0
    failed: int = 0
    skipped: int = 0
    skipped_reasons: Counter[str] = field(default_factory=Counter)
    failed_reasons: Counter[str] = field(default_factory=Counter)
    by_channel: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.queued + self.sent + self.delivered + self.read + self.failed + self.skipped

    @property
    def sent_without_receipts(self) -> int:
        """Sent on channels that never say whether it arrived (Telegram)."""
        return sum(
            c["sent"] for channel, c in self.by_channel.items() if channel not in WITH_RECEIPTS
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "queued": self.queued,
            "sent": self.sent,
            "delivered": self.delivered,
            "read": self.read,
            "failed": self.failed,
            "skipped": self.skipped,
            "skipped_reasons": dict(self.skipped_reasons),
            "failed_reasons": dict(self.failed_reasons),
            "by_channel": {channel: dict(c) for channel, c in self.by_channel.items()},
            # Which counts are known: "delivered" and "read" exist only where the
            # provider reports them, so Telegram's sent messages are not shown as 0 read.
            "receipts": {channel: RECEIPTS.get(channel, "none") for channel in self.by_channel},
            "sent_without_receipts": self.sent_without_receipts,
        }


async def counts(session: AsyncSession, broadcast: BroadcastRow) -> Counts:
    """Where every recipient of a broadcast stands, read from the outbox itself."""
    rows = await session.execute(
        text(
            "SELECT channel, status, error, count(*) AS n FROM outbound_messages"
            " WHERE broadcast_id = :id GROUP BY 1, 2, 3"
        ),
        {"id": broadcast.id},
    )
    result = Counts()
    for row in rows:
        reported = _REPORTED.get(row.status, row.status)
        n = int(row.n)
        setattr(result, reported, getattr(result, reported) + n)
        result.by_channel.setdefault(row.channel, Counter())[reported] += n
        if reported == "skipped":
            result.skipped_reasons[row.error or "skipped"] += n
        elif reported == "failed":
            result.failed_reasons[row.error or "failed"] += n
    if broadcast.no_address_count:
        result.skipped += broadcast.no_address_count
        result.skipped_reasons[NO_ADDRESS] += broadcast.no_address_count
    return result


# --- instructors in chat ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OwnCourse:
    id: uuid.UUID
    title: str
    emoji: str | None
    instructor_id: uuid.UUID | None
    is_published: bool


async def own_courses(
    session: AsyncSession, instructor_id: uuid.UUID | None, *, limit: int = 20
) -> list[OwnCourse]:
    """Courses an instructor may broadcast to (every course for None: the admin)."""
    rows = await session.execute(
        text(
            """
            SELECT id, title, thumbnail_emoji AS emoji, instructor_id,
                   coalesce(is_published, false) AS is_published
              FROM courses
             WHERE (CAST(:instructor AS uuid) IS NULL OR instructor_id = :instructor)
               AND NOT coalesce(is_archived, false)
             ORDER BY title LIMIT :limit
            """
        ),
        {"instructor": instructor_id, "limit": limit},
    )
    return [OwnCourse(**row._mapping) for row in rows]


async def get_course(session: AsyncSession, course_id: uuid.UUID) -> OwnCourse | None:
    row = (
        await session.execute(
            text(
                "SELECT id, title, thumbnail_emoji AS emoji, instructor_id,"
                " coalesce(is_published, false) AS is_published FROM courses WHERE id = :id"
            ),
            {"id": course_id},
        )
    ).one_or_none()
    return OwnCourse(**row._mapping) if row else None


@dataclass(frozen=True, slots=True)
class LessonLine:
    id: uuid.UUID
    course_id: uuid.UUID | None
    order_index: int
    title: str


async def course_lessons(
    session: AsyncSession, course_id: uuid.UUID, *, limit: int = 10
) -> list[LessonLine]:
    rows = await session.execute(
        text(
            "SELECT id, course_id, order_index, title FROM course_lessons WHERE course_id = :c"
            " ORDER BY order_index, id LIMIT :limit"
        ),
        {"c": course_id, "limit": limit},
    )
    return [LessonLine(**row._mapping) for row in rows]


async def get_lesson_line(session: AsyncSession, lesson_id: uuid.UUID) -> LessonLine | None:
    row = (
        await session.execute(
            text("SELECT id, course_id, order_index, title FROM course_lessons WHERE id = :id"),
            {"id": lesson_id},
        )
    ).one_or_none()
    return LessonLine(**row._mapping) if row else None


# --- invites -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Redeemed:
    user_id: uuid.UUID
    display_name: str | None


async def redeem_invite(
    session: AsyncSession, *, token_hash: str, identity_id: uuid.UUID, language: str
) -> Redeemed | None:
    """Use an invite once, before it expires: the chat address becomes the instructor's.

    The farmer row the address belonged to stays (with its history); from the next
    message on, this address speaks as the instructor. None: unknown, used or expired.
    """
    row = (
        await session.execute(
            text(
                """
                WITH invite AS (
                    UPDATE instructor_invites SET used_at = now(), identity_id = :identity
                     WHERE token_hash = :hash AND used_at IS NULL AND expires_at > now()
                    RETURNING user_id
                ), moved AS (
                    UPDATE channel_identities SET user_id = invite.user_id
                      FROM invite WHERE channel_identities.id = :identity
                ), speaker AS (
                    UPDATE users SET preferred_language = :language
                      FROM invite WHERE users.id = invite.user_id
                    RETURNING users.id, users.display_name
                )
                SELECT id AS user_id, display_name FROM speaker
                """
            ),
            {"hash": token_hash, "identity": identity_id, "language": language},
        )
    ).one_or_none()
    return Redeemed(**row._mapping) if row else None
