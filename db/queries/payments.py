"""Purchases, their payment links, gateway deliveries and the audit trail.

A purchase moves pending → success | failed, and success → refunded. Every
change is guarded in its WHERE clause, so a late or repeated callback finds
nothing to change; callers lock the row first (`get_purchase(lock=True)`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

NOW = "(now() AT TIME ZONE 'UTC')"  # the seed's timestamp columns have no time zone


@dataclass(frozen=True, slots=True)
class Purchase:
    id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID | None
    course_title: str | None
    course_emoji: str | None
    amount: Decimal
    discount_amount: Decimal
    final_amount: Decimal
    currency: str
    status: str
    payment_id: str | None
    payment_method: str | None
    purchased_at: dt.datetime
    refunded_at: dt.datetime | None
    provider: str | None  # razorpay | upi | stars; None until a link is made
    link_id: str | None
    link_url: str | None
    expires_at: dt.datetime | None
    review_reason: str | None

    def link_is_open(self, now: dt.datetime) -> bool:
        """A link the farmer can still pay with (static UPI links never expire)."""
        return self.provider is not None and (self.expires_at is None or self.expires_at > now)


_PURCHASE = """
    SELECT p.id, p.user_id, p.course_id, c.title AS course_title,
           c.thumbnail_emoji AS course_emoji, p.amount,
           coalesce(p.discount_amount, 0) AS discount_amount, p.final_amount,
           coalesce(p.currency, 'INR') AS currency, coalesce(p.payment_status, 'pending') AS status,
           p.payment_id, p.payment_method, p.purchased_at, p.refunded_at,
           l.provider, l.link_id, l.url AS link_url, l.expires_at, l.review_reason
      FROM course_purchases p
      LEFT JOIN courses c ON c.id = p.course_id
      LEFT JOIN payment_links l ON l.purchase_id = p.id
"""


async def get_purchase(
    session: AsyncSession, purchase_id: uuid.UUID, *, lock: bool = False
) -> Purchase | None:
    """One purchase; `lock` holds its row until the transaction ends (FOR UPDATE)."""
    row = (
        await session.execute(
            text(_PURCHASE + " WHERE p.id = :id" + (" FOR UPDATE OF p" if lock else "")),
            {"id": purchase_id},
        )
    ).one_or_none()
    return Purchase(**row._mapping) if row is not None else None


async def lock_buyer_conversation(
    session: AsyncSession, purchase_id: uuid.UUID
) -> tuple[uuid.UUID, dict[str, Any]] | None:
    """Lock the conversation of the purchase's farmer: (user id, {state, data}).

    None when the purchase is unknown or the farmer has no conversation yet.
    """
    row = (
        await session.execute(
            text(
                """
                SELECT p.user_id, c.state, c.data
                  FROM course_purchases p JOIN conversations c ON c.user_id = p.user_id
                 WHERE p.id = :id
                   FOR UPDATE OF c
                """
            ),
            {"id": purchase_id},
        )
    ).one_or_none()
    if row is None:
        return None
    return row.user_id, {"state": row.state, "data": row.data}


async def pending_purchase(
    session: AsyncSession, user_id: uuid.UUID, course_id: uuid.UUID | None = None
) -> Purchase | None:
    """The farmer's newest pending purchase (of that course, when given)."""
    row = (
        await session.execute(
            text(
                _PURCHASE
                + """ WHERE p.user_id = :user AND p.payment_status = 'pending'
                        AND (CAST(:course AS uuid) IS NULL OR p.course_id = :course)
                      ORDER BY p.purchased_at DESC LIMIT 1"""
            ),
            {"user": user_id, "course": course_id},
        )
    ).one_or_none()
    return Purchase(**row._mapping) if row is not None else None


async def create_purchase(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    course_id: uuid.UUID,
    amount: Decimal,
    discount_amount: Decimal,
    final_amount: Decimal,
    currency: str,
) -> Purchase:
    purchase_id = (
        await session.execute(
            text(
                f"""
                INSERT INTO course_purchases (user_id, course_id, amount, currency, discount_amount,
                                              final_amount, payment_status, purchased_at)
                VALUES (:user, :course, :amount, :currency, :discount, :final, 'pending', {NOW})
                RETURNING id
                """
            ),
            {
                "user": user_id,
                "course": course_id,
                "amount": amount,
                "currency": currency,
                "discount": discount_amount,
                "final": final_amount,
            },
        )
    ).scalar_one()
    purchase = await get_purchase(session, purchase_id)
    assert purchase is not None
    return purchase


