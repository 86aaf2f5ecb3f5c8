"""`/progress`: every enrolled course with a progress bar and the next step."""

from __future__ import annotations

from bot.i18n import _, format_number
from bot.messages import Option, Reply
from db.queries import lessons as q
from handlers import rewards
from handlers.base import STAY, Conversation, Turn, on

BAR_CELLS = 10


def progress_bar(percent: int) -> str:
    filled = max(0, min(BAR_CELLS, round(percent * BAR_CELLS / 100)))
    return "▓" * filled + "░" * (BAR_CELLS - filled)


async def show_progress(turn: Turn) -> list[Reply]:
    """Answers /progress: each course's bar and next lesson; offers to continue."""
    courses = await q.progress_of(turn.session, turn.farmer.user_id)
    if not courses:
        return [
            Reply(
                _("You have not started a course yet."),
                options=(Option(_("📚 Browse courses"), "cmd:courses"),),
            )
        ]
    lines = [_("📊 Your progress"), "", *await rewards.progress_lines(turn), ""]
    options: list[Option] = []
    for course in courses:
        lines.append(f"{course.emoji or '📘'} {course.title}")
        lines.append(
            f"{progress_bar(course.progress_percent)} "
            + _("{percent}% · {done} of {total} lessons").format(
                percent=format_number(course.progress_percent),
                done=format_number(course.lessons_completed),
                total=format_number(course.total_lessons),
            )
        )
        if course.status == "completed":
            lines.append(_("✅ Completed"))
        elif course.next_lesson_title:
            lines.append(_("Next: {lesson}").format(lesson=course.next_lesson_title))
            options.append(Option(f"▶️ {course.title}", f"continue:{course.course_id}"))
        lines.append("")
    return [Reply("\n".join(lines).strip(), options=tuple(options))]


CONVERSATION = Conversation(
    name="progress",
    commands={"progress": on(show_progress, STAY)},
    aliases={"pragati": "progress", "प्रगति": "progress", "प्रगती": "progress"},
)
