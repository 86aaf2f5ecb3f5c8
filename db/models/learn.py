"""The learning catalogue and progress tables of spec/learn-schema.md, plus `users`.

Columns follow the spec literally: NOT NULL only where the spec says so, so most
columns are Optional even when they carry a server default. Index names are
global in PostgreSQL, hence `<table>_<spec index name>`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, uuid_pk

__all__ = [
    "Article",
    "Badge",
    "Course",
    "CourseEnrollment",
    "CourseLesson",
    "CoursePurchase",
    "LearningRoadmap",
    "LessonProgress",
    "Quiz",
    "QuizAnswer",
    "QuizAttempt",
    "QuizQuestion",
    "RoadmapMilestone",
    "User",
    "UserBadge",
    "UserLearningStats",
    "UserRoadmapProgress",
    "Video",
]

# The spec's TIMESTAMP columns are timestamp without time zone holding UTC (the
# engine pins the session time zone), and none of them is NOT NULL.
timestamp = Annotated[dt.datetime | None, mapped_column(DateTime(timezone=False))]
timestamp_now = Annotated[
    dt.datetime | None,
    mapped_column(DateTime(timezone=False), server_default=text("now()")),
]
counter = Annotated[int | None, mapped_column(Integer, server_default=text("0"))]


def _one_of(column: str, *values: str) -> CheckConstraint:
    """A CHECK that `column` is one of the spec's listed values (NULL stays allowed)."""
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


def _between(column: str, low: int, high: int) -> CheckConstraint:
    return CheckConstraint(f"{column} BETWEEN {low} AND {high}", name=column)


def _search_vector(*columns: str) -> Computed:
    """A stored tsvector over `columns`, with the words normalised by searchable_text().

    'simple' because the catalogue mixes Hindi, Marathi and English: there is no
    Hindi or Marathi stemmer, and English stemming would only disagree with the
    untouched Devanagari words.

    The default parser already keeps vowel signs, virama, nukta and anusvara inside
    a word, under a C ctype and a UTF-8 one alike. What it does not keep, on
    PostgreSQL 15 with a UTF-8 libc ctype (C.UTF-8, en_US.UTF-8), is ZWJ/ZWNJ:
    क, virama, ZWJ, ष is split into 'क्' and 'ष' (PostgreSQL 16+ and a plain C
    ctype keep it whole). A COLLATE "C" on the expression would not help: the
    parser ignores the expression's collation and uses the database ctype. So the
    migration's searchable_text() removes the joiners, and also folds the other ways
    one word is typed (eyelash RA, precomposed nukta letters) into one form.
    """
    joined = " || ' ' || ".join(f"coalesce({column}, '')" for column in columns)
    return Computed(f"to_tsvector('simple'::regconfig, searchable_text({joined}))", persisted=True)


def search_query(words: str) -> ColumnElement[Any]:
    """The tsquery for words a farmer typed, normalised the same way as search_vector.

    Use it as `Course.search_vector.bool_op("@@")(search_query(words))`: a plain
    plainto_tsquery would miss words typed with ZWJ or another nukta form.
    """
    return func.plainto_tsquery(literal_column("'simple'::regconfig"), func.searchable_text(words))


