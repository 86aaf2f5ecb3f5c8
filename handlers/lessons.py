"""Lessons, one at a time, in order: text, video link, assignment or quiz.

/lesson ─► the current lesson again          /next ─► mark it done, send the next
lesson:<id> ─► that lesson (preview or enrolled)
next:<id> ─► mark <id> done, send the next; the last one completes the course
continue:<course> ─► the first lesson not done yet
"""

from __future__ import annotations

import uuid

from bot.i18n import _, format_number
from bot.messages import Option, Reply, media_kind
from db.queries import catalog as catalog_q
from db.queries import lessons as q
from db.queries import quiz as quiz_q
from handlers import completion, rewards
from handlers.base import IDLE, STAY, Answer, Conversation, Turn, bulleted, on, parse_uuid
from handlers.quiz_offer import offer_quiz

# A lesson is on screen; the state carries {"lesson": id}, so /next on a free preview
# knows which one. Typed text here is not the lesson's: search answers it.
LESSON = "lesson"


def _header(lesson: q.LessonView) -> str:
    return _("{emoji} {course} · Lesson {number} of {total}").format(
        emoji=lesson.course_emoji or "📘",
        course=lesson.course_title,
        number=format_number(lesson.order_index),
        total=format_number(lesson.total_lessons),
    )


def _is_paid_preview(lesson: q.LessonView) -> bool:
    """A free preview of a paid course the farmer does not own: nothing to track yet."""
    return lesson.enrollment_status in (None, "dropped") and lesson.course_price > 0


def render_lesson(lesson: q.LessonView) -> Reply:
    """The lesson as the farmer sees it, by content type."""
    done = Option(_("✅ Done, next lesson"), f"next:{lesson.id}")
    if _is_paid_preview(lesson):
        # The next step of a preview is buying: "done" could only say "enrol first".
        done = Option(_("💳 Buy this course"), f"buy:{lesson.course_id}")
    body = bulleted((lesson.description or "").strip())
    if lesson.content_type == "video":
        text = "\n".join(
            [_header(lesson), "", "🎬 " + lesson.title]
            + (
                [_("Duration: {duration}").format(duration=lesson.duration)]
                if lesson.duration
                else []
            )
            + ([body] if body else [])
        )
        if media_kind(lesson.content_url) is not None:
            # A video file plays in the chat: sent as media, the text as its caption.
            return Reply(text, options=(done,), media_url=lesson.content_url)
        return Reply(
            text, options=(done,), link=lesson.content_url, link_label=_("▶️ Watch the video")
        )
    if lesson.content_type == "assignment":
        text = "\n".join(
            [
                _header(lesson),
                "",
                "📝 " + _("Assignment: {title}").format(title=lesson.title),
                "",
                body,
            ]
        )
        if not _is_paid_preview(lesson):
            done = Option(_("✅ I have done it"), f"next:{lesson.id}")
        return Reply(text, options=(done,))
    if lesson.content_type == "quiz":
        text = "\n".join(
            [_header(lesson), "", "❓ " + _("Quiz: {title}").format(title=lesson.title), body]
        )
        return Reply(text, options=(done,))
    # A text lesson may come with a picture (content_url of an image): shown above it.
    picture = lesson.content_url if media_kind(lesson.content_url) == "photo" else None
    return Reply(
        "\n".join([_header(lesson), "", "📖 " + lesson.title, "", body]),
        options=(done,),
        media_url=picture,
    )


async def send_lesson(turn: Turn, lesson: q.LessonView) -> Answer | list[Reply]:
    """Send a lesson the farmer may open; a free course enrols them on the way."""
    if not lesson.is_open_to:
        return [
            Reply(
                _("This lesson is part of a paid course. Buy the course to open it."),
                options=(Option(_("💳 Buy this course"), f"buy:{lesson.course_id}"),),
            )
        ]
    badges: list[Reply] = []
    free_enrolment = lesson.enrollment_status is None and lesson.course_price <= 0
    if free_enrolment and await catalog_q.enroll(
        turn.session, turn.farmer.user_id, lesson.course_id
    ):
        badges = await rewards.record_progress(
            turn.session, turn.farmer.user_id, "enrolled", lesson.course_id,
            language=turn.farmer.language,
        )  # fmt: skip
    await q.start_lesson(turn.session, turn.farmer.user_id, lesson.id, lesson.course_id)
    if lesson.content_type == "quiz":
        quiz = await _quiz_of(turn, lesson)
        if quiz is not None:
            return badges + await offer_quiz(turn, quiz)
    return Answer([*badges, render_lesson(lesson)], LESSON, {"lesson": str(lesson.id)})


async def _quiz_of(turn: Turn, lesson: q.LessonView) -> quiz_q.QuizInfo | None:
    return await quiz_q.quiz_of_lesson(turn.session, lesson.id)


async def _quiz_still_due(turn: Turn, lesson: q.LessonView) -> quiz_q.QuizInfo | None:
    """The lesson's quiz if it still stands in the way: a required quiz until it is
    passed, an optional one until it has been tried once."""
    quiz = await _quiz_of(turn, lesson)
    if quiz is None or await quiz_q.has_passed(turn.session, turn.farmer.user_id, quiz.id):
        return None
    if not quiz.is_required and await quiz_q.count_attempts(
        turn.session, turn.farmer.user_id, quiz.id
    ):
        return None
    return quiz


async def open_lesson(turn: Turn) -> Answer | list[Reply]:
    """Answers `lesson:<id>`: sends that lesson; asks to tap Done when finished."""
    lesson_id = parse_uuid(turn.arg)
    lesson = await q.get_lesson(turn.session, lesson_id, turn.farmer.user_id) if lesson_id else None
    if lesson is None:
        return [Reply(_("Sorry, this lesson is not available."))]
    return await send_lesson(turn, lesson)


