"""The farmer's data rights: consent records, what we hold (/mydata), erasure,
and the leaderboard name opt-in."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# --- consent ------------------------------------------------------------------


async def record_consent(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    method: str,
    notice_version: str,
    channel: str | None,
) -> None:
    await session.execute(
        text(
            "INSERT INTO consents (user_id, method, notice_version, channel) "
            "VALUES (:u, :m, :v, :c)"
        ),
        {"u": user_id, "m": method, "v": notice_version, "c": channel},
    )


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    given_at: dt.datetime
    method: str
    notice_version: str
    channel: str | None


async def latest_consent(session: AsyncSession, user_id: uuid.UUID) -> ConsentRecord | None:
    row = (
        await session.execute(
            text(
                "SELECT given_at, method, notice_version, channel FROM consents "
                "WHERE user_id = :u ORDER BY given_at DESC, id DESC LIMIT 1"
            ),
            {"u": user_id},
        )
    ).first()
    return None if row is None else ConsentRecord(*row)


# --- what we hold -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Address:
    channel: str
    external_id: str
    display_name: str | None


@dataclass(frozen=True, slots=True)
class Enrolment:
    course_title: str | None
    status: str | None
    progress_percent: int


@dataclass(frozen=True, slots=True)
class Payment:
    course_title: str | None
    final_amount: Decimal
    currency: str
    status: str | None


@dataclass(frozen=True, slots=True)
class HeldData:
    """Everything /mydata shows: what we hold about one farmer."""

    display_name: str | None
    language: str
    joined_at: dt.datetime
    consent_status: str
    addresses: list[Address]
    enrolments: list[Enrolment]
    quiz_attempts: int
    points: int
    badges: int
    purchases: list[Payment]
    consent: ConsentRecord | None
    name_on_leaderboard: bool


async def held_data(session: AsyncSession, user_id: uuid.UUID) -> HeldData:
    user = (
        await session.execute(
            text(
                """
                SELECT u.display_name, u.preferred_language, u.created_at, u.consent_status,
                       (SELECT count(*) FROM quiz_attempts a WHERE a.user_id = u.id) AS attempts,
                       coalesce(s.total_points, 0) AS points,
                       (SELECT count(*) FROM user_badges b WHERE b.user_id = u.id) AS badges,
                       EXISTS (SELECT 1 FROM leaderboard_opt_ins o WHERE o.user_id = u.id) AS shown
                  FROM users u LEFT JOIN user_learning_stats s ON s.user_id = u.id
                 WHERE u.id = :u
                """
            ),
            {"u": user_id},
        )
    ).one()
    addresses = await session.execute(
        text(
            "SELECT channel, external_id, display_name FROM channel_identities "
            "WHERE user_id = :u ORDER BY created_at"
        ),
        {"u": user_id},
    )
    enrolments = await session.execute(
        text(
            "SELECT c.title, e.status, coalesce(e.progress_percent, 0) FROM course_enrollments e "
            "LEFT JOIN courses c ON c.id = e.course_id WHERE e.user_id = :u ORDER BY e.enrolled_at"
        ),
        {"u": user_id},
    )
    purchases = await session.execute(
        text(
            "SELECT c.title, p.final_amount, coalesce(p.currency, 'INR'), p.payment_status "
            "FROM course_purchases p LEFT JOIN courses c ON c.id = p.course_id "
            "WHERE p.user_id = :u ORDER BY p.purchased_at"
        ),
        {"u": user_id},
    )
    return HeldData(
        display_name=user.display_name,
        language=user.preferred_language,
        joined_at=user.created_at,
        consent_status=user.consent_status,
        addresses=[Address(*row) for row in addresses],
        enrolments=[Enrolment(*row) for row in enrolments],
        quiz_attempts=int(user.attempts),
        points=int(user.points),
        badges=int(user.badges),
        purchases=[Payment(*row) for row in purchases],
        consent=await latest_consent(session, user_id),
        name_on_leaderboard=bool(user.shown),
    )


# --- erasure ------------------------------------------------------------------

# What erasure removes outright: the person's addresses (and with them every
# message queued to them), their conversation, their timeline of activity, their
# likes, open quiz positions, API tokens and invites, and their consent records.
# The messages they wrote to us, as the webhooks recorded them (first: they are found
# through the addresses). One still being answered stays till its turn ends.
_ERASE_INBOX = """
    DELETE FROM inbox i USING channel_identities ci
     WHERE ci.user_id = :u AND i.channel = ci.channel AND i.address = ci.external_id
       AND i.status <> 'pending'