class User(Base):
    """A farmer, instructor or admin: the spec's "users (from auth)"."""

    __tablename__ = "users"
    __table_args__ = (
        _one_of("preferred_language", "en", "hi", "mr"),
        _one_of("role", "farmer", "instructor", "admin"),
        _one_of("consent_status", "opted_in", "opted_out"),
    )

    id: Mapped[uuid_pk]
    display_name: Mapped[str | None] = mapped_column(String(255))
    preferred_language: Mapped[str] = mapped_column(String(2), server_default=text("'en'"))
    role: Mapped[str] = mapped_column(String(20), server_default=text("'farmer'"))
    timezone: Mapped[str] = mapped_column(String(64), server_default=text("'Asia/Kolkata'"))
    consent_status: Mapped[str] = mapped_column(String(20), server_default=text("'opted_in'"))
    consent_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    leaderboard_visible: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class Course(Base):
    __tablename__ = "courses"
    __table_args__ = (
        _one_of("level", "beginner", "intermediate", "advanced"),
        _between("rating", 0, 5),
        _between("discount_percent", 0, 100),
        Index("courses_idx_category", "category"),
        Index("courses_idx_level", "level"),
        Index("courses_idx_published", "is_published"),
        Index("courses_idx_price", "price"),
        Index("courses_idx_search", "search_vector", postgresql_using="gin"),
    )

    id: Mapped[uuid_pk]
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(50))
    level: Mapped[str] = mapped_column(String(20))
    duration: Mapped[str | None] = mapped_column(String(50))
    lessons: Mapped[int | None] = mapped_column(Integer)
    thumbnail_emoji: Mapped[str | None] = mapped_column(String(10))
    thumbnail_url: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str | None] = mapped_column(String(100), server_default=text("'English'"))
    rating: Mapped[Decimal | None] = mapped_column(Numeric(3, 1), server_default=text("4.5"))
    enrolled_count: Mapped[counter]
    price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2), server_default=text("0"))
    currency: Mapped[str | None] = mapped_column(String(10), server_default=text("'INR'"))
    discount_percent: Mapped[counter]
    instructor_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    instructor_name: Mapped[str | None] = mapped_column(String(255))
    instructor_bio: Mapped[str | None] = mapped_column(Text)
    instructor_avatar: Mapped[str | None] = mapped_column(String(500))
    is_published: Mapped[bool | None] = mapped_column(Boolean, server_default=text("false"))
    is_archived: Mapped[bool | None] = mapped_column(Boolean, server_default=text("false"))
    view_count: Mapped[counter]
    completion_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2), server_default=text("0"))
    created_at: Mapped[timestamp_now]
    updated_at: Mapped[timestamp_now]
    published_at: Mapped[timestamp]
    search_vector: Mapped[str | None] = mapped_column(
        TSVECTOR, _search_vector("title", "description")
    )


class CourseLesson(Base):
    __tablename__ = "course_lessons"
    __table_args__ = (
        _one_of("content_type", "video", "text", "quiz", "assignment"),
        Index("course_lessons_idx_course_id", "course_id"),
        Index("course_lessons_idx_order", "course_id", "order_index"),
    )

    id: Mapped[uuid_pk]
    course_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("courses.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    order_index: Mapped[int] = mapped_column(Integer)
    duration: Mapped[str | None] = mapped_column(String(50))
    content_type: Mapped[str | None] = mapped_column(String(20))
    content_url: Mapped[str | None] = mapped_column(String(500))
    is_preview: Mapped[bool | None] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[timestamp_now]
    updated_at: Mapped[timestamp_now]


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        _one_of("source_type", "internal", "external", "scraped"),
        Index("articles_idx_category", "category"),
        Index("articles_idx_published", "is_published"),
        Index("articles_idx_featured", "is_featured"),
        Index("articles_idx_search", "search_vector", postgresql_using="gin"),
    )

    id: Mapped[uuid_pk]
    title: Mapped[str] = mapped_column(String(255))
    excerpt: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(50))
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    author_name: Mapped[str | None] = mapped_column(String(255))
    author_avatar: Mapped[str | None] = mapped_column(String(500))
    read_time_minutes: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(100), server_default=text("'English'"))
    source_type: Mapped[str | None] = mapped_column(String(20))
    source_url: Mapped[str | None] = mapped_column(String(500))
    source_title: Mapped[str | None] = mapped_column(String(255))
    thumbnail_url: Mapped[str | None] = mapped_column(String(500))
    thumbnail_emoji: Mapped[str | None] = mapped_column(String(10))
    view_count: Mapped[counter]
    like_count: Mapped[counter]
    is_published: Mapped[bool | None] = mapped_column(Boolean, server_default=text("true"))
    is_featured: Mapped[bool | None] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[timestamp_now]
    updated_at: Mapped[timestamp_now]
    published_at: Mapped[timestamp]
    search_vector: Mapped[str | None] = mapped_column(
        TSVECTOR, _search_vector("title", "excerpt", "content")
    )


