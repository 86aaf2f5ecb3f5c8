"""A lesson done: the one sequence that counts it, whoever finished it.

A farmer's /next, a quiz passed in the chat and a quiz the deadline job closed all
complete a lesson the same way: the lesson is marked done (its learning time
capped), points and badges for the lesson, and when that was the course's last
lesson, for the course and every roadmap it finished.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Reply
from db.queries import lessons as lessons_q
from db.queries import roadmaps as roadmaps_q
from handlers import rewards

# Time a lesson can count towards learning hours: beyond this the farmer was in the field.
MAX_LESSON_SECONDS = 30 * 60


@dataclass(slots=True)
class Completed:
    """What completing a lesson changed: the counts, the roadmaps it finished, and the
    badge notifications it earned (in the order they were earned)."""

    completion: lessons_q.Completion
    roadmaps: list[roadmaps_q.CompletedRoadmap] = field(default_factory=list)
    badges: list[Reply] = field(default_factory=list)


async def complete_lesson(
    session: AsyncSession,
    user_id: uuid.UUID,
    lesson_id: uuid.UUID,
    course_id: uuid.UUID,
    *,
    language: str,
) -> Completed:
    """Mark the lesson done and reward it, and the course and roadmaps it completes."""
    completion = await lessons_q.complete_lesson(
        session, user_id, lesson_id, course_id, max_seconds=MAX_LESSON_SECONDS
    )
    done = Completed(completion)
    if completion.newly_completed:
        done.badges += await rewards.record_progress(
            session, user_id, "lesson_completed", lesson_id, language=language
        )
    if completion.course_completed:
        done.badges += await rewards.record_progress(
            session, user_id, "course_completed", course_id, language=language
        )
        for roadmap in await roadmaps_q.advance_roadmaps(session, user_id):
            done.roadmaps.append(roadmap)
            done.badges += await rewards.record_progress(
                session, user_id, "roadmap_completed", roadmap.id, language=language
            )
    return done
