"""Where a quiz attempt stands: the seed's quiz_attempts row holds the result,
this row holds the conversation (question order, position, deadline)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base

__all__ = ["QuizAttemptProgress"]


class QuizAttemptProgress(Base):
    __tablename__ = "quiz_attempt_progress"
    __table_args__ = (
        CheckConstraint(
            "status IN ('in_progress', 'finished', 'expired', 'abandoned')", name="status"
        ),
        Index(
            "quiz_attempt_progress_idx_open",
            "user_id",
            "quiz_id",
            postgresql_where=text("status = 'in_progress'"),
        ),
        # The deadline sweep looks only at open attempts with a time limit.
        Index(
            "quiz_attempt_progress_idx_deadline",
            "deadline_at",
            postgresql_where=text("status = 'in_progress' AND deadline_at IS NOT NULL"),
        ),
    )

    attempt_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("quiz_attempts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    quiz_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("quizzes.id", ondelete="CASCADE"), nullable=False
    )
    # Fixed when the attempt starts, shuffled or not, so a resent question stays the same.
    question_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), nullable=False)
    current_index: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="in_progress")
    started_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")
    )
    deadline_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
