"""Load a content file into the seed's tables."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Catalogue, stable_id
from db.models.learn import (
    Article,
    Badge,
    Course,
    CourseLesson,
    LearningRoadmap,
    Quiz,
    QuizQuestion,
    RoadmapMilestone,
    User,
    Video,
)
from db.models.rewards import BadgeTranslation
from db.queries import rewards as rewards_q
from db.queries.content import upsert
from db.queries.search import refresh_search_terms


def _instructor_id(key: str | None) -> Any:
    return stable_id("instructor", key) if key else None


async def load_catalogue(session: AsyncSession, catalogue: Catalogue) -> Counter[str]:
    """Upsert everything in the catalogue; returns how many rows of each kind changed."""
    names = {i.key: i.name for i in catalogue.instructors}
    changed: Counter[str] = Counter()

    changed["instructors"] = await upsert(session, User, [
        {"id": stable_id("instructor", i.key), "display_name": i.name, "role": "instructor"}
        for i in catalogue.instructors
    ])  # fmt: skip

    courses, lessons, quizzes, questions = [], [], [], []
    for course in catalogue.courses:
        course_id = stable_id("course", course.key)
        courses.append({
            "id": course_id, "title": course.title, "description": course.description,
            "category": course.category, "level": course.level, "duration": course.duration,
            "lessons": len(course.lessons), "thumbnail_emoji": course.thumbnail_emoji,
            "language": course.language, "rating": course.rating, "price": course.price,
            "currency": course.currency, "discount_percent": course.discount_percent,
            "instructor_id": _instructor_id(course.instructor),
            "instructor_name": names.get(course.instructor or ""),
            "is_published": course.published,
        })  # fmt: skip
        for order, lesson in enumerate(course.lessons, start=1):
            lesson_id = stable_id("lesson", lesson.key)
            lessons.append({
                "id": lesson_id, "course_id": course_id, "title": lesson.title,
                # A text or assignment lesson's words live in description: the seed has no body column.
                "description": lesson.body or lesson.description, "order_index": order,
                "duration": lesson.duration, "content_type": lesson.content_type,
                "content_url": lesson.content_url, "is_preview": lesson.is_preview,
            })  # fmt: skip
            if lesson.quiz is not None:
                quiz = lesson.quiz
                quiz_id = stable_id("quiz", quiz.key)
                quizzes.append({
                    "id": quiz_id, "course_id": course_id, "lesson_id": lesson_id,
                    "title": quiz.title, "description": quiz.description,
                    "passing_score": quiz.passing_score,
                    "time_limit_minutes": quiz.time_limit_minutes,
                    "shuffle_questions": quiz.shuffle_questions,
                    "show_correct_answer": quiz.show_correct_answer, "order_index": order,
                    "is_required": quiz.is_required,
                })  # fmt: skip
                for number, question in enumerate(quiz.questions, start=1):
                    questions.append({
                        "id": stable_id("question", f"{quiz.key}:{number}"), "quiz_id": quiz_id,
                        "question_type": question.type, "question_text": question.text,
                        "options": [o.model_dump() for o in question.options],
                        "points": question.points, "order_index": number,
                        "explanation": question.explanation, "difficulty": question.difficulty,
                    })  # fmt: skip
    changed["courses"] = await upsert(session, Course, courses)
    changed["lessons"] = await upsert(session, CourseLesson, lessons)
    changed["quizzes"] = await upsert(session, Quiz, quizzes)
    changed["questions"] = await upsert(session, QuizQuestion, questions)

    changed["articles"] = await upsert(session, Article, [{
        "id": stable_id("article", a.key), "title": a.title, "excerpt": a.excerpt,
        "content": a.content, "category": a.category, "author_id": _instructor_id(a.author),
        "author_name": names.get(a.author or ""), "read_time_minutes": a.read_time_minutes,
        "language": a.language, "source_type": a.source_type, "source_url": a.source_url,
        "source_title": a.source_title, "thumbnail_emoji": a.thumbnail_emoji,
        "is_featured": a.featured, "is_published": True,
    } for a in catalogue.articles])  # fmt: skip

    changed["videos"] = await upsert(session, Video, [{
        "id": stable_id("video", v.key), "title": v.title, "description": v.description,
        "category": v.category, "duration_seconds": v.duration_seconds,
        "video_type": v.video_type, "video_url": v.video_url, "video_id": v.video_id,
        "thumbnail_emoji": v.thumbnail_emoji, "creator_id": _instructor_id(v.creator),
        "creator_name": names.get(v.creator or ""), "language": v.language,
        "skill_level": v.skill_level, "transcript": v.transcript, "is_featured": v.featured,
        "is_published": True,
    } for v in catalogue.videos])  # fmt: skip

    roadmaps, milestones = [], []
    for roadmap in catalogue.roadmaps:
        roadmap_id = stable_id("roadmap", roadmap.key)
        roadmaps.append({
            "id": roadmap_id, "title": roadmap.title, "description": roadmap.description,
            "difficulty": roadmap.difficulty, "goal": roadmap.goal,
            "estimated_hours": roadmap.estimated_hours, "icon_emoji": roadmap.icon_emoji,
            "is_published": roadmap.published,
        })  # fmt: skip
        for order, milestone in enumerate(roadmap.milestones, start=1):
            milestones.append({
                "id": stable_id("milestone", f"{roadmap.key}:{order}"), "roadmap_id": roadmap_id,
                "order_index": order, "title": milestone.title,
                "description": milestone.description,
                "course_id": stable_id("course", milestone.course) if milestone.course else None,
            })  # fmt: skip
    changed["roadmaps"] = await upsert(session, LearningRoadmap, roadmaps)
    changed["milestones"] = await upsert(session, RoadmapMilestone, milestones)

    changed["badges"] = await upsert(session, Badge, [{
        "id": stable_id("badge", b.name), "name": b.name, "description": b.description,
        "icon_emoji": b.icon_emoji, "category": b.category,
        "requirement_type": b.requirement_type, "requirement_value": b.requirement_value,
    } for b in catalogue.badges], key=("name",))  # fmt: skip
    changed["badge_translations"] = await _load_badge_translations(session, catalogue)
    # Romanized spellings follow the content, so "sinchai" finds सिंचाई at once.
    await refresh_search_terms(session)
    return changed


async def _load_badge_translations(session: AsyncSession, catalogue: Catalogue) -> int:
    """The Hindi and Marathi names of the badges: a language without a name has no row."""
    rows = []
    for badge in catalogue.badges:
        for language in ("hi", "mr"):
            name = getattr(badge, f"name_{language}")
            if name:
                rows.append({
                    "badge_id": stable_id("badge", badge.name), "language": language,
                    "name": name, "description": getattr(badge, f"description_{language}"),
                })  # fmt: skip
    written = await upsert(session, BadgeTranslation, rows, key=("badge_id", "language"))
    return written + await rewards_q.prune_badge_translations(
        session,
        [stable_id("badge", badge.name) for badge in catalogue.badges],
        keep=[(row["badge_id"], row["language"]) for row in rows],
    )