"""

_ERASE_ROWS = [
    "DELETE FROM channel_identities WHERE user_id = :u AND id IS DISTINCT FROM :keep",
    "DELETE FROM conversations WHERE user_id = :u",
    # What we sent them (the address a chat erasure keeps was moved, not its history).
    "DELETE FROM outbound_messages WHERE user_id = :u",
    "DELETE FROM points_ledger WHERE user_id = :u",
    "DELETE FROM activity_days WHERE user_id = :u",
    "DELETE FROM reminders_sent WHERE user_id = :u",
    "DELETE FROM content_likes WHERE user_id = :u",
    "DELETE FROM quiz_attempt_progress WHERE user_id = :u",
    "DELETE FROM instructor_tokens WHERE user_id = :u",
    "DELETE FROM instructor_invites WHERE user_id = :u",
    "DELETE FROM consents WHERE user_id = :u",
    "DELETE FROM leaderboard_opt_ins WHERE user_id = :u",
]

# Free text the farmer wrote (short answers, essays) is personal data; the
# choices of a multiple-choice question are not, and keep the question's stats.
# An essay nobody graded yet leaves the grading queue with no points.
_ERASE_FREE_TEXT = """
    UPDATE quiz_answers a
       SET user_answer = '',
           is_correct = CASE WHEN q.question_type = 'essay' THEN coalesce(a.is_correct, false)
                             ELSE a.is_correct END,
           points_earned = CASE WHEN q.question_type = 'essay' THEN coalesce(a.points_earned, 0)
                                ELSE a.points_earned END
      FROM quiz_attempts t, quiz_questions q
     WHERE a.attempt_id = t.id AND t.user_id = :u AND q.id = a.question_id
       AND q.question_type IN ('short_answer', 'essay')
"""

# The users row stays, empty, as the anonymous owner of what the law or the
# aggregates need: purchases (amounts, gateway ids), quiz scores, enrolments,
# badges and the stats row. Nothing in it names or reaches a person any more.
_EMPTY_USER = """
    UPDATE users
       SET display_name = NULL, consent_status = 'opted_out', consent_changed_at = now(),
           updated_at = now()
     WHERE id = :u
"""


@dataclass(frozen=True, slots=True)
class ErasureDone:
    addresses_removed: int
    answers_blanked: int
    purchases_kept: int


async def role_of(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    """The user's role, or None when there is no such user."""
    found = await session.execute(text("SELECT role FROM users WHERE id = :u"), {"u": user_id})
    role: str | None = found.scalar_one_or_none()
    return role


async def is_erased(session: AsyncSession, user_id: uuid.UUID) -> bool:
    found = await session.execute(text("SELECT 1 FROM erasures WHERE user_id = :u"), {"u": user_id})
    return found.first() is not None


