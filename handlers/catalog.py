"""The course catalogue: topics → courses (by level, 5 a page) → a course card → enrol.

/courses ─► topics ─(cat:<topic>)─► course list ─(course:<id>)─► card
card ─(enroll:<id>)─► enrolled, first lesson sent (lessons.py takes over)
card ─(buy:<id>)─► payments (paid course)     /start course-<id> ─► card
"""

from __future__ import annotations

from bot.i18n import N_, _, format_money, format_number, ngettext
from bot.messages import Option, Reply
from db.queries import catalog as q
from handlers import lessons, payments, rewards
from handlers.base import IDLE, STAY, Answer, Conversation, Turn, on, parse_uuid
from handlers.categories import (
    CONTENT_LANGUAGE,
    category_name,
    category_options,
    languages_count,
    languages_label,
    only_other_languages_note,
    other_languages_option,
)

LEVELS = {
    "beginner": N_("🌱 Beginner"),
    "intermediate": N_("🌿 Intermediate"),
    "advanced": N_("🌳 Advanced"),
}


async def show_topics(turn: Turn) -> Answer:
    """Answers /courses: asks which topic to learn about."""
    topics = Reply(_("Which topic would you like to learn about?"), options=category_options())
    return Answer([topics], IDLE)


async def show_courses(turn: Turn) -> list[Reply]:
    """Answers `cat:<topic>[:<level>[:<offset>[:o]]]`: a page of courses in the farmer's
    language (`o`: in the other languages); asks which to open."""
    topic, _sep, rest = turn.arg.partition(":")
    level, _sep, rest = rest.partition(":")
    offset_text, _sep, scope = rest.partition(":")
    chosen_level = level if level in LEVELS else None
    offset = int(offset_text) if offset_text.isdigit() else 0
    language = CONTENT_LANGUAGE[turn.farmer.language]
    others = scope == "o"

    async def page(in_language: bool, at: int) -> tuple[list[q.CourseLine], bool]:
        return await q.courses_in_category(
            turn.session, category=topic, level=chosen_level, language=language,
            offset=at, in_language=in_language,
        )  # fmt: skip

    courses, more = await page(not others, offset)
    note = None
    if not courses and not others and offset == 0:
        # Nothing in the farmer's language: the other languages, said plainly.
        others = True
        courses, more = await page(False, 0)
        note = only_other_languages_note() if courses else None
    if not courses and offset == 0:
        return [
            Reply(
                _("There are no courses in {topic} yet. Please choose another topic.").format(
                    topic=category_name(topic)
                ),
                options=category_options(),
            )
        ]
    scope_suffix = ":o" if others else ""
    options = [
        Option(f"{course.emoji or '📘'} {course.title}", f"course:{course.id}")
        for course in courses
    ]
    if more:
        options.append(
            Option(
                _("➡️ More"),
                f"cat:{topic}:{level or 'all'}:{offset + q.PAGE_SIZE}{scope_suffix}",
            )
        )
    if not others and offset == 0 and (await page(False, 0))[0]:
        options.append(other_languages_option(f"cat:{topic}:{level or 'all'}:0:o"))
    options += [
        Option(_(label), f"cat:{topic}:{value}:0")
        for value, label in LEVELS.items()
        if value != chosen_level
    ]
    options.append(Option(_("⬅️ All topics"), "cmd:courses"))
    heading = category_name(topic)
    if chosen_level:
        heading += " · " + _(LEVELS[chosen_level])
    if note:
        heading += "\n" + note
    return [Reply(heading + "\n" + _("Choose a course:"), options=tuple(options))]


def price_line(card: q.CourseCard) -> str:
    if card.is_free:
        return _("Free")
    if card.discount_percent:
        return _("{price} instead of {full} ({percent}% off)").format(
            price=format_money(card.final_price, card.currency),
            full=format_money(card.price, card.currency),
            percent=format_number(card.discount_percent),
        )
    return format_money(card.price, card.currency)