async def continue_course(turn: Turn, course_id: uuid.UUID) -> Answer | list[Reply]:
    """The first lesson of the course not done yet, or the course's end."""
    lesson = await q.first_open_lesson(turn.session, course_id, turn.farmer.user_id)
    if lesson is None:
        return [
            Reply(
                _("You have finished every lesson of this course. Well done! 🎉"),
                options=(Option(_("📚 More courses"), "cmd:courses"),),
            )
        ]
    return await send_lesson(turn, lesson)


async def continue_button(turn: Turn) -> Answer | list[Reply]:
    """Answers `continue:<course>`: the first lesson not done yet."""
    course_id = parse_uuid(turn.arg)
    if course_id is None:
        return [Reply(_("Sorry, this course is not available."))]
    return await continue_course(turn, course_id)


async def _current_lesson(turn: Turn) -> q.LessonView | None:
    course_id = await q.current_course(turn.session, turn.farmer.user_id)
    if course_id is None:
        return None
    return await q.first_open_lesson(turn.session, course_id, turn.farmer.user_id)


def _no_course() -> list[Reply]:
    return [
        Reply(
            _("You have no course in progress. Choose one to begin."),
            options=(Option(_("📚 Browse courses"), "cmd:courses"),),
        )
    ]


async def repeat_lesson(turn: Turn) -> Answer | list[Reply]:
    """Answers /lesson: sends the current lesson again."""
    lesson = await _current_lesson(turn)
    return await send_lesson(turn, lesson) if lesson else _no_course()


async def next_command(turn: Turn) -> Answer | list[Reply]:
    """Answers /next: marks the current lesson done and sends the next one."""
    lesson = await _current_lesson(turn)
    if lesson is None:
        # A preview on screen is not a course in progress, but "next" there means it.
        lesson_id = parse_uuid(turn.data.get("lesson"))
        on_screen = (
            await q.get_lesson(turn.session, lesson_id, turn.farmer.user_id) if lesson_id else None
        )
        if on_screen is not None and _is_paid_preview(on_screen):
            return await finish_lesson(turn, on_screen)
        return _no_course()
    return await finish_lesson(turn, lesson)


async def next_button(turn: Turn) -> Answer | list[Reply]:
    """Answers `next:<lesson>`: marks that lesson done (once) and sends the next one."""
    lesson_id = parse_uuid(turn.arg)
    lesson = await q.get_lesson(turn.session, lesson_id, turn.farmer.user_id) if lesson_id else None
    if lesson is None:
        return [Reply(_("Sorry, this lesson is not available."))]
    return await finish_lesson(turn, lesson)


async def finish_lesson(
    turn: Turn, lesson: q.LessonView, *, quiz_done: bool = False
) -> Answer | list[Reply]:
    """Mark the lesson done, then send the next one or congratulate.

    A quiz lesson is done when its quiz is: a required quiz must be passed first,
    which is what holds the next lesson and the course's completion.
    """
    if _is_paid_preview(lesson):
        return [
            Reply(
                _("That was a free preview. Buy the course to open every lesson."),
                options=(
                    Option(_("💳 Buy this course"), f"buy:{lesson.course_id}"),
                    Option(_("📘 See the course"), f"course:{lesson.course_id}"),
                ),
            )
        ]
    if lesson.enrollment_status in (None, "dropped"):
        # A preview read without enrolling (or after a refund): no progress to count.
        return [
            Reply(
                _("Enrol in the course to keep track of your progress."),
                options=(Option(_("📘 See the course"), f"course:{lesson.course_id}"),),
            )
        ]
    if lesson.content_type == "quiz" and not quiz_done and lesson.progress_status != "completed":
        waiting = await _quiz_still_due(turn, lesson)
        if waiting is not None:
            return await offer_quiz(turn, waiting)
    done = await completion.complete_lesson(
        turn.session,
        turn.farmer.user_id,
        lesson.id,
        lesson.course_id,
        language=turn.farmer.language,
    )
    replies: list[Reply] = []
    # Badge notifications go after what they celebrate and before the next lesson.
    badges = done.badges
    if done.completion.course_completed:
        for roadmap in done.roadmaps:
            replies.append(
                Reply(
                    _("🗺️ You have finished the roadmap {title}. Wonderful work!").format(
                        title=f"{roadmap.emoji or ''} {roadmap.title}".strip()
                    )
                )
            )
        replies.append(
            Reply(
                _("🎉 Congratulations! You have completed {course}.").format(
                    course=lesson.course_title
                ),
                options=(
                    Option(_("📚 More courses"), "cmd:courses"),
                    Option(_("📊 My progress"), "cmd:progress"),
                ),
            )
        )
        return Answer(replies + badges, IDLE)
    following = await q.next_lesson(
        turn.session, lesson.course_id, lesson.order_index, turn.farmer.user_id
    )
    if following is None or following.progress_status == "completed":
        return replies + badges + await continue_course(turn, lesson.course_id)
    return replies + badges + await send_lesson(turn, following)


# A lesson that is a quiz hands over to the quiz's intro, in IDLE; a finished course
# rests in IDLE too. Where nothing can be sent (paid, not enrolled) nothing moves.
CONVERSATION = Conversation(
    name="lessons",
    states={LESSON: None},
    commands={
        "lesson": on(repeat_lesson, LESSON, IDLE, STAY),
        "next": on(next_command, LESSON, IDLE, STAY),
    },
    buttons={
        "lesson": on(open_lesson, LESSON, IDLE, STAY),
        "next": on(next_button, LESSON, IDLE, STAY),
        "continue": on(continue_button, LESSON, IDLE, STAY),
    },
    aliases={"aage": "next", "आगे": "next", "पुढे": "next", "agla": "next"},
)
