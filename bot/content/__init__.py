"""The content file: a YAML catalogue of courses, lessons, quizzes, articles,
videos, roadmaps and badges (format: FORMAT.md beside this file).

Every item has a stable `key`; its database id is derived from it, so loading
the same file twice changes nothing, and an edited file updates in place.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEMO_FILE = Path(__file__).resolve().parent / "demo.yaml"
_NAMESPACE = uuid.UUID("6f1c7f0e-2b8a-4d55-9a43-0c5a1d7c9e01")

# What a badge can be earned for. The rewards engine evaluates exactly these.
REQUIREMENT_TYPES = (
    "courses_completed",
    "lessons_completed",
    "quizzes_passed",
    "perfect_quiz",
    "consecutive_days",
    "total_points",
    "roadmaps_completed",
    "first_enrollment",
    "learning_hours",
)

Category = Literal[
    "crop-management", "irrigation", "pest-control", "soil-health", "equipment", "weather"
]
Level = Literal["beginner", "intermediate", "advanced"]
LanguageName = Literal["English", "Hindi", "Marathi"]


def stable_id(kind: str, key: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{kind}:{key}")


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Instructor(_Item):
    key: str
    name: str = Field(max_length=255)
    bio: str | None = None


class AnswerOption(_Item):
    text: str
    is_correct: bool = False


class Question(_Item):
    type: Literal["multiple_choice", "true_false", "short_answer", "essay"]
    text: str
    options: list[AnswerOption] = []
    points: int = Field(1, ge=0)
    difficulty: Literal["easy", "medium", "hard"] = "medium"
    explanation: str | None = None

    @model_validator(mode="after")
    def _answerable(self) -> Question:
        correct = sum(option.is_correct for option in self.options)
        if self.type in ("multiple_choice", "true_false") and correct != 1:
            raise ValueError(f"{self.type} needs exactly one correct option: {self.text!r}")
        if self.type == "short_answer" and not correct:
            raise ValueError(f"short_answer needs accepted answers: {self.text!r}")
        return self


class Quiz(_Item):
    key: str
    title: str = Field(max_length=255)
    description: str | None = None
    passing_score: int = Field(70, ge=0, le=100)
    time_limit_minutes: int | None = Field(None, gt=0)
    shuffle_questions: bool = False
    show_correct_answer: bool = True
    is_required: bool = True
    questions: list[Question] = Field(min_length=1)


class Lesson(_Item):
    key: str
    title: str = Field(max_length=255)
    description: str | None = None
    content_type: Literal["video", "text", "quiz", "assignment"]
    duration: str | None = Field(None, max_length=50)
    is_preview: bool = False
    body: str | None = None
    content_url: str | None = Field(None, max_length=500)
    quiz: Quiz | None = None

    @model_validator(mode="after")
    def _complete(self) -> Lesson:
        if self.content_type == "quiz" and self.quiz is None:
            raise ValueError(f"quiz lesson {self.key!r} needs a quiz")
        if self.content_type == "video" and not self.content_url:
            raise ValueError(f"video lesson {self.key!r} needs a content_url")
        if self.content_type in ("text", "assignment") and not self.body:
            raise ValueError(f"{self.content_type} lesson {self.key!r} needs a body")
        return self


class Course(_Item):
    key: str
    topic: str | None = None
    title: str = Field(max_length=255)
    description: str
    category: Category
    level: Level
    duration: str | None = Field(None, max_length=50)
    thumbnail_emoji: str | None = Field(None, max_length=10)
    language: str = Field("English", max_length=100)
    rating: Decimal = Field(Decimal("4.5"), ge=0, le=5)
    price: Decimal = Field(Decimal(0), ge=0)
    currency: str = "INR"
    discount_percent: int = Field(0, ge=0, le=100)
    instructor: str | None = None
    published: bool = True
    lessons: list[Lesson] = []


class Article(_Item):
    key: str
    title: str = Field(max_length=255)
    excerpt: str
    content: str
    category: Category
    author: str | None = None
    read_time_minutes: int | None = None
    language: str = Field("English", max_length=100)
    source_type: Literal["internal", "external", "scraped"] = "internal"
    source_url: str | None = Field(None, max_length=500)
    source_title: str | None = Field(None, max_length=255)
    thumbnail_emoji: str | None = Field(None, max_length=10)
    featured: bool = False


class Video(_Item):
    key: str
    title: str = Field(max_length=255)
    description: str | None = None
    category: Category
    duration_seconds: int | None = None
    video_type: Literal["youtube", "vimeo", "self_hosted", "aws_s3"]
    video_url: str = Field(max_length=500)
    video_id: str | None = Field(None, max_length=100)
    thumbnail_emoji: str | None = Field(None, max_length=10)
    creator: str | None = None
    language: str = Field("English", max_length=100)
    skill_level: str | None = Field(None, max_length=20)
    transcript: str | None = None
    featured: bool = False


class Milestone(_Item):
    title: str = Field(max_length=255)
    description: str | None = None
    course: str | None = None


class Roadmap(_Item):
    key: str
    title: str = Field(max_length=255)
    description: str
    goal: str
    difficulty: Level
    estimated_hours: int | None = None
    icon_emoji: str | None = Field(None, max_length=10)
    language: str | None = None
    published: bool = True
    milestones: list[Milestone] = []


class Badge(_Item):
    name: str = Field(max_length=255)
    name_hi: str | None = None
    name_mr: str | None = None
    description: str
    description_hi: str | None = None
    description_mr: str | None = None
    icon_emoji: str | None = Field(None, max_length=10)
    category: Literal["completion", "achievement", "streak", "milestone", "special"]
    requirement_type: str
    requirement_value: int | None = None

    @field_validator("requirement_type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in REQUIREMENT_TYPES:
            raise ValueError(
                f"unknown requirement_type {value!r}; known: {', '.join(REQUIREMENT_TYPES)}"
            )
        return value


class Catalogue(_Item):
    version: int = 1
    instructors: list[Instructor] = []
    courses: list[Course] = []
    articles: list[Article] = []
    videos: list[Video] = []
    roadmaps: list[Roadmap] = []
    badges: list[Badge] = []

    @model_validator(mode="after")
    def _references_resolve(self) -> Catalogue:
        instructors = {i.key for i in self.instructors}
        courses = {c.key for c in self.courses}
        keys: list[str] = [c.key for c in self.courses]
        keys += [lesson.key for c in self.courses for lesson in c.lessons]
        keys += [a.key for a in self.articles] + [v.key for v in self.videos]
        duplicates = {k for k in keys if keys.count(k) > 1}
        if duplicates:
            raise ValueError(f"duplicate keys: {sorted(duplicates)}")
        for owner in (
            [c.instructor for c in self.courses]
            + [a.author for a in self.articles]
            + [v.creator for v in self.videos]
        ):
            if owner is not None and owner not in instructors:
                raise ValueError(f"unknown instructor {owner!r}")
        for roadmap in self.roadmaps:
            for milestone in roadmap.milestones:
                if milestone.course is not None and milestone.course not in courses:
                    raise ValueError(
                        f"roadmap {roadmap.key!r}: unknown course {milestone.course!r}"
                    )
        return self


def read_catalogue(path: Path) -> Catalogue:
    """Parse and validate a content file; raises ValueError with the reason."""
    with path.open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    return Catalogue.model_validate(data or {})