async def show_course(turn: Turn) -> Answer | list[Reply]:
    """Answers `course:<id>` (and the deep link): the course card; asks to enrol or buy."""
    course_id = parse_uuid(turn.arg)
    card = (
        await q.course_card(turn.session, course_id, turn.farmer.user_id, count_view=True)
        if course_id
        else None
    )
    if card is None:
        return [Reply(_("Sorry, this course is not available."), options=category_options())]
    lines = [
        f"{card.emoji or '📘'} {card.title}",
        "",
        _("Level: {level}").format(level=_(LEVELS.get(card.level, card.level))),
        ngettext("{count} lesson", "{count} lessons", card.lessons).format(
            count=format_number(card.lessons)
        )
        + (f" · {card.duration}" if card.duration else "")
        + f" · ⭐ {format_number(card.rating)}",
        ngettext(
            "Language: {languages}", "Languages: {languages}", languages_count(card.language)
        ).format(languages=languages_label(card.language)),
    ]
    if card.instructor_name:
        lines.append(_("Instructor: {name}").format(name=card.instructor_name))
    lines.append(_("Price: {price}").format(price=price_line(card)))
    lines += ["", card.description]

    options: list[Option] = []
    if card.enrollment_status is not None:
        options.append(Option(_("▶️ Continue learning"), f"continue:{card.id}"))
    elif card.is_free:
        options.append(Option(_("✅ Enrol for free"), f"enroll:{card.id}"))
    else:
        for lesson_id, title in await q.preview_lessons(turn.session, card.id):
            label = _("👀 Free preview: {title}").format(title=title)
            options.append(Option(label, f"lesson:{lesson_id}"))
        options.append(Option(_("💳 Buy this course"), f"buy:{card.id}"))
    options.append(Option(_("⬅️ All topics"), "cmd:courses"))
    # Remember the card on screen: /buy then means this course.
    return Answer([Reply("\n".join(lines), options=tuple(options))], IDLE, {"course": str(card.id)})


async def enroll(turn: Turn) -> Answer | list[Reply]:
    """Answers `enroll:<id>`: enrols in a free course (once) and sends the first lesson."""
    course_id = parse_uuid(turn.arg)
    card = await q.course_card(turn.session, course_id, turn.farmer.user_id) if course_id else None
    if card is None:
        return [Reply(_("Sorry, this course is not available."), options=category_options())]
    if not card.is_free and card.enrollment_status is None:
        return await payments.offer(turn, card.id)
    created = await q.enroll(turn.session, turn.farmer.user_id, card.id)
    replies = []
    if created:
        replies.append(
            Reply(
                _("🎉 You are enrolled in {title}. Here is your first lesson.").format(
                    title=card.title
                )
            )
        )
        replies += await rewards.record_progress(
            turn.session, turn.farmer.user_id, "enrolled", card.id, language=turn.farmer.language
        )
    return replies + await lessons.continue_course(turn, card.id)


async def deep_link(turn: Turn) -> Answer | list[Reply] | None:
    """`/start course-<id>`: open that course directly. None if the payload is not ours."""
    if turn.arg.startswith("course-") and parse_uuid(turn.arg.removeprefix("course-")):
        turn.arg = turn.arg.removeprefix("course-")
        return await show_course(turn)
    return None


# The catalogue has no states of its own: a card rests in IDLE carrying {"course": id}
# (so /buy means it), and enrolling hands over to the first lesson.
CONVERSATION = Conversation(
    name="catalog",
    commands={"courses": on(show_topics, IDLE)},
    buttons={
        "cat": on(show_courses, STAY),
        "course": on(show_course, IDLE, STAY),
        "enroll": on(enroll, lessons.LESSON, IDLE, STAY),
    },
    aliases={
        "courses": "courses",
        "course": "courses",
        "कोर्स": "courses",
        "पाठ्यक्रम": "courses",
        "अभ्यासक्रम": "courses",
    },
)
