"""The instructor console's statements: sign-in links and sessions, the course list's
figures, the analytics the API does not have yet, and the admin's review lists."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# --- sign-in links and sessions ---------------------------------------------------------


async def add_sign_in_link(
    session: AsyncSession, *, user_id: uuid.UUID, token_hash: str, valid_for: dt.timedelta
) -> dt.datetime:
    """Store a new one-time link; returns when it expires."""
    expires = (
        await session.execute(
            text(
                "INSERT INTO console_sign_in_links (user_id, token_hash, expires_at)"
                " VALUES (:u, :h, now() + :valid) RETURNING expires_at"
            ),
            {"u": user_id, "h": token_hash, "valid": valid_for},
        )
    ).scalar_one()
    assert isinstance(expires, dt.datetime)
    return expires


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    user_id: uuid.UUID
    role: str
    display_name: str | None
    language: str


async def use_sign_in_link(session: AsyncSession, token_hash: str) -> ConsoleUser | None:
    """Spend a link: the instructor it was sent to, or None when it is unknown, used,
    expired, or its user is no longer an instructor."""
    row = (
        await session.execute(
            text(
                """
                UPDATE console_sign_in_links l SET used_at = now()
                  FROM users u
                 WHERE l.token_hash = :h AND l.used_at IS NULL AND l.expires_at > now()
                   AND u.id = l.user_id AND u.role IN ('instructor', 'admin')
                RETURNING u.id AS user_id, u.role, u.display_name,
                          coalesce(u.preferred_language, 'en') AS language
                """
            ),
            {"h": token_hash},
        )
    ).one_or_none()
    return ConsoleUser(**row._mapping) if row else None


async def sign_in_link_is_live(session: AsyncSession, token_hash: str) -> bool:
    found = (
        await session.execute(
            text(
                "SELECT 1 FROM console_sign_in_links"
                " WHERE token_hash = :h AND used_at IS NULL AND expires_at > now()"
            ),
            {"h": token_hash},
        )
    ).first()
    return found is not None


async def instructor_user(session: AsyncSession, user_id: uuid.UUID) -> ConsoleUser | None:
    row = (
        await session.execute(
            text(
                "SELECT id AS user_id, role, display_name,"
                " coalesce(preferred_language, 'en') AS language"
                " FROM users WHERE id = :u AND role IN ('instructor', 'admin')"
            ),
            {"u": user_id},
        )
    ).one_or_none()
    return ConsoleUser(**row._mapping) if row else None


async def open_session(
    session: AsyncSession,
    *,
    token_hash: str,
    user_id: uuid.UUID | None,
    role: str,
    valid_for: dt.timedelta,
) -> None:
    await session.execute(
        text(
            "INSERT INTO console_sessions (token_hash, user_id, role, expires_at)"
            " VALUES (:h, :u, :r, now() + :valid)"
        ),
        {"h": token_hash, "u": user_id, "r": role, "valid": valid_for},
    )


@dataclass(frozen=True, slots=True)
class LiveSession:
    user_id: uuid.UUID | None
    role: str
    display_name: str | None
    language: str


async def live_session(session: AsyncSession, token_hash: str) -> LiveSession | None:
    """The session of a cookie, unless it ended, expired, or its instructor lost the role."""
    row = (
        await session.execute(
            text(
                """
                SELECT s.user_id, s.role, u.display_name,
                       coalesce(u.preferred_language, 'en') AS language
                  FROM console_sessions s
                  LEFT JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = :h AND s.ended_at IS NULL AND s.expires_at > now()
                   AND (s.user_id IS NULL OR u.role IN ('instructor', 'admin'))
                """
            ),
            {"h": token_hash},
        )
    ).one_or_none()
    return LiveSession(**row._mapping) if row else None


async def end_session(session: AsyncSession, token_hash: str) -> None:
    await session.execute(
        text(
            "UPDATE console_sessions SET ended_at = now()"
            " WHERE token_hash = :h AND ended_at IS NULL"
        ),
        {"h": token_hash},
    )


# --- my courses -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CourseLine:
    id: uuid.UUID
    title: str
    emoji: str | None
    rating: Decimal | None
    is_published: bool
    is_archived: bool
    enrolled: int
    completed: int
    lessons: int


async def course_lines(session: AsyncSession, owner: uuid.UUID | None) -> list[CourseLine]:
    """The instructor's courses (all for None) with enrolled and completed farmers."""
    rows = await session.execute(
        text(
            """
            SELECT c.id, c.title, c.thumbnail_emoji AS emoji, c.rating,
                   coalesce(c.is_published, false) AS is_published,
                   coalesce(c.is_archived, false) AS is_archived,
                   (SELECT count(*) FROM course_enrollments e WHERE e.course_id = c.id) AS enrolled,
                   (SELECT count(*) FROM course_enrollments e
                     WHERE e.course_id = c.id AND e.status = 'completed') AS completed,
                   (SELECT count(*) FROM course_lessons l WHERE l.course_id = c.id) AS lessons
              FROM courses c
             WHERE CAST(:owner AS uuid) IS NULL OR c.instructor_id = :owner
             ORDER BY coalesce(c.is_archived, false), c.created_at DESC, c.id
            """
        ),
        {"owner": owner},
    )
    return [CourseLine(**row._mapping) for row in rows]


# --- analytics the API does not give -----------------------------------------------------


async def enrolments_by_week(
    session: AsyncSession, course_id: uuid.UUID
) -> list[tuple[dt.date, int]]:
    """New enrolments per week (Monday), the last 12 weeks that had any."""
    rows = await session.execute(
        text(
            """
            SELECT date_trunc('week', enrolled_at)::date AS week, count(*) AS farmers
              FROM course_enrollments WHERE course_id = :c AND enrolled_at IS NOT NULL
             GROUP BY 1 ORDER BY 1 DESC LIMIT 12
            """
        ),
        {"c": course_id},
    )
    return sorted((row.week, int(row.farmers)) for row in rows)