class Video(Base):
    __tablename__ = "videos"
    __table_args__ = (
        _one_of("video_type", "youtube", "vimeo", "self_hosted", "aws_s3"),
        Index("videos_idx_category", "category"),
        Index("videos_idx_video_type", "video_type"),
        Index("videos_idx_published", "is_published"),
        Index("videos_idx_featured", "is_featured"),
        Index("videos_idx_search", "search_vector", postgresql_using="gin"),
    )

    id: Mapped[uuid_pk]
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(50))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    video_type: Mapped[str | None] = mapped_column(String(20))
    video_url: Mapped[str] = mapped_column(String(500))
    video_id: Mapped[str | None] = mapped_column(String(100))
    thumbnail_url: Mapped[str | None] = mapped_column(String(500))
    thumbnail_emoji: Mapped[str | None] = mapped_column(String(10))
    creator_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    )
    creator_name: Mapped[str | None] = mapped_column(String(255))
    creator_avatar: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str | None] = mapped_column(String(100), server_default=text("'English'"))
    # The spec lists Beginner | Intermediate | Advanced as examples, without a CHECK.
    skill_level: Mapped[str | None] = mapped_column(String(20))
    transcript: Mapped[str | None] = mapped_column(Text)
    is_published: Mapped[bool | None] = mapped_column(Boolean, server_default=text("true"))
    view_count: Mapped[counter]
    like_count: Mapped[counter]
    is_featured: Mapped[bool | None] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[timestamp_now]
    updated_at: Mapped[timestamp_now]
    published_at: Mapped[timestamp]
    search_vector: Mapped[str | None] = mapped_column(
        TSVECTOR, _search_vector("title", "description")
    )


class Quiz(Base):
    __tablename__ = "quizzes"
    __table_args__ = (
        _between("passing_score", 0, 100),
        Index("quizzes_idx_course_id", "course_id"),
        Index("quizzes_idx_lesson_id", "lesson_id"),
    )

    id: Mapped[uuid_pk]
    course_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("courses.id", ondelete="CASCADE")
    )
    lesson_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("course_lessons.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    passing_score: Mapped[int | None] = mapped_column(Integer, server_default=text("70"))
    time_limit_minutes: Mapped[int | None] = mapped_column(Integer)
    shuffle_questions: Mapped[bool | None] = mapped_column(Boolean, server_default=text("false"))
    show_correct_answer: Mapped[bool | None] = mapped_column(Boolean, server_default=text("true"))
    order_index: Mapped[int | None] = mapped_column(Integer)
    is_required: Mapped[bool | None] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[timestamp_now]
    updated_at: Mapped[timestamp_now]


class QuizQuestion(Base):
    __tablename__ = "quiz_questions"
    __table_args__ = (
        _one_of("question_type", "multiple_choice", "true_false", "short_answer", "essay"),
        _one_of("difficulty", "easy", "medium", "hard"),
        Index("quiz_questions_idx_quiz_id", "quiz_id"),
    )

    id: Mapped[uuid_pk]
    quiz_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("quizzes.id", ondelete="CASCADE")
    )
    question_type: Mapped[str | None] = mapped_column(String(20))
    question_text: Mapped[str] = mapped_column(Text)
    # A list of {"text": ..., "is_correct": ...} for multiple choice.
    options: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    points: Mapped[int | None] = mapped_column(Integer, server_default=text("1"))
    order_index: Mapped[int | None] = mapped_column(Integer)
    explanation: Mapped[str | None] = mapped_column(Text)
    difficulty: Mapped[str | None] = mapped_column(String(20), server_default=text("'medium'"))
    created_at: Mapped[timestamp_now]
    updated_at: Mapped[timestamp_now]


