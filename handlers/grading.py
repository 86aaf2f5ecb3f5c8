"""Grading one answer. Pure functions: no database, no channel."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_EDGE_PUNCTUATION = re.compile(r"^[\s.,;:!?।'\"()\-]+|[\s.,;:!?।'\"()\-]+$")


def normalise(text: str) -> str:
    """Compare answers the way a teacher would: case, spacing, Unicode form and digit
    script do not matter ("5 KG", "५ kg" and " 5 kg. " are the same answer)."""
    text = unicodedata.normalize("NFKC", text).translate(_DEVANAGARI_DIGITS).casefold()
    text = " ".join(text.split())
    return _EDGE_PUNCTUATION.sub("", text)


@dataclass(frozen=True, slots=True)
class Graded:
    answer: str  # what we store as quiz_answers.user_answer
    is_correct: bool | None  # None: an essay, waiting for the instructor
    points: int | None


def options_of(question_options: Any) -> list[dict[str, Any]]:
    return [o for o in (question_options or []) if isinstance(o, dict) and "text" in o]


def grade_choice(options: list[dict[str, Any]], index: int, points: int) -> Graded:
    """A tapped button or a typed option number (0-based index)."""
    chosen = options[index]
    correct = bool(chosen.get("is_correct"))
    return Graded(str(chosen["text"]), correct, points if correct else 0)


def choice_from_text(options: list[dict[str, Any]], text: str) -> int | None:
    """WhatsApp farmers type the number or the option's words."""
    cleaned = normalise(text)
    if cleaned.isdigit() and 1 <= int(cleaned) <= len(options):
        return int(cleaned) - 1
    for index, option in enumerate(options):
        if normalise(str(option["text"])) == cleaned:
            return index
    return None


def grade_text(question_type: str, options: list[dict[str, Any]], text: str, points: int) -> Graded:
    """A short answer against its accepted answers, or an essay stored for grading."""
    answer = " ".join(text.split())
    if question_type == "essay":
        return Graded(answer, None, None)
    accepted = {normalise(str(o["text"])) for o in options if o.get("is_correct", True)}
    correct = normalise(text) in accepted
    return Graded(answer, correct, points if correct else 0)


def correct_answer(options: list[dict[str, Any]]) -> str | None:
    for option in options:
        if option.get("is_correct"):
            return str(option["text"])
    return None