async def save_link(
    session: AsyncSession,
    purchase_id: uuid.UUID,
    *,
    provider: str,
    link_id: str | None,
    url: str | None,
    expires_at: dt.datetime | None,
) -> None:
    await session.execute(
        text(
            """
            INSERT INTO payment_links (purchase_id, provider, link_id, url, expires_at)
            VALUES (:purchase, :provider, :link_id, :url, :expires_at)
            ON CONFLICT (purchase_id) DO UPDATE
               SET provider = EXCLUDED.provider, link_id = EXCLUDED.link_id, url = EXCLUDED.url,
                   expires_at = EXCLUDED.expires_at
            """
        ),
        {"purchase": purchase_id, "provider": provider, "link_id": link_id, "url": url,
         "expires_at": expires_at},
    )  # fmt: skip


async def record_gateway_event(session: AsyncSession, source: str, event_id: str) -> bool:
    """Remember a gateway delivery; False when it was seen before (a retry: do nothing).

    A concurrent copy of the same delivery waits here for the first one's commit.
    """
    row = (
        await session.execute(
            text(
                "INSERT INTO inbound_events (source, external_id) VALUES (:source, :event)"
                " ON CONFLICT DO NOTHING RETURNING id"
            ),
            {"source": source, "event": event_id[:128]},
        )
    ).one_or_none()
    return row is not None


async def purchase_id_for_link(session: AsyncSession, link_id: str) -> uuid.UUID | None:
    value = (
        await session.execute(
            text("SELECT purchase_id FROM payment_links WHERE link_id = :link"), {"link": link_id}
        )
    ).scalar_one_or_none()
    return value if isinstance(value, uuid.UUID) else None


async def purchase_id_for_payment(session: AsyncSession, payment_id: str) -> uuid.UUID | None:
    value = (
        await session.execute(
            text(
                "SELECT id FROM course_purchases WHERE payment_id = :payment"
                " ORDER BY purchased_at DESC LIMIT 1"
            ),
            {"payment": payment_id},
        )
    ).scalar_one_or_none()
    return value if isinstance(value, uuid.UUID) else None


async def mark_paid(
    session: AsyncSession, purchase_id: uuid.UUID, *, payment_id: str, method: str | None
) -> bool:
    """pending (or failed: the money arrived after all) → success. False if it was not."""
    row = (
        await session.execute(
            text(
                """
                UPDATE course_purchases
                   SET payment_status = 'success', payment_id = :payment, payment_method = :method
                 WHERE id = :id AND payment_status IN ('pending', 'failed')
                RETURNING id
                """
            ),
            {"id": purchase_id, "payment": payment_id[:100], "method": method},
        )
    ).one_or_none()
    return row is not None


async def note_payment(
    session: AsyncSession, purchase_id: uuid.UUID, *, payment_id: str, method: str | None
) -> None:
    """Keep the payment's id on a purchase that stays pending (held for review)."""
    await session.execute(
        text(
            "UPDATE course_purchases SET payment_id = :payment, payment_method = :method"
            " WHERE id = :id AND payment_status = 'pending'"
        ),
        {"id": purchase_id, "payment": payment_id[:100], "method": method},
    )


async def mark_failed(session: AsyncSession, purchase_id: uuid.UUID) -> bool:
    """pending → failed (link expired or cancelled). A paid purchase stays paid."""
    row = (
        await session.execute(
            text(
                "UPDATE course_purchases SET payment_status = 'failed'"
                " WHERE id = :id AND payment_status = 'pending' RETURNING id"
            ),
            {"id": purchase_id},
        )
    ).one_or_none()
    return row is not None


async def mark_refunded(
    session: AsyncSession, purchase_id: uuid.UUID, *, payment_id: str | None
) -> str | None:
    """→ refunded, with refunded_at. Returns the status it had, or None if already refunded."""
    row = (
        await session.execute(
            text(
                f"""
                WITH before AS (
                    SELECT id, payment_status FROM course_purchases WHERE id = :id
                )
                UPDATE course_purchases p
                   SET payment_status = 'refunded', refunded_at = {NOW},
                       payment_id = coalesce(p.payment_id, :payment)
                  FROM before
                 WHERE p.id = before.id AND p.payment_status IS DISTINCT FROM 'refunded'
                RETURNING coalesce(before.payment_status, 'pending') AS was
                """
            ),
            {"id": purchase_id, "payment": payment_id},
        )
    ).one_or_none()
    return str(row.was) if row is not None else None


