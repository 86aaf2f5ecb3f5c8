"""Reading the course catalogue, and enrolling in it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

PAGE_SIZE = 5


@dataclass(frozen=True, slots=True)
class CourseLine:
    id: uuid.UUID
    title: str
    emoji: str | None
    level: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class CourseCard:
    id: uuid.UUID
    title: str
    description: str
    category: str
    level: str
    duration: str | None
    lessons: int
    emoji: str | None
    language: str
    rating: Decimal
    enrolled_count: int
    price: Decimal
    currency: str
    discount_percent: int
    instructor_name: str | None
    is_published: bool
    enrollment_status: str | None  # None: not enrolled
    enrollment_type: str | None

    @property
    def is_free(self) -> bool:
        return self.price <= 0

    @property
    def final_price(self) -> Decimal:
        """The price after the discount, in whole rupees: what the card shows is what
        the purchase charges (₹239, never ₹239.20), since both read this one value."""
        if not self.discount_percent:
            return self.price
        discounted = self.price * (100 - self.discount_percent) / Decimal(100)
        return discounted.quantize(Decimal(1), ROUND_HALF_UP)


async def courses_in_category(
    session: AsyncSession,
    *,
    category: str,
    level: str | None,
    language: str,
    offset: int,
    in_language: bool = True,
) -> tuple[list[CourseLine], bool]:
    """A page of published courses in the farmer's language (`in_language`) or in the
    others; and whether more follow. A course in "Hindi, English" is in both."""
    rows = await session.execute(
        text(
            """
            SELECT id, title, thumbnail_emoji AS emoji, level, price
              FROM courses
             WHERE is_published AND NOT coalesce(is_archived, false) AND category = :category
               AND (CAST(:level AS text) IS NULL OR level = :level)
               AND (position(:language IN coalesce(language, 'English')) > 0) = :in_language
             ORDER BY rating DESC NULLS LAST, enrolled_count DESC NULLS LAST, title
             LIMIT :limit OFFSET :offset
            """
        ),
        {"category": category, "level": level, "language": language,
         "in_language": in_language, "limit": PAGE_SIZE + 1, "offset": offset},
    )  # fmt: skip
    lines = [CourseLine(r.id, r.title, r.emoji, r.level, r.price) for r in rows]
    return lines[:PAGE_SIZE], len(lines) > PAGE_SIZE


async def course_card(
    session: AsyncSession, course_id: uuid.UUID, user_id: uuid.UUID, *, count_view: bool = False
) -> CourseCard | None:
    """A published course as its card shows it; `count_view` counts the farmer opening it."""
    if count_view:
        await session.execute(
            text(
                "UPDATE courses SET view_count = coalesce(view_count, 0) + 1 WHERE id = :course"
                " AND is_published AND NOT coalesce(is_archived, false)"
            ),
            {"course": course_id},
        )
    row = (
        await session.execute(
            text(
                """
                SELECT c.id, c.title, c.description, c.category, c.level, c.duration,
                          coalesce(c.lessons, 0) AS lessons, c.thumbnail_emoji AS emoji,
                          coalesce(c.language, 'English') AS language,
                          coalesce(c.rating, 0) AS rating,
                          coalesce(c.enrolled_count, 0) AS enrolled_count,
                          coalesce(c.price, 0) AS price, coalesce(c.currency, 'INR') AS currency,
                          coalesce(c.discount_percent, 0) AS discount_percent, c.instructor_name,
                          c.is_published,
                          (SELECT e.status FROM course_enrollments e
                            WHERE e.course_id = c.id AND e.user_id = :user) AS enrollment_status,
                          (SELECT e.enrollment_type FROM course_enrollments e
                            WHERE e.course_id = c.id AND e.user_id = :user) AS enrollment_type
                  FROM courses c
                 WHERE c.id = :course AND c.is_published AND NOT coalesce(c.is_archived, false)
                """
            ),
            {"course": course_id, "user": user_id},
        )
    ).one_or_none()
    return CourseCard(**row._mapping) if row is not None else None


async def preview_lessons(
    session: AsyncSession, course_id: uuid.UUID
) -> list[tuple[uuid.UUID, str]]:
    rows = await session.execute(
        text(
            "SELECT id, title FROM course_lessons WHERE course_id = :c AND is_preview"
            " ORDER BY order_index"
        ),
        {"c": course_id},
    )
    return [(r.id, r.title) for r in rows]


async def enroll(
    session: AsyncSession,
    user_id: uuid.UUID,
    course_id: uuid.UUID,
    *,
    enrollment_type: str = "free",
    amount_paid: Decimal | None = None,
) -> bool:
    """Enroll once: True if this call created the enrollment (and bumped the counters)."""
    row = (
        await session.execute(
            text(
                """
                WITH e AS (
                    INSERT INTO course_enrollments
                           (user_id, course_id, status, enrollment_type, amount_paid, last_accessed_at)
                    VALUES (:user, :course, 'enrolled', :type, :amount, now() AT TIME ZONE 'UTC')
                    ON CONFLICT (user_id, course_id) DO NOTHING
                    RETURNING id
                ), c AS (
                    UPDATE courses SET enrolled_count = coalesce(enrolled_count, 0) + 1
                     WHERE id = :course AND EXISTS (SELECT 1 FROM e)
                ), s AS (
                    INSERT INTO user_learning_stats AS s (user_id, total_courses_enrolled, last_activity_date)
                    SELECT :user, 1, now() AT TIME ZONE 'UTC' FROM e
                    ON CONFLICT (user_id) DO UPDATE
                       SET total_courses_enrolled = coalesce(s.total_courses_enrolled, 0) + 1,
                           last_activity_date = EXCLUDED.last_activity_date
                )
                SELECT EXISTS (SELECT 1 FROM e) AS created
                """
            ),
            {"user": user_id, "course": course_id, "type": enrollment_type, "amount": amount_paid},
        )
    ).one()
    if row.created:
        await refresh_completion_rate(session, course_id)
    return bool(row.created)


async def refresh_completion_rate(session: AsyncSession, course_id: uuid.UUID) -> None:
    """courses.completion_rate: the share of its enrolled farmers who completed it."""
    await session.execute(
        text(
            """
            UPDATE courses c
               SET completion_rate = round(100.0 * x.completed / greatest(x.enrolled, 1), 2)
              FROM (SELECT count(*) FILTER (WHERE status = 'completed') AS completed,
                           count(*) AS enrolled
                      FROM course_enrollments WHERE course_id = :course) x
             WHERE c.id = :course
            """
        ),
        {"course": course_id},
    )