async def erase_person(
    session: AsyncSession, user_id: uuid.UUID, *, method: str, keep_identity: uuid.UUID | None
) -> ErasureDone:
    """Erase what identifies the farmer, keeping anonymous aggregates and payment records.

    `keep_identity` is an address no longer theirs (start_over moved it to a new,
    empty account) that must survive until the goodbye reply has gone out.
    """
    params = {"u": user_id, "keep": keep_identity}
    await session.execute(text(_ERASE_INBOX), {"u": user_id})
    removed = await session.execute(text(_ERASE_ROWS[0]), params)
    for statement in _ERASE_ROWS[1:]:
        await session.execute(text(statement), {"u": user_id})
    blanked = await session.execute(text(_ERASE_FREE_TEXT), {"u": user_id})
    await session.execute(text(_EMPTY_USER), {"u": user_id})
    await session.execute(
        text(
            "INSERT INTO erasures (user_id, method) VALUES (:u, :m) "
            "ON CONFLICT (user_id) DO UPDATE SET erased_at = now(), method = excluded.method"
        ),
        {"u": user_id, "m": method},
    )
    kept = await session.execute(
        text("SELECT count(*) FROM course_purchases WHERE user_id = :u"), {"u": user_id}
    )
    return ErasureDone(
        addresses_removed=int(getattr(removed, "rowcount", 0) or 0),
        answers_blanked=int(getattr(blanked, "rowcount", 0) or 0),
        purchases_kept=int(kept.scalar_one()),
    )


# The chat address a farmer erased from is moved to a new, empty account in the
# "new" state: the goodbye reply can still go out, and the next message from that
# address meets a stranger who is asked for consent again. Its `erased_at` marks
# it for forget_erased_addresses once nothing more is owed to it.
_START_OVER = """
    WITH u AS (
        INSERT INTO users (preferred_language) VALUES (:lang)
        RETURNING id
    ), moved AS (
        UPDATE channel_identities SET user_id = (SELECT id FROM u), display_name = NULL
         WHERE id = :identity
    ), c AS (
        INSERT INTO conversations (user_id, state, data)
        SELECT id, 'new', jsonb_build_object('erased_at', now()::text) FROM u
    )
    SELECT id FROM u
"""


async def start_over(session: AsyncSession, identity_id: uuid.UUID, language: str) -> uuid.UUID:
    """A new, empty account for this address; returns its user id."""
    row = await session.execute(text(_START_OVER), {"lang": language, "identity": identity_id})
    new_user: uuid.UUID = row.scalar_one()
    return new_user


# An address left behind by a chat erasure is deleted (with its empty account)
# once its goodbye is no longer owed, unless the farmer has written again since
# (their next turn replaced the conversation's data, so the mark is gone).
_FORGET_ERASED = """
    WITH done AS (
        SELECT c.user_id FROM conversations c
         WHERE c.state = 'new' AND c.data->>'erased_at' IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM outbound_messages o
                            WHERE o.user_id = c.user_id AND o.status IN ('queued', 'sending'))
           FOR UPDATE OF c SKIP LOCKED
    )
    DELETE FROM users u USING done WHERE u.id = done.user_id
    RETURNING u.id
"""


async def forget_erased_addresses(session: AsyncSession) -> int:
    rows = await session.execute(text(_FORGET_ERASED))
    return len(rows.all())


# A farmer who wrote once and never agreed: after the window we forget the address
# and name we had to keep to answer them. Nothing else can exist for them (learning
# waits for consent), but a purchase or any consent ever given keeps the account.
_FORGET_NEVER_AGREED = """
    WITH stale AS (
        SELECT c.user_id FROM conversations c JOIN users u ON u.id = c.user_id
         WHERE (c.state = 'new' OR c.data->>'awaiting_consent' = 'true')
           AND u.role = 'farmer' AND u.created_at < now() - :days * interval '1 day'
           AND NOT EXISTS (SELECT 1 FROM consents x WHERE x.user_id = u.id)
           AND NOT EXISTS (SELECT 1 FROM erasures x WHERE x.user_id = u.id)
           AND NOT EXISTS (SELECT 1 FROM course_purchases p WHERE p.user_id = u.id)
           FOR UPDATE OF c SKIP LOCKED
    )
    DELETE FROM users u USING stale WHERE u.id = stale.user_id
    RETURNING u.id
"""


async def forget_never_agreed(session: AsyncSession, *, days: int) -> int:
    rows = await session.execute(text(_FORGET_NEVER_AGREED), {"days": days})
    return len(rows.all())
