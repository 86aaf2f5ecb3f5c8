"""Form fields → the API's own bodies (CourseIn, LessonIn, QuizIn, QuestionIn…), so a
form is validated by exactly the rules a JSON body is; and errors → readable lines."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

COURSE_FIELDS = (
    "title", "description", "category", "level", "duration", "thumbnail_emoji",
    "thumbnail_url", "language", "price", "currency", "discount_percent",
    "instructor_name", "instructor_bio",
)  # fmt: skip
LESSON_FIELDS = ("title", "content_type", "description", "content_url", "duration")
QUIZ_FIELDS = ("title", "description", "passing_score", "time_limit_minutes")
QUIZ_FLAGS = ("shuffle_questions", "show_correct_answer", "is_required")
QUESTION_TYPES = ("multiple_choice", "true_false", "short_answer", "essay")


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def pick(form: dict[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields that were filled in (an empty field is absent: the default)."""
    return {name: v for name in names if (v := _blank_to_none(form.get(name))) is not None}


def flags(form: dict[str, str], names: tuple[str, ...]) -> dict[str, bool]:
    """Checkboxes: present means on."""
    return {name: name in form for name in names}


def question_fields(form: dict[str, str]) -> dict[str, Any]:
    """A question from the editor: options one per line; the correct one by its number
    (multiple choice), true or false, or every line accepted (short answer)."""
    kind = form.get("type", "")
    values: dict[str, Any] = {
        "type": kind,
        "text": (form.get("text") or "").strip(),
        "points": (form.get("points") or "1").strip() or "1",
        "explanation": _blank_to_none(form.get("explanation")),
    }
    lines = [line.strip() for line in (form.get("options") or "").splitlines() if line.strip()]
    correct = (form.get("correct") or "").strip()
    if kind == "multiple_choice":
        values["options"] = [
            {"text": line, "is_correct": str(number) == correct}
            for number, line in enumerate(lines, start=1)
        ]
    elif kind == "true_false":
        values["options"] = [
            {"text": "True", "is_correct": correct.lower() == "true"},
            {"text": "False", "is_correct": correct.lower() == "false"},
        ]
    elif kind == "short_answer":
        values["options"] = [{"text": line, "is_correct": True} for line in lines]
    else:
        values["options"] = []
    return values


def question_form(row: dict[str, Any]) -> dict[str, str]:
    """A stored question as the editor's fields."""
    options = [o for o in (row.get("options") or []) if isinstance(o, dict)]
    kind = str(row.get("question_type") or "")
    correct = ""
    for number, option in enumerate(options, start=1):
        if option.get("is_correct"):
            correct = str(option["text"]).lower() if kind == "true_false" else str(number)
            break
    return {
        "type": kind,
        "text": str(row.get("question_text") or ""),
        "options": "\n".join(str(o.get("text", "")) for o in options)
        if kind in ("multiple_choice", "short_answer")
        else "",
        "correct": correct,
        "points": str(row.get("points") if row.get("points") is not None else 1),
        "explanation": str(row.get("explanation") or ""),
    }


def errors_of(exc: Exception) -> list[str]:
    """What went wrong, one line per field, for the form to show above itself."""
    if isinstance(exc, RequestValidationError | ValidationError):
        found = exc.errors()
        lines = []
        for error in found:
            where = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
            message = str(error.get("msg", "")).removeprefix("Value error, ")
            lines.append(f"{'.'.join(where)}: {message}" if where else message)
        return lines
    if isinstance(exc, HTTPException):
        return [str(exc.detail)]
    return [str(exc)]