@dataclass(frozen=True, slots=True)
class QuestionShare:
    quiz_title: str
    order_index: int
    question_text: str
    answers: int
    right: int


async def question_shares(session: AsyncSession, course_id: uuid.UUID) -> list[QuestionShare]:
    """For each question of the course's quizzes: answers given, and how many were right."""
    rows = await session.execute(
        text(
            """
            SELECT z.title AS quiz_title, coalesce(q.order_index, 0) AS order_index,
                   q.question_text,
                   -- An essay not graded yet is neither right nor wrong: left out.
                   count(a.id) FILTER (WHERE a.is_correct IS NOT NULL) AS answers,
                   count(a.id) FILTER (WHERE a.is_correct) AS right
              FROM quizzes z
              JOIN quiz_questions q ON q.quiz_id = z.id
              LEFT JOIN quiz_answers a ON a.question_id = q.id
             WHERE z.course_id = :c
             GROUP BY z.id, q.id
             ORDER BY z.order_index NULLS LAST, z.title, q.order_index, q.id
            """
        ),
        {"c": course_id},
    )
    return [QuestionShare(**row._mapping) for row in rows]


async def farmers_by_language_and_channel(
    session: AsyncSession, course_id: uuid.UUID
) -> tuple[dict[str, int], dict[str, int]]:
    """The course's enrolled farmers per language, and per channel they last wrote from."""
    languages = await session.execute(
        text(
            """
            SELECT coalesce(u.preferred_language, 'en') AS key, count(*) AS farmers
              FROM course_enrollments e JOIN users u ON u.id = e.user_id
             WHERE e.course_id = :c GROUP BY 1 ORDER BY 1
            """
        ),
        {"c": course_id},
    )
    channels = await session.execute(
        text(
            """
            SELECT coalesce(
                     (SELECT ci.channel FROM channel_identities ci
                       WHERE ci.user_id = e.user_id AND ci.channel <> 'console'
                       ORDER BY ci.last_inbound_at DESC NULLS LAST LIMIT 1),
                     'none') AS key,
                   count(*) AS farmers
              FROM course_enrollments e
             WHERE e.course_id = :c GROUP BY 1 ORDER BY 1
            """
        ),
        {"c": course_id},
    )
    return (
        {row.key: int(row.farmers) for row in languages},
        {row.key: int(row.farmers) for row in channels},
    )


@dataclass(frozen=True, slots=True)
class Revenue:
    course_id: uuid.UUID
    title: str
    currency: str
    paid: Decimal
    purchases: int


async def revenue_by_course(session: AsyncSession, owner: uuid.UUID | None) -> list[Revenue]:
    """Money received (successful, not refunded purchases) per course of the instructor."""
    rows = await session.execute(
        text(
            """
            SELECT c.id AS course_id, c.title, coalesce(c.currency, 'INR') AS currency,
                   coalesce(sum(p.final_amount) FILTER (WHERE p.payment_status = 'success'), 0)
                     AS paid,
                   count(p.id) FILTER (WHERE p.payment_status = 'success') AS purchases
              FROM courses c
              LEFT JOIN course_purchases p ON p.course_id = c.id
             WHERE CAST(:owner AS uuid) IS NULL OR c.instructor_id = :owner
             GROUP BY c.id ORDER BY paid DESC, c.title
            """
        ),
        {"owner": owner},
    )
    return [Revenue(**row._mapping) for row in rows]


# --- admin ------------------------------------------------------------------------------


async def purchases_held(session: AsyncSession, limit: int = 50) -> list[uuid.UUID]:
    """Purchases an operator must look at (a gateway flagged them), newest first."""
    rows = await session.execute(
        text(
            """
            SELECT p.id FROM course_purchases p
              JOIN payment_links l ON l.purchase_id = p.id
             WHERE l.review_reason IS NOT NULL
               AND p.payment_status IS DISTINCT FROM 'refunded'
             ORDER BY p.purchased_at DESC LIMIT :n
            """
        ),
        {"n": limit},
    )
    return [row.id for row in rows]


async def clear_review(session: AsyncSession, purchase_id: uuid.UUID) -> None:
    await session.execute(
        text("UPDATE payment_links SET review_reason = NULL WHERE purchase_id = :p"),
        {"p": purchase_id},
    )


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    channel: str
    queued: int
    sent_last_hour: int
    failed_last_hour: int
    last_error: str | None
    last_error_at: dt.datetime | None


async def channel_health(session: AsyncSession) -> list[ChannelHealth]:
    rows = await session.execute(
        text(
            """
            SELECT o.channel,
                   count(*) FILTER (WHERE o.status = 'queued') AS queued,
                   count(*) FILTER (WHERE o.sent_at > now() - interval '1 hour') AS sent_last_hour,
                   count(*) FILTER (WHERE o.status = 'failed'
                                      AND o.created_at > now() - interval '1 hour')
                     AS failed_last_hour,
                   (SELECT f.error FROM outbound_messages f
                     WHERE f.channel = o.channel AND f.error IS NOT NULL
                     ORDER BY f.id DESC LIMIT 1) AS last_error,
                   (SELECT f.created_at FROM outbound_messages f
                     WHERE f.channel = o.channel AND f.error IS NOT NULL
                     ORDER BY f.id DESC LIMIT 1) AS last_error_at
              FROM outbound_messages o
             WHERE o.channel <> 'console'
             GROUP BY o.channel ORDER BY o.channel
            """
        )
    )
    return [ChannelHealth(**row._mapping) for row in rows]