class QuizAttempt(Base):
    __tablename__ = "quiz_attempts"
    __table_args__ = (
        _between("percentage", 0, 100),
        Index("quiz_attempts_idx_user_id", "user_id"),
        Index("quiz_attempts_idx_quiz_id", "quiz_id"),
        Index("quiz_attempts_idx_passed", "passed"),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE")
    )
    quiz_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("quizzes.id", ondelete="CASCADE")
    )
    score: Mapped[int | None] = mapped_column(Integer)
    percentage: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    passed: Mapped[bool | None] = mapped_column(Boolean)
    time_spent_seconds: Mapped[int | None] = mapped_column(Integer)
    attempt_number: Mapped[int | None] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[timestamp_now]


class QuizAnswer(Base):
    __tablename__ = "quiz_answers"
    __table_args__ = (
        Index("quiz_answers_idx_attempt_id", "attempt_id"),
        Index("quiz_answers_idx_question_id", "question_id"),
    )

    id: Mapped[uuid_pk]
    attempt_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("quiz_attempts.id", ondelete="CASCADE")
    )
    question_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("quiz_questions.id", ondelete="CASCADE")
    )
    user_answer: Mapped[str] = mapped_column(Text)
    is_correct: Mapped[bool | None] = mapped_column(Boolean)
    points_earned: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[timestamp_now]


class CourseEnrollment(Base):
    __tablename__ = "course_enrollments"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        _one_of("status", "enrolled", "in_progress", "completed", "dropped"),
        _one_of("enrollment_type", "free", "paid", "promotional", "gifted"),
        _between("progress_percent", 0, 100),
        Index("course_enrollments_idx_user_id", "user_id"),
        Index("course_enrollments_idx_course_id", "course_id"),
        Index("course_enrollments_idx_status", "status"),
        Index("course_enrollments_idx_progress", "progress_percent"),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE")
    )
    course_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("courses.id", ondelete="CASCADE")
    )
    status: Mapped[str | None] = mapped_column(String(20))
    progress_percent: Mapped[counter]
    lessons_completed: Mapped[counter]
    completion_date: Mapped[timestamp]
    certificate_url: Mapped[str | None] = mapped_column(String(500))
    enrollment_type: Mapped[str | None] = mapped_column(String(20))
    amount_paid: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    enrolled_at: Mapped[timestamp_now]
    last_accessed_at: Mapped[timestamp]


class LessonProgress(Base):
    __tablename__ = "lesson_progress"
    __table_args__ = (
        UniqueConstraint("user_id", "lesson_id"),
        _one_of("status", "not_started", "in_progress", "completed"),
        Index("lesson_progress_idx_user_id", "user_id"),
        Index("lesson_progress_idx_lesson_id", "lesson_id"),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE")
    )
    lesson_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("course_lessons.id", ondelete="CASCADE")
    )
    status: Mapped[str | None] = mapped_column(String(20))
    completion_date: Mapped[timestamp]
    time_spent_seconds: Mapped[counter]
    video_progress_percent: Mapped[int | None] = mapped_column(Integer)
    last_watched_at: Mapped[timestamp]
    created_at: Mapped[timestamp_now]
    updated_at: Mapped[timestamp_now]


class Badge(Base):
    __tablename__ = "badges"
    __table_args__ = (
        UniqueConstraint("name"),
        _one_of("category", "completion", "achievement", "streak", "milestone", "special"),
        Index("badges_idx_category", "category"),
        Index("badges_idx_requirement", "requirement_type"),
    )

    id: Mapped[uuid_pk]
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    icon_emoji: Mapped[str | None] = mapped_column(String(10))
    icon_url: Mapped[str | None] = mapped_column(String(500))
    category: Mapped[str | None] = mapped_column(String(50))
    requirement_type: Mapped[str] = mapped_column(String(50))
    requirement_value: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[timestamp_now]


class UserBadge(Base):
    __tablename__ = "user_badges"
    __table_args__ = (
        UniqueConstraint("user_id", "badge_id"),
        Index("user_badges_idx_user_id", "user_id"),
        Index("user_badges_idx_badge_id", "badge_id"),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE")
    )
    badge_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("badges.id", ondelete="CASCADE")
    )
    earned_at: Mapped[timestamp_now]


