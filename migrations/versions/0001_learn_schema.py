"""Learning schema of spec/learn-schema.md, plus users.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table with an updated_at column. A trigger, not the ORM, keeps it current,
# so bulk UPDATEs and hand-run SQL bump it too.
UPDATED_AT_TABLES = (
    "users",
    "courses",
    "course_lessons",
    "articles",
    "videos",
    "quizzes",
    "quiz_questions",
    "lesson_progress",
    "learning_roadmaps",
    "roadmap_milestones",
    "user_learning_stats",
)

# Tables in an order where every foreign key points backwards, so the downgrade can
# drop them in reverse.
TABLES = (
    "users",
    "courses",
    "course_lessons",
    "articles",
    "videos",
    "quizzes",
    "quiz_questions",
    "quiz_attempts",
    "quiz_answers",
    "course_enrollments",
    "lesson_progress",
    "badges",
    "user_badges",
    "learning_roadmaps",
    "roadmap_milestones",
    "user_roadmap_progress",
    "course_purchases",
    "user_learning_stats",
)


def upgrade() -> None:
    # Later features rely on trigram matching. pg_trgm is a trusted extension, so
    # the migration role needs no superuser.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        """
        CREATE FUNCTION set_updated_at() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            NEW.updated_at := now();
            RETURN NEW;
        END
        $$
        """
    )

    # Applied to the stored search vectors and to farmers' queries alike
    # (db.models.learn.search_query), so both sides split into the same words:
    # - eyelash RA is typed both as RA+virama+ZWJ and as RRA+virama: keep the latter;
    # - other ZWJ/ZWNJ only steer glyph shaping, and PostgreSQL 15's parser splits a
    #   word at them under a UTF-8 libc ctype: drop them;
    # - NFC folds precomposed and decomposed nukta letters together.
    op.execute(
        r"""
        CREATE FUNCTION searchable_text(raw text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        RETURN normalize(
            translate(replace(raw, E'\u0930\u094D\u200D', E'\u0931\u094D'), E'\u200C\u200D', ''),
            NFC
        )
        """
    )

    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column(
            "preferred_language",
            sa.String(length=2),
            server_default=sa.text("'en'"),
            nullable=False,
        ),
        sa.Column("role", sa.String(length=20), server_default=sa.text("'farmer'"), nullable=False),
        sa.Column(
            "timezone",
            sa.String(length=64),
            server_default=sa.text("'Asia/Kolkata'"),
            nullable=False,
        ),
        sa.Column(
            "consent_status",
            sa.String(length=20),
            server_default=sa.text("'opted_in'"),
            nullable=False,
        ),
        sa.Column("consent_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "leaderboard_visible", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "consent_status IN ('opted_in', 'opted_out')", name=op.f("ck_users_consent_status")
        ),
        sa.CheckConstraint(
            "preferred_language IN ('en', 'hi', 'mr')", name=op.f("ck_users_preferred_language")
        ),
        sa.CheckConstraint("role IN ('farmer', 'instructor', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "courses",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("duration", sa.String(length=50), nullable=True),
        sa.Column("lessons", sa.Integer(), nullable=True),
        sa.Column("thumbnail_emoji", sa.String(length=10), nullable=True),
        sa.Column("thumbnail_url", sa.String(length=500), nullable=True),
        sa.Column(
            "language", sa.String(length=100), server_default=sa.text("'English'"), nullable=True
        ),
        sa.Column(
            "rating", sa.Numeric(precision=3, scale=1), server_default=sa.text("4.5"), nullable=True
        ),
        sa.Column("enrolled_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column(
            "price", sa.Numeric(precision=10, scale=2), server_default=sa.text("0"), nullable=True
        ),
        sa.Column("currency", sa.String(length=10), server_default=sa.text("'INR'"), nullable=True),
        sa.Column("discount_percent", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("instructor_id", sa.UUID(), nullable=True),
        sa.Column("instructor_name", sa.String(length=255), nullable=True),
        sa.Column("instructor_bio", sa.Text(), nullable=True),
        sa.Column("instructor_avatar", sa.String(length=500), nullable=True),
        sa.Column("is_published", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("is_archived", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("view_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column(
            "completion_rate",
            sa.Numeric(precision=5, scale=2),
            server_default=sa.text("0"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        # 'simple' (no stemming) because titles mix Hindi, Marathi and English; more
        # in db/models/learn.py _search_vector.
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('simple'::regconfig, searchable_text("
                "coalesce(title, '') || ' ' || coalesce(description, '')))",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.CheckConstraint(
            "level IN ('beginner', 'intermediate', 'advanced')", name=op.f("ck_courses_level")
        ),
        sa.CheckConstraint(
            "discount_percent BETWEEN 0 AND 100", name=op.f("ck_courses_discount_percent")
        ),
        sa.CheckConstraint("rating BETWEEN 0 AND 5", name=op.f("ck_courses_rating")),
        sa.ForeignKeyConstraint(
            ["instructor_id"],
            ["users.id"],
            name=op.f("fk_courses_instructor_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
    )
    op.create_index("courses_idx_category", "courses", ["category"])
    op.create_index("courses_idx_level", "courses", ["level"])
    op.create_index("courses_idx_price", "courses", ["price"])
    op.create_index("courses_idx_published", "courses", ["is_published"])
    op.create_index("courses_idx_search", "courses", ["search_vector"], postgresql_using="gin")
    op.create_table(
        "course_lessons",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("order_index", sa.Integer(), nullable=False),
        sa.Column("duration", sa.String(length=50), nullable=True),
        sa.Column("content_type", sa.String(length=20), nullable=True),
        sa.Column("content_url", sa.String(length=500), nullable=True),
        sa.Column("is_preview", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.CheckConstraint(
            "content_type IN ('video', 'text', 'quiz', 'assignment')",
            name=op.f("ck_course_lessons_content_type"),
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_lessons_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_lessons")),
    )
    op.create_index("course_lessons_idx_course_id", "course_lessons", ["course_id"])
    op.create_index("course_lessons_idx_order", "course_lessons", ["course_id", "order_index"])
    op.create_table(
        "articles",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("author_id", sa.UUID(), nullable=True),
        sa.Column("author_name", sa.String(length=255), nullable=True),
        sa.Column("author_avatar", sa.String(length=500), nullable=True),
        sa.Column("read_time_minutes", sa.Integer(), nullable=True),
        sa.Column(
            "language", sa.String(length=100), server_default=sa.text("'English'"), nullable=True
        ),
        sa.Column("source_type", sa.String(length=20), nullable=True),
        sa.Column("source_url", sa.String(length=500), nullable=True),
        sa.Column("source_title", sa.String(length=255), nullable=True),
        sa.Column("thumbnail_url", sa.String(length=500), nullable=True),
        sa.Column("thumbnail_emoji", sa.String(length=10), nullable=True),
        sa.Column("view_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("like_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("is_published", sa.Boolean(), server_default=sa.text("true"), nullable=True),
        sa.Column("is_featured", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('simple'::regconfig, searchable_text("
                "coalesce(title, '') || ' ' || coalesce(excerpt, '') || ' ' || "
                "coalesce(content, '')))",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.CheckConstraint(
            "source_type IN ('internal', 'external', 'scraped')",
            name=op.f("ck_articles_source_type"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_articles_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
    )
    op.create_index("articles_idx_category", "articles", ["category"])
    op.create_index("articles_idx_featured", "articles", ["is_featured"])
    op.create_index("articles_idx_published", "articles", ["is_published"])
    op.create_index("articles_idx_search", "articles", ["search_vector"], postgresql_using="gin")
    op.create_table(
        "videos",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("video_type", sa.String(length=20), nullable=True),
        sa.Column("video_url", sa.String(length=500), nullable=False),
        sa.Column("video_id", sa.String(length=100), nullable=True),
        sa.Column("thumbnail_url", sa.String(length=500), nullable=True),
        sa.Column("thumbnail_emoji", sa.String(length=10), nullable=True),
        sa.Column("creator_id", sa.UUID(), nullable=True),
        sa.Column("creator_name", sa.String(length=255), nullable=True),
        sa.Column("creator_avatar", sa.String(length=500), nullable=True),
        sa.Column(
            "language", sa.String(length=100), server_default=sa.text("'English'"), nullable=True
        ),
        sa.Column("skill_level", sa.String(length=20), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("is_published", sa.Boolean(), server_default=sa.text("true"), nullable=True),
        sa.Column("view_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("like_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("is_featured", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "to_tsvector('simple'::regconfig, searchable_text("
                "coalesce(title, '') || ' ' || coalesce(description, '')))",
                persisted=True,
            ),
            nullable=True,
        ),
        sa.CheckConstraint(
            "video_type IN ('youtube', 'vimeo', 'self_hosted', 'aws_s3')",
            name=op.f("ck_videos_video_type"),
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_videos_creator_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_videos")),
    )
    op.create_index("videos_idx_category", "videos", ["category"])
    op.create_index("videos_idx_featured", "videos", ["is_featured"])
    op.create_index("videos_idx_published", "videos", ["is_published"])
    op.create_index("videos_idx_search", "videos", ["search_vector"], postgresql_using="gin")
    op.create_index("videos_idx_video_type", "videos", ["video_type"])
    op.create_table(
        "quizzes",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=True),
        sa.Column("lesson_id", sa.UUID(), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("passing_score", sa.Integer(), server_default=sa.text("70"), nullable=True),
        sa.Column("time_limit_minutes", sa.Integer(), nullable=True),
        sa.Column(
            "shuffle_questions", sa.Boolean(), server_default=sa.text("false"), nullable=True
        ),
        sa.Column(
            "show_correct_answer", sa.Boolean(), server_default=sa.text("true"), nullable=True
        ),
        sa.Column("order_index", sa.Integer(), nullable=True),
        sa.Column("is_required", sa.Boolean(), server_default=sa.text("true"), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.CheckConstraint(
            "passing_score BETWEEN 0 AND 100", name=op.f("ck_quizzes_passing_score")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_quizzes_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["course_lessons.id"],
            name=op.f("fk_quizzes_lesson_id_course_lessons"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quizzes")),
    )
    op.create_index("quizzes_idx_course_id", "quizzes", ["course_id"])
    op.create_index("quizzes_idx_lesson_id", "quizzes", ["lesson_id"])
    op.create_table(
        "quiz_questions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("quiz_id", sa.UUID(), nullable=True),
        sa.Column("question_type", sa.String(length=20), nullable=True),
        sa.Column("question_text", sa.Text(), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("points", sa.Integer(), server_default=sa.text("1"), nullable=True),
        sa.Column("order_index", sa.Integer(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column(
            "difficulty", sa.String(length=20), server_default=sa.text("'medium'"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.CheckConstraint(
            "difficulty IN ('easy', 'medium', 'hard')", name=op.f("ck_quiz_questions_difficulty")
        ),
        sa.CheckConstraint(
            "question_type IN ('multiple_choice', 'true_false', 'short_answer', 'essay')",
            name=op.f("ck_quiz_questions_question_type"),
        ),
        sa.ForeignKeyConstraint(
            ["quiz_id"],
            ["quizzes.id"],
            name=op.f("fk_quiz_questions_quiz_id_quizzes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_questions")),
    )
    op.create_index("quiz_questions_idx_quiz_id", "quiz_questions", ["quiz_id"])
    op.create_table(
        "quiz_attempts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("quiz_id", sa.UUID(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("percentage", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("time_spent_seconds", sa.Integer(), nullable=True),
        sa.Column("attempt_number", sa.Integer(), server_default=sa.text("1"), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.CheckConstraint(
            "percentage BETWEEN 0 AND 100", name=op.f("ck_quiz_attempts_percentage")
        ),
        sa.ForeignKeyConstraint(
            ["quiz_id"],
            ["quizzes.id"],
            name=op.f("fk_quiz_attempts_quiz_id_quizzes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_quiz_attempts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_attempts")),
    )
    op.create_index("quiz_attempts_idx_passed", "quiz_attempts", ["passed"])
    op.create_index("quiz_attempts_idx_quiz_id", "quiz_attempts", ["quiz_id"])
    op.create_index("quiz_attempts_idx_user_id", "quiz_attempts", ["user_id"])
    op.create_table(
        "quiz_answers",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("attempt_id", sa.UUID(), nullable=True),
        sa.Column("question_id", sa.UUID(), nullable=True),
        sa.Column("user_answer", sa.Text(), nullable=False),
        sa.Column("is_correct", sa.Boolean(), nullable=True),
        sa.Column("points_earned", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["quiz_attempts.id"],
            name=op.f("fk_quiz_answers_attempt_id_quiz_attempts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["quiz_questions.id"],
            name=op.f("fk_quiz_answers_question_id_quiz_questions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_answers")),
    )
    op.create_index("quiz_answers_idx_attempt_id", "quiz_answers", ["attempt_id"])
    op.create_index("quiz_answers_idx_question_id", "quiz_answers", ["question_id"])
    op.create_table(
        "course_enrollments",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("course_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("progress_percent", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("lessons_completed", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("completion_date", sa.DateTime(), nullable=True),
        sa.Column("certificate_url", sa.String(length=500), nullable=True),
        sa.Column("enrollment_type", sa.String(length=20), nullable=True),
        sa.Column("amount_paid", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("last_accessed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "enrollment_type IN ('free', 'paid', 'promotional', 'gifted')",
            name=op.f("ck_course_enrollments_enrollment_type"),
        ),
        sa.CheckConstraint(
            "status IN ('enrolled', 'in_progress', 'completed', 'dropped')",
            name=op.f("ck_course_enrollments_status"),
        ),
        sa.CheckConstraint(
            "progress_percent BETWEEN 0 AND 100",
            name=op.f("ck_course_enrollments_progress_percent"),
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_enrollments_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_course_enrollments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_enrollments")),
        sa.UniqueConstraint(
            "user_id", "course_id", name=op.f("uq_course_enrollments_user_id_course_id")
        ),
    )
    op.create_index("course_enrollments_idx_course_id", "course_enrollments", ["course_id"])
    op.create_index("course_enrollments_idx_progress", "course_enrollments", ["progress_percent"])
    op.create_index("course_enrollments_idx_status", "course_enrollments", ["status"])
    op.create_index("course_enrollments_idx_user_id", "course_enrollments", ["user_id"])
    op.create_table(
        "lesson_progress",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("lesson_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("completion_date", sa.DateTime(), nullable=True),
        sa.Column("time_spent_seconds", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("video_progress_percent", sa.Integer(), nullable=True),
        sa.Column("last_watched_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.CheckConstraint(
            "status IN ('not_started', 'in_progress', 'completed')",
            name=op.f("ck_lesson_progress_status"),
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["course_lessons.id"],
            name=op.f("fk_lesson_progress_lesson_id_course_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_lesson_progress_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson_progress")),
        sa.UniqueConstraint(
            "user_id", "lesson_id", name=op.f("uq_lesson_progress_user_id_lesson_id")
        ),
    )
    op.create_index("lesson_progress_idx_lesson_id", "lesson_progress", ["lesson_id"])
    op.create_index("lesson_progress_idx_user_id", "lesson_progress", ["user_id"])
    op.create_table(
        "badges",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("icon_emoji", sa.String(length=10), nullable=True),
        sa.Column("icon_url", sa.String(length=500), nullable=True),
        sa.Column("category", sa.String(length=50), nullable=True),
        sa.Column("requirement_type", sa.String(length=50), nullable=False),
        sa.Column("requirement_value", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.CheckConstraint(
            "category IN ('completion', 'achievement', 'streak', 'milestone', 'special')",
            name=op.f("ck_badges_category"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_badges")),
        sa.UniqueConstraint("name", name=op.f("uq_badges_name")),
    )
    op.create_index("badges_idx_category", "badges", ["category"])
    op.create_index("badges_idx_requirement", "badges", ["requirement_type"])
    op.create_table(
        "user_badges",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("badge_id", sa.UUID(), nullable=True),
        sa.Column("earned_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.ForeignKeyConstraint(
            ["badge_id"],
            ["badges.id"],
            name=op.f("fk_user_badges_badge_id_badges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_badges_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_badges")),
        sa.UniqueConstraint("user_id", "badge_id", name=op.f("uq_user_badges_user_id_badge_id")),
    )
    op.create_index("user_badges_idx_badge_id", "user_badges", ["badge_id"])
    op.create_index("user_badges_idx_user_id", "user_badges", ["user_id"])
    op.create_table(
        "learning_roadmaps",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("difficulty", sa.String(length=20), nullable=True),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("estimated_hours", sa.Integer(), nullable=True),
        sa.Column("icon_emoji", sa.String(length=10), nullable=True),
        sa.Column("icon_url", sa.String(length=500), nullable=True),
        sa.Column("is_published", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("view_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.CheckConstraint(
            "difficulty IN ('beginner', 'intermediate', 'advanced')",
            name=op.f("ck_learning_roadmaps_difficulty"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_roadmaps")),
    )
    op.create_index("learning_roadmaps_idx_difficulty", "learning_roadmaps", ["difficulty"])
    op.create_index("learning_roadmaps_idx_published", "learning_roadmaps", ["is_published"])
    op.create_table(
        "roadmap_milestones",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("roadmap_id", sa.UUID(), nullable=True),
        sa.Column("order_index", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("course_id", sa.UUID(), nullable=True),
        sa.Column("is_completed", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_roadmap_milestones_course_id_courses"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["roadmap_id"],
            ["learning_roadmaps.id"],
            name=op.f("fk_roadmap_milestones_roadmap_id_learning_roadmaps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roadmap_milestones")),
    )
    op.create_index(
        "roadmap_milestones_idx_order", "roadmap_milestones", ["roadmap_id", "order_index"]
    )
    op.create_index("roadmap_milestones_idx_roadmap_id", "roadmap_milestones", ["roadmap_id"])
    op.create_table(
        "user_roadmap_progress",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("roadmap_id", sa.UUID(), nullable=True),
        sa.Column("progress_percent", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("completed_milestones", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("started_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "progress_percent BETWEEN 0 AND 100",
            name=op.f("ck_user_roadmap_progress_progress_percent"),
        ),
        sa.ForeignKeyConstraint(
            ["roadmap_id"],
            ["learning_roadmaps.id"],
            name=op.f("fk_user_roadmap_progress_roadmap_id_learning_roadmaps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_roadmap_progress_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_roadmap_progress")),
        sa.UniqueConstraint(
            "user_id", "roadmap_id", name=op.f("uq_user_roadmap_progress_user_id_roadmap_id")
        ),
    )
    op.create_index("user_roadmap_progress_idx_roadmap_id", "user_roadmap_progress", ["roadmap_id"])
    op.create_index("user_roadmap_progress_idx_user_id", "user_roadmap_progress", ["user_id"])
    op.create_table(
        "course_purchases",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("course_id", sa.UUID(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=10), server_default=sa.text("'INR'"), nullable=True),
        sa.Column(
            "discount_amount",
            sa.Numeric(precision=10, scale=2),
            server_default=sa.text("0"),
            nullable=True,
        ),
        sa.Column("final_amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("payment_method", sa.String(length=50), nullable=True),
        sa.Column("payment_status", sa.String(length=20), nullable=True),
        sa.Column("payment_id", sa.String(length=100), nullable=True),
        sa.Column("purchased_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("refunded_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "payment_status IN ('pending', 'success', 'failed', 'refunded')",
            name=op.f("ck_course_purchases_payment_status"),
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_purchases_course_id_courses"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_course_purchases_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_purchases")),
    )
    op.create_index("course_purchases_idx_course_id", "course_purchases", ["course_id"])
    op.create_index("course_purchases_idx_payment_status", "course_purchases", ["payment_status"])
    op.create_index("course_purchases_idx_user_id", "course_purchases", ["user_id"])
    op.create_table(
        "user_learning_stats",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column(
            "total_courses_enrolled", sa.Integer(), server_default=sa.text("0"), nullable=True
        ),
        sa.Column(
            "total_courses_completed", sa.Integer(), server_default=sa.text("0"), nullable=True
        ),
        sa.Column(
            "total_learning_hours",
            sa.Numeric(precision=10, scale=2),
            server_default=sa.text("0"),
            nullable=True,
        ),
        sa.Column("total_badges_earned", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("current_streak_days", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("longest_streak_days", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("total_points", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("last_activity_date", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.Column("updated_at", sa.DateTime(), server_default=sa.text("now()"), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_learning_stats_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_learning_stats")),
        sa.UniqueConstraint("user_id", name=op.f("uq_user_learning_stats_user_id")),
    )

    for table in UPDATED_AT_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_set_updated_at BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        )


def downgrade() -> None:
    # Dropping a table drops its indexes, constraints and trigger with it.
    for table in reversed(TABLES):
        op.drop_table(table)
    op.execute("DROP FUNCTION IF EXISTS searchable_text(text)")
    op.execute("DROP FUNCTION IF EXISTS set_updated_at()")
    # No CASCADE: if something outside this schema came to use pg_trgm, fail loudly
    # rather than drop that object.
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
