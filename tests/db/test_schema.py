"""The learning schema as Alembic builds it, checked against spec/learn-schema.md.

The catalogue tests pin what `alembic check` cannot see (CHECK constraints, ON
DELETE actions, generated columns, index methods, triggers); the behaviour tests
insert real rows.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import DateTime, String, delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

import db.models.learn as learn
from db.models.base import Base
from db.models.learn import Course, CourseEnrollment, search_query

pytestmark = pytest.mark.db

CHECK_VIOLATION = "23514"
UNIQUE_VIOLATION = "23505"

MODELS: dict[str, Any] = {
    model.__tablename__: model for model in (getattr(learn, name) for name in learn.__all__)
}
LEARN_TABLES = sorted(MODELS)

# The spec's columns, in its order: name, type, NOT NULL if the spec says so, default.
SPEC_COLUMNS = {
    "users": """
        id                  uuid          NOT NULL  gen_random_uuid()
        display_name        varchar(255)
        preferred_language  varchar(2)    NOT NULL  'en'
        role                varchar(20)   NOT NULL  'farmer'
        timezone            varchar(64)   NOT NULL  'Asia/Kolkata'
        consent_status      varchar(20)   NOT NULL  'opted_in'
        consent_changed_at  timestamptz
        leaderboard_visible boolean       NOT NULL  true
        created_at          timestamptz   NOT NULL  now()
        updated_at          timestamptz   NOT NULL  now()
    """,
    "courses": """
        id                  uuid          NOT NULL  gen_random_uuid()
        title               varchar(255)  NOT NULL
        description         text          NOT NULL
        category            varchar(50)   NOT NULL
        level               varchar(20)   NOT NULL
        duration            varchar(50)
        lessons             integer
        thumbnail_emoji     varchar(10)
        thumbnail_url       varchar(500)
        language            varchar(100)            'English'
        rating              numeric(3,1)            4.5
        enrolled_count      integer                 0
        price               numeric(10,2)           0
        currency            varchar(10)             'INR'
        discount_percent    integer                 0
        instructor_id       uuid
        instructor_name     varchar(255)
        instructor_bio      text
        instructor_avatar   varchar(500)
        is_published        boolean                 false
        is_archived         boolean                 false
        view_count          integer                 0
        completion_rate     numeric(5,2)            0
        created_at          timestamp               now()
        updated_at          timestamp               now()
        published_at        timestamp
        search_vector       tsvector                GENERATED
    """,
    "course_lessons": """
        id                  uuid          NOT NULL  gen_random_uuid()
        course_id           uuid
        title               varchar(255)  NOT NULL
        description         text
        order_index         integer       NOT NULL
        duration            varchar(50)
        content_type        varchar(20)
        content_url         varchar(500)
        is_preview          boolean                 false
        created_at          timestamp               now()
        updated_at          timestamp               now()
    """,
    "articles": """
        id                  uuid          NOT NULL  gen_random_uuid()
        title               varchar(255)  NOT NULL
        excerpt             text          NOT NULL
        content             text          NOT NULL
        category            varchar(50)   NOT NULL
        author_id           uuid
        author_name         varchar(255)
        author_avatar       varchar(500)
        read_time_minutes   integer
        language            varchar(100)            'English'
        source_type         varchar(20)
        source_url          varchar(500)
        source_title        varchar(255)
        thumbnail_url       varchar(500)
        thumbnail_emoji     varchar(10)
        view_count          integer                 0
        like_count          integer                 0
        is_published        boolean                 true
        is_featured         boolean                 false
        created_at          timestamp               now()
        updated_at          timestamp               now()
        published_at        timestamp
        search_vector       tsvector                GENERATED
    """,
    "videos": """
        id                  uuid          NOT NULL  gen_random_uuid()
        title               varchar(255)  NOT NULL
        description         text
        category            varchar(50)   NOT NULL
        duration_seconds    integer
        video_type          varchar(20)
        video_url           varchar(500)  NOT NULL
        video_id            varchar(100)
        thumbnail_url       varchar(500)
        thumbnail_emoji     varchar(10)
        creator_id          uuid
        creator_name        varchar(255)
        creator_avatar      varchar(500)
        language            varchar(100)            'English'
        skill_level         varchar(20)
        transcript          text
        is_published        boolean                 true
        view_count          integer                 0
        like_count          integer                 0
        is_featured         boolean                 false
        created_at          timestamp               now()
        updated_at          timestamp               now()
        published_at        timestamp
        search_vector       tsvector                GENERATED
    """,
    "quizzes": """
        id                  uuid          NOT NULL  gen_random_uuid()
        course_id           uuid
        lesson_id           uuid
        title               varchar(255)  NOT NULL
        description         text
        passing_score       integer                 70
        time_limit_minutes  integer
        shuffle_questions   boolean                 false
        show_correct_answer boolean                 true
        order_index         integer
        is_required         boolean                 true
        created_at          timestamp               now()
        updated_at          timestamp               now()
    """,
    "quiz_questions": """
        id                  uuid          NOT NULL  gen_random_uuid()
        quiz_id             uuid
        question_type       varchar(20)
        question_text       text          NOT NULL
        options             jsonb
        points              integer                 1
        order_index         integer
        explanation         text
        difficulty          varchar(20)             'medium'
        created_at          timestamp               now()
        updated_at          timestamp               now()
    """,
    "quiz_attempts": """
        id                  uuid          NOT NULL  gen_random_uuid()
        user_id             uuid
        quiz_id             uuid
        score               integer
        percentage          numeric(5,2)
        passed              boolean
        time_spent_seconds  integer
        attempt_number      integer                 1
        created_at          timestamp               now()
    """,
    "quiz_answers": """
        id                  uuid          NOT NULL  gen_random_uuid()
        attempt_id          uuid
        question_id         uuid
        user_answer         text          NOT NULL
        is_correct          boolean
        points_earned       integer
        created_at          timestamp               now()
    """,
    "course_enrollments": """
        id                  uuid          NOT NULL  gen_random_uuid()
        user_id             uuid
        course_id           uuid
        status              varchar(20)
        progress_percent    integer                 0
        lessons_completed   integer                 0
        completion_date     timestamp
        certificate_url     varchar(500)
        enrollment_type     varchar(20)
        amount_paid         numeric(10,2)
        enrolled_at         timestamp               now()
        last_accessed_at    timestamp
    """,
    "lesson_progress": """
        id                  uuid          NOT NULL  gen_random_uuid()
        user_id             uuid
        lesson_id           uuid
        status              varchar(20)
        completion_date     timestamp
        time_spent_seconds  integer                 0
        video_progress_percent integer
        last_watched_at     timestamp
        created_at          timestamp               now()
        updated_at          timestamp               now()
    """,
    "badges": """
        id                  uuid          NOT NULL  gen_random_uuid()
        name                varchar(255)  NOT NULL
        description         text          NOT NULL
        icon_emoji          varchar(10)
        icon_url            varchar(500)
        category            varchar(50)
        requirement_type    varchar(50)   NOT NULL
        requirement_value   integer
        created_at          timestamp               now()
    """,
    "user_badges": """
        id                  uuid          NOT NULL  gen_random_uuid()
        user_id             uuid
        badge_id            uuid
        earned_at           timestamp               now()
    """,
    "learning_roadmaps": """
        id                  uuid          NOT NULL  gen_random_uuid()
        title               varchar(255)  NOT NULL
        description         text          NOT NULL
        difficulty          varchar(20)
        goal                text          NOT NULL
        estimated_hours     integer
        icon_emoji          varchar(10)
        icon_url            varchar(500)
        is_published        boolean                 false
        view_count          integer                 0
        created_at          timestamp               now()
        updated_at          timestamp               now()
    """,
    "roadmap_milestones": """
        id                  uuid          NOT NULL  gen_random_uuid()
        roadmap_id          uuid
        order_index         integer       NOT NULL
        title               varchar(255)  NOT NULL
        description         text
        course_id           uuid
        is_completed        boolean                 false
        created_at          timestamp               now()
        updated_at          timestamp               now()
    """,
    "user_roadmap_progress": """
        id                  uuid          NOT NULL  gen_random_uuid()
        user_id             uuid
        roadmap_id          uuid
        progress_percent    integer                 0
        completed_milestones integer                0
        started_at          timestamp               now()
        completed_at        timestamp
    """,
    "course_purchases": """
        id                  uuid          NOT NULL  gen_random_uuid()
        user_id             uuid
        course_id           uuid
        amount              numeric(10,2) NOT NULL
        currency            varchar(10)             'INR'
        discount_amount     numeric(10,2)           0
        final_amount        numeric(10,2) NOT NULL
        payment_method      varchar(50)
        payment_status      varchar(20)
        payment_id          varchar(100)
        purchased_at        timestamp               now()
        refunded_at         timestamp
    """,
    "user_learning_stats": """
        id                  uuid          NOT NULL  gen_random_uuid()
        user_id             uuid
        total_courses_enrolled integer              0
        total_courses_completed integer             0
        total_learning_hours numeric(10,2)          0
        total_badges_earned integer                 0
        current_streak_days integer                 0
        longest_streak_days integer                 0
        total_points        integer                 0
        last_activity_date  timestamp
        created_at          timestamp               now()
        updated_at          timestamp               now()
    """,
}

# (table, column) -> (referenced table, ON DELETE action).
FOREIGN_KEYS = {
    ("courses", "instructor_id"): ("users", "SET NULL"),
    ("course_lessons", "course_id"): ("courses", "CASCADE"),
    ("articles", "author_id"): ("users", "SET NULL"),
    ("videos", "creator_id"): ("users", "SET NULL"),
    ("quizzes", "course_id"): ("courses", "CASCADE"),
    ("quizzes", "lesson_id"): ("course_lessons", "SET NULL"),
    ("quiz_questions", "quiz_id"): ("quizzes", "CASCADE"),
    ("quiz_attempts", "user_id"): ("users", "CASCADE"),
    ("quiz_attempts", "quiz_id"): ("quizzes", "CASCADE"),
    ("quiz_answers", "attempt_id"): ("quiz_attempts", "CASCADE"),
    ("quiz_answers", "question_id"): ("quiz_questions", "CASCADE"),
    ("course_enrollments", "user_id"): ("users", "CASCADE"),
    ("course_enrollments", "course_id"): ("courses", "CASCADE"),
    ("lesson_progress", "user_id"): ("users", "CASCADE"),
    ("lesson_progress", "lesson_id"): ("course_lessons", "CASCADE"),
    ("user_badges", "user_id"): ("users", "CASCADE"),
    ("user_badges", "badge_id"): ("badges", "CASCADE"),
    ("roadmap_milestones", "roadmap_id"): ("learning_roadmaps", "CASCADE"),
    ("roadmap_milestones", "course_id"): ("courses", "SET NULL"),
    ("user_roadmap_progress", "user_id"): ("users", "CASCADE"),
    ("user_roadmap_progress", "roadmap_id"): ("learning_roadmaps", "CASCADE"),
    ("course_purchases", "user_id"): ("users", "CASCADE"),
    ("course_purchases", "course_id"): ("courses", "SET NULL"),
    ("user_learning_stats", "user_id"): ("users", "CASCADE"),
}

UNIQUE_CONSTRAINTS = {
    "uq_course_enrollments_user_id_course_id": ("course_enrollments", ("user_id", "course_id")),
    "uq_lesson_progress_user_id_lesson_id": ("lesson_progress", ("user_id", "lesson_id")),
    "uq_user_badges_user_id_badge_id": ("user_badges", ("user_id", "badge_id")),
    "uq_user_roadmap_progress_user_id_roadmap_id": (
        "user_roadmap_progress",
        ("user_id", "roadmap_id"),
    ),
    "uq_badges_name": ("badges", ("name",)),
    "uq_user_learning_stats_user_id": ("user_learning_stats", ("user_id",)),
}

# (table, column) -> the values the spec lists; anything else is refused.
LISTED_VALUES = {
    ("users", "preferred_language"): ("en", "hi", "mr"),
    ("users", "role"): ("farmer", "instructor", "admin"),
    ("users", "consent_status"): ("opted_in", "opted_out"),
    ("courses", "level"): ("beginner", "intermediate", "advanced"),
    ("course_lessons", "content_type"): ("video", "text", "quiz", "assignment"),
    ("articles", "source_type"): ("internal", "external", "scraped"),
    ("videos", "video_type"): ("youtube", "vimeo", "self_hosted", "aws_s3"),
    ("quiz_questions", "question_type"): (
        "multiple_choice",
        "true_false",
        "short_answer",
        "essay",
    ),
    ("quiz_questions", "difficulty"): ("easy", "medium", "hard"),
    ("course_enrollments", "status"): ("enrolled", "in_progress", "completed", "dropped"),
    ("course_enrollments", "enrollment_type"): ("free", "paid", "promotional", "gifted"),
    ("lesson_progress", "status"): ("not_started", "in_progress", "completed"),
    ("badges", "category"): ("completion", "achievement", "streak", "milestone", "special"),
    ("learning_roadmaps", "difficulty"): ("beginner", "intermediate", "advanced"),
    ("course_purchases", "payment_status"): ("pending", "success", "failed", "refunded"),
}

# (table, column) -> (lowest, highest, smallest step the column stores).
RANGES: dict[tuple[str, str], tuple[Any, Any, Any]] = {
    ("courses", "rating"): (Decimal(0), Decimal(5), Decimal("0.1")),
    ("courses", "discount_percent"): (0, 100, 1),
    ("quizzes", "passing_score"): (0, 100, 1),
    ("quiz_attempts", "percentage"): (Decimal(0), Decimal(100), Decimal("0.01")),
    ("course_enrollments", "progress_percent"): (0, 100, 1),
    ("user_roadmap_progress", "progress_percent"): (0, 100, 1),
}

INDEXES = {
    "courses_idx_category": "courses USING btree (category)",
    "courses_idx_level": "courses USING btree (level)",
    "courses_idx_published": "courses USING btree (is_published)",
    "courses_idx_price": "courses USING btree (price)",
    "courses_idx_search": "courses USING gin (search_vector)",
    "course_lessons_idx_course_id": "course_lessons USING btree (course_id)",
    "course_lessons_idx_order": "course_lessons USING btree (course_id, order_index)",
    "articles_idx_category": "articles USING btree (category)",
    "articles_idx_published": "articles USING btree (is_published)",
    "articles_idx_featured": "articles USING btree (is_featured)",
    "articles_idx_search": "articles USING gin (search_vector)",
    "videos_idx_category": "videos USING btree (category)",
    "videos_idx_video_type": "videos USING btree (video_type)",
    "videos_idx_published": "videos USING btree (is_published)",
    "videos_idx_featured": "videos USING btree (is_featured)",
    "videos_idx_search": "videos USING gin (search_vector)",
    "quizzes_idx_course_id": "quizzes USING btree (course_id)",
    "quizzes_idx_lesson_id": "quizzes USING btree (lesson_id)",
    "quiz_questions_idx_quiz_id": "quiz_questions USING btree (quiz_id)",
    "quiz_attempts_idx_user_id": "quiz_attempts USING btree (user_id)",
    "quiz_attempts_idx_quiz_id": "quiz_attempts USING btree (quiz_id)",
    "quiz_attempts_idx_passed": "quiz_attempts USING btree (passed)",
    "quiz_answers_idx_attempt_id": "quiz_answers USING btree (attempt_id)",
    "quiz_answers_idx_question_id": "quiz_answers USING btree (question_id)",
    "course_enrollments_idx_user_id": "course_enrollments USING btree (user_id)",
    "course_enrollments_idx_course_id": "course_enrollments USING btree (course_id)",
    "course_enrollments_idx_status": "course_enrollments USING btree (status)",
    "course_enrollments_idx_progress": "course_enrollments USING btree (progress_percent)",
    "lesson_progress_idx_user_id": "lesson_progress USING btree (user_id)",
    "lesson_progress_idx_lesson_id": "lesson_progress USING btree (lesson_id)",
    "badges_idx_category": "badges USING btree (category)",
    "badges_idx_requirement": "badges USING btree (requirement_type)",
    "user_badges_idx_user_id": "user_badges USING btree (user_id)",
    "user_badges_idx_badge_id": "user_badges USING btree (badge_id)",
    "learning_roadmaps_idx_difficulty": "learning_roadmaps USING btree (difficulty)",
    "learning_roadmaps_idx_published": "learning_roadmaps USING btree (is_published)",
    "roadmap_milestones_idx_roadmap_id": "roadmap_milestones USING btree (roadmap_id)",
    "roadmap_milestones_idx_order": "roadmap_milestones USING btree (roadmap_id, order_index)",
    "user_roadmap_progress_idx_user_id": "user_roadmap_progress USING btree (user_id)",
    "user_roadmap_progress_idx_roadmap_id": "user_roadmap_progress USING btree (roadmap_id)",
    "course_purchases_idx_user_id": "course_purchases USING btree (user_id)",
    "course_purchases_idx_course_id": "course_purchases USING btree (course_id)",
    "course_purchases_idx_payment_status": "course_purchases USING btree (payment_status)",
}

UPDATED_AT_TABLES = sorted(
    name for name in LEARN_TABLES if "updated_at" in Base.metadata.tables[name].c
)

# The fewest values each table needs; foreign keys are filled in by make().
REQUIRED_VALUES: dict[str, Callable[[], dict[str, Any]]] = {
    "users": dict,
    "courses": lambda: {
        "title": "Soil testing at home",
        "description": "Read a soil health card.",
        "category": "soil-health",
        "level": "beginner",
    },
    "course_lessons": lambda: {"title": "Taking a sample", "order_index": 1},
    "articles": lambda: {
        "title": "Neem oil",
        "excerpt": "A cheap pest spray.",
        "content": "Mix neem oil with soap and water.",
        "category": "pest-control",
    },
    "videos": lambda: {
        "title": "Mulching",
        "category": "soil-health",
        "video_url": "https://www.youtube.com/watch?v=abc",
    },
    "quizzes": lambda: {"title": "Soil quiz"},
    "quiz_questions": lambda: {"question_text": "What is the ideal soil pH for wheat?"},
    "quiz_attempts": dict,
    "quiz_answers": lambda: {"user_answer": "6.5"},
    "course_enrollments": dict,
    "lesson_progress": dict,
    "badges": lambda: {
        "name": f"Badge {uuid.uuid4().hex[:8]}",
        "description": "Finished a course.",
        "requirement_type": "courses_completed",
    },
    "user_badges": dict,
    "learning_roadmaps": lambda: {
        "title": "Master smart irrigation",
        "description": "From canal to drip.",
        "goal": "Irrigate with half the water.",
    },
    "roadmap_milestones": lambda: {"order_index": 1, "title": "Drip basics"},
    "user_roadmap_progress": dict,
    "course_purchases": lambda: {"amount": Decimal("499.00"), "final_amount": Decimal("449.10")},
    "user_learning_stats": dict,
}


async def make(db: AsyncSession, table_name: str, **values: Any) -> uuid.UUID:
    """Insert one valid row, with a fresh parent row for each foreign key not given."""
    for (child, column), (parent, _) in FOREIGN_KEYS.items():
        if child == table_name and column not in values:
            values[column] = await make(db, parent)
    table = Base.metadata.tables[table_name]
    row = {**REQUIRED_VALUES[table_name](), **values}
    result = await db.execute(insert(table).values(**row).returning(table.c.id))
    return uuid.UUID(str(result.scalar_one()))


def violation(error: IntegrityError) -> tuple[str | None, str | None]:
    """The SQLSTATE and constraint name behind an IntegrityError."""
    cause = error.orig.__cause__ if error.orig is not None else None
    return getattr(cause, "sqlstate", None), getattr(cause, "constraint_name", None)


async def refused(db: AsyncSession, table_name: str, **values: Any) -> tuple[str | None, ...]:
    """Try to insert the row in a savepoint; return why PostgreSQL refused it."""
    with pytest.raises(IntegrityError) as error:
        async with db.begin_nested():
            await make(db, table_name, **values)
    return violation(error.value)


# ---------------------------------------------------------------- catalogue


def _column_type(row: Any) -> str:
    if row.data_type == "character varying":
        return f"varchar({row.character_maximum_length})"
    if row.data_type == "numeric":
        return f"numeric({row.numeric_precision},{row.numeric_scale})"
    short = {
        "timestamp without time zone": "timestamp",
        "timestamp with time zone": "timestamptz",
    }
    return short.get(row.data_type, str(row.data_type))


def _column_default(row: Any) -> str:
    if row.is_generated == "ALWAYS":
        return "GENERATED"
    # 'English'::character varying -> 'English'
    return re.sub(r"::[a-z ]+$", "", row.column_default or "")


def _spec_columns(table_name: str) -> list[tuple[str, str, str, str]]:
    columns = []
    for line in SPEC_COLUMNS[table_name].strip().splitlines():
        match = re.fullmatch(r"(\w+)\s+(\S+)\s*(NOT NULL)?\s*(.*)", line.strip())
        assert match, line
        name, type_, not_null, default = match.groups()
        columns.append((name, type_, "NOT NULL" if not_null else "NULL", default))
    return columns


async def test_the_spec_covers_every_model() -> None:
    assert sorted(SPEC_COLUMNS) == LEARN_TABLES


@pytest.mark.parametrize("table_name", sorted(SPEC_COLUMNS))
async def test_columns_match_the_spec(db: AsyncSession, table_name: str) -> None:
    rows = await db.execute(
        text(
            "SELECT column_name, data_type, character_maximum_length, numeric_precision,"
            " numeric_scale, is_nullable, column_default, is_generated"
            " FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = :table"
            " ORDER BY ordinal_position"
        ),
        {"table": table_name},
    )
    actual = [
        (
            row.column_name,
            _column_type(row),
            "NULL" if row.is_nullable == "YES" else "NOT NULL",
            _column_default(row),
        )
        for row in rows
    ]
    assert actual == _spec_columns(table_name)


async def test_foreign_keys_and_their_delete_actions(db: AsyncSession) -> None:
    rows = await db.execute(
        text(
            "SELECT conrelid::regclass::text AS table_name, pg_get_constraintdef(oid) AS definition"
            " FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(:tables)"
        ),
        {"tables": LEARN_TABLES},
    )
    expected = {
        (table, f"FOREIGN KEY ({column}) REFERENCES {parent}(id) ON DELETE {action}")
        for (table, column), (parent, action) in FOREIGN_KEYS.items()
    }
    assert {(row.table_name, row.definition) for row in rows} == expected


async def test_unique_constraints(db: AsyncSession) -> None:
    rows = await db.execute(
        text(
            "SELECT conname, conrelid::regclass::text AS table_name,"
            " pg_get_constraintdef(oid) AS definition"
            " FROM pg_constraint WHERE contype = 'u' AND conrelid::regclass::text = ANY(:tables)"
        ),
        {"tables": LEARN_TABLES},
    )
    expected = {
        (name, table, f"UNIQUE ({', '.join(columns)})")
        for name, (table, columns) in UNIQUE_CONSTRAINTS.items()
    }
    assert {(row.conname, row.table_name, row.definition) for row in rows} == expected


async def test_check_constraints_are_exactly_the_spec_lists_and_ranges(db: AsyncSession) -> None:
    rows = await db.execute(
        text(
            "SELECT conname FROM pg_constraint"
            " WHERE contype = 'c' AND conrelid::regclass::text = ANY(:tables)"
        ),
        {"tables": LEARN_TABLES},
    )
    expected = {f"ck_{table}_{column}" for table, column in (*LISTED_VALUES, *RANGES)}
    assert {row.conname for row in rows} == expected


async def test_indexes(db: AsyncSession) -> None:
    rows = await db.execute(
        text(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = current_schema() AND tablename = ANY(:tables)"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        ),
        {"tables": LEARN_TABLES},
    )
    actual = {}
    for row in rows:
        match = re.search(r" ON (?:\w+\.)?(\w+ USING .+)$", row.indexdef)
        assert match, row.indexdef
        actual[row.indexname] = match.group(1)
    assert actual == INDEXES


async def test_updated_at_triggers(db: AsyncSession) -> None:
    rows = await db.execute(
        text(
            "SELECT tgname, pg_get_triggerdef(oid) AS definition FROM pg_trigger"
            " WHERE NOT tgisinternal AND tgrelid::regclass::text = ANY(:tables)"
        ),
        {"tables": LEARN_TABLES},
    )
    actual = {row.tgname: re.sub(r" ON \w+\.", " ON ", row.definition) for row in rows}
    expected = {
        f"{table}_set_updated_at": f"CREATE TRIGGER {table}_set_updated_at BEFORE UPDATE"
        f" ON {table} FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        for table in UPDATED_AT_TABLES
    }
    # Search's own (migration 0011): they keep search_terms up with every write.
    searched = {
        name for name in actual if name.endswith(("_search_terms_written", "_search_terms_changed"))
    }
    assert searched == {
        f"{table}_search_terms_{when}"
        for table in ("courses", "articles", "videos", "course_lessons")
        for when in ("written", "changed")
    }
    assert {name: actual[name] for name in actual.keys() - searched} == expected


async def test_pg_trgm_is_installed(db: AsyncSession) -> None:
    installed = await db.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"))
    assert installed == 1


# ---------------------------------------------------------------- constraints


async def test_course_level_outside_the_list_is_refused(db: AsyncSession) -> None:
    with pytest.raises(IntegrityError) as error:
        async with db.begin_nested():
            db.add(
                Course(
                    title="Drip irrigation",
                    description="Save water.",
                    category="irrigation",
                    level="expert",
                )
            )
            await db.flush()
    assert violation(error.value) == (CHECK_VIOLATION, "ck_courses_level")


async def test_a_farmer_cannot_enroll_twice_in_one_course(db: AsyncSession) -> None:
    farmer = learn.User(display_name="Ramesh")
    course = Course(
        title="Drip irrigation", description="Save water.", category="irrigation", level="beginner"
    )
    db.add_all([farmer, course])
    await db.flush()
    db.add(CourseEnrollment(user_id=farmer.id, course_id=course.id, status="enrolled"))
    await db.flush()

    with pytest.raises(IntegrityError) as error:
        async with db.begin_nested():
            db.add(CourseEnrollment(user_id=farmer.id, course_id=course.id, status="enrolled"))
            await db.flush()
    assert violation(error.value) == (UNIQUE_VIOLATION, "uq_course_enrollments_user_id_course_id")

    enrollments = await db.scalar(select(func.count()).where(CourseEnrollment.user_id == farmer.id))
    assert enrollments == 1


async def test_a_farmer_cannot_earn_the_same_badge_twice(db: AsyncSession) -> None:
    farmer = await make(db, "users")
    badge = await make(db, "badges", name="First harvest")
    await make(db, "user_badges", user_id=farmer, badge_id=badge)

    assert await refused(db, "user_badges", user_id=farmer, badge_id=badge) == (
        UNIQUE_VIOLATION,
        "uq_user_badges_user_id_badge_id",
    )
    # A different farmer may still earn it.
    await make(db, "user_badges", badge_id=badge)


@pytest.mark.parametrize("constraint", sorted(UNIQUE_CONSTRAINTS))
async def test_unique_constraint_refuses_a_duplicate(db: AsyncSession, constraint: str) -> None:
    table_name, columns = UNIQUE_CONSTRAINTS[constraint]
    table = Base.metadata.tables[table_name]
    first = await make(db, table_name)
    row = (
        await db.execute(
            select(*(table.c[column] for column in columns)).where(table.c.id == first)
        )
    ).one()
    duplicate = dict(zip(columns, row, strict=True))
    assert await refused(db, table_name, **duplicate) == (UNIQUE_VIOLATION, constraint)


@pytest.mark.parametrize(("table_name", "column"), sorted(LISTED_VALUES))
async def test_every_listed_value_is_accepted(
    db: AsyncSession, table_name: str, column: str
) -> None:
    for value in LISTED_VALUES[table_name, column]:
        await make(db, table_name, **{column: value})


@pytest.mark.parametrize(("table_name", "column"), sorted(LISTED_VALUES))
async def test_a_value_outside_the_list_is_refused(
    db: AsyncSession, table_name: str, column: str
) -> None:
    listed = LISTED_VALUES[table_name, column]
    column_type = Base.metadata.tables[table_name].c[column].type
    assert isinstance(column_type, String)
    length = column_type.length
    # Each fits the column, so only the CHECK can refuse it.
    for value in ("unknown"[:length], listed[0].upper(), f" {listed[0]}"[:length]):
        assert value not in listed
        assert await refused(db, table_name, **{column: value}) == (
            CHECK_VIOLATION,
            f"ck_{table_name}_{column}",
        )


@pytest.mark.parametrize(("table_name", "column"), sorted(RANGES))
async def test_range_bounds_are_accepted_and_beyond_them_refused(
    db: AsyncSession, table_name: str, column: str
) -> None:
    low, high, step = RANGES[table_name, column]
    await make(db, table_name, **{column: low})
    await make(db, table_name, **{column: high})
    for value in (low - step, high + step):
        assert await refused(db, table_name, **{column: value}) == (
            CHECK_VIOLATION,
            f"ck_{table_name}_{column}",
        )


async def test_columns_the_spec_leaves_open_take_any_value(db: AsyncSession) -> None:
    await make(db, "videos", skill_level="Expert")
    await make(db, "courses", category="beekeeping")
    await make(db, "course_purchases", payment_method="cash_on_delivery")


# ---------------------------------------------------------------- foreign keys


@pytest.mark.parametrize(("table_name", "column"), sorted(FOREIGN_KEYS))
async def test_deleting_the_referenced_row(db: AsyncSession, table_name: str, column: str) -> None:
    parent_name, action = FOREIGN_KEYS[table_name, column]
    table = Base.metadata.tables[table_name]
    parent = Base.metadata.tables[parent_name]
    row_id = await make(db, table_name)
    parent_id = await db.scalar(select(table.c[column]).where(table.c.id == row_id))
    assert parent_id is not None

    await db.execute(delete(parent).where(parent.c.id == parent_id))

    left = (await db.execute(select(table.c[column]).where(table.c.id == row_id))).all()
    if action == "CASCADE":
        assert left == []
    else:
        assert [tuple(row) for row in left] == [(None,)]


async def test_deleting_a_course_keeps_its_purchases_and_roadmap_steps(db: AsyncSession) -> None:
    course = await make(db, "courses")
    lesson = await make(db, "course_lessons", course_id=course)
    quiz = await make(db, "quizzes", course_id=course, lesson_id=lesson)
    await make(db, "quiz_questions", quiz_id=quiz)
    await make(db, "course_enrollments", course_id=course)
    purchase = await make(db, "course_purchases", course_id=course)
    milestone = await make(db, "roadmap_milestones", course_id=course)

    await db.execute(delete(Course).where(Course.id == course))

    counts = await db.execute(
        text(
            "SELECT (SELECT count(*) FROM course_lessons WHERE id = :lesson) AS lessons,"
            " (SELECT count(*) FROM quizzes WHERE id = :quiz) AS quizzes,"
            " (SELECT count(*) FROM quiz_questions WHERE quiz_id = :quiz) AS questions,"
            " (SELECT count(*) FROM course_enrollments WHERE course_id = :course) AS enrollments,"
            " (SELECT course_id FROM course_purchases WHERE id = :purchase) AS purchase_course,"
            " (SELECT course_id FROM roadmap_milestones WHERE id = :milestone) AS milestone_course,"
            " (SELECT count(*) FROM course_purchases WHERE id = :purchase) AS purchases,"
            " (SELECT count(*) FROM roadmap_milestones WHERE id = :milestone) AS milestones"
        ),
        {
            "course": course,
            "lesson": lesson,
            "quiz": quiz,
            "purchase": purchase,
            "milestone": milestone,
        },
    )
    assert counts.one()._asdict() == {
        "lessons": 0,
        "quizzes": 0,
        "questions": 0,
        "enrollments": 0,
        "purchase_course": None,
        "milestone_course": None,
        "purchases": 1,
        "milestones": 1,
    }


# ---------------------------------------------------------------- updated_at


@pytest.mark.parametrize("table_name", UPDATED_AT_TABLES)
async def test_any_update_bumps_updated_at(db: AsyncSession, table_name: str) -> None:
    table = Base.metadata.tables[table_name]
    long_ago = dt.datetime(2000, 1, 1)
    column_type = table.c.updated_at.type
    assert isinstance(column_type, DateTime)
    if column_type.timezone:
        long_ago = long_ago.replace(tzinfo=dt.UTC)
    row_id = await make(db, table_name, updated_at=long_ago)
    assert await db.scalar(select(table.c.updated_at).where(table.c.id == row_id)) == long_ago

    # Even an UPDATE that sets nothing new counts as a change.
    await db.execute(text(f"UPDATE {table_name} SET id = id WHERE id = :id"), {"id": row_id})

    # now() is the transaction's start, and the naive columns hold it in the
    # session's UTC, so either kind of column compares equal to it.
    bumped = await db.scalar(
        text(f"SELECT updated_at::timestamptz = now() FROM {table_name} WHERE id = :id"),
        {"id": row_id},
    )
    assert bumped is True


async def test_updating_a_course_through_the_orm_bumps_updated_at(db: AsyncSession) -> None:
    course_id = await make(db, "courses", updated_at=dt.datetime(2000, 1, 1))
    course = await db.get_one(Course, course_id)
    course.title = "Drip irrigation, revised"
    await db.flush()
    await db.refresh(course, ["updated_at", "created_at"])
    assert course.updated_at is not None and course.created_at is not None
    assert course.updated_at == course.created_at  # both the transaction's now()


# ---------------------------------------------------------------- search

# Spelled with escapes where the code points matter. "For farmers" in Marathi, its
# eyelash RA typed as RRA + virama, or as RA + virama + ZWJ.
ZWJ = "\u200d"
FARMERS_EYELASH_RRA = "शेतक\u0931\u094d\u092f\u093e\u0902\u0938\u093e\u0920\u0940"
FARMERS_RA_ZWJ = "शेतक\u0930\u094d\u200d\u092f\u093e\u0902\u0938\u093e\u0920\u0940"
CROP_DECOMPOSED = "\u092b\u093c\u0938\u0932"  # फ + nukta + सल
CROP_PRECOMPOSED = "\u095e\u0938\u0932"  # फ़ as one code point + सल


@pytest.fixture
async def catalogue(db: AsyncSession) -> dict[str, uuid.UUID]:
    """Hindi, Marathi and English courses, articles and videos to search."""
    return {
        "hindi course": await make(
            db,
            "courses",
            title="ड्रिप सिंचाई से पानी की बचत",
            description=f"कम पानी में ज़्यादा {CROP_DECOMPOSED}",
        ),
        "marathi course": await make(
            db,
            "courses",
            title="ठिबक सिंचन",
            description=f"{FARMERS_RA_ZWJ} पाण्याची बचत",
        ),
        "english course": await make(
            db, "courses", title="Drip irrigation", description="Save water on every acre"
        ),
        "hindi article": await make(
            db,
            "articles",
            title="कीट नियंत्रण",
            excerpt="नीम का तेल",
            content="शाम को नीम के तेल का छिड़काव करें",
        ),
        "english article": await make(
            db,
            "articles",
            title="Pest control",
            excerpt="Neem oil",
            content="Spray neem oil in the evening",
        ),
        "marathi video": await make(
            db,
            "videos",
            title="गांडूळ खत",
            description="घरच्या घरी गांडूळ खत कसे बनवावे",
        ),
        "english video": await make(
            db,
            "videos",
            title="Vermicompost at home",
            description="Turn kitchen waste into compost",
        ),
    }


SEARCHES = [
    ("courses", "सिंचाई", {"hindi course"}),
    ("courses", "ड्रिप", {"hindi course"}),
    ("courses", "बचत", {"hindi course", "marathi course"}),
    ("courses", "सिंचन", {"marathi course"}),
    ("courses", "पाण्याची", {"marathi course"}),
    ("courses", "irrigation", {"english course"}),
    ("courses", "IRRIGATION", {"english course"}),
    ("courses", "drip irrigation", {"english course"}),
    ("courses", "water", {"english course"}),
    ("articles", "छिड़काव", {"hindi article"}),
    ("articles", "नियंत्रण", {"hindi article"}),
    ("articles", "नीम", {"hindi article"}),
    ("articles", "neem", {"english article"}),
    ("articles", "evening", {"english article"}),
    ("videos", "गांडूळ", {"marathi video"}),
    ("videos", "बनवावे", {"marathi video"}),
    ("videos", "compost", {"english video"}),
    ("videos", "Vermicompost", {"english video"}),
]

# Words typed another way than they were stored: only search_query() folds them.
VARIANT_SEARCHES = [
    ("courses", FARMERS_EYELASH_RRA, {"marathi course"}),
    ("courses", FARMERS_RA_ZWJ, {"marathi course"}),
    ("courses", CROP_PRECOMPOSED, {"hindi course"}),
    ("courses", CROP_DECOMPOSED, {"hindi course"}),
]


def _found(rows: Any, catalogue: dict[str, uuid.UUID]) -> set[str]:
    names = {row_id: name for name, row_id in catalogue.items()}
    return {names[row.id] for row in rows if row.id in names}


@pytest.mark.parametrize(("table_name", "words", "expected"), SEARCHES)
async def test_plain_full_text_search_finds_devanagari_and_english_words(
    db: AsyncSession,
    catalogue: dict[str, uuid.UUID],
    table_name: str,
    words: str,
    expected: set[str],
) -> None:
    rows = await db.execute(
        text(
            f"SELECT id FROM {table_name} WHERE search_vector @@ plainto_tsquery('simple', :words)"
        ),
        {"words": words},
    )
    assert _found(rows, catalogue) == expected


@pytest.mark.parametrize(("table_name", "words", "expected"), SEARCHES + VARIANT_SEARCHES)
async def test_search_query_finds_words_however_they_were_typed(
    db: AsyncSession,
    catalogue: dict[str, uuid.UUID],
    table_name: str,
    words: str,
    expected: set[str],
) -> None:
    model = MODELS[table_name]
    rows = await db.execute(
        select(model.id).where(model.search_vector.bool_op("@@")(search_query(words)))
    )
    assert _found(rows, catalogue) == expected


async def test_devanagari_words_stay_whole(db: AsyncSession) -> None:
    # Vowel signs, virama, nukta, anusvara, chandrabindu, visarga, conjuncts and ZWJ.
    words = [
        "ड्रिप",
        "सिंचाई",
        FARMERS_EYELASH_RRA,
        "ठिबक",
        CROP_DECOMPOSED,
        "कृषि",
        "गेहूँ",
        "दुःख",
        "छिड़काव",
        "ज्ञान",
        "श्री",
        "ऑक्सिजन",
        f"क्{ZWJ}ष",
    ]
    lexemes = await db.scalar(
        text("SELECT tsvector_to_array(to_tsvector('simple', searchable_text(:sentence)))"),
        {"sentence": " ".join(words)},
    )
    expected = [unicodedata.normalize("NFC", word) for word in [*words[:-1], "क्ष"]]
    assert sorted(lexemes) == sorted(expected)
