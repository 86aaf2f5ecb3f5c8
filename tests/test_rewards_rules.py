"""The rewards rules that need no database: points per event, progress wording,
which badge is "next", and the refusal of unknown requirement types at load."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.content import REQUIREMENT_TYPES, Catalogue, read_catalogue
from bot.i18n import use_language
from db.queries.rewards import BadgeStanding
from handlers import rewards


def badge(
    kind: str, have: int, target: int, *, name: str = "B", earned: bool = False
) -> BadgeStanding:
    return BadgeStanding(
        id=uuid.uuid4(),
        name=name,
        description="for something",
        emoji="🏅",
        requirement_type=kind,
        target=target,
        have=have,
        earned_at=None,
        new=earned,
    )


def test_points_per_event() -> None:
    assert rewards.awards_for("enrolled") == [("first_enrollment", 5)]
    assert rewards.awards_for("lesson_completed") == [("lesson_completed", 10)]
    assert rewards.awards_for("quiz_passed") == [("quiz_passed", 20)]
    assert rewards.awards_for("quiz_passed", perfect=True) == [
        ("quiz_passed", 20),
        ("perfect_quiz", 10),
    ]
    # The perfect bonus belongs to quizzes only.
    assert rewards.awards_for("lesson_completed", perfect=True) == [("lesson_completed", 10)]
    assert rewards.awards_for("course_completed") == [("course_completed", 100)]
    assert rewards.awards_for("roadmap_completed") == [("roadmap_completed", 50)]
    assert rewards.awards_for("activity") == []


def test_unknown_event_is_a_bug() -> None:
    with pytest.raises(ValueError, match="unknown progress event 'watered'"):
        rewards.awards_for("watered")


@pytest.mark.parametrize("kind", REQUIREMENT_TYPES)
def test_every_requirement_type_has_its_own_progress_wording(kind: str) -> None:
    with use_language("en"):
        text = rewards.progress_phrase(badge(kind, 3, 5))
    assert text.startswith("3 of 5 ")
    assert text != "3 / 5"


def test_progress_wording_counts_and_caps() -> None:
    with use_language("en"):
        assert rewards.progress_phrase(badge("courses_completed", 3, 5)) == "3 of 5 courses"
        assert rewards.progress_phrase(badge("courses_completed", 0, 1)) == "0 of 1 course"
        assert rewards.progress_phrase(badge("lessons_completed", 9, 5)) == "5 of 5 lessons"
        assert rewards.progress_phrase(badge("consecutive_days", 2, 7)) == "2 of 7 days in a row"
        assert rewards.progress_phrase(badge("total_points", 130, 500)) == "130 of 500 points"


def test_next_badge_is_the_nearest_not_yet_earned() -> None:
    standings = [
        badge("courses_completed", 1, 1, name="done", earned=True),
        badge("lessons_completed", 3, 5, name="lessons"),  # 60%
        badge("total_points", 400, 500, name="points"),  # 80%
        badge("quizzes_passed", 0, 3, name="quizzes"),  # 0%
        badge("consecutive_days", 4, 5, name="streak"),  # 80%, one step away
    ]
    closest = rewards.closest_badges(standings, 3)
    assert [b.name for b in closest] == ["streak", "points", "lessons"]


def test_notification_names_the_badge_its_reason_and_the_next_one() -> None:
    new = badge("first_enrollment", 1, 1, name="First Step", earned=True)
    following = badge("lessons_completed", 3, 5, name="Eager Learner")
    with use_language("en"):
        [reply] = rewards.badge_notifications([new, following])
    assert reply.text == (
        "🏅 New badge: First Step!\nfor something\n\n"
        "🎯 Next badge: 🏅 Eager Learner (3 of 5 lessons)"
    )
    assert reply.options == ()  # a plain message: WhatsApp menu numbers stay as they were


def test_no_new_badge_no_notification() -> None:
    assert rewards.badge_notifications([badge("total_points", 1, 5)]) == []


def test_anonymous_name_is_stable_and_short() -> None:
    farmer = uuid.UUID("12345678-1234-5678-1234-567812345678")
    with use_language("en"):
        assert rewards.anonymous_name(farmer) == rewards.anonymous_name(farmer)
        assert rewards.anonymous_name(farmer).startswith("Farmer #")
        assert len(rewards.anonymous_name(farmer)) == len("Farmer #1234")


def test_reminder_names_the_streak_and_the_way_out() -> None:
    with use_language("en"):
        text = rewards.streak_reminder(4).text
    assert "4 days in a row" in text and "/lesson" in text and "/stop" in text


def _badge_yaml(kind: str) -> dict[str, object]:
    return {
        "badges": [
            {
                "name": "Tree Planter",
                "description": "Planted trees.",
                "category": "special",
                "requirement_type": kind,
                "requirement_value": 3,
            }
        ]
    }


def test_unknown_requirement_type_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="unknown requirement_type 'trees_planted'"):
        Catalogue.model_validate(_badge_yaml("trees_planted"))
    content = tmp_path / "badges.yaml"
    content.write_text(
        "badges:\n  - {name: Tree Planter, description: Planted trees., category: special,"
        " requirement_type: trees_planted, requirement_value: 3}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="trees_planted"):
        read_catalogue(content)


@pytest.mark.parametrize("kind", REQUIREMENT_TYPES)
def test_every_documented_requirement_type_loads(kind: str) -> None:
    assert Catalogue.model_validate(_badge_yaml(kind)).badges[0].requirement_type == kind


def test_the_docs_list_every_requirement_type() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "rewards.md").read_text()
    module = rewards.__doc__ or ""
    for kind in REQUIREMENT_TYPES:
        assert f"`{kind}`" in docs and f"- {kind}:" in module


def test_demo_ships_badges_of_every_category() -> None:
    from bot.content import DEMO_FILE

    demo = read_catalogue(DEMO_FILE)
    assert len(demo.badges) >= 8
    assert {b.category for b in demo.badges} == {
        "completion",
        "achievement",
        "streak",
        "milestone",
        "special",
    }
    assert all(b.name_hi and b.name_mr for b in demo.badges)