class LearningRoadmap(Base):
    __tablename__ = "learning_roadmaps"
    __table_args__ = (
        _one_of("difficulty", "beginner", "intermediate", "advanced"),
        Index("learning_roadmaps_idx_difficulty", "difficulty"),
        Index("learning_roadmaps_idx_published", "is_published"),
    )

    id: Mapped[uuid_pk]
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text)
    difficulty: Mapped[str | None] = mapped_column(String(20))
    goal: Mapped[str] = mapped_column(Text)
    estimated_hours: Mapped[int | None] = mapped_column(Integer)
    icon_emoji: Mapped[str | None] = mapped_column(String(10))
    icon_url: Mapped[str | None] = mapped_column(String(500))
    is_published: Mapped[bool | None] = mapped_column(Boolean, server_default=text("false"))
    view_count: Mapped[counter]
    created_at: Mapped[timestamp_now]
    updated_at: Mapped[timestamp_now]


class RoadmapMilestone(Base):
    __tablename__ = "roadmap_milestones"
    __table_args__ = (
        Index("roadmap_milestones_idx_roadmap_id", "roadmap_id"),
        Index("roadmap_milestones_idx_order", "roadmap_id", "order_index"),
    )

    id: Mapped[uuid_pk]
    roadmap_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("learning_roadmaps.id", ondelete="CASCADE")
    )
    order_index: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    course_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("courses.id", ondelete="SET NULL")
    )
    is_completed: Mapped[bool | None] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[timestamp_now]
    updated_at: Mapped[timestamp_now]


class UserRoadmapProgress(Base):
    __tablename__ = "user_roadmap_progress"
    __table_args__ = (
        UniqueConstraint("user_id", "roadmap_id"),
        _between("progress_percent", 0, 100),
        Index("user_roadmap_progress_idx_user_id", "user_id"),
        Index("user_roadmap_progress_idx_roadmap_id", "roadmap_id"),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE")
    )
    roadmap_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("learning_roadmaps.id", ondelete="CASCADE")
    )
    progress_percent: Mapped[counter]
    completed_milestones: Mapped[counter]
    started_at: Mapped[timestamp_now]
    completed_at: Mapped[timestamp]


class CoursePurchase(Base):
    __tablename__ = "course_purchases"
    __table_args__ = (
        _one_of("payment_status", "pending", "success", "failed", "refunded"),
        Index("course_purchases_idx_user_id", "user_id"),
        Index("course_purchases_idx_course_id", "course_id"),
        Index("course_purchases_idx_payment_status", "payment_status"),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE")
    )
    # SET NULL: the money record outlives a deleted course.
    course_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("courses.id", ondelete="SET NULL")
    )
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    currency: Mapped[str | None] = mapped_column(String(10), server_default=text("'INR'"))
    discount_amount: Mapped[Decimal | None] = mapped_column(
        Numeric(10, 2), server_default=text("0")
    )
    final_amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    # card | upi | netbanking | wallet in the spec, but as examples: gateways add methods.
    payment_method: Mapped[str | None] = mapped_column(String(50))
    payment_status: Mapped[str | None] = mapped_column(String(20))
    payment_id: Mapped[str | None] = mapped_column(String(100))
    purchased_at: Mapped[timestamp_now]
    refunded_at: Mapped[timestamp]


class UserLearningStats(Base):
    __tablename__ = "user_learning_stats"
    # The unique constraint's index is the spec's idx_user_id (UNIQUE).
    __table_args__ = (UniqueConstraint("user_id"),)

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE")
    )
    total_courses_enrolled: Mapped[counter]
    total_courses_completed: Mapped[counter]
    total_learning_hours: Mapped[Decimal | None] = mapped_column(
        Numeric(10, 2), server_default=text("0")
    )
    total_badges_earned: Mapped[counter]
    current_streak_days: Mapped[counter]
    longest_streak_days: Mapped[counter]
    total_points: Mapped[counter]
    last_activity_date: Mapped[timestamp]
    created_at: Mapped[timestamp_now]
    updated_at: Mapped[timestamp_now]
