"""A quiz offered: its intro, and the choice to start, resume or restart.

Both the lessons (a quiz lesson hands over here) and the quiz conversation offer a
quiz, and the quiz, once passed, finishes its lesson through handlers.lessons: this
module sits below both, so neither has to import the other in a circle.
"""

from __future__ import annotations

from bot.i18n import _, format_number, format_percentage, ngettext
from bot.messages import Option, Reply
from db.queries import quiz as q
from handlers.base import IDLE, Answer, Turn


def quiz_intro(quiz: q.QuizInfo, attempt_number: int, *, brief: bool = False) -> str:
    lines = ["❓ " + quiz.title]
    if not brief:
        lines += [
            ngettext("{count} question", "{count} questions", quiz.question_count).format(
                count=format_number(quiz.question_count)
            ),
            _("To pass: {percent}").format(percent=format_percentage(quiz.passing_score)),
        ]
    lines.append(_("Attempt: {number}").format(number=format_number(attempt_number)))
    if quiz.time_limit_minutes:
        lines.append(
            ngettext("Time limit: {count} minute", "Time limit: {count} minutes",
                     quiz.time_limit_minutes).format(count=format_number(quiz.time_limit_minutes))
        )  # fmt: skip
    if quiz.description and not brief:
        lines += ["", quiz.description]
    return "\n".join(lines)


async def offer_quiz(turn: Turn, quiz: q.QuizInfo) -> Answer:
    """Introduces a quiz; asks to start, or to resume or restart an unfinished attempt."""
    open_attempt = await q.open_attempt(turn.session, turn.farmer.user_id, quiz.id)
    if open_attempt is not None:
        text = _("You started this quiz earlier and answered {done} of {total} questions.").format(
            done=format_number(open_attempt.current_index),
            total=format_number(open_attempt.total),
        )
        resume_or_restart = Reply(
            "❓ " + quiz.title + "\n" + text,
            options=(
                Option(_("▶️ Resume"), f"qresume:{open_attempt.attempt_id}"),
                Option(_("🔄 Start again"), f"qstart:{quiz.id}"),
            ),
        )
        return Answer([resume_or_restart], IDLE)
    attempts = await q.count_attempts(turn.session, turn.farmer.user_id, quiz.id)
    intro = Reply(
        quiz_intro(quiz, attempts + 1),
        options=(Option(_("▶️ Start the quiz"), f"qstart:{quiz.id}"),),
    )
    return Answer([intro], IDLE)