async def flag_for_review(
    session: AsyncSession, purchase_id: uuid.UUID, reason: str, *, provider: str
) -> None:
    """An operator must look at this purchase; nothing is unlocked by it meanwhile."""
    await session.execute(
        text(
            """
            INSERT INTO payment_links (purchase_id, provider, review_reason)
            VALUES (:purchase, :provider, :reason)
            ON CONFLICT (purchase_id) DO UPDATE SET review_reason = EXCLUDED.review_reason
            """
        ),
        {"purchase": purchase_id, "provider": provider, "reason": reason[:200]},
    )


async def restore_enrollment(
    session: AsyncSession, user_id: uuid.UUID, course_id: uuid.UUID, *, amount_paid: Decimal
) -> bool:
    """A dropped enrollment (refunded before) is bought again: open it, count it again."""
    row = (
        await session.execute(
            text(
                f"""
                WITH e AS (
                    UPDATE course_enrollments
                       SET status = CASE WHEN completion_date IS NOT NULL THEN 'completed'
                                         WHEN coalesce(lessons_completed, 0) > 0 THEN 'in_progress'
                                         ELSE 'enrolled' END,
                           enrollment_type = 'paid', amount_paid = :amount,
                           last_accessed_at = {NOW}
                     WHERE user_id = :user AND course_id = :course AND status = 'dropped'
                    RETURNING id
                )
                UPDATE courses SET enrolled_count = coalesce(enrolled_count, 0) + 1
                 WHERE id = :course AND EXISTS (SELECT 1 FROM e)
                RETURNING id
                """
            ),
            {"user": user_id, "course": course_id, "amount": amount_paid},
        )
    ).one_or_none()
    return row is not None


async def drop_enrollment(
    session: AsyncSession, user_id: uuid.UUID, course_id: uuid.UUID, *, refunded: uuid.UUID
) -> bool:
    """Refunded: the enrollment stays as history with status 'dropped', and stops counting.

    Not when another paid purchase of the course still stands (a double payment was
    refunded): that one keeps the course open.
    """
    row = (
        await session.execute(
            text(
                """
                WITH e AS (
                    UPDATE course_enrollments SET status = 'dropped'
                     WHERE user_id = :user AND course_id = :course
                       AND status IS DISTINCT FROM 'dropped'
                       AND NOT EXISTS (
                            SELECT 1 FROM course_purchases p
                             WHERE p.user_id = :user AND p.course_id = :course
                               AND p.payment_status = 'success' AND p.id <> :refunded)
                    RETURNING id
                )
                UPDATE courses SET enrolled_count = greatest(coalesce(enrolled_count, 0) - 1, 0)
                 WHERE id = :course AND EXISTS (SELECT 1 FROM e)
                RETURNING id
                """
            ),
            {"user": user_id, "course": course_id, "refunded": refunded},
        )
    ).one_or_none()
    return row is not None


# A pending gateway purchase is fetched again when it is 15 minutes old, then
# less and less often (webhooks are retried for a day anyway), and once more
# after its link expired: a handful of API calls per purchase, not one per run.
RECONCILE_CHECKPOINTS_MINUTES = (15, 30, 60, 120, 240, 480, 960)


async def due_for_reconciliation(
    session: AsyncSession, *, window: dt.timedelta, limit: int
) -> list[tuple[uuid.UUID, str]]:
    """(purchase, link id) of Razorpay purchases still pending that are due a check now.

    `window` is the schedule's period: a purchase is due in the run just after it
    passes a checkpoint, and in every run once its link has expired.
    """
    rows = await session.execute(
        text(
            f"""
            SELECT p.id, l.link_id
              FROM course_purchases p
              JOIN payment_links l ON l.purchase_id = p.id
             WHERE p.payment_status = 'pending' AND l.provider = 'razorpay'
               AND l.link_id IS NOT NULL AND l.review_reason IS NULL
               AND p.purchased_at <= {NOW} - interval '15 minutes'
               AND (l.expires_at < now() OR EXISTS (
                    SELECT 1 FROM unnest(CAST(:checkpoints AS int[])) AS c(minutes)
                     WHERE p.purchased_at <= {NOW} - c.minutes * interval '1 minute'
                       AND p.purchased_at > {NOW} - c.minutes * interval '1 minute'
                                                  - :window * interval '1 second'))
             ORDER BY p.purchased_at
             LIMIT :limit
            """
        ),
        {"checkpoints": list(RECONCILE_CHECKPOINTS_MINUTES),
         "window": window.total_seconds(), "limit": limit},
    )  # fmt: skip
    return [(row.id, row.link_id) for row in rows]


async def record_audit(
    session: AsyncSession, *, actor: str, action: str, subject: str, detail: dict[str, Any]
) -> None:
    await session.execute(
        text(
            "INSERT INTO audit_log (actor, action, subject, detail)"
            " VALUES (:actor, :action, :subject, CAST(:detail AS jsonb))"
        ),
        {"actor": actor[:100], "action": action[:64], "subject": subject[:100],
         "detail": orjson.dumps(detail).decode()},
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Contact:
    """Who to tell about a payment, outside any turn of theirs."""

    language: str
    role: str
    consent_status: str
    display_name: str | None
    identity_id: uuid.UUID | None
    channel: str | None
    external_id: str | None


async def contact(session: AsyncSession, user_id: uuid.UUID) -> Contact | None:
    row = (
        await session.execute(
            text(
                """
                SELECT u.preferred_language AS language, u.role, u.consent_status, u.display_name,
                       ci.id AS identity_id, ci.channel, ci.external_id
                  FROM users u
                  LEFT JOIN LATERAL (
                        SELECT id, channel, external_id FROM channel_identities
                         WHERE user_id = u.id AND is_active AND channel <> 'console'
                         ORDER BY last_inbound_at DESC NULLS LAST, created_at DESC LIMIT 1
                  ) ci ON true
                 WHERE u.id = :user
                """
            ),
            {"user": user_id},
        )
    ).one_or_none()
    return Contact(**row._mapping) if row is not None else None


async def save_conversation(
    session: AsyncSession, user_id: uuid.UUID, *, state: str, data: dict[str, Any]
) -> None:
    """A payment moved the conversation on (its last message is now the lesson)."""
    await session.execute(
        text(
            "UPDATE conversations SET state = :state, data = CAST(:data AS jsonb),"
            " updated_at = now() WHERE user_id = :user"
        ),
        {"user": user_id, "state": state, "data": orjson.dumps(data).decode()},
    )


async def last_previewed_paid_course(session: AsyncSession, user_id: uuid.UUID) -> uuid.UUID | None:
    """The paid course whose free preview the farmer opened last, if they do not own it."""
    value = (
        await session.execute(
            text(
                """
                SELECT l.course_id
                  FROM lesson_progress lp
                  JOIN course_lessons l ON l.id = lp.lesson_id
                  JOIN courses c ON c.id = l.course_id
                 WHERE lp.user_id = :user AND coalesce(c.price, 0) > 0 AND c.is_published
                   AND NOT coalesce(c.is_archived, false)
                   AND NOT EXISTS (SELECT 1 FROM course_enrollments e
                                    WHERE e.user_id = :user AND e.course_id = c.id
                                      AND e.status IS DISTINCT FROM 'dropped')
                 ORDER BY lp.last_watched_at DESC NULLS LAST
                 LIMIT 1
                """
            ),
            {"user": user_id},
        )
    ).scalar_one_or_none()
    return value if isinstance(value, uuid.UUID) else None


@dataclass(frozen=True, slots=True)
class PaidCourse:
    id: uuid.UUID
    title: str
    emoji: str | None


async def paid_courses_to_buy(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    words: str | None,
    limit: int,
    language: str | None = None,
    in_language: bool = True,
) -> list[PaidCourse]:
    """Published paid courses the farmer does not own; `words` narrows them by title,
    `language` to those in it (or, `in_language=False`, to those not in it)."""
    pattern = None
    if words:
        escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
    rows = await session.execute(
        text(
            """
            SELECT c.id, c.title, c.thumbnail_emoji AS emoji
              FROM courses c
             WHERE coalesce(c.price, 0) > 0 AND c.is_published AND NOT coalesce(c.is_archived, false)
               AND (CAST(:pattern AS text) IS NULL OR c.title ILIKE :pattern)
               AND (CAST(:language AS text) IS NULL
                    OR (position(:language IN coalesce(c.language, 'English')) > 0) = :in_language)
               AND NOT EXISTS (SELECT 1 FROM course_enrollments e
                                WHERE e.user_id = :user AND e.course_id = c.id
                                  AND e.status IS DISTINCT FROM 'dropped')
             ORDER BY c.rating DESC NULLS LAST, c.enrolled_count DESC NULLS LAST, c.title
             LIMIT :limit
            """
        ),
        {"user": user_id, "pattern": pattern, "limit": limit, "language": language,
         "in_language": in_language},
    )  # fmt: skip
    return [PaidCourse(row.id, row.title, row.emoji) for row in rows]
